/**
 * When the next heartbeat goes out. Pure, so the spread and the backoff are tested exactly.
 *
 * Each wait is the interval ± a jitter fraction, so a fleet restarted together does not beat in
 * step; after a failure the wait doubles from `backoffBaseMs` up to `backoffMaxMs` (jittered too),
 * so a backend coming back up is not hit by every agent at once, and an agent that lost it finds
 * it again within `backoffMaxMs`.
 */

export interface HeartbeatTiming {
  /** Each wait is its base ± this fraction (0 to 0.5). */
  jitter: number;
  /** The wait after the first failure in a row. */
  backoffBaseMs: number;
  /** The longest wait after failures. */
  backoffMaxMs: number;
  /**
   * Replaces the interval the backend gives (tests and demos that cannot wait 30 s); the
   * backend's interval is still recorded as the link's interval.
   */
  intervalOverrideMs?: number | undefined;
}

export const defaultHeartbeatTiming: HeartbeatTiming = {
  jitter: 0.1,
  backoffBaseMs: 2_000,
  backoffMaxMs: 120_000,
};

/** `baseMs` ± `jitter`·`baseMs`, for `random()` in [0, 1); whole milliseconds, at least 1. */
export function jitteredDelayMs(baseMs: number, jitter: number, random: () => number): number {
  const spread = Math.min(Math.max(jitter, 0), 0.5);
  return Math.max(1, Math.round(baseMs * (1 + spread * (2 * random() - 1))));
}

/** The wait after `failures` (≥ 1) failures in a row. */
export function failureBackoffMs(
  failures: number,
  timing: HeartbeatTiming,
  random: () => number,
): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const base = Math.min(timing.backoffBaseMs * 2 ** exponent, timing.backoffMaxMs);
  return Math.min(jitteredDelayMs(base, timing.jitter, random), timing.backoffMaxMs);
}
