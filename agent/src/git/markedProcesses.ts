import { readFileSync, readdirSync } from 'node:fs';

/**
 * Finds and kills every process that carries a marker variable in its environment. A SIGINT
 * reaches only the `git` the agent spawned; the helpers git starts (git-remote-https, ssh,
 * index-pack) inherit the environment, so marking each git command with a unique value lets a
 * timeout kill the whole tree, reparented orphans included. Linux only (/proc); elsewhere it
 * finds nothing and the SIGINT to git remains, which git forwards to the children it tracks.
 */
export function findMarkedProcesses(variable: string, value: string): number[] {
  const needle = Buffer.from(`${variable}=${value}\0`);
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const found: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let environ: Buffer;
    try {
      environ = readFileSync(`/proc/${entry}/environ`);
    } catch {
      continue;
    }
    const at = environ.indexOf(needle);
    if (at === 0 || (at > 0 && environ[at - 1] === 0)) found.push(pid);
  }
  return found;
}

/**
 * SIGKILLs the marked processes, scanning again until none is left (a dying parent may have
 * forked meanwhile) or a few rounds have passed. Returns the pids it signalled.
 */
export function killMarkedProcesses(variable: string, value: string): number[] {
  const killed = new Set<number>();
  for (let round = 0; round < 5; round += 1) {
    const pids = findMarkedProcesses(variable, value).filter((pid) => !killed.has(pid));
    if (pids.length === 0) break;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
        killed.add(pid);
      } catch {
        // Already gone.
        killed.add(pid);
      }
    }
  }
  return [...killed];
}
