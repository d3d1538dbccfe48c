import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { CheckIn, CheckInFinish, FinishStatus, RunTrigger } from '@cronfleet/core/api';
import { fireDecision } from '../schedule/fireDecision.js';
import type { CheckInSink } from '../spool/checkInSink.js';
import type { RunSpec } from '../state/runSpec.js';
import { readAppliedRunSpec } from './appliedRunSpec.js';
import { runJobProcess, shellExitCode } from './jobProcess.js';
import { JobLock, jobLockFile, type AcquireResult, type JobLockRecord } from './jobLock.js';
import { LiveRunEntry } from './liveRunRegistry.js';
import { OutputCapture } from './outputCapture.js';
import { sleep, type ProcessGroupRef } from './processGroup.js';
import {
  defaultRunLogRetention,
  pruneRunLogs,
  RunLogFile,
  runLogDirectory,
  type RunLogRetention,
} from './runLogFile.js';

/**
 * `cronfleet-agent run <namespace>/<name>`: what the native scheduler starts (and what the daemon
 * runs in-process for the embedded scheduler and "run now"). In order:
 *
 * 1. the job's run spec as applied (the inventory names the revision; the working copy of the
 *    repository is never read);
 * 2. for a scheduled start, the suspension and the time-zone skip rule: a start they turn away is
 *    not a run of the job and records nothing;
 * 3. the concurrency policy through the per-job lock (jobLock.ts): Forbid records a `skipped` run
 *    naming the run that holds the lock, Replace stops that run first, Allow takes no lock;
 * 4. per attempt: a record in the live-run registry (liveRunRegistry.ts: the daemon reports live
 *    runs and reaps those whose wrapper died), a `start` check-in recorded in the sink (the
 *    durable spool) before the command starts, the command (jobProcess.ts), its output captured
 *    head and tail (outputCapture.ts) and logged whole (runLogFile.ts), a `finish` check-in, and
 *    the registry record removed;
 * 5. retries of a failed or timed-out attempt per spec.retries: each attempt is its own run
 *    (its own runId, `attempt` 2, 3…, trigger `retry`, the same scheduledAt), as the backend keys
 *    runs by runId and lists attempts as runs; a run that was stopped (Replace, the wrapper told
 *    to stop) is not retried;
 * 6. the exit code: the last attempt's, as a shell reports it (128 + the signal).
 *
 * The sink is the only way out: the network is never on this path. When the sink fails or hangs
 * (a full disk under the spool) the job still runs, unchanged, and the wrapper says so through
 * `warn` (stderr).
 */

export interface RunAttempt {
  runId: string;
  attempt: number;
  trigger: RunTrigger;
  status: FinishStatus;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  durationMs: number;
  /** The whole output; null when no command ran (skipped). */
  logFile: string | null;
  finish: CheckInFinish;
}

export type RunOutcome =
  | {
      kind: 'ran';
      spec: RunSpec;
      scheduledAt: Date | null;
      attempts: RunAttempt[];
      /** The last attempt's, as a shell reports it. */
      exitCode: number;
    }
  /** Forbid (or a Replace that could not stop the holder): recorded as a `skipped` run. */
  | { kind: 'skipped'; reason: string; attempt: RunAttempt; exitCode: 0 }
  /** The skip rule or a suspension turned the start away: not a run, nothing recorded. */
  | { kind: 'not-run'; reason: string; exitCode: 0 }
  | { kind: 'error'; message: string; exitCode: number };

