/**
 * The run wrapper's skip rule: whether a start by the native scheduler is a run of the job.
 *
 * A native schedule that is not exact is a superset of the job's fire times (nativeSchedule.ts),
 * so some native fires must be skipped. The decision is pure and works on instants, never on wall
 * clocks: the native fire being served is the most recent native fire at or before `now` (cron
 * starts the wrapper a few seconds late, sometimes more under load), and it is a run of the job
 * iff the core evaluator gives that very instant as a fire time of the job in the job's zone, so
 * spring-forward gaps and repeated fall-back hours follow the evaluator's (cronie's) policy.
 * Manual runs ("run now") do not go through this.
 */

import { nextFireTime, previousFireTime } from '@cronfleet/core/cron';
import type { NativeSchedule } from '../scheduler/schedulerBackend.js';

const MS_PER_MINUTE = 60_000;

/** What the wrapper knows of a job when the native scheduler starts it (its run spec as applied). */
export interface FireTiming {
  /** The job's own schedule and zone (spec.schedule, spec.timezone or the agent's zone). */
  schedule: string;
  timezone: string;
  /** What was installed for it. */
  native: NativeSchedule;
}

/**
 * `scheduledAt` is the instant being served: the job's fire time when it fires (recorded in the
 * check-in, so lateness is measured from it), the native fire otherwise.
 */
export type FireDecision =
  { fire: true; scheduledAt: Date } | { fire: false; scheduledAt: Date; reason: string };

/**
 * Decides whether the native start at `now` is a run of the job. `@reboot` always fires
 * (scheduledAt = now). Throws core's CronSyntaxError / InvalidTimeZoneError for a bad schedule or
 * zone, which the applied run spec never holds.
 */
export function fireDecision(job: FireTiming, now: Date): FireDecision {
  if (!(now instanceof Date) || Number.isNaN(now.getTime())) {
    throw new TypeError(`now must be a valid Date; got ${String(now)}`);
  }
  const { native } = job;
  if (isReboot(native.expression)) return { fire: true, scheduledAt: new Date(now) };

  const nowMinute = Math.floor(now.getTime() / MS_PER_MINUTE);
  const served = previousFireTime(native.expression, {
    before: new Date((nowMinute + 1) * MS_PER_MINUTE),
    timezone: native.timezone,
  });
  if (served === null) {
    return {
      fire: false,
      scheduledAt: new Date(nowMinute * MS_PER_MINUTE),
      reason:
        `no fire time of the native schedule "${native.expression}" (${native.timezone}) at or ` +
        `before ${now.toISOString()}: not started by the scheduler`,
    };
  }
  if (native.exact) return { fire: true, scheduledAt: served };

  if (isReboot(job.schedule)) {
    return {
      fire: false,
      scheduledAt: served,
      reason: `"@reboot" runs only when the scheduler starts, not at ${served.toISOString()}`,
    };
  }
  const jobFire = previousFireTime(job.schedule, {
    before: new Date(served.getTime() + MS_PER_MINUTE),
    timezone: job.timezone,
  });
  if (jobFire !== null && jobFire.getTime() === served.getTime()) {
    return { fire: true, scheduledAt: served };
  }
  const next = nextFireTime(job.schedule, { after: served, timezone: job.timezone });
  return {
    fire: false,
    scheduledAt: served,
    reason:
      `native fire ${served.toISOString()} ("${native.expression}" in ${native.timezone}) is not ` +
      `a fire time of "${job.schedule}" in ${job.timezone}; the job's next fire time is ` +
      `${next === null ? 'none within 100 years' : next.toISOString()}`,
  };
}

/**
 * `@reboot` (macros are lowercase, surrounding blanks ignored, as core's parser reads them);
 * checked on the text because parsing costs more than the whole decision otherwise does.
 */
function isReboot(expression: string): boolean {
  return expression.trim() === '@reboot';
}
