/**
 * The embedded scheduler: the agent process fires the jobs itself with croner, for containers
 * (no cron daemon) and the demo. Same run-wrapper semantics as cron: each croner tick serves the
 * most recent native fire, applies the skip rule (fireDecision) and only then starts the run.
 *
 * Jobs arrive translated for the zone 'UTC' (the planner calls translateSchedule with
 * EMBEDDED_NATIVE_ZONE), so croner runs without daylight-saving changes and its own DST rules
 * never matter; the job's zone is honoured by the translation plus the skip rule. Expressions are
 * handed to croner as plain numeric lists, with croner's day-of-month/day-of-week combination set
 * from cronie's rule (`domAndDow`), so croner's syntax and OR quirks never matter either.
 * Overrun protection (`protect`) stays off: concurrency is the run wrapper's job
 * (spec.concurrencyPolicy), not the timer's. Registrations live in this process only: every one
 * was made by this agent. A new process starts out holding what the agent's inventory says was
 * installed (`restore`), so the daemon fires the jobs from its first second, even before Git or the
 * backend answer, and a one-shot command with nothing changed changes nothing. Only the daemon
 * arms timers (`fires`): a one-shot command (`sync --once`, `plan`, `status`) registers without
 * them, so it exits when its work is done and never fires a job.
 */

import { createHash } from 'node:crypto';
import { parseCron } from '@cronfleet/core/cron';
import type { CronSchedule } from '@cronfleet/core/cron';
import { Cron } from 'croner';
import { pino } from 'pino';
import type { Logger } from 'pino';
import { fireDecision } from '../schedule/fireDecision.js';
import type { FireTiming } from '../schedule/fireDecision.js';
import {
  DAY_OF_MONTH_RANGE,
  DAY_OF_WEEK_RANGE,
  HOUR_RANGE,
  MINUTE_RANGE,
  MONTH_RANGE,
  fieldText,
  listText,
} from '../schedule/cronFieldText.js';
import { SchedulerError } from './schedulerBackend.js';
import type { ApplyOutcome, ScheduledJob, SchedulerBackend } from './schedulerBackend.js';

/** The zone the embedded scheduler evaluates native schedules in: no DST, so croner is exact. */
export const EMBEDDED_NATIVE_ZONE = 'UTC';

/** The job's own schedule and zone, as in its applied run spec. */
export type JobTiming = Pick<FireTiming, 'schedule' | 'timezone'>;

export interface EmbeddedBackendOptions {
  /** Starts a run of the job (the run wrapper in-process); errors are logged, never thrown. */
  onFire: (job: ScheduledJob, scheduledAt: Date) => void | Promise<void>;
  /**
   * The job's own schedule and zone (its run spec as applied). Needed for a native schedule that
   * is a superset (exact: false), to skip the fires that are not the job's; ScheduledJob carries
   * only what was installed. Returning undefined skips the fire and logs an error.
   */
  timingOf: (job: ScheduledJob) => JobTiming | undefined;
  /** Arm croner timers and start @reboot jobs (the daemon); false: registrations only. */
  fires?: boolean;
  logger?: Logger;
}

/** A native expression as croner must be given it to fire exactly what the core evaluator does. */
export interface CronerSchedule {
  /** Five fields of plain numbers, ranges and commas (`*` only where cron's AND rule holds). */
  pattern: string;
  /** cronie ORs day-of-month and day-of-week only when neither field starts with `*`. */
  domAndDow: boolean;
}

/** The croner pattern for a 5-field expression (not `@reboot`); throws core's CronSyntaxError. */
export function cronerSchedule(expression: string): CronerSchedule {
  const parsed = parseCron(expression);
  return cronerScheduleOf(parsed);
}

function cronerScheduleOf(parsed: CronSchedule): CronerSchedule {
  if (parsed.fields === null) {
    throw new RangeError(`"${parsed.expression}" has no fire times to give croner`);
  }
  const { minute, hour, dayOfMonth, month, dayOfWeek } = parsed.fields;
  const domAndDow = parsed.dayMatching === 'both';
  // Under OR, croner (like cronie) treats a day field written `*` as unrestricted: write full
  // day fields as explicit ranges so both lists take part exactly as the evaluator combines them.
  const dayField = domAndDow ? fieldText : listText;
  const pattern = [
    fieldText(minute, MINUTE_RANGE),
    fieldText(hour, HOUR_RANGE),
    dayField(dayOfMonth, DAY_OF_MONTH_RANGE),
    fieldText(month, MONTH_RANGE),
    dayField(dayOfWeek, DAY_OF_WEEK_RANGE),
  ].join(' ');
  return { pattern, domAndDow };
}

