import { writeSync } from 'node:fs';
import { open, readdir, stat, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import {
  areRealDirectories,
  ensureRealDirectories,
  readStateFile,
} from '../state/stateDirectory.js';
import { bootId, currentHolder, isHolderAlive } from '../git/repositoryLock.js';
import { isProcessRunning, type ProcessGroupRef } from './processGroup.js';

/**
 * The live-run registry: `<stateDir>/live-runs/<runId>.jsonl`, one small file per run attempt
 * that a wrapper is running now, whoever started the wrapper (cron, the embedded scheduler, a
 * run-now, a terminal). The daemon reads it for every heartbeat (the `runningRunIds` the backend
 * judges lost runs by) and to find runs whose wrapper died (runReaper.ts).
 *
 * The wrapper pays for it on every run, so a record costs one file:
 *
 * 1. just before the attempt's `start` check-in, the wrapper creates the file with O_EXCL and
 *    writes one JSON line: the run (id, job, attempt, revision, start) and the wrapper (pid,
 *    process start time, boot id: the liveness technique of git/repositoryLock.ts);
 * 2. once the command is spawned, it appends a second line, the command's process group, with a
 *    synchronous write on the descriptor it kept open, so no await stands between the spawn and
 *    the record a reaper needs to stop the group;
 * 3. once the attempt's `finish` is in the spool, it unlinks the file.
 *
 * Why no fsync: a record only matters while this boot lasts. Every process on the host sees the
 * page cache, so the daemon reads a record the moment it is written, fsync or not. A crash of
 * the whole host loses at most records of runs that the crash ended anyway: a record that did
 * reach the disk is judged "the host restarted" (its boot id is not this boot's); one that did
 * not is simply absent, so the run is missing from the heartbeat and the backend marks it lost
 * without that reason. Nothing else depends on it: the check-ins themselves go through the
 * fsynced spool.
 *
 * Why the start comes before the record of the group: the `start` check-in is recorded before
 * the command starts (the backend must know of a run whose command may run for hours), and the
 * record comes before the `start`, so every run the backend may hear of is in the registry while
 * its wrapper lives. A reader may therefore see a record without a group (the command not started
 * yet, or its start failed) and, for microseconds, an empty file (created, not yet written): the
 * run id is the file's name, so such a run is still reported; only its reaping waits.
 */

export const liveRunFileSuffix = '.jsonl';

/** Where the registry lives in the agent's state directory. */
export function liveRunDirectory(stateDir: string): string {
  return path.join(stateDir, 'live-runs');
}

/** What a wrapper records about a run attempt when it starts it. */
export interface LiveRunStart {
  runId: string;
  namespace: string;
  name: string;
  attempt: number;
  /** The attempt's trigger as its check-ins carry it (`retry` from the second attempt on). */
  trigger: 'scheduled' | 'manual' | 'retry';
  /** A manual run ("run now"), all attempts included. */
  manual: boolean;
  revision: string;
  startedAt: string;
  /** The job's output.maxBytes, for the head and tail of a lost run's output. */
  outputMaxBytes: number;
}

export interface LiveRunWrapper {
  pid: number;
  hostname: string;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from the wrapper. */
  startTime?: string | undefined;
  /** The boot the wrapper ran in: a record from an earlier boot is of a run the restart ended. */
  bootId?: string | undefined;
}

export interface LiveRunRecord extends LiveRunStart {
  wrapper: LiveRunWrapper;
  /** The command's process group; null until it is spawned (or when it could not start). */
  group: ProcessGroupRef | null;
}

/**
 * A run's entry in the registry, held by its wrapper from just before the `start` check-in to
 * just after the `finish`.
 */
export class LiveRunEntry {
  private handle: FileHandle | null;

  private constructor(
    readonly file: string,
    handle: FileHandle,
  ) {
    this.handle = handle;
  }

  /**
   * Records `run` as running in this process. Rejects when the file cannot be created (EEXIST:
   * another wrapper runs the same run id); the caller warns and runs the job regardless.
   */
  static async create(stateDir: string, run: LiveRunStart): Promise<LiveRunEntry> {
    const directory = liveRunDirectory(stateDir);
    const file = path.join(directory, `${run.runId}${liveRunFileSuffix}`);
    const { pid, hostname, startTime, bootId: boot } = currentHolder();
    const record = { ...run, wrapper: { pid, hostname, startTime, bootId: boot } };
    // One lstat (made on the first run): live-runs/ is never a symbolic link, so no record is
    // written outside the state directory (stateDirectory.ts); the file is created O_EXCL.
    ensureRealDirectories([directory], 0o700);
    const handle: FileHandle = await open(file, 'wx', 0o600);
    try {
      await handle.write(`${JSON.stringify(record)}\n`);
    } catch (error) {
      await handle.close().catch(() => undefined);
      await unlink(file).catch(() => undefined);
      throw error;
    }
    return new LiveRunEntry(file, handle);
  }

  /**
   * Appends the command's process group. Synchronous on purpose: it is called right after the
   * spawn, and a wrapper killed at any later instant must leave the group recorded. Throws only
   * when the write fails (the caller warns).
   */
  recordGroup(group: ProcessGroupRef): void {
    const handle = this.handle;
    if (handle === null) return;
    this.handle = null;
    try {
      writeSync(handle.fd, `${JSON.stringify({ group })}\n`);
    } finally {
      void handle.close().catch(() => undefined);
    }
  }

  /** The attempt's finish is spooled: the run is no longer live. */
  async remove(): Promise<void> {
    const handle = this.handle;
    this.handle = null;
    await handle?.close().catch(() => undefined);
    try {
      await unlink(this.file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
}

const uuidFileName = /^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.jsonl$/i;

const isObject = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

const optionalString = (value: unknown) => (typeof value === 'string' ? value : undefined);

/** The record of a file's complete lines; undefined when its first line is not a record. */
export function parseLiveRunRecord(runId: string, text: string): LiveRunRecord | undefined {
  const lines = text.split('\n').slice(0, -1); // a line without its newline is being written
  let first: unknown;
  try {
    first = JSON.parse(lines[0] ?? '');
  } catch {
    return undefined;
  }
  if (!isObject(first) || first.runId !== runId || !isObject(first.wrapper)) return undefined;
  const { wrapper } = first;
  if (
    typeof first.namespace !== 'string' ||
    typeof first.name !== 'string' ||
    typeof first.revision !== 'string' ||
    typeof first.startedAt !== 'string' ||
    typeof wrapper.pid !== 'number' ||
    !Number.isInteger(wrapper.pid) ||
    wrapper.pid <= 0
  ) {
    return undefined;
  }
  let group: ProcessGroupRef | null = null;
  for (const line of lines.slice(1)) {
    try {
      const value = JSON.parse(line) as unknown;
      if (isObject(value) && isObject(value.group)) {
        const { pgid, startTime } = value.group;
        if (typeof pgid === 'number' && Number.isInteger(pgid) && pgid > 1) {
          group = { pgid, startTime: optionalString(startTime) };
        }
      }
    } catch {
      // A torn line: the group stays unknown.
    }
  }
  const attempt = typeof first.attempt === 'number' ? first.attempt : 1;
  const trigger =
    first.trigger === 'manual' || first.trigger === 'retry' ? first.trigger : 'scheduled';
  return {
    runId,
    namespace: first.namespace,
    name: first.name,
    attempt,
    trigger,
    manual: first.manual === true,
    revision: first.revision,
    startedAt: first.startedAt,
    outputMaxBytes: typeof first.outputMaxBytes === 'number' ? first.outputMaxBytes : 65_536,
    wrapper: {
      pid: wrapper.pid,
      hostname: optionalString(wrapper.hostname) ?? '?',
      startTime: optionalString(wrapper.startTime),
      bootId: optionalString(wrapper.bootId),
    },
    group,
  };
}

export type LiveRunFile =
  | { runId: string; file: string; record: LiveRunRecord }
  /** Empty or not a record: being created, or left by a wrapper killed while creating it. */
  | { runId: string; file: string; record: undefined; ageMs: number };

/**
 * Every record in the registry. Files that are not run records (a stray name) are left out.
 * Rejects when the folder cannot be read (other than missing: then there is no live run).
 */
export async function readLiveRuns(stateDir: string): Promise<LiveRunFile[]> {
  const directory = liveRunDirectory(stateDir);
  let names: string[];
  try {
    if (!areRealDirectories([directory])) return []; // a link is refused by name
    names = await readdir(directory);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const runs: LiveRunFile[] = [];
  for (const name of names) {
    const match = uuidFileName.exec(name);
    if (match === null) continue;
    const runId = match[1] ?? '';
    const file = path.join(directory, name);
    // Never through a symbolic link (a planted one is refused by name); missing: finished.
    const content = readStateFile(file);
    if (content === undefined) continue;
    const text = content.toString('utf8');
    const record = parseLiveRunRecord(runId, text);
    if (record !== undefined) {
      runs.push({ runId, file, record });
      continue;
    }
    const info = await stat(file).catch(() => undefined);
    if (info === undefined) continue;
    runs.push({ runId, file, record: undefined, ageMs: Math.max(0, Date.now() - info.mtimeMs) });
  }
  return runs;
}

/**
 * Whether a record's wrapper still runs: `alive`; `wrapper-gone` (it exited without removing
 * the record: killed -9, crashed; a zombie counts as gone); `earlier-boot` (the host restarted).
 */
export type LiveRunLiveness = 'alive' | 'wrapper-gone' | 'earlier-boot';

export function liveRunLiveness(record: LiveRunRecord): LiveRunLiveness {
  const { wrapper } = record;
  const current = bootId();
  if (wrapper.bootId !== undefined && current !== undefined && wrapper.bootId !== current) {
    return 'earlier-boot';
  }
  const holder = { ...wrapper, acquiredAt: record.startedAt, token: '' };
  return isHolderAlive(holder) && isProcessRunning(wrapper.pid, wrapper.startTime)
    ? 'alive'
    : 'wrapper-gone';
}
