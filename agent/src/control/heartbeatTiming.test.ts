import { describe, expect, it } from 'vitest';
import { defaultHeartbeatTiming, failureBackoffMs, jitteredDelayMs } from './heartbeatTiming.js';

describe('heartbeat timing', () => {
  it('spreads the interval by ± the jitter fraction', () => {
    expect(jitteredDelayMs(30_000, 0.1, () => 0)).toBe(27_000);
    expect(jitteredDelayMs(30_000, 0.1, () => 0.5)).toBe(30_000);
    expect(jitteredDelayMs(30_000, 0.1, () => 0.999_999)).toBe(33_000);
    // The fraction is capped at 0.5, and a wait is never shorter than 1 ms.
    expect(jitteredDelayMs(1000, 3, () => 0)).toBe(500);
    expect(jitteredDelayMs(0, 0.1, () => 0)).toBe(1);
  });

  it('doubles the wait after each failure in a row, up to the maximum', () => {
    const middle = () => 0.5;
    const waits = [1, 2, 3, 4, 5, 6, 7, 8, 100].map((failures) =>
      failureBackoffMs(failures, defaultHeartbeatTiming, middle),
    );
    expect(waits).toEqual([2000, 4000, 8000, 16_000, 32_000, 64_000, 120_000, 120_000, 120_000]);
    // Jitter never pushes a wait past the maximum.
    expect(failureBackoffMs(9, defaultHeartbeatTiming, () => 0.999)).toBe(120_000);
    expect(failureBackoffMs(1, defaultHeartbeatTiming, () => 0)).toBe(1800);
  });
});