export interface RunJobOptions {
  /** The agent's state directory: the applied specs, the locks, the run logs. */
  stateDir: string;
  /** How the applied spec is read; default readAppliedRunSpec (appliedRunSpec.ts). */
  readRunSpec?:
    ((stateDir: string, id: string, specKey?: string) => Promise<RunSpec | string>) | undefined;
  /** `namespace/name` */
  id: string;
  /**
   * The key of the file holding the spec to run, as the scheduler entry names it (`--spec`): read
   * without the inventory. Absent (a manual run, an older entry): the inventory's.
   */
  specKey?: string | undefined;
  /** A manual run ("run now"): no skip rule, runs even while suspended; trigger `manual`. */
  manual: boolean;
  /** Set by the embedded scheduler, which applied the skip rule itself. */
  scheduledAt?: Date | undefined;
  /**
   * The run id of the first attempt (a UUID): a run-now request's id, so the dashboard finds the
   * run it asked for. Default: a random UUID.
   */
  runId?: string | undefined;
  now?: (() => Date) | undefined;
  environment: Readonly<Record<string, string | undefined>>;
  /** Where check-ins are recorded: the durable spool (tests: in memory or a file). */
  sink: CheckInSink;
  /** The wrapper's own messages (stderr), never mixed into the job's output. */
  warn: (message: string) => void;
  /** Also copies the job's output (stdout and stderr merged) there (a manual run in a terminal). */
  passThrough?: NodeJS.WritableStream | undefined;
  /** Aborting stops the run: the command's group gets TERM, then KILL; no further retries. */
  signal?: AbortSignal | undefined;
  /** Between TERM and KILL (timeout, stop, Replace, an orphan). Default 10 s. */
  killGraceMs?: number | undefined;
  /** Replace: how long, after the grace, to wait for the holder to release. Default 5 s. */
  releaseWaitMs?: number | undefined;
  /** How long a record in the sink may take before the run goes on without it. Default 5 s. */
  recordTimeoutMs?: number | undefined;
  /** See JobProcessOptions.outputDrainMs. Default 2 s. */
  outputDrainMs?: number | undefined;
  logRetention?: RunLogRetention | undefined;
}

/** The wait before attempt `next` (≥ 2): `delay`, or `delay` × 2^(next − 2) when exponential. */
export function retryDelayMs(retries: RunSpec['retries'], next: number): number {
  return retries.backoff === 'constant'
    ? retries.delayMs
    : retries.delayMs * 2 ** Math.max(0, next - 2);
}

function describeHolder(holder: JobLockRecord): string {
  return `run ${holder.runId} (attempt ${holder.attempt}, wrapper pid ${holder.pid} on ${holder.hostname}, since ${holder.acquiredAt})`;
}

export async function runJob(options: RunJobOptions): Promise<RunOutcome> {
  const now = options.now ?? (() => new Date());
  let spec: RunSpec | string;
  try {
    spec = await (options.readRunSpec ?? readAppliedRunSpec)(
      options.stateDir,
      options.id,
      options.specKey,
    );
  } catch (error) {
    spec = `cannot read the run spec of ${options.id}: ${(error as Error).message}`;
  }
  if (typeof spec === 'string') return { kind: 'error', message: spec, exitCode: 2 };

  let scheduledAt: Date | null = options.manual ? null : (options.scheduledAt ?? null);
  if (!options.manual) {
    if (spec.suspend) return { kind: 'not-run', reason: `${spec.id} is suspended`, exitCode: 0 };
    if (scheduledAt === null) {
      const decision = fireDecision(spec, now());
      if (!decision.fire) return { kind: 'not-run', reason: decision.reason, exitCode: 0 };
      scheduledAt = decision.scheduledAt;
    }
  }
  return new JobRun(spec, scheduledAt, options, now).run();
}

/** One wrapper run of a job: the lock, the attempts, their check-ins. */
class JobRun {
  private readonly graceMs: number;
  private readonly trigger: RunTrigger;
  private lock: JobLock | null = null;
  private replacedBy: string | null = null;
  private passThroughBroken = false;
  private lockUpdates: Promise<void> = Promise.resolve();

  constructor(
    private readonly spec: RunSpec,
    private readonly scheduledAt: Date | null,
    private readonly options: RunJobOptions,
    private readonly now: () => Date,
  ) {
    this.graceMs = options.killGraceMs ?? 10_000;
    this.trigger = options.manual ? 'manual' : 'scheduled';
  }

