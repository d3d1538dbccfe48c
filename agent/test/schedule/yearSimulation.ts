/**
 * Simulation of a native scheduler plus the run wrapper's skip rule over a span of time, shared
 * by the year test and the property test: the native fire instants of the translated schedule
 * come from the core evaluator in the native zone (which follows cronie's daylight-saving policy,
 * as the native cron is assumed to), each goes through fireDecision as if cron started the wrapper
 * a little late, and the runs that fire are compared with the evaluator's fire times of the job.
 */

import { nextFireTimes } from '@cronfleet/core/cron';
import { fireDecision } from '../../src/schedule/fireDecision.js';
import { translateSchedule } from '../../src/schedule/nativeSchedule.js';
import type { NativeSchedule } from '../../src/scheduler/schedulerBackend.js';

/** Fire times of `expression` in `zone` within [from, end), in order. */
export function fireTimesBetween(expression: string, zone: string, from: Date, end: Date): Date[] {
  const result: Date[] = [];
  let after = new Date(from.getTime() - 1);
  for (;;) {
    const batch = nextFireTimes(expression, { after, count: 4096, timezone: zone });
    for (const fire of batch) {
      if (fire.getTime() >= end.getTime()) return result;
      result.push(fire);
    }
    const last = batch[batch.length - 1];
    if (batch.length < 4096 || last === undefined) return result;
    after = last;
  }
}

export interface SimulationResult {
  native: NativeSchedule;
  /** scheduledAt of every native start that fired, ISO strings. */
  fired: string[];
  /** The evaluator's fire times of the job over the same span, ISO strings. */
  expected: string[];
  nativeFires: number;
  nativeFiresPerDay: number;
}

export function simulate(
  schedule: string,
  jobZone: string,
  nativeZone: string,
  from: Date,
  end: Date,
  lateMs = 7_000,
): SimulationResult {
  const native = translateSchedule(schedule, jobZone, nativeZone, { from });
  const nativeFires = fireTimesBetween(native.expression, native.timezone, from, end);
  const fired: string[] = [];
  for (const instant of nativeFires) {
    const decision = fireDecision(
      { schedule, timezone: jobZone, native },
      new Date(instant.getTime() + lateMs),
    );
    if (decision.fire) fired.push(decision.scheduledAt.toISOString());
  }
  const expected = fireTimesBetween(schedule, jobZone, from, end).map((d) => d.toISOString());
  const days = (end.getTime() - from.getTime()) / 86_400_000;
  return {
    native,
    fired,
    expected,
    nativeFires: nativeFires.length,
    nativeFiresPerDay: Math.round((nativeFires.length / days) * 100) / 100,
  };
}
