import { createReadStream } from 'node:fs';
import { constants } from 'node:fs';
import { access, open, unlink } from 'node:fs/promises';
import path from 'node:path';
import type { CheckInFinish } from '@cronfleet/core/api';
import type { Logger } from 'pino';
import {
  liveRunLiveness,
  readLiveRuns,
  type LiveRunFile,
  type LiveRunLiveness,
  type LiveRunRecord,
} from '../run/liveRunRegistry.js';
import { OutputCapture } from '../run/outputCapture.js';
import { isGroupRunning, sleep, stopGroup } from '../run/processGroup.js';
import { runLogDirectory } from '../run/runLogFile.js';
import type { CheckInSink } from '../spool/checkInSink.js';

/**
 * The daemon's side of the live-run registry (run/liveRunRegistry.ts): which runs are alive, for
 * every heartbeat's `runningRunIds`, and the reaping of runs whose wrapper died.
 *
 * A record whose wrapper no longer runs (killed -9, crashed, or from an earlier boot) is a run
 * nobody will report the end of. Whatever the job's concurrency policy, the reaper:
 *
 * 1. stops the command's process group (TERM, then KILL after the grace), unless the host
 *    restarted (then the group is long gone, and its number may be another's now);
 * 2. records a `finish` check-in `lost` with the reason, through the spool, with the head and
 *    tail of what the run's log file holds (the output up to the wrapper's death);
 * 3. removes the record.
 *
 * A run being reaped is still reported as running (its command may still run during the grace),
 * so the backend hears of its end from the `lost` finish and its reason rather than judging it
 * lost by its absence first. A run whose finish cannot be spooled (a full disk) is no longer
 * reported: the backend's rule then marks it lost, and the reaper keeps trying to record it.
 *
 * A wrapper that spooled its finish and was killed before it removed the record is reaped as
 * well; its own finish was recorded first and the backend keeps the first finish of a run.
 */

/** The contract's bound on `runningRunIds`; beyond it the list could not be complete. */
export const maxRunningRunIds = 10_000;

export type ReaperLogger = Pick<Logger, 'info' | 'warn' | 'error'>;

export interface RunReaperOptions {
  stateDir: string;
  /** Where lost finishes are recorded: the spool. */
  sink: CheckInSink;
  logger: ReaperLogger;
  /** Between TERM and KILL of an orphaned group. Default 10 s, as the wrapper's. */
  killGraceMs?: number;
  /**
   * A record that is still empty or unreadable this long after it was written is left by a
   * wrapper killed while creating it: it is removed. Default 60 s.
   */
  unreadableAfterMs?: number;
  /** Called after a lost finish was spooled (the daemon wakes its sender). */
  onLost?: (finish: CheckInFinish) => void;
  now?: () => Date;
}

export interface ReapedRun {
  runId: string;
  job: string;
  liveness: Exclude<LiveRunLiveness, 'alive'>;
  /** Whether a running process group was stopped. */
  stoppedGroup: boolean;
  reason: string;
  /** False when the finish could not be spooled (the record stays; tried again later). */
  recorded: boolean;
}

type ReadableRun = LiveRunFile & { record: LiveRunRecord };

export class RunReaper {
  readonly #options: RunReaperOptions;
  readonly #graceMs: number;
  readonly #now: () => Date;
  /** Reaps in flight, by run id. */
  readonly #reaping = new Map<string, Promise<ReapedRun | null>>();
  /** Finishes that could not be spooled: recorded as they were built when tried again. */
  readonly #unrecorded = new Map<string, { finish: CheckInFinish; reaped: ReapedRun }>();
  /**
   * Runs reaped whose record a listing read before the removal may still show: never twice.
   * Forgotten once a listing no longer shows them.
   */
  readonly #reaped = new Set<string>();

