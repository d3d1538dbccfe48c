import {
  CronfleetApiError,
  CronfleetNetworkError,
  CronfleetProtocolError,
  CronfleetRequestValidationError,
} from '@cronfleet/core/api';
import { describe, expect, it } from 'vitest';
import {
  classifySendFailure,
  DEFAULT_SENDER_BACKOFF,
  MAX_RETRY_AFTER_MS,
  senderRetryDelayMs,
  SpoolSender,
} from './spoolSender.js';

const route = { name: 'sendCheckIns', method: 'POST', path: '/api/v1/check-ins' };

function apiError(
  status: number,
  retryAfterMs: number | null = null,
  code = `http_${status}`,
): CronfleetApiError {
  return new CronfleetApiError(route, {
    status,
    code,
    serverMessage: 'test',
    details: undefined,
    retryAfterMs,
    attempts: 1,
  });
}

describe('classifySendFailure', () => {
  it('bisects only on answers about the batch content', () => {
    expect(classifySendFailure(apiError(400))).toEqual({ kind: 'rejected', tooLarge: false });
    expect(classifySendFailure(apiError(422))).toEqual({ kind: 'rejected', tooLarge: false });
    expect(classifySendFailure(apiError(413))).toEqual({ kind: 'rejected', tooLarge: true });
    const invalid = new CronfleetRequestValidationError(route, 'body', [
      { path: 'checkIns.0.attempt', message: 'attempt counts from 1' },
    ]);
    expect(classifySendFailure(invalid)).toEqual({ kind: 'rejected', tooLarge: false });
    // The backend's 409: a check-in carries another agent's run id, and nothing was recorded.
    expect(classifySendFailure(apiError(409, null, 'conflict'))).toEqual({
      kind: 'rejected',
      tooLarge: false,
    });
  });

  it('stops on a refused or missing token', () => {
    expect(classifySendFailure(apiError(401))).toEqual({ kind: 'unauthorized' });
    expect(classifySendFailure(apiError(403))).toEqual({ kind: 'unauthorized' });
    const noToken = new CronfleetRequestValidationError(route, 'token', [
      { path: '(token)', message: 'no token' },
    ]);
    expect(classifySendFailure(noToken)).toEqual({ kind: 'unauthorized' });
  });

  it('keeps everything and backs off on anything else, with the Retry-After it got', () => {
    expect(classifySendFailure(apiError(503, 7000))).toEqual({
      kind: 'unavailable',
      retryAfterMs: 7000,
    });
    expect(classifySendFailure(apiError(429, 1000))).toEqual({
      kind: 'unavailable',
      retryAfterMs: 1000,
    });
    // A wrong base URL (404) or a 409 that is not the backend's must never set check-ins aside.
    expect(classifySendFailure(apiError(404))).toEqual({ kind: 'unavailable', retryAfterMs: null });
    expect(classifySendFailure(apiError(409))).toEqual({ kind: 'unavailable', retryAfterMs: null });
    const refused = new CronfleetNetworkError(route, {
      baseUrl: 'http://127.0.0.1:9',
      code: 'ECONNREFUSED',
      reason: 'connect ECONNREFUSED',
      timedOut: false,
      aborted: false,
      attempts: 1,
      cause: undefined,
    });
    expect(classifySendFailure(refused)).toEqual({ kind: 'unavailable', retryAfterMs: null });
    // A 200 whose body does not match: maybe committed; resending is harmless.
    const protocol = new CronfleetProtocolError(route, 200, [{ path: '(root)', message: 'x' }]);
    expect(classifySendFailure(protocol)).toEqual({ kind: 'unavailable', retryAfterMs: null });
    expect(classifySendFailure(new TypeError('bug'))).toEqual({
      kind: 'unavailable',
      retryAfterMs: null,
    });
  });
});

describe('senderRetryDelayMs', () => {
  it('doubles from 1 s with jitter in the upper half, capped at 5 minutes', () => {
    const low = () => 0;
    const high = () => 1;
    expect(
      [1, 2, 3, 4].map((n) => senderRetryDelayMs(n, null, DEFAULT_SENDER_BACKOFF, low)),
    ).toEqual([500, 1000, 2000, 4000]);
    expect(
      [1, 2, 3, 4].map((n) => senderRetryDelayMs(n, null, DEFAULT_SENDER_BACKOFF, high)),
    ).toEqual([1000, 2000, 4000, 8000]);
    expect(senderRetryDelayMs(30, null, DEFAULT_SENDER_BACKOFF, low)).toBe(150_000);
    expect(senderRetryDelayMs(30, null, DEFAULT_SENDER_BACKOFF, high)).toBe(300_000);
  });

  it('waits at least the Retry-After, up to an hour', () => {
    expect(senderRetryDelayMs(1, 30_000, DEFAULT_SENDER_BACKOFF, () => 0)).toBe(30_000);
    expect(senderRetryDelayMs(1, 10 * 3_600_000, DEFAULT_SENDER_BACKOFF, () => 0)).toBe(
      MAX_RETRY_AFTER_MS,
    );
  });
});

describe('SpoolSender options', () => {
  it('refuses batches over the contract and a request timeout that outlives the claim', () => {
    const client = { sendCheckIns: () => Promise.reject(new Error('unused')) };
    expect(() => new SpoolSender({ directory: '/nonexistent', client, batchSize: 1001 })).toThrow(
      'batchSize must be 1–1000, got 1001',
    );
    expect(
      () =>
        new SpoolSender({
          directory: '/nonexistent',
          client,
          claimTimeoutMs: 10_000,
          requestTimeoutMs: 6_000,
        }),
    ).toThrow(/requestTimeoutMs \(6000\) must be at most half of claimTimeoutMs \(10000\)/);
  });
});
