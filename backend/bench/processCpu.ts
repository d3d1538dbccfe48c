/**
 * CPU time a process has used, from /proc/<pid>/stat (Linux). Divided by the requests served, it
 * is a cost per request that other load on the machine skews far less than requests per second.
 */
import { readdirSync, readFileSync } from 'node:fs';

/** Clock ticks per second of /proc/<pid>/stat on Linux (USER_HZ: 100 on every mainstream build). */
const clockTicksPerSecond = 100;

/** User + system CPU milliseconds of `pid`, or undefined where /proc is unavailable. */
export function processCpuMilliseconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const userTicks = Number(fields[11]);
    const systemTicks = Number(fields[12]);
    if (!Number.isFinite(userTicks) || !Number.isFinite(systemTicks)) return undefined;
    return ((userTicks + systemTicks) * 1000) / clockTicksPerSecond;
  } catch {
    return undefined;
  }
}

/**
 * User + system CPU milliseconds of every PostgreSQL process on this machine (the postmaster and
 * its backends, all named `postgres`), or undefined where /proc is unavailable. With the database
 * on the same machine, it shows what each request costs the database.
 */
export function postgresCpuMilliseconds(): number | undefined {
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return undefined;
  }
  let total = 0;
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() !== 'postgres') continue;
    } catch {
      continue; // the process ended meanwhile
    }
    total += processCpuMilliseconds(Number(entry)) ?? 0;
  }
  return total;
}