  constructor(options: RunReaperOptions) {
    this.#options = options;
    this.#graceMs = options.killGraceMs ?? 10_000;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * The run ids for a heartbeat: every run whose wrapper lives (or whose record is being
   * written), and the runs being reaped now. Starts reaping the dead ones it finds, without
   * waiting for it. Undefined when the list cannot be complete (the registry cannot be read, or
   * holds more than the contract allows): the heartbeat then says nothing about runs.
   */
  async runningRunIds(): Promise<string[] | undefined> {
    let files: LiveRunFile[];
    try {
      files = await readLiveRuns(this.#options.stateDir);
    } catch (error) {
      this.#options.logger.warn(
        { err: error },
        'cannot read the live-run registry; this heartbeat does not list the running runs',
      );
      return undefined;
    }
    this.#forgetReaped(files);
    const ids: string[] = [];
    for (const file of files) {
      if (this.#reaped.has(file.runId)) continue;
      if (file.record === undefined) {
        if (file.ageMs < (this.#options.unreadableAfterMs ?? 60_000)) ids.push(file.runId);
        else void this.#discardUnreadable(file);
        continue;
      }
      const liveness = liveRunLiveness(file.record);
      if (liveness === 'alive') {
        ids.push(file.runId);
        continue;
      }
      const failedBefore = this.#unrecorded.has(file.runId) && !this.#reaping.has(file.runId);
      void this.#reap(file as ReadableRun, liveness);
      if (!failedBefore) ids.push(file.runId);
    }
    return ids.length > maxRunningRunIds ? undefined : ids;
  }

  /** One pass over the registry that reaps every dead run and waits for it. */
  async sweep(): Promise<ReapedRun[]> {
    let files: LiveRunFile[];
    try {
      files = await readLiveRuns(this.#options.stateDir);
    } catch (error) {
      this.#options.logger.warn({ err: error }, 'cannot read the live-run registry');
      return [];
    }
    this.#forgetReaped(files);
    const reaps: Promise<ReapedRun | null>[] = [];
    for (const file of files) {
      if (this.#reaped.has(file.runId)) continue;
      if (file.record === undefined) {
        if (file.ageMs >= (this.#options.unreadableAfterMs ?? 60_000)) {
          await this.#discardUnreadable(file);
        }
        continue;
      }
      const liveness = liveRunLiveness(file.record);
      if (liveness !== 'alive') reaps.push(this.#reap(file as ReadableRun, liveness));
    }
    return (await Promise.all(reaps)).filter((reaped) => reaped !== null);
  }

  /** Sweeps every `intervalMs` until `signal` aborts; resolves once the last sweep is done. */
  async run(signal: AbortSignal, intervalMs = 10_000): Promise<void> {
    while (!signal.aborted) {
      await this.sweep();
      await sleep(intervalMs, signal);
    }
  }

  #forgetReaped(files: readonly LiveRunFile[]): void {
    if (this.#reaped.size === 0) return;
    const listed = new Set(files.map((file) => file.runId));
    for (const runId of this.#reaped) if (!listed.has(runId)) this.#reaped.delete(runId);
  }

  #reap(file: ReadableRun, liveness: Exclude<LiveRunLiveness, 'alive'>): Promise<ReapedRun | null> {
    const inFlight = this.#reaping.get(file.runId);
    if (inFlight !== undefined) return inFlight;
    const reap = this.#reapOnce(file, liveness).finally(() => this.#reaping.delete(file.runId));
    this.#reaping.set(file.runId, reap);
    return reap;
  }

  async #reapOnce(
    file: ReadableRun,
    liveness: Exclude<LiveRunLiveness, 'alive'>,
  ): Promise<ReapedRun | null> {
    const { record } = file;
    const job = `${record.namespace}/${record.name}`;
    const earlier = this.#unrecorded.get(file.runId);
    let finish: CheckInFinish;
    let reaped: ReapedRun;
    if (earlier !== undefined) {
      ({ finish, reaped } = earlier);
    } else {
      // Reaped meanwhile from another listing (the heartbeat's and the loop's may overlap).
      if (
        await access(file.file).then(
          () => false,
          () => true,
        )
      ) {
        return null;
      }
      const { reason, stoppedGroup } = await this.#stop(record, liveness);
      finish = await this.#lostFinish(record, reason);
      reaped = { runId: file.runId, job, liveness, stoppedGroup, reason, recorded: false };
    }
    const log = { job, runId: file.runId, attempt: record.attempt, wrapperPid: record.wrapper.pid };
    try {
      await this.#options.sink.record([finish]);
    } catch (error) {
      if (earlier === undefined) {
        this.#options.logger.error(
          { ...log, err: error },
          `run ${file.runId} of ${job} is lost (${reaped.reason}), but its finish cannot be recorded in the spool; the agent tries again`,
        );
      }
      this.#unrecorded.set(file.runId, { finish, reaped });
      return reaped;
    }
    this.#unrecorded.delete(file.runId);
    this.#reaped.add(file.runId);
    await unlink(file.file).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') {
        this.#options.logger.warn(
          { ...log, err: error },
          `cannot remove the live-run record ${file.file}`,
        );
      }
    });
    this.#options.logger.warn(
      { ...log, stoppedGroup: reaped.stoppedGroup },
      `run ${file.runId} of ${job} is lost: ${reaped.reason}`,
    );
    this.#options.onLost?.(finish);
    return { ...reaped, recorded: true };
  }