interface Registration {
  job: ScheduledJob;
  text: string;
  /** null for @reboot, which has no timer. */
  cron: Cron | null;
  /** The native fire last served, so a tick never serves the same fire twice. */
  lastServed: number | undefined;
}

/** Fires jobs in this process with croner; see the file comment. */
export class EmbeddedBackend implements SchedulerBackend {
  readonly name = 'embedded' as const;
  private readonly registrations = new Map<string, Registration>();
  /** @reboot jobs already started by this process: they run once per process. */
  private readonly rebooted = new Set<string>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly onFire: EmbeddedBackendOptions['onFire'];
  private readonly timingOf: EmbeddedBackendOptions['timingOf'];
  private readonly fires: boolean;
  private readonly log: Logger;

  constructor(options: EmbeddedBackendOptions) {
    this.onFire = options.onFire;
    this.timingOf = options.timingOf;
    this.fires = options.fires ?? true;
    this.log = (options.logger ?? pino({ enabled: false })).child({ scheduler: 'embedded' });
  }

  /** `embedded: <expression> tz=<zone>`, then ` superset` and ` suspended` when they apply. */
  render(job: ScheduledJob): string {
    const { expression, timezone, exact } = job.schedule;
    return (
      `embedded: ${expression} tz=${timezone}` +
      `${exact ? '' : ' superset'}${job.suspended ? ' suspended' : ''}`
    );
  }

  async observe(): Promise<ReadonlyMap<string, string>> {
    return new Map([...this.registrations].map(([id, entry]) => [id, entry.text]));
  }

  /** A digest of the registrations: only this process changes them, through apply and restore. */
  async fingerprint(): Promise<string> {
    const hash = createHash('sha256');
    for (const id of [...this.registrations.keys()].sort()) {
      hash.update(`${id}\n${this.registrations.get(id)?.text ?? ''}\n`);
    }
    return hash.digest('hex');
  }

  /**
   * Registers exactly `desired`: unchanged jobs keep their timers, a job whose suspension alone
   * changed is paused or resumed, others are replaced, and registrations not desired are stopped.
   * Every job is checked before anything changes. `owned` is not needed: every registration in
   * this process was made by this agent.
   */
  async apply(
    desired: readonly ScheduledJob[],
    _owned: ReadonlySet<string>,
  ): Promise<ApplyOutcome> {
    const prepared = new Map<string, { job: ScheduledJob; parsed: CronSchedule; text: string }>();
    for (const job of desired) {
      if (prepared.has(job.id)) {
        throw new SchedulerError(`job ${job.id} is listed twice; nothing was changed`, 'stalled');
      }
      prepared.set(job.id, { job, parsed: this.check(job), text: this.render(job) });
    }
    let written = false;
    for (const [id, entry] of this.registrations) {
      if (prepared.has(id)) continue;
      entry.cron?.stop();
      this.registrations.delete(id);
      this.log.info({ job: id }, 'embedded: job removed');
      written = true;
    }
    for (const { job, parsed, text } of prepared.values()) {
      const existing = this.registrations.get(job.id);
      if (existing?.text === text) {
        existing.job = job;
        continue;
      }
      written = true;
      if (existing !== undefined && sameSchedule(existing.job, job)) {
        existing.job = job;
        existing.text = text;
        if (job.suspended) existing.cron?.pause();
        else existing.cron?.resume();
        this.log.info(
          { job: job.id, suspended: job.suspended },
          'embedded: job suspension changed',
        );
      } else {
        existing?.cron?.stop();
        this.registrations.set(job.id, this.register(job, parsed, text));
        this.log.info({ job: job.id, schedule: text }, 'embedded: job registered');
      }
      if (this.fires && parsed.isReboot && !job.suspended && !this.rebooted.has(job.id)) {
        this.rebooted.add(job.id);
        this.start(job, new Date());
      }
    }
    return { written };
  }

