import { readdirSync, readFileSync } from 'node:fs';

/**
 * A job's command runs in its own process group (its pid is the group id), so the wrapper can stop
 * everything it started, grandchildren included, and a later wrapper can stop a group whose own
 * wrapper was killed. Liveness reads /proc where it exists, so that a zombie (exited, not yet
 * reaped: a container's pid 1 may never reap) counts as gone, and a recorded start time tells a
 * reused pid from the process that was recorded.
 */

export interface ProcessGroupRef {
  pgid: number;
  /** Field 22 of /proc/<pgid>/stat when the group was recorded; undefined without /proc. */
  startTime?: string | undefined;
}

interface ProcStat {
  state: string;
  pgrp: number;
  startTime: string;
}

function readProcStat(pid: number | string): ProcStat | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may hold spaces; count after it.
    const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0] ?? '', pgrp: Number(fields[2]), startTime: fields[19] ?? '' };
  } catch {
    return undefined;
  }
}

const hasProc = (() => {
  let known: boolean | undefined;
  return () => (known ??= readProcStat('self') !== undefined);
})();

/** Field 22 (starttime) of /proc/<pid>/stat, or undefined where there is no such process or /proc. */
export function processStartTime(pid: number): string | undefined {
  return readProcStat(pid)?.startTime;
}

const isRunningState = (state: string) => state !== 'Z' && state !== 'X' && state !== 'x';

/** Whether `pid` runs (not a zombie) and, when given, started at `startTime`. */
export function isProcessRunning(pid: number, startTime?: string): boolean {
  if (hasProc()) {
    const info = readProcStat(pid);
    if (info === undefined || !isRunningState(info.state)) return false;
    return startTime === undefined || info.startTime === startTime;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Whether any process of the recorded group still runs. A live process with the group's pid but
 * another start time means the group is gone (Linux never reuses a pid that still names a group).
 */
export function isGroupRunning(group: ProcessGroupRef): boolean {
  if (!hasProc()) {
    try {
      process.kill(-group.pgid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
  const leader = readProcStat(group.pgid);
  if (
    leader !== undefined &&
    group.startTime !== undefined &&
    leader.startTime !== group.startTime
  ) {
    return false;
  }
  if (leader !== undefined && leader.pgrp === group.pgid && isRunningState(leader.state)) {
    return true;
  }
  // The leader is gone or a zombie: look for members it left behind.
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return false;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    const info = readProcStat(entry);
    if (info !== undefined && info.pgrp === group.pgid && isRunningState(info.state)) return true;
  }
  return false;
}

/** Sends `signal` to every process of the group; false when the group is gone. */
export function signalGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops a group that is not this process's child (an orphan, or another wrapper's job): TERM,
 * then KILL once `graceMs` passed, and waits until no member runs (at most `graceMs` + 2 s).
 * Returns whether the group is gone. Checks the recorded start time first, so a reused pid is
 * never signalled.
 */
export async function stopGroup(group: ProcessGroupRef, graceMs: number): Promise<boolean> {
  if (!isGroupRunning(group)) return true;
  signalGroup(group.pgid, 'SIGTERM');
  const killAt = Date.now() + graceMs;
  const giveUpAt = killAt + 2_000;
  let killed = false;
  while (isGroupRunning(group)) {
    const now = Date.now();
    if (now >= giveUpAt) return false;
    if (!killed && now >= killAt) {
      killed = true;
      signalGroup(group.pgid, 'SIGKILL');
    }
    await sleep(20);
  }
  return true;
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted === true) {
      resolve();
      return;
    }
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
