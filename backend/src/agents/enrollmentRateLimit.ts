import { apiErrorBody } from '@cronfleet/core/api';
import type { RequestHandler } from 'express';
import { rateLimit } from 'express-rate-limit';

/** Enroll calls one client address may make per window, successful or not. */
export const enrollmentRateLimit = { limit: 60, windowMs: 60_000 } as const;

/**
 * Limits enroll calls per client address (IPv6 per /56), answering 429 in the API's error shape
 * with Retry-After. Counters live in this process: with N replicas an address gets up to N times
 * the limit, which still stops a runaway loop or a flood.
 */
export function createEnrollmentRateLimiter(): RequestHandler {
  return rateLimit({
    windowMs: enrollmentRateLimit.windowMs,
    limit: enrollmentRateLimit.limit,
    standardHeaders: 'draft-8',
    legacyHeaders: false,
    handler: (request, response) => {
      const resetTime = (request as { rateLimit?: { resetTime?: Date } }).rateLimit?.resetTime;
      const seconds =
        resetTime === undefined
          ? Math.ceil(enrollmentRateLimit.windowMs / 1000)
          : Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000));
      response
        .status(429)
        .json(
          apiErrorBody(
            'rate_limited',
            `too many enrollment attempts from this address (at most ${enrollmentRateLimit.limit} a minute); wait ${seconds} s and try again`,
          ),
        );
    },
  });
}
