import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, open, stat, unlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import { isStateDirectoryError, readStateFile } from '../state/stateDirectory.js';

/**
 * Serialises git work on one checkout: an in-process queue (several callers in the daemon) and a
 * lock file across processes (`cronfleet-agent sync --once` next to the daemon). The lock file
 * records the holder's pid, its start time and the boot id, so a holder that crashed, a pid
 * reused after a reboot, or a restarted container whose agent got the same pid never leaves the
 * lock stuck: such a lock is stale and taken over. The lock is created complete (written to a
 * private file, then hard-linked into place), so a reader never sees a half-written record.
 */
export interface LockHolder {
  pid: number;
  hostname: string;
  /** Field 22 of /proc/<pid>/stat: tells a reused pid from the holder. */
  startTime?: string | undefined;
  /** /proc/sys/kernel/random/boot_id: a lock from an earlier boot is stale. */
  bootId?: string | undefined;
  acquiredAt: string;
  token: string;
}

export class LockTimeoutError extends Error {
  constructor(
    readonly lockFile: string,
    readonly holder: LockHolder | undefined,
    readonly waitedMs: number,
  ) {
    super(
      holder === undefined
        ? `timed out after ${waitedMs} ms waiting for the lock ${lockFile}`
        : `timed out after ${waitedMs} ms waiting for the lock ${lockFile}, held by pid ${holder.pid} on ${holder.hostname} since ${holder.acquiredAt}`,
    );
    this.name = 'LockTimeoutError';
  }
}

export class LockAbortedError extends Error {
  constructor(readonly lockFile: string) {
    super(`stopped waiting for the lock ${lockFile}: the operation was aborted`);
    this.name = 'LockAbortedError';
  }
}

export interface RepositoryLockOptions {
  /** Give up waiting after this long (LockTimeoutError). */
  timeoutMs: number;
  signal?: AbortSignal | undefined;
  /** Called once when the lock is busy, so the caller can log who holds it. */
  onWait?: ((holder: LockHolder | undefined) => void) | undefined;
  /** Called when a stale lock is taken over. */
  onStale?: ((holder: LockHolder | undefined) => void) | undefined;
}

const queueTails = new Map<string, Promise<void>>();

/** Runs `work` holding the lock `lockFile`, in this process and across processes. */
export async function withRepositoryLock<T>(
  lockFile: string,
  options: RepositoryLockOptions,
  work: () => Promise<T>,
): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  const previous = queueTails.get(lockFile) ?? Promise.resolve();
  let leave!: () => void;
  const mine = new Promise<void>((resolve) => (leave = resolve));
  const tail = previous.then(() => mine);
  queueTails.set(lockFile, tail);
  try {
    await waitForTurn(previous, lockFile, options, deadline);
    const release = await acquireLockFile(lockFile, options, deadline);
    try {
      return await work();
    } finally {
      await release();
    }
  } finally {
    leave();
    if (queueTails.get(lockFile) === tail) queueTails.delete(lockFile);
  }
}

async function waitForTurn(
  previous: Promise<void>,
  lockFile: string,
  options: RepositoryLockOptions,
  deadline: number,
): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  let onAbort: (() => void) | undefined;
  try {
    await Promise.race([
      previous,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new LockTimeoutError(lockFile, undefined, options.timeoutMs)),
          Math.max(0, deadline - Date.now()),
        );
        onAbort = () => reject(new LockAbortedError(lockFile));
        if (options.signal?.aborted === true) onAbort();
        options.signal?.addEventListener('abort', onAbort);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    if (onAbort !== undefined) options.signal?.removeEventListener('abort', onAbort);
  }
}

/** The current process's identity as a lock holder. */
export function currentHolder(): LockHolder {
  return {
    pid: process.pid,
    hostname: os.hostname(),
    startTime: processStartTime(process.pid),
    bootId: bootId(),
    acquiredAt: new Date().toISOString(),
    token: randomBytes(12).toString('hex'),
  };
}

