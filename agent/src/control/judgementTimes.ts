import { stat } from 'node:fs/promises';
import { nextFireTime, parseCron, type CronSchedule } from '@cronfleet/core/cron';
import type { Logger } from 'pino';
import type { AgentStateStore } from '../state/agentStateStore.js';

/**
 * When the backend can judge a fire of an installed job, so the heartbeat loop (agentLink.ts) can
 * send a heartbeat then instead of up to one interval later.
 *
 * The backend's monitoring worker judges an expected fire time F as started or missed only once a
 * heartbeat's `deliveredThrough` watermark has passed F + grace (backend/src/monitoring/
 * fireJudgement.ts): before that, a start still in the spool would look missing. A heartbeat a
 * moment after F + grace (`judgementSettleMs`, time for a start recorded at the last instant to
 * reach the spool) lets the worker judge the fire at its next pass, within seconds, where the
 * regular interval alone would make it wait up to ~35 s.
 *
 * The answer must stay cheap with 10,000 installed jobs and a heartbeat every few seconds: the
 * run specs are read once per inventory change, and each job's next instant sits in a min-heap;
 * asking for the next instant only advances the jobs whose instant has passed. Suspended jobs
 * (the backend expects no runs of them) and @reboot (no fire times) have none.
 */

/** How long after F + grace the heartbeat goes: a start recorded at F + grace is spooled by then. */
export const judgementSettleMs = 1_000;

/** What the computation needs of one installed job. */
export interface JudgedJob {
  id: string;
  schedule: string;
  timezone: string;
  graceMs: number;
  suspended: boolean;
}

interface HeapEntry {
  /** F + grace + settle, in epoch milliseconds. */
  at: number;
  /** F, in epoch milliseconds. */
  fire: number;
  job: number;
}

interface CompiledJob {
  schedule: CronSchedule;
  timezone: string;
  offsetMs: number;
}

/**
 * The next judgement instants of a fixed set of jobs. Build it again when the jobs change.
 * Instants of several jobs at the same moment are one answer: one heartbeat serves them all.
 */
export class JudgementTimes {
  readonly #jobs: CompiledJob[] = [];
  /** The jobs left out, with why (an expression or zone the evaluator refuses). */
  readonly skipped: { id: string; reason: string }[] = [];
  #heap: HeapEntry[] = [];
  /** The `after` the heap was last advanced to; asking for an earlier one builds it again. */
  #advancedTo: number | undefined;

  constructor(jobs: Iterable<JudgedJob>, options: { settleMs?: number } = {}) {
    const settleMs = options.settleMs ?? judgementSettleMs;
    // Thousands of jobs share a handful of expressions: parse each once.
    const parsed = new Map<string, CronSchedule | Error>();
    for (const job of jobs) {
      if (job.suspended) continue;
      let schedule = parsed.get(job.schedule);
      if (schedule === undefined) {
        try {
          schedule = parseCron(job.schedule);
        } catch (error) {
          schedule = error as Error;
        }
        parsed.set(job.schedule, schedule);
      }
      if (schedule instanceof Error) {
        this.skipped.push({ id: job.id, reason: schedule.message });
        continue;
      }
      if (schedule.isReboot) continue;
      this.#jobs.push({
        schedule,
        timezone: job.timezone,
        offsetMs: Math.max(0, job.graceMs) + settleMs,
      });
    }
  }

  /** How many jobs have judgement instants (not suspended, not @reboot, understood). */
  get size(): number {
    return this.#jobs.length;
  }

  /** The first instant strictly after `after` that is some job's fire time + grace + settle. */
  next(after: Date): Date | undefined {
    const afterMs = after.getTime();
    if (this.#advancedTo === undefined || afterMs < this.#advancedTo) this.#build(afterMs);
    this.#advancedTo = afterMs;
    const heap = this.#heap;
    while (heap.length > 0 && heap[0]!.at <= afterMs) {
      const top = heap[0]!;
      const fire = this.#nextFire(
        top.job,
        new Date(Math.max(top.fire, afterMs - this.#jobs[top.job]!.offsetMs)),
      );
      if (fire === undefined) {
        const last = heap.pop()!;
        if (heap.length > 0) {
          heap[0] = last;
          this.#siftDown(0);
        }
      } else {
        top.fire = fire;
        top.at = fire + this.#jobs[top.job]!.offsetMs;
        this.#siftDown(0);
      }
    }
    return heap.length === 0 ? undefined : new Date(heap[0]!.at);
  }

  /** The job's first fire time strictly after `after` (epoch ms), or undefined if it has none. */
  #nextFire(index: number, after: Date): number | undefined {
    const job = this.#jobs[index]!;
    try {
      return nextFireTime(job.schedule, { after, timezone: job.timezone })?.getTime();
    } catch {
      // An unknown zone: the backend cannot judge the job either.
      return undefined;
    }
  }

  #build(afterMs: number): void {
    const heap: HeapEntry[] = [];
    for (let index = 0; index < this.#jobs.length; index += 1) {
      const { offsetMs } = this.#jobs[index]!;
      // F + offset > after ⇔ F > after − offset.
      const fire = this.#nextFire(index, new Date(afterMs - offsetMs));
      if (fire !== undefined) heap.push({ at: fire + offsetMs, fire, job: index });
    }
    this.#heap = heap;
    for (let index = (heap.length >> 1) - 1; index >= 0; index -= 1) this.#siftDown(index);
  }

  #siftDown(start: number): void {
    const heap = this.#heap;
    const entry = heap[start]!;
    let index = start;
    for (;;) {
      const left = 2 * index + 1;
      if (left >= heap.length) break;
      const right = left + 1;
      const child = right < heap.length && heap[right]!.at < heap[left]!.at ? right : left;
      if (heap[child]!.at >= entry.at) break;
      heap[index] = heap[child]!;
      index = child;
    }
    heap[index] = entry;
  }
}

