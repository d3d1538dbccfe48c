import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AgentStateStore } from '../src/state/agentStateStore.js';
import { installedJob, jobSpec } from '../test/run/runFixtures.js';

/**
 * The run wrapper's added latency, for the agent benchmark (issue 5 §8): the compiled
 * `cronfleet-agent run` against `sh -c` running the same command, in one process each time,
 * interleaved. The command writes the wall clock (`date +%s%N`) as its first and last act:
 *
 * - start latency: from just before spawning to the command's first timestamp;
 * - exit latency: from the command's last timestamp to the spawned process's exit.
 *
 * The wrapper's figure minus the shell's is what the wrapper adds. The wrapper's peak RSS is read
 * from /proc/<pid>/status (VmHWM) while it runs. `sink` is whatever the compiled agent records
 * into (its spool once wired): its fsyncs are part of what is measured.
 */

export interface WrapperLatencyOptions {
  /** The compiled executable, e.g. agent/bin/cronfleet-agent.js (needs `npm run build`). */
  agentBin: string;
  runs: number;
  /** Extra arguments after `run` (e.g. a --config). */
  extraArgs?: readonly string[];
}

export interface Distribution {
  median: number;
  p95: number;
  max: number;
}

export interface WrapperLatencyReport {
  runs: number;
  shellStartMs: Distribution;
  shellExitMs: Distribution;
  wrapperStartMs: Distribution;
  wrapperExitMs: Distribution;
  /** Medians of the wrapper's figures minus the shell's. */
  addedStartMs: number;
  addedExitMs: number;
  wrapperPeakRssMiB: Distribution;
}

const wallClockNs = () => BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6));

function distribution(values: readonly number[]): Distribution {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
  return { median: at(0.5), p95: at(0.95), max: sorted[sorted.length - 1] ?? 0 };
}

function peakRssKb(pid: number): number | undefined {
  try {
    const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match === null ? undefined : Number(match[1]);
  } catch {
    return undefined;
  }
}

interface Timed {
  startMs: number;
  exitMs: number;
  peakRssKb: number | undefined;
}

async function timeProcess(file: string, args: string[], stamps: string): Promise<Timed> {
  await writeFile(stamps, '');
  const spawnedAt = wallClockNs();
  const child = spawn(file, args, { stdio: ['ignore', 'ignore', 'inherit'] });
  let peak: number | undefined;
  const sampler = setInterval(() => {
    const sample = child.pid === undefined ? undefined : peakRssKb(child.pid);
    if (sample !== undefined) peak = sample;
  }, 5);
  const exitedAt = await new Promise<bigint>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      const at = wallClockNs();
      if (code === 0) resolve(at);
      else reject(new Error(`${file} ${args.join(' ')} exited with ${code}`));
    });
  });
  clearInterval(sampler);
  const [first, last] = (await readFile(stamps, 'utf8')).trim().split('\n').map(BigInt);
  if (first === undefined || last === undefined) throw new Error(`no timestamps in ${stamps}`);
  return {
    startMs: Number(first - spawnedAt) / 1e6,
    exitMs: Number(exitedAt - last) / 1e6,
    peakRssKb: peak,
  };
}

export async function measureWrapperLatency(
  options: WrapperLatencyOptions,
): Promise<WrapperLatencyReport> {
  const root = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-wrapper-latency-'));
  try {
    const stamps = path.join(root, 'stamps');
    const command = `date +%s%N >> ${stamps}; date +%s%N >> ${stamps}`;
    const store = new AgentStateStore(path.join(root, 'state'));
    await store.ensureDirectory();
    // Forbid: the lock is part of every measured run.
    const spec = jobSpec('latency', { command, concurrencyPolicy: 'Forbid' });
    await store.writeRunSpec(spec);
    await store.writeInventory({
      version: 1,
      scheduler: 'crontab',
      jobs: { [spec.id]: installedJob(spec) },
    });
    const shell: Timed[] = [];
    const wrapper: Timed[] = [];
    for (let run = 0; run < options.runs; run += 1) {
      shell.push(await timeProcess('/bin/sh', ['-c', command], stamps));
      wrapper.push(
        await timeProcess(
          process.execPath,
          [
            options.agentBin,
            'run',
            '--state-dir',
            store.stateDir,
            ...(options.extraArgs ?? []),
            spec.id,
          ],
          stamps,
        ),
      );
    }
    const median = (values: Timed[], key: 'startMs' | 'exitMs') =>
      distribution(values.map((value) => value[key]));
    return {
      runs: options.runs,
      shellStartMs: median(shell, 'startMs'),
      shellExitMs: median(shell, 'exitMs'),
      wrapperStartMs: median(wrapper, 'startMs'),
      wrapperExitMs: median(wrapper, 'exitMs'),
      addedStartMs: median(wrapper, 'startMs').median - median(shell, 'startMs').median,
      addedExitMs: median(wrapper, 'exitMs').median - median(shell, 'exitMs').median,
      wrapperPeakRssMiB: distribution(wrapper.map((value) => (value.peakRssKb ?? 0) / 1024)),
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
