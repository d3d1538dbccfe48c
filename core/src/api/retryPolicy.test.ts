import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  isTransientNetworkCode,
  parseRetryAfterMs,
  retryDelayMs,
} from './retryPolicy.js';

const policy = { retries: 5, baseDelayMs: 100, maxDelayMs: 1000 };

describe('parseRetryAfterMs', () => {
  const now = Date.parse('2024-05-01T12:00:00Z');

  it('reads a delay in seconds', () => {
    expect(parseRetryAfterMs('3', now)).toBe(3000);
    expect(parseRetryAfterMs(' 0 ', now)).toBe(0);
    expect(parseRetryAfterMs(['7'], now)).toBe(7000);
  });

  it('reads an HTTP date relative to now, never negative', () => {
    expect(parseRetryAfterMs('Wed, 01 May 2024 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfterMs('Wed, 01 May 2024 11:00:00 GMT', now)).toBe(0);
  });

  it('returns null when absent or unreadable', () => {
    expect(parseRetryAfterMs(undefined, now)).toBeNull();
    expect(parseRetryAfterMs('soon', now)).toBeNull();
    expect(parseRetryAfterMs('-5', now)).toBeNull();
  });
});

describe('backoffDelayMs', () => {
  it('doubles from the base delay, with jitter between half and all of it', () => {
    expect(backoffDelayMs(1, policy, () => 0)).toBe(50);
    expect(backoffDelayMs(1, policy, () => 1)).toBe(100);
    expect(backoffDelayMs(2, policy, () => 1)).toBe(200);
    expect(backoffDelayMs(3, policy, () => 0)).toBe(200);
    expect(backoffDelayMs(4, policy, () => 1)).toBe(800);
  });

  it('never exceeds the cap, even for large retry numbers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.double({ min: 0, max: 1, noNaN: true }),
        (n, r) => {
          const delay = backoffDelayMs(n, policy, () => r);
          const ceiling = Math.min(
            policy.maxDelayMs,
            policy.baseDelayMs * 2 ** Math.min(n - 1, 30),
          );
          return delay >= Math.floor(ceiling / 2) && delay <= ceiling && delay <= policy.maxDelayMs;
        },
      ),
    );
  });
});

describe('retryDelayMs', () => {
  it('waits at least as long as Retry-After', () => {
    expect(retryDelayMs(1, 700, policy, () => 0)).toBe(700);
    expect(retryDelayMs(4, 10, policy, () => 1)).toBe(800);
  });

  it('refuses to wait longer than the cap', () => {
    expect(retryDelayMs(1, 1001, policy)).toBeNull();
    expect(retryDelayMs(1, 1000, policy, () => 0)).toBe(1000);
  });
});

describe('what is retried', () => {
  it('retries 429 and 502/503/504 only', () => {
    expect([429, 502, 503, 504].every(isRetryableStatus)).toBe(true);
    expect([400, 401, 403, 404, 409, 413, 500, 501, 505].some(isRetryableStatus)).toBe(false);
  });

  it('retries transient network failures but not TLS, DNS-unknown-host or aborts', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ECONNABORTED', 'ETIMEDOUT', 'EAI_AGAIN']) {
      expect(isTransientNetworkCode(code)).toBe(true);
    }
    for (const code of [
      'CERT_HAS_EXPIRED',
      'ENOTFOUND',
      'ERR_CANCELED',
      'ERR_INVALID_URL',
      null,
      undefined,
    ]) {
      expect(isTransientNetworkCode(code)).toBe(false);
    }
  });

  it('has sensible defaults', () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ retries: 3, baseDelayMs: 250, maxDelayMs: 30_000 });
  });
});
