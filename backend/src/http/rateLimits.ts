import { apiErrorBody } from '@cronfleet/core/api';
import type { Request, RequestHandler } from 'express';
import { ipKeyGenerator, rateLimit } from 'express-rate-limit';
import type { Logger } from 'pino';

/**
 * Rate limits for the routes an attacker would hammer: login (password guessing) and agent
 * enrollment (enrollment-token guessing). Counters live in this process's memory, so with N
 * replicas behind a load balancer a client gets up to N times the limit (docs/operations.md).
 * Clients are told apart by `request.ip`, which honours CRONFLEET_TRUST_PROXY (set it behind a
 * proxy, or every client shares the proxy's address); IPv6 clients are grouped by /56.
 *
 * Each call creates a middleware with its own counters: call it once per app (inside
 * register…Routes), never at module level, so that tests and apps do not share counters. Mount it
 * on the route's path before mountRoute, e.g.
 *
 *   app.post(apiRoutes.login.path, loginRateLimit({ logger: context.logger }));
 *   mountRoute(app, context, apiRoutes.login, handler);
 *
 * Only failed attempts count (answers with status ≥ 400; for enrollment, 401 only): a user who
 * signs in or an agent that enrolls is never locked out by its own successes, however many
 * servers share one address. Never key a limit by account alone: anyone could lock its owner out
 * by failing on purpose (loginThrottle.ts slows guessing per account and address instead).
 * Above the limit the answer is a 429 `rate_limited` in the JSON error shape, with Retry-After
 * (seconds) and the standard RateLimit / RateLimit-Policy headers.
 */
export interface RateLimitOptions {
  /** Failed attempts allowed per client address in each window. */
  limit?: number;
  /** The window, in milliseconds. */
  windowMs?: number;
  /**
   * What the attempts are counted by; undefined falls back to the client address. Default: the
   * client address. (Never an account alone: see above.)
   */
  keyBy?: (request: Request) => string | undefined;
  /** Count every attempt (default false: only failed attempts count, see `failed`). */
  countSuccesses?: boolean;
  /** Which answers are failed attempts; default: every status ≥ 400. */
  failed?: (status: number) => boolean;
  /** Where express-rate-limit reports a misconfiguration (default: the console). */
  logger?: Logger;
}

/**
 * Failed sign-ins allowed per address, whatever the accounts: 10 every 5 minutes. A 429 of the
 * per-account throttle (loginThrottle.ts) checked no password, so it does not count.
 */
export const loginRateLimitDefaults = {
  limit: 10,
  windowMs: 5 * 60_000,
  failed: (status: number) => status >= 400 && status !== 429,
} as const;

/**
 * Refused enrollments per address: 30 every 10 minutes. Only a refused enrollment token counts
 * (401: unknown, revoked, expired or used up): an agent whose token is valid but whose facts are
 * not (a 400) is not guessing anything, and a fleet behind one address keeps enrolling.
 */
export const enrollmentRateLimitDefaults = {
  limit: 30,
  windowMs: 10 * 60_000,
  failed: (status: number) => status === 401,
} as const;

function failedAttemptLimit(
  what: string,
  defaults: { limit: number; windowMs: number; failed?: (status: number) => boolean },
  options: RateLimitOptions,
): RequestHandler {
  const limit = options.limit ?? defaults.limit;
  const windowMs = options.windowMs ?? defaults.windowMs;
  return rateLimit({
    windowMs,
    limit,
    skipSuccessfulRequests: options.countSuccesses !== true,
    requestWasSuccessful: (_request, response) =>
      !(options.failed ?? defaults.failed ?? ((status) => status >= 400))(response.statusCode),
    keyGenerator: (request) => {
      const key = options.keyBy?.(request);
      return key === undefined ? `ip:${ipKeyGenerator(request.ip ?? '')}` : `key:${key}`;
    },
    standardHeaders: 'draft-7',
    legacyHeaders: false,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
    handler: (_request, response) => {
      const retryAfter = response.getHeader('Retry-After');
      const wait = retryAfter === undefined ? '' : ` in ${String(retryAfter)} seconds`;
      response
        .status(429)
        .json(
          apiErrorBody(
            'rate_limited',
            `too many ${options.countSuccesses === true ? '' : 'failed '}${what} attempts (${limit} per ${Math.round(windowMs / 1000)} seconds); try again${wait}`,
          ),
        );
    },
  });
}

/**
 * The limit on POST /api/v1/auth/login (and other password checks): failed attempts per address,
 * over all accounts. Mount loginThrottle after it for the per-account-and-address delays.
 */
export function loginRateLimit(options: RateLimitOptions = {}): RequestHandler {
  return failedAttemptLimit('sign-in', loginRateLimitDefaults, options);
}

/** The limit on POST /api/v1/agents/enroll: failed enrollments per address. */
export function enrollmentRateLimit(options: RateLimitOptions = {}): RequestHandler {
  return failedAttemptLimit('enrollment', enrollmentRateLimitDefaults, options);
}