  async run(): Promise<RunOutcome> {
    const { spec } = this;
    const firstRunId = this.options.runId ?? randomUUID();
    const locked = await this.takeLock(firstRunId);
    if (typeof locked === 'string') {
      return { kind: 'error', message: locked, exitCode: 1 };
    }
    if (locked !== null && 'holder' in locked) {
      const reason =
        spec.concurrencyPolicy === 'Forbid'
          ? `skipped (concurrencyPolicy Forbid): ${describeHolder(locked.holder)} holds the lock`
          : `skipped (concurrencyPolicy Replace): ${describeHolder(locked.holder)} did not release the lock within ${this.graceMs + (this.options.releaseWaitMs ?? 5_000)} ms of being stopped`;
      const attempt = await this.recordSkipped(firstRunId, reason);
      return { kind: 'skipped', reason, attempt, exitCode: 0 };
    }
    this.lock = locked?.lock ?? null;

    const attempts: RunAttempt[] = [];
    let exitCode = 0;
    const logDirectory = runLogDirectory(this.options.stateDir, spec.namespace, spec.name);
    try {
      for (let attempt = 1; attempt <= spec.retries.limit + 1; attempt += 1) {
        if (attempt > 1) {
          await this.waitBeforeRetry(retryDelayMs(spec.retries, attempt));
          if (this.stopping()) break;
        }
        const runId = attempt === 1 ? firstRunId : randomUUID();
        const result = await this.runAttempt(runId, attempt, logDirectory);
        attempts.push(result.attempt);
        exitCode = result.exitCode;
        if (result.attempt.status === 'succeeded' || result.attempt.status === 'skipped') break;
        if (result.stopped || this.stopping()) break;
      }
    } finally {
      await this.lock?.release().catch((error: unknown) => {
        this.options.warn(`cannot release the lock ${this.lock?.file}: ${String(error)}`);
      });
      const retention = this.options.logRetention ?? defaultRunLogRetention;
      const keep = new Set(attempts.flatMap((attempt) => attempt.logFile ?? []));
      await pruneRunLogs(logDirectory, retention, keep).catch((error: unknown) => {
        this.options.warn(`cannot prune the run logs in ${logDirectory}: ${String(error)}`);
      });
    }
    return { kind: 'ran', spec, scheduledAt: this.scheduledAt, attempts, exitCode };
  }

  /** null for Allow; a message when the lock cannot be used at all. */
  private async takeLock(runId: string): Promise<AcquireResult | null | string> {
    const { spec } = this;
    if (spec.concurrencyPolicy === 'Allow') return null;
    const file = jobLockFile(this.options.stateDir, spec.namespace, spec.name);
    const hooks = {
      onStale: (holder: JobLockRecord | undefined, stoppedGroup: boolean) => {
        this.options.warn(
          holder === undefined
            ? `${spec.id}: took over the lock ${file}: its content was unreadable`
            : `${spec.id}: took over the lock of ${describeHolder(holder)}: its wrapper is gone${stoppedGroup ? `; stopped the command it left running (process group ${holder.job?.pgid})` : ''}`,
        );
      },
    };
    try {
      return spec.concurrencyPolicy === 'Forbid'
        ? await JobLock.tryAcquire(file, { runId, attempt: 1 }, this.graceMs, hooks)
        : await JobLock.acquireReplacing(
            file,
            { runId, attempt: 1 },
            {
              graceMs: this.graceMs,
              releaseWaitMs: this.options.releaseWaitMs ?? 5_000,
              ...hooks,
            },
          );
    } catch (error) {
      return `${spec.id}: cannot take the concurrency lock (${spec.concurrencyPolicy}) ${file}: ${(error as Error).message}`;
    }
  }

  private stopping(): boolean {
    return this.replacedBy !== null || this.options.signal?.aborted === true;
  }

  private stopNote(): string {
    if (this.replacedBy !== null) {
      return `stopped: replaced by run ${this.replacedBy} (concurrencyPolicy Replace)`;
    }
    const reason: unknown = this.options.signal?.reason;
    return `stopped: the wrapper was told to stop${typeof reason === 'string' ? ` (${reason})` : ''}`;
  }

  private async checkReplaced(): Promise<boolean> {
    if (this.lock === null || this.replacedBy !== null) return this.replacedBy !== null;
    const request = await this.lock.replaceRequest();
    if (request !== undefined) this.replacedBy = request.byRunId;
    return request !== undefined;
  }

  /** Sleeps before a retry; wakes early when the run is stopped or replaced. */
  private async waitBeforeRetry(delayMs: number): Promise<void> {
    const until = Date.now() + delayMs;
    while (Date.now() < until && !this.stopping()) {
      const slice = this.lock === null ? until - Date.now() : Math.min(100, until - Date.now());
      await sleep(slice, this.options.signal);
      await this.checkReplaced();
    }
  }