  /**
   * Holds `installed` (the inventory's jobs, as applied by an earlier process) as if this process
   * had applied them: @reboot jobs among them do not start again, since the agent did not reboot
   * because of them. A job that can no longer be registered is left out (the next tick sees the
   * difference and re-applies it, reporting why).
   */
  restore(installed: readonly ScheduledJob[]): void {
    for (const job of installed) {
      if (this.registrations.has(job.id)) continue;
      let parsed: CronSchedule;
      try {
        parsed = this.check(job);
      } catch (error) {
        this.log.warn({ err: error, job: job.id }, 'embedded: installed job not restored');
        continue;
      }
      if (parsed.isReboot) this.rebooted.add(job.id);
      this.registrations.set(job.id, this.register(job, parsed, this.render(job)));
    }
  }

  async uninstall(owned: ReadonlySet<string>): Promise<ApplyOutcome> {
    let written = false;
    for (const id of owned) {
      const entry = this.registrations.get(id);
      if (entry === undefined) continue;
      entry.cron?.stop();
      this.registrations.delete(id);
      written = true;
    }
    return { written };
  }

  /**
   * Stops every timer so the process can exit (SIGTERM). Runs already started go on; await
   * `whenIdle()` to wait for them.
   */
  close(): void {
    for (const entry of this.registrations.values()) entry.cron?.stop();
    this.registrations.clear();
  }

  /** Resolves when every run started so far (onFire) has settled. */
  async whenIdle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  /** Validates what croner will be given; throws SchedulerError (stalled) when it cannot fire it. */
  private check(job: ScheduledJob): CronSchedule {
    const { expression, timezone } = job.schedule;
    if (timezone !== EMBEDDED_NATIVE_ZONE) {
      throw new SchedulerError(
        `job ${job.id}: the embedded scheduler runs schedules in ${EMBEDDED_NATIVE_ZONE}, not ` +
          `${timezone}; translate the job's schedule with translateSchedule(schedule, jobZone, ` +
          `'${EMBEDDED_NATIVE_ZONE}'); nothing was changed`,
        'stalled',
      );
    }
    try {
      return parseCron(expression);
    } catch (error) {
      throw new SchedulerError(
        `job ${job.id}: native schedule "${expression}" is invalid: ${(error as Error).message}; ` +
          `nothing was changed`,
        'stalled',
        { cause: error },
      );
    }
  }

  private register(job: ScheduledJob, parsed: CronSchedule, text: string): Registration {
    const entry: Registration = { job, text, cron: null, lastServed: undefined };
    if (parsed.isReboot || !this.fires) return entry;
    const { pattern, domAndDow } = cronerScheduleOf(parsed);
    entry.cron = new Cron(
      pattern,
      {
        timezone: EMBEDDED_NATIVE_ZONE,
        mode: '5-part',
        domAndDow,
        paused: job.suspended,
        protect: false,
        catch: (error: unknown) =>
          this.log.error({ err: error, job: job.id }, 'embedded: tick failed'),
      },
      () => this.tick(entry),
    );
    return entry;
  }

  /** One croner tick: serve the most recent native fire once, through the skip rule. */
  private tick(entry: Registration): void {
    if (this.registrations.get(entry.job.id) !== entry || entry.job.suspended) return;
    const { job } = entry;
    const native = job.schedule;
    const timing: JobTiming | undefined = native.exact
      ? { schedule: native.expression, timezone: native.timezone }
      : this.timingOf(job);
    if (timing === undefined) {
      this.log.error(
        { job: job.id },
        'embedded: no run spec for a job with a superset schedule; fire skipped',
      );
      return;
    }
    const now = new Date();
    const decision = fireDecision({ ...timing, native }, now);
    const served = decision.scheduledAt.getTime();
    if (entry.lastServed === served) return;
    entry.lastServed = served;
    if (!decision.fire) {
      this.log.debug({ job: job.id, reason: decision.reason }, 'embedded: native fire skipped');
      return;
    }
    this.start(job, decision.scheduledAt);
  }

  private start(job: ScheduledJob, scheduledAt: Date): void {
    const run = (async () => {
      try {
        await this.onFire(job, scheduledAt);
      } catch (error) {
        this.log.error({ err: error, job: job.id }, 'embedded: run failed to start');
      }
    })();
    this.inFlight.add(run);
    void run.finally(() => this.inFlight.delete(run));
  }
}

function sameSchedule(a: ScheduledJob, b: ScheduledJob): boolean {
  return (
    a.schedule.expression === b.schedule.expression &&
    a.schedule.timezone === b.schedule.timezone &&
    a.schedule.exact === b.schedule.exact
  );
}
