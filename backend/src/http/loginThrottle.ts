import { apiErrorBody } from '@cronfleet/core/api';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator } from 'express-rate-limit';

/**
 * Password guessing against one account is slowed per account *and* client address, never per
 * account alone: a limit per account lets anyone lock its owner out by failing on purpose (10
 * wrong passwords from 10 addresses used to block the right one from everywhere for 5 minutes).
 *
 * Each (e-mail address, client address) pair may fail `freeFailures` times in a row freely. Each
 * further failure makes the pair wait before its next attempt: `firstDelayMs`, then twice as long
 * after each failure, up to `maxDelayMs`. An attempt made while the pair waits is answered 429
 * with Retry-After, without checking the password. A successful sign-in clears the pair. The
 * owner signing in from any other address (another pair) is never slowed by an attacker, and an
 * attacker's guesses per address shrink to a handful an hour; the per-address limit
 * (rateLimits.ts) caps how many accounts one address may try.
 *
 * An attempt counts as a failure from the moment it starts (and is taken back if its answer is
 * not a 401), so concurrent attempts cannot slip in before the first one fails. The pairs live in
 * this process's memory (one set per replica), at most `maxEntries` of them (the oldest go
 * first), each forgotten `forgetAfterMs` after its last failure.
 */
export interface LoginThrottleOptions {
  freeFailures: number;
  firstDelayMs: number;
  maxDelayMs: number;
  forgetAfterMs: number;
  maxEntries: number;
}

export const loginThrottleDefaults: LoginThrottleOptions = {
  freeFailures: 3,
  firstDelayMs: 1_000,
  maxDelayMs: 15 * 60_000,
  forgetAfterMs: 24 * 3600_000,
  maxEntries: 100_000,
};

interface Attempts {
  failures: number;
  /** Epoch ms of the last failure. */
  lastFailureAt: number;
}

/** The bookkeeping of {@link loginThrottle}, by key, on an injected clock. */
export class LoginThrottle {
  private readonly attempts = new Map<string, Attempts>();
  readonly options: LoginThrottleOptions;

  constructor(
    private readonly now: () => number,
    options: Partial<LoginThrottleOptions> = {},
  ) {
    this.options = { ...loginThrottleDefaults, ...options };
  }

  /** How long `key` must wait after `failures` failures in a row (0: not at all). */
  delayAfter(failures: number): number {
    const { freeFailures, firstDelayMs, maxDelayMs } = this.options;
    if (failures <= freeFailures) return 0;
    const doublings = Math.min(failures - freeFailures - 1, 30);
    return Math.min(firstDelayMs * 2 ** doublings, maxDelayMs);
  }

  /** Milliseconds until `key` may try again; 0 when it may now. */
  waitMs(key: string): number {
    const entry = this.entry(key);
    if (entry === undefined) return 0;
    return Math.max(0, entry.lastFailureAt + this.delayAfter(entry.failures) - this.now());
  }

  /** An attempt starts: it counts as a failure until {@link succeeded} or {@link undo}. */
  attempt(key: string): void {
    const entry = this.entry(key) ?? { failures: 0, lastFailureAt: 0 };
    entry.failures += 1;
    entry.lastFailureAt = this.now();
    // Re-inserted, so that the map's order is the order of last use.
    this.attempts.delete(key);
    this.attempts.set(key, entry);
    while (this.attempts.size > this.options.maxEntries) {
      const oldest = this.attempts.keys().next().value;
      if (oldest === undefined) break;
      this.attempts.delete(oldest);
    }
  }

  /** The attempt ended otherwise than with wrong credentials: it does not count. */
  undo(key: string): void {
    const entry = this.attempts.get(key);
    if (entry === undefined) return;
    entry.failures -= 1;
    if (entry.failures <= 0) this.attempts.delete(key);
  }

  /** The right password: the pair starts afresh. */
  succeeded(key: string): void {
    this.attempts.delete(key);
  }

  private entry(key: string): Attempts | undefined {
    const entry = this.attempts.get(key);
    if (entry === undefined) return undefined;
    if (this.now() - entry.lastFailureAt > this.options.forgetAfterMs) {
      this.attempts.delete(key);
      return undefined;
    }
    return entry;
  }
}

/** The account of a sign-in body: its e-mail address, trimmed and lower-cased. */
function accountOf(request: Request): string | undefined {
  const email = (request.body as { email?: unknown } | undefined)?.email;
  return typeof email === 'string' && email.trim() !== '' ? email.trim().toLowerCase() : undefined;
}

/**
 * The middleware of {@link LoginThrottle} for a route whose body names the account (`email`) and
 * whose wrong credentials are a 401 (login; bootstrap, which answers no 401, passes through).
 * Mount it before the route, after the body is parsed. `now` is the app's clock.
 */
export function loginThrottle(
  now: () => Date,
  options: Partial<LoginThrottleOptions> = {},
): RequestHandler {
  const throttle = new LoginThrottle(() => now().getTime(), options);
  return (request, response, next) => {
    const account = accountOf(request);
    if (account === undefined) {
      next();
      return;
    }
    const key = `${account}\n${ipKeyGenerator(request.ip ?? '')}`;
    const wait = throttle.waitMs(key);
    if (wait > 0) {
      const seconds = Math.ceil(wait / 1000);
      response.setHeader('Retry-After', String(seconds));
      response
        .status(429)
        .json(
          apiErrorBody(
            'rate_limited',
            `too many failed sign-ins to this account from your address; try again in ${seconds} seconds (sign-ins from other addresses are not slowed)`,
          ),
        );
      return;
    }
    throttle.attempt(key);
    response.once('close', () => {
      // An answer never finished (the caller went away) told nothing: it does not count.
      if (response.writableFinished && response.statusCode === 401) return;
      if (response.writableFinished && response.statusCode < 300) throttle.succeeded(key);
      else throttle.undo(key);
    });
    next();
  };
}