async function acquireLockFile(
  lockFile: string,
  options: RepositoryLockOptions,
  deadline: number,
): Promise<() => Promise<void>> {
  const me = currentHolder();
  const record = `${JSON.stringify(me)}\n`;
  const started = Date.now();
  let notified = false;
  for (let attempt = 0; ; attempt += 1) {
    if (options.signal?.aborted === true) throw new LockAbortedError(lockFile);
    if (await createExclusively(lockFile, record)) {
      return async () => {
        const current = await readLockText(lockFile).catch(() => undefined);
        if (current === record) await unlink(lockFile).catch(() => undefined);
      };
    }
    const raw = await readLockText(lockFile);
    if (raw === undefined) continue; // released meanwhile: try again at once
    const holder = parseHolder(raw);
    if (holder === undefined || !isHolderAlive(holder)) {
      if (await removeStaleLock(lockFile, raw)) options.onStale?.(holder);
      continue;
    }
    if (!notified) {
      notified = true;
      options.onWait?.(holder);
    }
    if (Date.now() >= deadline) throw new LockTimeoutError(lockFile, holder, Date.now() - started);
    await sleep(Math.min(25 * 2 ** Math.min(attempt, 4), 250, Math.max(1, deadline - Date.now())));
  }
}

/**
 * The lock's text, undefined when it is gone (or cannot be read). Never through a symbolic link:
 * the locks live in the state directory, and a link planted there is refused by name
 * (StateDirectoryError) rather than read, then taken for a stale lock.
 */
function readLockText(lockFile: string): Promise<string | undefined> {
  try {
    return Promise.resolve(readStateFile(lockFile)?.toString('utf8'));
  } catch (error) {
    return isStateDirectoryError(error) ? Promise.reject(error) : Promise.resolve(undefined);
  }
}

/** Creates `lockFile` with `content` unless it exists; the content is complete when visible. */
export async function createExclusively(lockFile: string, content: string): Promise<boolean> {
  const temporary = `${lockFile}.${process.pid}.${randomBytes(6).toString('hex')}`;
  await writeFile(temporary, content, { mode: 0o644 });
  try {
    await link(temporary, lockFile);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temporary).catch(() => undefined);
  }
}

/**
 * Removes a stale lock if it still holds exactly `staleContent`. Two waiters may judge the same
 * lock stale; only the one holding the short-lived `.takeover` file removes it, after checking
 * again that it is unchanged, so a fresh lock that replaced the stale one is never removed.
 */
export async function removeStaleLock(lockFile: string, staleContent: string): Promise<boolean> {
  const takeover = `${lockFile}.takeover`;
  let handle;
  try {
    handle = await open(takeover, 'wx', 0o644);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    // Held for microseconds; one left by a crash between open and unlink is removed by age.
    const info = await stat(takeover).catch(() => undefined);
    if (info !== undefined && Date.now() - info.mtimeMs > 10_000) {
      await unlink(takeover).catch(() => undefined);
    } else {
      await sleep(10);
    }
    return false;
  }
  try {
    const current = await readLockText(lockFile);
    if (current !== staleContent) return false;
    await unlink(lockFile);
    return true;
  } finally {
    await handle.close();
    await unlink(takeover).catch(() => undefined);
  }
}

function parseHolder(raw: string): LockHolder | undefined {
  try {
    const value = JSON.parse(raw) as Partial<LockHolder>;
    if (typeof value.pid !== 'number' || !Number.isInteger(value.pid) || value.pid <= 0) {
      return undefined;
    }
    return {
      pid: value.pid,
      hostname: typeof value.hostname === 'string' ? value.hostname : '?',
      startTime: typeof value.startTime === 'string' ? value.startTime : undefined,
      bootId: typeof value.bootId === 'string' ? value.bootId : undefined,
      acquiredAt: typeof value.acquiredAt === 'string' ? value.acquiredAt : '?',
      token: typeof value.token === 'string' ? value.token : '',
    };
  } catch {
    return undefined;
  }
}

/** Whether the process that wrote the lock still runs (as far as this host can tell). */
export function isHolderAlive(holder: LockHolder): boolean {
  const currentBoot = bootId();
  if (holder.bootId !== undefined && currentBoot !== undefined && holder.bootId !== currentBoot) {
    return false;
  }
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (holder.startTime !== undefined) {
    const startTime = processStartTime(holder.pid);
    if (startTime !== undefined && startTime !== holder.startTime) return false;
  }
  return true;
}

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined where /proc does not exist. */
export function processStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces; count after it.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[19];
  } catch {
    return undefined;
  }
}

let cachedBootId: string | null | undefined;

/** This boot's id (/proc/sys/kernel/random/boot_id), or undefined where there is none. */
export function bootId(): string | undefined {
  if (cachedBootId === undefined) {
    try {
      cachedBootId = readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim();
    } catch {
      cachedBootId = null;
    }
  }
  return cachedBootId ?? undefined;
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
