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
 * By default only failed attempts count (answers with status ≥ 400): a user who signs in or an
 * agent that enrolls is never locked out by its own successes, however many servers share one
 * address. For a per-account limit as well, mount a second limiter with `keyBy` (the body is
 * parsed by then: express.json runs first on /api).
 * Above the limit the answer is a 429 `rate_limited` in the JSON error shape, with Retry-After
 * (seconds) and the standard RateLimit / RateLimit-Policy headers.
 */
export interface RateLimitOptions {
  /** Failed attempts allowed per client address in each window. */
  limit?: number;
  /** The window, in milliseconds. */
  windowMs?: number;
  /**
   * What the attempts are counted by, e.g. the email of a login body for a per-account limit
   * (lower-case it); undefined falls back to the client address. Default: the client address.
   */
  keyBy?: (request: Request) => string | undefined;
  /** Count successful attempts too (default false: only answers with status ≥ 400 count). */
  countSuccesses?: boolean;
  /** Where express-rate-limit reports a misconfiguration (default: the console). */
  logger?: Logger;
}

/** Failed sign-ins allowed per address: 10 every 5 minutes. */
export const loginRateLimitDefaults = { limit: 10, windowMs: 5 * 60_000 } as const;

/** Failed enrollments allowed per address: 30 every 10 minutes. */
export const enrollmentRateLimitDefaults = { limit: 30, windowMs: 10 * 60_000 } as const;

function failedAttemptLimit(
  what: string,
  defaults: { limit: number; windowMs: number },
  options: RateLimitOptions,
): RequestHandler {
  const limit = options.limit ?? defaults.limit;
  const windowMs = options.windowMs ?? defaults.windowMs;
  return rateLimit({
    windowMs,
    limit,
    skipSuccessfulRequests: options.countSuccesses !== true,
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

/** The limit on POST /api/v1/auth/login (and other password checks): failed attempts per address. */
export function loginRateLimit(options: RateLimitOptions = {}): RequestHandler {
  return failedAttemptLimit('sign-in', loginRateLimitDefaults, options);
}

/** The limit on POST /api/v1/agents/enroll: failed enrollments per address. */
export function enrollmentRateLimit(options: RateLimitOptions = {}): RequestHandler {
  return failedAttemptLimit('enrollment', enrollmentRateLimitDefaults, options);
}
