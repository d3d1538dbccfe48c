import { closeSync, constants, openSync, writeSync } from 'node:fs';
import { lstat, readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { ensureRealDirectories, isStateDirectoryError } from '../state/stateDirectory.js';

/**
 * Each run's whole output, in `<stateDir>/logs/<namespace>/<name>/<runId>.log` (mode 0600: output
 * may hold secrets), next to the head and tail its check-in carries. Writes are synchronous: a
 * chunk is on its way to the disk before the next is read from the command's pipe, so memory
 * stays constant whatever the output's size. A log that cannot be written (full disk) stops
 * growing with one warning and never fails the run. Retention, applied after each run, keeps per
 * job the newest `keepRuns` logs and, within those, the newest that fit in `maxBytesPerJob`
 * together; one run's log stops at `maxBytesPerJob` with a note, so a runaway job cannot fill the
 * disk. Nothing is reached through a symbolic link: the folders logs/, logs/<namespace>/ and
 * logs/<namespace>/<name>/ are checked with lstat, the log is created with O_EXCL | O_NOFOLLOW,
 * and retention looks at regular files only.
 */

export interface RunLogRetention {
  /** Logs kept per job, the newest first. Default 20. */
  keepRuns: number;
  /** Bytes of logs kept per job, and the most one run's log may hold. Default 256 MiB. */
  maxBytesPerJob: number;
}

export const defaultRunLogRetention: RunLogRetention = {
  keepRuns: 20,
  maxBytesPerJob: 256 * 1024 * 1024,
};

/** The folder of a job's run logs. `namespace` and `name` are DNS labels (checked by the caller). */
export function runLogDirectory(stateDir: string, namespace: string, name: string): string {
  return path.join(stateDir, 'logs', namespace, name);
}

export class RunLogFile {
  private fd: number | null;
  private written = 0;
  private full = false;

  private constructor(
    readonly file: string,
    fd: number | null,
    private readonly maxBytes: number,
    private readonly warn: (message: string) => void,
  ) {
    this.fd = fd;
  }

  /**
   * Creates the log, `<stateDir>/logs/<namespace>/<name>/<runId>.log`; when that fails the run
   * goes on without one (after a warning).
   */
  static create(file: string, maxBytes: number, warn: (message: string) => void): RunLogFile {
    let fd: number | null = null;
    try {
      const jobDir = path.dirname(file);
      const namespaceDir = path.dirname(jobDir);
      ensureRealDirectories([path.dirname(namespaceDir), namespaceDir, jobDir], 0o700);
      fd = openSync(
        file,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
        0o600,
      );
    } catch (error) {
      warn(
        isStateDirectoryError(error)
          ? `${error.message}. This run's output is not logged`
          : `cannot create the run log ${file} (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}); this run's output is not logged`,
      );
    }
    return new RunLogFile(file, fd, maxBytes, warn);
  }

  get bytesWritten(): number {
    return this.written;
  }

  write(chunk: Uint8Array): void {
    if (this.fd === null || this.full) return;
    const room = this.maxBytes - this.written;
    const part = chunk.length > room ? chunk.subarray(0, Math.max(0, room)) : chunk;
    try {
      for (let offset = 0; offset < part.length;) {
        offset += writeSync(this.fd, part, offset, part.length - offset);
      }
      this.written += part.length;
    } catch (error) {
      this.full = true;
      this.warn(
        `cannot write the run log ${this.file} (${(error as Error).message}); the rest of the output is not logged`,
      );
      return;
    }
    if (part.length < chunk.length) {
      this.full = true;
      this.writeRaw(
        `\n[cronfleet] log stopped after ${this.maxBytes} bytes (the per-job budget)\n`,
      );
    }
  }

  /** A line of the wrapper's own; written even after the byte budget is used up. */
  note(text: string): void {
    this.writeRaw(`[cronfleet] ${text}\n`);
  }

  close(): void {
    if (this.fd === null) return;
    try {
      closeSync(this.fd);
    } catch {
      // Nothing left to do with a log that cannot be closed.
    }
    this.fd = null;
  }

  private writeRaw(text: string): void {
    if (this.fd === null) return;
    try {
      writeSync(this.fd, text);
    } catch {
      // Best effort: the log is already incomplete.
    }
  }
}

/**
 * Applies the retention to a job's log folder: the newest logs (by modification time) are kept
 * while there are at most `keepRuns` of them and their sizes add up to at most `maxBytesPerJob`;
 * from the first that does not fit, every older one is removed. `keep` (the logs of the run just
 * finished) always stays. Returns the files removed.
 */
export async function pruneRunLogs(
  directory: string,
  retention: RunLogRetention,
  keep: ReadonlySet<string> = new Set(),
): Promise<string[]> {
  let names: string[];
  try {
    names = (await readdir(directory)).filter((name) => name.endsWith('.log'));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const files = (
    await Promise.all(
      names.map(async (name) => {
        const file = path.join(directory, name);
        // lstat: a symbolic link is not a log; its target is neither measured nor removed.
        const info = await lstat(file).catch(() => undefined);
        return info === undefined || !info.isFile()
          ? undefined
          : { file, size: info.size, mtimeMs: info.mtimeMs };
      }),
    )
  ).filter((entry) => entry !== undefined);
  files.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.file < b.file ? -1 : 1));
  let count = 0;
  let bytes = 0;
  let full = false;
  const removed: string[] = [];
  for (const entry of files) {
    const fits = count + 1 <= retention.keepRuns && bytes + entry.size <= retention.maxBytesPerJob;
    // Once one log does not fit, every older one goes too: what is kept is always the newest.
    full ||= !fits;
    if (keep.has(entry.file) || !full) {
      count += 1;
      bytes += entry.size;
      continue;
    }
    await unlink(entry.file).catch(() => undefined);
    removed.push(entry.file);
  }
  return removed;
}