  async #stop(
    record: LiveRunRecord,
    liveness: Exclude<LiveRunLiveness, 'alive'>,
  ): Promise<{ reason: string; stoppedGroup: boolean }> {
    const { pid } = record.wrapper;
    if (liveness === 'earlier-boot') {
      return {
        reason: `the host restarted while the run was running (its wrapper, pid ${pid}, ran in an earlier boot)`,
        stoppedGroup: false,
      };
    }
    const wrapper = `its run wrapper (pid ${pid}) ended without recording the run's end (killed, e.g. by kill -9 or the out-of-memory killer, or crashed)`;
    const { group } = record;
    if (group === null) {
      return { reason: `${wrapper}, before its command started`, stoppedGroup: false };
    }
    if (!isGroupRunning(group)) {
      return {
        reason: `${wrapper}; its command (process group ${group.pgid}) had ended too`,
        stoppedGroup: false,
      };
    }
    const stopped = await stopGroup(group, this.#graceMs);
    return {
      reason: stopped
        ? `${wrapper}; the agent stopped its command (process group ${group.pgid}: TERM, then KILL after ${this.#graceMs / 1000} s)`
        : `${wrapper}; the agent could not stop its command: process group ${group.pgid} still runs after TERM and KILL`,
      stoppedGroup: stopped,
    };
  }

  /** The finish the wrapper could not record: `lost`, the reason, the output its log holds. */
  async #lostFinish(record: LiveRunRecord, reason: string): Promise<CheckInFinish> {
    const capture = new OutputCapture(record.outputMaxBytes);
    const logFile = path.join(
      runLogDirectory(this.#options.stateDir, record.namespace, record.name),
      `${record.runId}.log`,
    );
    await readLogInto(logFile, capture);
    capture.note(`lost: ${reason}`);
    const finishedAt = this.#now();
    const started = Date.parse(record.startedAt);
    const { outputHead, outputTail, outputTruncated } = capture.result();
    return {
      kind: 'finish',
      runId: record.runId,
      namespace: record.namespace,
      name: record.name,
      attempt: record.attempt,
      status: 'lost',
      finishedAt: finishedAt.toISOString(),
      durationMs: Number.isNaN(started)
        ? 0
        : Math.min(2_147_483_647, Math.max(0, finishedAt.getTime() - started)),
      exitCode: null,
      signal: null,
      outputHead,
      outputTail,
      outputTruncated,
      revision: record.revision,
      reason: reason.slice(0, 2048),
    };
  }

  async #discardUnreadable(file: LiveRunFile): Promise<void> {
    try {
      await unlink(file.file);
    } catch {
      return;
    }
    this.#options.logger.warn(
      { runId: file.runId, file: file.file },
      `removed the live-run record of run ${file.runId}: it stayed unreadable (its wrapper was killed while creating it); the backend marks the run lost if it heard of it`,
    );
  }
}

/** Feeds a run's log into `capture`; a missing or unreadable log adds nothing. */
async function readLogInto(file: string, capture: OutputCapture): Promise<void> {
  let handle;
  try {
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch {
    return;
  }
  try {
    const stream = createReadStream('', { fd: handle.fd, autoClose: false });
    for await (const chunk of stream) capture.write(chunk as Buffer);
  } catch {
    // What was read so far stays.
  } finally {
    await handle.close().catch(() => undefined);
  }
}
