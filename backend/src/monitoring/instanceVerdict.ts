import { nextFireTimes } from '@cronfleet/core/cron';
import {
  compiledSchedule,
  judgeFires,
  type FireJudgement,
  type ScheduledStart,
} from './fireJudgement.js';
import { zonedTime } from './incidentWording.js';

/**
 * What one look at one job instance concludes: the pure rules of docs/monitoring.md ("States"),
 * given what the monitoring worker read for it. The worker turns the conclusions into incident
 * transitions and the instance's next check; nothing here reads the database or the clock.
 */

export type JobHealth = 'new' | 'up' | 'missed' | 'failing' | 'overrun' | 'suspended' | 'unknown';
export type JobIncidentKind = 'missed' | 'failing' | 'overrun';

export type FinishedStatus = 'succeeded' | 'failed' | 'timed_out' | 'lost';

/** A finished run, newest first in {@link InstanceFacts.outcomes}. */
export interface RunOutcome {
  runId: string;
  status: FinishedStatus;
  attempt: number;
  finishedAt: Date;
  /** The end of its output (for a failure's notification). */
  outputTail: string;
  exitCode: number | null;
  reason: string | null;
}

export interface InstanceFacts {
  schedule: string;
  timezone: string;
  graceMs: number;
  /** monitoring.maxRuntime; null for none. */
  maxRuntimeMs: number | null;
  alertAfter: number;
  recoverAfter: number;
  /** The manifest's retries.limit: a failed attempt up to it is followed by another. */
  retryLimit: number;
  suspended: boolean;
  /** The agent has an open agent_offline incident, or was revoked. */
  agentUnavailable: boolean;
  health: JobHealth;
  judgedThrough: Date;
  /**
   * Every start the agent recorded before this has arrived (its heartbeat's deliveredThrough,
   * never later than now); null: the agent never said, so no fire can be judged safely.
   */
  watermark: Date | null;
  /** Scheduled starts since judgedThrough (manual runs do not count for a fire). */
  starts: readonly ScheduledStart[];
  /** The latest finished runs (not skipped), newest first; at least max(alertAfter, recoverAfter) when there are that many. */
  outcomes: readonly RunOutcome[];
  /**
   * Whether `outcomes` were read: they are not when no run failed since the last look and no
   * failing incident is open, and then failing is left as it is.
   */
  outcomesRead: boolean;
  /** The oldest start among the runs still running past maxRuntime; null when none is. */
  overrunSince: Date | null;
  /** Has any run of this instance ever been recorded. */
  everRan: boolean;
  /**
   * When a person last resolved a failing or overrun incident of this instance: the evidence
   * from before it (the same failed runs, the same long run) does not open another.
   */
  manuallyResolvedAt: Date | null;
  /** The kinds of incident open for this instance now. */
  open: ReadonlySet<JobIncidentKind>;
}

export type Transition =
  | { kind: 'missed'; change: 'open' | 'update'; fires: Date[] }
  | { kind: 'missed'; change: 'resolve'; startedFire: Date | null; because: string }
  | { kind: 'failing'; change: 'open' | 'update'; streak: RunOutcome[] }
  | { kind: 'failing'; change: 'resolve'; because: string }
  | { kind: 'overrun'; change: 'open'; since: Date }
  | { kind: 'overrun'; change: 'resolve'; because: string };

export interface InstanceVerdict {
  transitions: Transition[];
  health: JobHealth;
  judgedThrough: Date;
  nextCheckAt: Date;
}

export interface VerdictOptions {
  now: Date;
  /** How soon an instance with a problem is looked at again (a success may have ended it). */
  pollMs: number;
  /** How soon an instance whose due fires wait for its agent's watermark is looked at again. */
  watermarkWaitMs: number;
  /** How soon an instance that nothing will change is looked at again (suspended, offline agent, @reboot). */
  idleMs: number;
  /** Fires judged per look at most; more are judged by the next look, at once. */
  fireLimit: number;
}

const failures: ReadonlySet<FinishedStatus> = new Set(['failed', 'timed_out', 'lost']);

/**
 * The runs that count for failing and recovering, newest first: a failed or timed-out attempt
 * that a retry follows (attempt ≤ retries.limit) is not the run's outcome, so it never counts.
 */
export function countedOutcomes(outcomes: readonly RunOutcome[], retryLimit: number): RunOutcome[] {
  return outcomes.filter(
    (run) => run.status === 'succeeded' || run.status === 'lost' || run.attempt > retryLimit,
  );
}

function hasFireTimes(schedule: string): boolean {
  try {
    return !compiledSchedule(schedule).isReboot;
  } catch {
    return false;
  }
}

function later(a: Date, b: Date): Date {
  return a.getTime() >= b.getTime() ? a : b;
}

