import { nextFireTimes, parseCron, type CronSchedule } from '@cronfleet/core/cron';

/**
 * Which expected fire times of a job instance were started and which were missed: the pure core of
 * missed-run detection (DESIGN.md, "Monitoring and notifications"). The expected fire times are
 * the core evaluator's, in the job's own zone, which is what the agent's run wrapper starts (its
 * skip rule drops every native fire that is not one of them), so a daylight-saving transition
 * moves both sides alike and never looks like a missed run.
 *
 * A fire time F is judged only once the caller knows that every start the agent recorded up to
 * F + grace has arrived (`through`): before that, a start still in an agent's spool would look
 * missing. monitorWorker.ts calls this with that watermark (the agent's deliveredThrough).
 */

export interface FireTiming {
  /** The cron expression, as the agent reported it applied. */
  schedule: string;
  /** The IANA zone the expression is evaluated in. */
  timezone: string;
  /** How long after F a start may arrive and still count for F. */
  graceMs: number;
}

/** A run the scheduler started (manual runs do not count for a fire time). */
export interface ScheduledStart {
  /** The fire time the wrapper ran for, when it reported one. */
  scheduledAt: Date | null;
  startedAt: Date;
}

export type FireVerdict = 'started' | 'missed';

export interface JudgedFire {
  at: Date;
  verdict: FireVerdict;
}

export interface FireJudgement {
  fires: JudgedFire[];
  /**
   * Where the next judgement starts: the last fire judged, or `through` minus grace when every
   * fire up to it was judged. Fires after it are judged later.
   */
  judgedThrough: Date;
  /** More than `limit` fires were due: the oldest were judged, the rest wait for the next tick. */
  truncated: boolean;
}

const compiled = new Map<string, CronSchedule>();

/** The parsed expression, kept (up to 10,000 of them): the worker judges the same ones all day. */
export function compiledSchedule(expression: string): CronSchedule {
  let schedule = compiled.get(expression);
  if (schedule === undefined) {
    if (compiled.size >= 10_000) compiled.clear();
    schedule = parseCron(expression);
    compiled.set(expression, schedule);
  }
  return schedule;
}

/**
 * The fire times F with `after` < F and F + grace ≤ `through`, oldest first (at most `limit`),
 * each judged against `starts`: a start whose scheduledAt is F, or (a start that named no fire
 * time) one that began in [F, F + grace] and was not already counted for an earlier F.
 */
export function judgeFires(
  timing: FireTiming,
  window: { after: Date; through: Date; limit: number },
  starts: readonly ScheduledStart[],
): FireJudgement {
  const lastJudgeable = window.through.getTime() - timing.graceMs;
  if (lastJudgeable <= window.after.getTime()) {
    return { fires: [], judgedThrough: window.after, truncated: false };
  }
  const due = nextFireTimes(compiledSchedule(timing.schedule), {
    after: window.after,
    count: window.limit + 1,
    timezone: timing.timezone,
  }).filter((fire) => fire.getTime() <= lastJudgeable);
  const truncated = due.length > window.limit;
  const fires = due.slice(0, window.limit);

  const named = new Set<number>();
  const unnamed: number[] = [];
  for (const start of starts) {
    if (start.scheduledAt !== null) named.add(start.scheduledAt.getTime());
    else unnamed.push(start.startedAt.getTime());
  }
  unnamed.sort((a, b) => a - b);
  let nextUnnamed = 0;
  const judged = fires.map((fire): JudgedFire => {
    const at = fire.getTime();
    if (named.has(at)) return { at: fire, verdict: 'started' };
    while (nextUnnamed < unnamed.length && unnamed[nextUnnamed]! < at) nextUnnamed += 1;
    if (nextUnnamed < unnamed.length && unnamed[nextUnnamed]! <= at + timing.graceMs) {
      nextUnnamed += 1;
      return { at: fire, verdict: 'started' };
    }
    return { at: fire, verdict: 'missed' };
  });
  const last = fires.at(-1);
  return {
    fires: judged,
    judgedThrough: truncated && last !== undefined ? last : new Date(lastJudgeable),
    truncated,
  };
}
