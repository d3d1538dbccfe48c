import { randomBytes } from 'node:crypto';
import { rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import {
  createExclusively,
  currentHolder,
  removeStaleLock,
  isHolderAlive,
  type LockHolder,
} from '../git/repositoryLock.js';
import {
  isGroupRunning,
  isProcessRunning,
  sleep,
  stopGroup,
  type ProcessGroupRef,
} from './processGroup.js';
import { ensureRealDirectories, readStateFile } from '../state/stateDirectory.js';

/**
 * The per-job lock behind `concurrencyPolicy` Forbid and Replace:
 * `<stateDir>/locks/<namespace>/<name>.lock`, a JSON record of the wrapper holding it (pid,
 * process start time, boot id: the technique of git/repositoryLock.ts), the run and attempt it
 * is on, and the process group of the command it runs. The lock is held for the whole run,
 * retries and their delays included.
 *
 * A crashed holder never leaves the lock stuck: a record whose wrapper no longer runs (exited,
 * killed -9, an earlier boot, a reused pid) is stale and taken over. The command such a wrapper
 * left behind in its process group is stopped first (TERM, then KILL after the grace): nobody
 * reads its output or reports its end any more, and Forbid must still mean one run at a time.
 *
 * Replace asks the holder to stop through `<lock>.replace` (naming the holder's token and the run
 * that replaces it), then TERMs the holder's process group itself, KILLs it after the grace, and
 * waits for the holder to record its finish and release. The request file works whether the
 * holder is a cron-started wrapper or the daemon running the wrapper in-process (which must not
 * be signalled), and whether the holder runs a command or waits between retries.
 */

export interface JobLockRecord extends LockHolder {
  runId: string;
  attempt: number;
  /** The command's process group while an attempt runs; null between attempts. */
  job: ProcessGroupRef | null;
}

export interface ReplaceRequest {
  /** The token of the holder asked to stop. */
  token: string;
  /** The run that replaces it. */
  byRunId: string;
  requestedAt: string;
}

export interface JobLockHooks {
  /** A stale lock was taken over; `stoppedGroup` when its orphaned command had to be stopped. */
  onStale?: ((holder: JobLockRecord | undefined, stoppedGroup: boolean) => void) | undefined;
}

/** Where the lock of a job lives. `namespace` and `name` are DNS labels (checked by the caller). */
export function jobLockFile(stateDir: string, namespace: string, name: string): string {
  return path.join(stateDir, 'locks', namespace, `${name}.lock`);
}

/** Whether the holder still holds: its wrapper runs (a zombie does not count). */
function isRecordAlive(record: JobLockRecord): boolean {
  return isHolderAlive(record) && isProcessRunning(record.pid, record.startTime);
}

function parseRecord(raw: string): JobLockRecord | undefined {
  try {
    const value = JSON.parse(raw) as Partial<JobLockRecord>;
    if (typeof value.pid !== 'number' || !Number.isInteger(value.pid) || value.pid <= 0) {
      return undefined;
    }
    const job =
      value.job !== null &&
      typeof value.job === 'object' &&
      Number.isInteger(value.job.pgid) &&
      value.job.pgid > 1
        ? {
            pgid: value.job.pgid,
            startTime: typeof value.job.startTime === 'string' ? value.job.startTime : undefined,
          }
        : null;
    return {
      pid: value.pid,
      hostname: typeof value.hostname === 'string' ? value.hostname : '?',
      startTime: typeof value.startTime === 'string' ? value.startTime : undefined,
      bootId: typeof value.bootId === 'string' ? value.bootId : undefined,
      acquiredAt: typeof value.acquiredAt === 'string' ? value.acquiredAt : '?',
      token: typeof value.token === 'string' ? value.token : '',
      runId: typeof value.runId === 'string' ? value.runId : '?',
      attempt: typeof value.attempt === 'number' ? value.attempt : 1,
      job,
    };
  } catch {
    return undefined;
  }
}

/** The lock's text, never through a symbolic link (a link fails with StateDirectoryError). */
function readRaw(file: string): Promise<string | undefined> {
  try {
    return Promise.resolve(readStateFile(file)?.toString('utf8'));
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/** Replaces `file` atomically (a rename), so a reader sees the old record or the new one. */
async function replaceFile(file: string, content: string): Promise<void> {
  const temporary = `${file}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await writeFile(temporary, content, { mode: 0o644, flag: 'wx' });
  try {
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
}

export type AcquireResult = { lock: JobLock } | { holder: JobLockRecord };

export class JobLock {
  private content: string;

  private constructor(
    readonly file: string,
    private record: JobLockRecord,
  ) {
    this.content = `${JSON.stringify(record)}\n`;
  }

  get holder(): JobLockRecord {
    return this.record;
  }

  /**
   * Takes the lock at once or answers the live holder; never waits for a live holder. A stale
   * lock is taken over (its orphaned process group stopped within `graceMs`).
   */
  static async tryAcquire(
    file: string,
    run: { runId: string; attempt: number },
    graceMs: number,
    hooks: JobLockHooks = {},
  ): Promise<AcquireResult> {
    // locks/ and locks/<namespace>/: real directories, never symbolic links.
    ensureRealDirectories([path.dirname(path.dirname(file)), path.dirname(file)], 0o700);
    const record: JobLockRecord = { ...currentHolder(), ...run, job: null };
    const content = `${JSON.stringify(record)}\n`;
    for (let round = 0; round < 50; round += 1) {
      // A Replace request left for an earlier holder names that holder's token: it is ignored,
      // and overwritten by the next request.
      if (await createExclusively(file, content)) return { lock: new JobLock(file, record) };
      const raw = await readRaw(file);
      if (raw === undefined) continue; // released meanwhile: try again at once
      const holder = parseRecord(raw);
      if (holder !== undefined && isRecordAlive(holder)) return { holder };
      const orphan = holder?.job ?? null;
      const stoppedGroup = orphan !== null && isGroupRunning(orphan);
      if (stoppedGroup) await stopGroup(orphan, graceMs);
      if (await removeStaleLock(file, raw)) hooks.onStale?.(holder, stoppedGroup);
    }
    throw new Error(`cannot take the lock ${file}: it keeps changing; is its folder shared?`);
  }

  /**
   * Replace: takes the lock, stopping whichever run holds it (see the module comment). Gives up,
   * answering the holder, when the holder does not release within `graceMs` + `releaseWaitMs`
   * after its command was stopped (a hung wrapper: two runs at once would break the policy).
   */
  static async acquireReplacing(
    file: string,
    run: { runId: string; attempt: number },
    options: { graceMs: number; releaseWaitMs: number } & JobLockHooks,
  ): Promise<AcquireResult> {
    for (let round = 0; round < 20; round += 1) {
      const attempt = await JobLock.tryAcquire(file, run, options.graceMs, options);
      if ('lock' in attempt) return attempt;
      const { holder } = attempt;
      const request: ReplaceRequest = {
        token: holder.token,
        byRunId: run.runId,
        requestedAt: new Date().toISOString(),
      };
      await replaceFile(`${file}.replace`, `${JSON.stringify(request)}\n`);
      const released = await waitForRelease(file, holder.token, options);
      if (!released) return { holder };
    }
    throw new Error(`cannot take the lock ${file}: other runs keep taking it`);
  }

  /** Records what the holder is doing now (the attempt, the command's process group). */
  async update(change: Partial<Pick<JobLockRecord, 'runId' | 'attempt' | 'job'>>): Promise<void> {
    const next = { ...this.record, ...change };
    const content = `${JSON.stringify(next)}\n`;
    // Only the holder writes its lock; a stale takeover needs the holder gone.
    await replaceFile(this.file, content);
    this.record = next;
    this.content = content;
  }

  /** The Replace request aimed at this holder, if another run asked it to stop. */
  async replaceRequest(): Promise<ReplaceRequest | undefined> {
    const raw = await readRaw(`${this.file}.replace`).catch(() => undefined);
    if (raw === undefined) return undefined;
    try {
      const request = JSON.parse(raw) as Partial<ReplaceRequest>;
      if (request.token !== this.record.token || typeof request.byRunId !== 'string') {
        return undefined;
      }
      return {
        token: request.token,
        byRunId: request.byRunId,
        requestedAt: String(request.requestedAt),
      };
    } catch {
      return undefined;
    }
  }

  async release(): Promise<void> {
    if ((await readRaw(this.file).catch(() => undefined)) === this.content) {
      await unlink(this.file).catch(() => undefined);
    }
    if ((await this.replaceRequest()) !== undefined) {
      await unlink(`${this.file}.replace`).catch(() => undefined);
    }
  }
}

/**
 * Waits until the holder with `token` no longer holds the lock, stopping its command's process
 * group (TERM now, KILL after the grace) whenever the record names one. False when it still
 * holds `graceMs` + `releaseWaitMs` later.
 */
async function waitForRelease(
  file: string,
  token: string,
  options: { graceMs: number; releaseWaitMs: number },
): Promise<boolean> {
  const started = Date.now();
  const stopping = new Map<number, Promise<boolean>>();
  for (;;) {
    const raw = await readRaw(file);
    const holder = raw === undefined ? undefined : parseRecord(raw);
    if (holder === undefined || holder.token !== token || !isRecordAlive(holder)) return true;
    const group = holder.job;
    if (group !== null && !stopping.has(group.pgid)) {
      stopping.set(group.pgid, stopGroup(group, options.graceMs));
    }
    if (Date.now() - started > options.graceMs + options.releaseWaitMs) return false;
    await sleep(20);
  }
}