export function judgeInstance(facts: InstanceFacts, options: VerdictOptions): InstanceVerdict {
  const { now } = options;
  const poll = new Date(now.getTime() + options.pollMs);
  const watermarkWait = new Date(now.getTime() + options.watermarkWaitMs);
  const idle = new Date(now.getTime() + options.idleMs);
  const transitions: Transition[] = [];

  if (facts.agentUnavailable) {
    // The agent's own incident speaks for its jobs: nothing is judged while it is away, and the
    // fires it missed meanwhile are never judged (its recovery moves judgedThrough past them).
    return {
      transitions,
      health: 'unknown',
      judgedThrough: facts.judgedThrough,
      nextCheckAt: idle,
    };
  }
  if (facts.suspended) {
    if (facts.open.has('missed')) {
      transitions.push({
        kind: 'missed',
        change: 'resolve',
        startedFire: null,
        because: 'the job was suspended',
      });
    }
    if (facts.open.has('failing')) {
      transitions.push({ kind: 'failing', change: 'resolve', because: 'the job was suspended' });
    }
    if (facts.open.has('overrun') && facts.overrunSince === null) {
      transitions.push({
        kind: 'overrun',
        change: 'resolve',
        because: 'no run is past maxRuntime any more',
      });
    }
    return {
      transitions,
      health: 'suspended',
      judgedThrough: later(facts.judgedThrough, now),
      nextCheckAt: idle,
    };
  }

  // Missed: the fires whose grace has passed and whose starts have all arrived.
  let judgedThrough = facts.judgedThrough;
  let nextCheckAt = idle;
  const open = new Set(facts.open);
  if (hasFireTimes(facts.schedule)) {
    const through =
      facts.watermark === null
        ? null
        : new Date(Math.min(facts.watermark.getTime(), now.getTime()));
    let judgement: FireJudgement | null = null;
    if (through === null) {
      // No watermark, no judgement: the fires go unjudged rather than risk a false alert.
      judgedThrough = later(judgedThrough, new Date(now.getTime() - facts.graceMs));
    } else {
      judgement = judgeFires(
        { schedule: facts.schedule, timezone: facts.timezone, graceMs: facts.graceMs },
        { after: judgedThrough, through, limit: options.fireLimit },
        facts.starts,
      );
      judgedThrough = later(judgedThrough, judgement.judgedThrough);
    }
    if (judgement !== null && judgement.fires.length > 0) {
      const missed = judgement.fires
        .filter((fire) => fire.verdict === 'missed')
        .map((fire) => fire.at);
      const last = judgement.fires.at(-1)!;
      if (last.verdict === 'started' && open.has('missed')) {
        transitions.push({
          kind: 'missed',
          change: 'resolve',
          startedFire: last.at,
          because: `a run started for the fire at ${zonedTime(last.at, facts.timezone)}`,
        });
        open.delete('missed');
      } else if (missed.length > 0) {
        transitions.push({
          kind: 'missed',
          change: open.has('missed') ? 'update' : 'open',
          fires: missed,
        });
        open.add('missed');
      }
    }
    if (judgement?.truncated === true) {
      nextCheckAt = now;
    } else {
      const next = nextFireTime(facts.schedule, facts.timezone, judgedThrough);
      if (next !== null) {
        const due = new Date(next.getTime() + facts.graceMs);
        // Due but not yet judgeable: the watermark lags; look again at the next pass or so.
        nextCheckAt = due.getTime() <= now.getTime() ? watermarkWait : due;
      }
    }
  }

  // Failing and recovering, over the runs that count.
  const counted = facts.outcomesRead ? countedOutcomes(facts.outcomes, facts.retryLimit) : [];
  const newest = counted.slice(0, facts.alertAfter);
  const streakLength = counted.findIndex((run) => !failures.has(run.status));
  const streak = counted.slice(0, streakLength === -1 ? counted.length : streakLength);
  const afterManualResolution = (at: Date) =>
    facts.manuallyResolvedAt === null || at.getTime() > facts.manuallyResolvedAt.getTime();
  if (
    newest.length === facts.alertAfter &&
    newest.every((run) => failures.has(run.status)) &&
    (open.has('failing') || afterManualResolution(newest[0]!.finishedAt))
  ) {
    if (!open.has('failing')) {
      transitions.push({ kind: 'failing', change: 'open', streak });
      open.add('failing');
    } else {
      // The worker writes it only when the streak grew.
      transitions.push({ kind: 'failing', change: 'update', streak });
    }
  } else if (open.has('failing')) {
    const recent = counted.slice(0, facts.recoverAfter);
    if (recent.length === facts.recoverAfter && recent.every((run) => run.status === 'succeeded')) {
      transitions.push({
        kind: 'failing',
        change: 'resolve',
        because: `${facts.recoverAfter === 1 ? 'a run' : `${facts.recoverAfter} runs in a row`} succeeded`,
      });
      open.delete('failing');
    }
  }

  // Overrun: a run still going past maxRuntime.
  if (
    facts.overrunSince !== null &&
    !open.has('overrun') &&
    afterManualResolution(facts.overrunSince)
  ) {
    transitions.push({ kind: 'overrun', change: 'open', since: facts.overrunSince });
    open.add('overrun');
  } else if (facts.overrunSince === null && open.has('overrun')) {
    transitions.push({
      kind: 'overrun',
      change: 'resolve',
      because: 'no run is past maxRuntime any more',
    });
    open.delete('overrun');
  }

  const health: JobHealth = open.has('failing')
    ? 'failing'
    : open.has('overrun')
      ? 'overrun'
      : open.has('missed')
        ? 'missed'
        : facts.everRan || facts.starts.length > 0 || facts.outcomes.length > 0
          ? 'up'
          : 'new';
  if (open.size > 0 && nextCheckAt.getTime() > poll.getTime()) nextCheckAt = poll;
  return { transitions, health, judgedThrough, nextCheckAt };
}

/** The first fire time after `after`, in the job's zone (the core evaluator); null for none. */
export function nextFireTime(schedule: string, timezone: string, after: Date): Date | null {
  return nextFireTimes(compiledSchedule(schedule), { after, count: 1, timezone })[0] ?? null;
}