/** Where the heartbeat loop asks for the next judgement instant (InstalledJudgementTimes). */
export interface JudgementTimeSource {
  /** The first judgement instant strictly after `after`, or undefined when there is none. */
  nextAfter(after: Date): Promise<Date | undefined>;
  /** The installed jobs changed (an apply wrote the inventory): read them again when next asked. */
  invalidate(): void;
}

/** How long a failed read of the installed jobs is remembered before it is tried again. */
const retryFailedReadMs = 10 * 60_000;

/**
 * The judgement instants of the jobs installed in the state directory: inventory.json and the run
 * specs as applied (as the inventory report reads them, agentReports.ts). Read when first asked,
 * then again only after `invalidate()` or when inventory.json changed on disk (an apply made by
 * another process, such as `sync --once`, which one stat per question notices).
 */
export class InstalledJudgementTimes implements JudgementTimeSource {
  readonly #store: AgentStateStore;
  readonly #logger: Logger | undefined;
  #times: JudgementTimes | undefined;
  /** inventory.json's identity when the times were read (size, mtime, inode). */
  #readFrom: string | undefined;
  #failedAt: number | undefined;

  constructor(store: AgentStateStore, options: { logger?: Logger } = {}) {
    this.#store = store;
    this.#logger = options.logger;
  }

  invalidate(): void {
    this.#times = undefined;
    this.#failedAt = undefined;
  }

  async nextAfter(after: Date): Promise<Date | undefined> {
    const identity = await this.#inventoryIdentity();
    if (identity !== this.#readFrom) this.invalidate();
    if (this.#times === undefined) {
      if (this.#failedAt !== undefined && after.getTime() - this.#failedAt < retryFailedReadMs) {
        return undefined;
      }
      try {
        this.#times = await this.#read();
        this.#readFrom = identity;
        this.#failedAt = undefined;
      } catch (error) {
        this.#failedAt = after.getTime();
        this.#readFrom = identity;
        this.#logger?.warn(
          { err: error },
          'could not read the installed jobs for early heartbeats; heartbeats keep their interval',
        );
        return undefined;
      }
    }
    return this.#times.next(after);
  }

  async #inventoryIdentity(): Promise<string> {
    try {
      const info = await stat(this.#store.inventoryFile);
      return `${info.size}:${info.mtimeMs}:${info.ino}`;
    } catch {
      return 'missing';
    }
  }

  async #read(): Promise<JudgementTimes> {
    const inventory = await this.#store.readInventory();
    const entries = Object.values(inventory?.jobs ?? {});
    const specs = await this.#store.readEntryRunSpecs(entries);
    const jobs: JudgedJob[] = [];
    for (const entry of entries) {
      const spec = specs.get(entry.id);
      // A job whose spec cannot be read is left out of the inventory report too.
      if (spec === undefined || spec instanceof Error) continue;
      jobs.push({
        id: entry.id,
        schedule: spec.schedule,
        timezone: spec.timezone,
        graceMs: spec.monitoring.graceMs,
        suspended: entry.job.suspended || spec.suspend,
      });
    }
    const times = new JudgementTimes(jobs);
    for (const job of times.skipped) {
      this.#logger?.debug({ job: job.id, reason: job.reason }, 'no judgement instants for a job');
    }
    return times;
  }
}

/**
 * How long the heartbeat loop waits after a heartbeat that started at `sentAtMs`: the regular
 * (jittered) interval, or less to reach the next judgement instant, but never closer than
 * `minSpacingMs` to the last heartbeat, so a fleet of every-minute jobs with scattered graces does
 * not turn into a heartbeat storm (a heartbeat a few seconds late still serves every instant it
 * passed). Spacing never lengthens the regular interval.
 */
export function nextHeartbeatWait(input: {
  nowMs: number;
  intervalWaitMs: number;
  sentAtMs: number;
  judgementAtMs: number | undefined;
  minSpacingMs: number;
}): { waitMs: number; forJudgement: boolean } {
  const { nowMs, intervalWaitMs, sentAtMs, judgementAtMs, minSpacingMs } = input;
  if (judgementAtMs === undefined) return { waitMs: intervalWaitMs, forJudgement: false };
  const judgementWaitMs = Math.max(0, Math.max(judgementAtMs, sentAtMs + minSpacingMs) - nowMs);
  return judgementWaitMs <= intervalWaitMs
    ? { waitMs: judgementWaitMs, forJudgement: true }
    : { waitMs: intervalWaitMs, forJudgement: false };
}