  private async record(checkIns: readonly CheckIn[]): Promise<void> {
    const timeoutMs = this.options.recordTimeoutMs ?? 5_000;
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.options.sink.record(checkIns),
        new Promise<never>((_resolve, reject) => {
          timer = setTimeout(
            () => reject(new Error(`no answer within ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (error) {
      const what = checkIns.map((checkIn) => `${checkIn.kind} ${checkIn.runId}`).join(', ');
      this.options.warn(
        `${this.spec.id}: cannot record the check-in (${what}): ${(error as Error).message}; the job runs regardless`,
      );
    } finally {
      clearTimeout(timer);
    }
  }

  private startCheckIn(runId: string, attempt: number, startedAt: Date): CheckIn {
    return {
      kind: 'start',
      runId,
      namespace: this.spec.namespace,
      name: this.spec.name,
      attempt,
      trigger: attempt > 1 ? 'retry' : this.trigger,
      scheduledAt: this.scheduledAt?.toISOString() ?? null,
      startedAt: startedAt.toISOString(),
      revision: this.spec.revision,
    };
  }

  private finishCheckIn(
    runId: string,
    attempt: number,
    startedAt: Date,
    ended: Pick<CheckInFinish, 'status' | 'exitCode' | 'signal'>,
    capture: OutputCapture,
  ): CheckInFinish {
    const finishedAt = this.now();
    const { outputHead, outputTail, outputTruncated } = capture.result();
    return {
      kind: 'finish',
      runId,
      namespace: this.spec.namespace,
      name: this.spec.name,
      attempt,
      ...ended,
      finishedAt: finishedAt.toISOString(),
      durationMs: Math.max(0, finishedAt.getTime() - startedAt.getTime()),
      outputHead,
      outputTail,
      outputTruncated,
      revision: this.spec.revision,
    };
  }

  /** A run that does not start its command: a start and a `skipped` finish saying why. */
  private async recordSkipped(runId: string, reason: string): Promise<RunAttempt> {
    const startedAt = this.now();
    const capture = new OutputCapture(this.spec.outputMaxBytes);
    capture.note(reason);
    const finish: CheckInFinish = {
      ...this.finishCheckIn(
        runId,
        1,
        startedAt,
        { status: 'skipped', exitCode: null, signal: null },
        capture,
      ),
      reason,
    };
    await this.record([this.startCheckIn(runId, 1, startedAt), finish]);
    return {
      runId,
      attempt: 1,
      trigger: this.trigger,
      status: 'skipped',
      exitCode: null,
      signal: null,
      durationMs: finish.durationMs,
      logFile: null,
      finish,
    };
  }

  private async runAttempt(
    runId: string,
    attempt: number,
    logDirectory: string,
  ): Promise<{ attempt: RunAttempt; exitCode: number; stopped: boolean }> {
    const { spec, options } = this;
    if (attempt > 1) await this.updateLock({ runId, attempt, job: null });
    const startedAt = this.now();
    const live = await this.enterLiveRuns(runId, attempt, startedAt);
    await this.record([this.startCheckIn(runId, attempt, startedAt)]);

    const capture = new OutputCapture(spec.outputMaxBytes);
    const logFile = path.join(logDirectory, `${runId}.log`);
    const retention = options.logRetention ?? defaultRunLogRetention;
    const log = RunLogFile.create(logFile, retention.maxBytesPerJob, options.warn);
    const note = (text: string) => {
      capture.note(text);
      log.note(text);
    };

    let status: FinishStatus;
    let exitCode: number | null = null;
    let signal: NodeJS.Signals | null = null;
    let shellCode: number;
    let stopped = false;
    if (await this.checkReplaced()) {
      // Replaced between taking the lock and starting: the command never runs.
      note(this.stopNote());
      status = 'skipped';
      shellCode = 0;
      stopped = true;
    } else {
      const result = await runJobProcess({
        command: spec.command,
        env: spec.env,
        workingDir: spec.workingDir,
        user: spec.user,
        timeoutMs: spec.timeoutMs,
        killGraceMs: this.graceMs,
        baseEnvironment: options.environment,
        signal: options.signal,
        outputDrainMs: options.outputDrainMs,
        onSpawn: (pgid, startTime) => {
          this.recordLiveGroup(live, { pgid, startTime });
          void this.updateLock({ job: { pgid, startTime } });
        },
        onOutput: (chunk) => {
          capture.write(chunk);
          log.write(chunk);
          return this.passThrough(chunk);
        },
      });
      ({ exitCode, signal } = result);
      if (result.startError !== null) {
        note(`cannot start the command: ${result.startError}`);
        status = 'failed';
        shellCode = result.startErrorCode ?? 127;
      } else {
        shellCode = shellExitCode(exitCode, signal);
        await this.checkReplaced();
        if (result.timedOut) {
          note(
            `timed out after ${spec.timeoutMs} ms: TERM sent to the process group${result.killedAfterGrace ? `, KILL ${this.graceMs} ms later` : ''}`,
          );
          status = 'timed_out';
        } else {
          if (result.stopped || this.replacedBy !== null) note(this.stopNote());
          status = exitCode === 0 ? 'succeeded' : 'failed';
        }
        stopped = result.stopped || this.replacedBy !== null;
      }
      if (this.lock !== null) await this.updateLock({ job: null });
    }
    log.close();
    const finish = this.finishCheckIn(
      runId,
      attempt,
      startedAt,
      { status, exitCode, signal },
      capture,
    );
    await this.record([finish]);
    await this.leaveLiveRuns(live);
    return {
      attempt: {
        runId,
        attempt,
        trigger: attempt > 1 ? 'retry' : this.trigger,
        status,
        exitCode,
        signal,
        durationMs: finish.durationMs,
        logFile,
        finish,
      },
      exitCode: shellCode,
      stopped,
    };
  }

  /** Records the attempt in the live-run registry; null (with a warning) when it cannot. */
  private async enterLiveRuns(
    runId: string,
    attempt: number,
    startedAt: Date,
  ): Promise<LiveRunEntry | null> {
    try {
      return await LiveRunEntry.create(this.options.stateDir, {
        runId,
        namespace: this.spec.namespace,
        name: this.spec.name,
        attempt,
        trigger: attempt > 1 ? 'retry' : this.trigger,
        manual: this.options.manual,
        revision: this.spec.revision,
        startedAt: startedAt.toISOString(),
        outputMaxBytes: this.spec.outputMaxBytes,
      });
    } catch (error) {
      this.options.warn(
        `${this.spec.id}: cannot record run ${runId} as live (${(error as Error).message}); the job runs regardless, but if this wrapper is killed the daemon cannot stop its command`,
      );
      return null;
    }
  }

  private recordLiveGroup(live: LiveRunEntry | null, group: ProcessGroupRef): void {
    try {
      live?.recordGroup(group);
    } catch (error) {
      this.options.warn(
        `cannot record the process group in ${live?.file}: ${(error as Error).message}`,
      );
    }
  }

  private async leaveLiveRuns(live: LiveRunEntry | null): Promise<void> {
    await live?.remove().catch((error: unknown) => {
      this.options.warn(`cannot remove the live-run record ${live.file}: ${String(error)}`);
    });
  }

  /** Updates the lock record; updates apply in call order (the spawn's is not awaited). */
  private updateLock(
    change: Partial<Pick<JobLockRecord, 'runId' | 'attempt' | 'job'>>,
  ): Promise<void> {
    const lock = this.lock;
    if (lock === null) return Promise.resolve();
    this.lockUpdates = this.lockUpdates.then(() =>
      lock.update(change).catch((error: unknown) => {
        this.options.warn(`cannot update the lock ${lock.file}: ${(error as Error).message}`);
      }),
    );
    return this.lockUpdates;
  }

  private passThrough(chunk: Buffer): Promise<void> | undefined {
    const target = this.options.passThrough;
    if (target === undefined || this.passThroughBroken) return undefined;
    try {
      if (target.write(chunk)) return undefined;
    } catch {
      this.passThroughBroken = true;
      return undefined;
    }
    return new Promise((resolve) => {
      const done = () => {
        target.removeListener('drain', done);
        target.removeListener('error', broken);
        resolve();
      };
      const broken = () => {
        this.passThroughBroken = true;
        done();
      };
      target.once('drain', done);
      target.once('error', broken);
    });
  }
}
