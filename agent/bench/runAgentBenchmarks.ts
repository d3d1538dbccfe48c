/**
 * `npm run bench -w agent`: the agent benchmark of issue 5 §8, against real PostgreSQL.
 *
 * 1. Build core, backend and agent (tsc, and the wrapper's bundle), create a fresh
 *    `cronfleet_bench_<random>` database on the server of DATABASE_URL, migrate it, seed one
 *    organization and agent, and start the backend (`node backend/dist/main.js serve`, workers
 *    off) in its own process.
 * 2. wrapper: the run wrapper's added latency and peak RSS against `sh -c` (the compiled agent).
 * 3. drain: fill a spool with 100,000 check-ins, then time SpoolSender.drainOnce() until the
 *    spool is empty; check that every run is in the table, whole.
 * 3. Print the table with the targets; stop the server; drop the database.
 *
 * Exit 0 when every measurement ran without error, whether or not the targets were met; 1 when a
 * measurement failed (an error, a check-in missing from the table).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { redactUrl } from '../../backend/bench/benchDatabase.js';
import { loadAgentBenchConfig, type AgentBenchConfig } from './agentBenchConfig.js';
import {
  agentBenchmarkTargets,
  formatAgentReport,
  whole,
  type AgentBenchRow,
} from './agentBenchReport.js';
import { buildPackages, startBenchBackend, type BenchBackend } from './benchBackend.js';
import { measureSpoolDrain, spoolDrainProblems } from './spoolDrainBenchmark.js';
import { measureWrapperLatency } from './wrapperLatencyBenchmark.js';
import { measureReconcile } from './reconcileBenchmark.js';

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function loadAverage(): string {
  return (os.loadavg()[0] ?? 0).toFixed(2);
}

function wanted(config: AgentBenchConfig, id: 'drain' | 'wrapper' | 'reconcile'): boolean {
  return config.only === undefined || config.only.includes(id);
}

async function benchmarkDrain(
  config: AgentBenchConfig,
  backend: BenchBackend,
  rows: AgentBenchRow[],
  problems: string[],
): Promise<void> {
  const directory = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-bench-spool-'));
  try {
    say(
      `measuring drain: ${config.spoolCheckIns.toLocaleString('en-US')} check-ins into ${backend.url} (load average ${loadAverage()})`,
    );
    const measurement = await measureSpoolDrain({
      baseUrl: backend.url,
      agentToken: backend.agentToken,
      directory,
      checkIns: config.spoolCheckIns,
      outputChars: config.outputChars,
      ...(config.senderConcurrency === undefined ? {} : { concurrency: config.senderConcurrency }),
      database: backend.database.handle,
      organizationId: backend.organizationId,
      say,
    });
    const { drain } = measurement;
    say(
      `  ${whole(measurement.checkInsPerSecond)} check-ins/s: ${drain.sent} sent in ${drain.batches} batches, ` +
        `${measurement.seconds.toFixed(2)} s; agent CPU ${measurement.agentCpuSeconds.toFixed(2)} s, ` +
        `RSS ${measurement.agentRssBeforeMiB.toFixed(0)} → peak ${measurement.agentPeakRssMiB.toFixed(0)} MiB; ${measurement.storedRuns} runs stored`,
    );
    rows.push({
      label: `spool drain (${whole(config.spoolCheckIns)} check-ins)`,
      actual: `${whole(measurement.checkInsPerSecond)} check-ins/s`,
      target: `≥ ${whole(agentBenchmarkTargets.drainCheckInsPerSecond)} check-ins/s`,
      met: measurement.checkInsPerSecond >= agentBenchmarkTargets.drainCheckInsPerSecond,
      notes: [
        `${measurement.seconds.toFixed(2)} s, ${drain.batches} batches, accepted ${drain.accepted}, duplicates ${drain.duplicates}, rejected ${drain.rejected}`,
        `spool ${(measurement.spool.bytes / 1024 / 1024).toFixed(1)} MiB in ${measurement.spool.segments} segments; agent CPU ${measurement.agentCpuSeconds.toFixed(2)} s, RSS ${measurement.agentRssBeforeMiB.toFixed(0)} MiB before, peak ${measurement.agentPeakRssMiB.toFixed(0)} MiB`,
      ],
    });
    problems.push(...spoolDrainProblems(measurement).map((problem) => `drain: ${problem}`));
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

const agentBin = fileURLToPath(new URL('../bin/cronfleet-agent.js', import.meta.url));

async function benchmarkWrapper(config: AgentBenchConfig, rows: AgentBenchRow[]): Promise<void> {
  say(
    `measuring the run wrapper: ${config.wrapperRuns} runs of cronfleet-agent run and of sh -c, interleaved (load average ${loadAverage()})`,
  );
  const report = await measureWrapperLatency({ agentBin, runs: config.wrapperRuns });
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  say(
    `  sh -c: start ${ms(report.shellStartMs.median)}, exit ${ms(report.shellExitMs.median)}; ` +
      `wrapper: start ${ms(report.wrapperStartMs.median)} (p95 ${ms(report.wrapperStartMs.p95)}), exit ${ms(report.wrapperExitMs.median)}; ` +
      `peak RSS ${report.wrapperPeakRssMiB.median.toFixed(1)} MiB (max ${report.wrapperPeakRssMiB.max.toFixed(1)})`,
  );
  const added = report.addedStartMs + report.addedExitMs;
  rows.push({
    label: 'run wrapper: added latency per run',
    actual: `${ms(added)} (start +${ms(report.addedStartMs)}, exit +${ms(report.addedExitMs)})`,
    target: `< ${agentBenchmarkTargets.wrapperAddedMs} ms`,
    met: added < agentBenchmarkTargets.wrapperAddedMs,
    notes: [
      `medians of ${report.runs} runs each, against sh -c running the same command; the wrapper takes the Forbid lock and fsyncs two check-ins into its spool`,
    ],
  });
  rows.push({
    label: 'run wrapper: peak RSS',
    actual: `${report.wrapperPeakRssMiB.max.toFixed(1)} MiB`,
    target: `< ${agentBenchmarkTargets.wrapperRssMiB} MiB`,
    met: report.wrapperPeakRssMiB.max < agentBenchmarkTargets.wrapperRssMiB,
    notes: [
      `median ${report.wrapperPeakRssMiB.median.toFixed(1)} MiB (VmHWM of the wrapper process)`,
    ],
  });
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
const milliseconds = (ms: number) => `${ms.toFixed(ms < 10 ? 1 : 0)} ms`;
const ratio = (a: number, b: number) => (b > 0 ? `${(a / b).toFixed(1)}×` : 'n/a');

async function benchmarkReconcile(config: AgentBenchConfig, rows: AgentBenchRow[]): Promise<void> {
  say(
    `measuring reconcile: ${config.reconcileJobs.join(' and ')} jobs (load average ${loadAverage()})`,
  );
  const result = await measureReconcile({
    agentBin,
    jobCounts: config.reconcileJobs,
    idleMinutes: config.idleMinutes,
    pollSeconds: config.pollSeconds,
    say,
  });
  for (const reason of result.skipped) say(`  skipped: ${reason}`);
  for (const measurement of result.measurements) {
    const base = result.baselines.find((baseline) => baseline.jobs === measurement.jobs)!;
    const what = `${whole(measurement.jobs)} jobs → ${measurement.scheduler}`;
    const alone =
      measurement.scheduler === 'crontab' ? '`crontab -`' : 'the cron.d files one by one';
    const firstTarget = agentBenchmarkTargets.firstApplyMsPerThousandJobs(measurement.jobs);
    rows.push({
      label: `${what}: first apply`,
      actual: seconds(measurement.firstApply.wallMs),
      target: `< ${seconds(firstTarget)}`,
      met: measurement.firstApply.wallMs < firstTarget,
      notes: [
        `median of ${measurement.firstApply.samplesWallMs.length} first applies (${measurement.firstApply.samplesWallMs.map((ms) => seconds(ms)).join(', ')}); its CPU ${milliseconds(measurement.firstApply.cpuMs)} (git included), the tick ${measurement.firstApply.tickCpuMs ?? '?'} ms`,
        `alone in the same run: git clone ${milliseconds(base.gitClone.wallMs)}, ${alone} ${milliseconds(measurement.schedulerWriteAlone.wallMs)}; first apply ÷ (clone + ${measurement.scheduler} alone) = ${ratio(measurement.firstApply.wallMs, base.gitClone.wallMs + measurement.schedulerWriteAlone.wallMs)}`,
      ],
    });
    const tick = measurement.noChange.tickCpuMs ?? Number.NaN;
    rows.push({
      label: `${what}: sync --once, nothing changed`,
      actual: `tick ${milliseconds(tick)} CPU, ${measurement.noChange.filesWritten} files written`,
      target: `< ${agentBenchmarkTargets.noChangeTickCpuMs} ms, 0 written`,
      met:
        tick < agentBenchmarkTargets.noChangeTickCpuMs && measurement.noChange.filesWritten === 0,
      notes: [
        `the process: ${milliseconds(measurement.noChange.wallMs)} wall, ${milliseconds(measurement.noChange.cpuMs)} CPU with Node's start and git; git fetch alone ${milliseconds(base.gitFetch.wallMs)} wall, ${milliseconds(base.gitFetch.cpuMs)} CPU; tick CPU ÷ git fetch CPU = ${ratio(tick, base.gitFetch.cpuMs)}`,
      ],
    });
    rows.push({
      label: `${what}: one-job change`,
      actual: `${measurement.oneJobChange.specsWritten} spec, ${measurement.oneJobChange.entriesWritten} entry written`,
      target: '1 spec, 1 entry',
      met:
        measurement.oneJobChange.specsWritten === 1 &&
        measurement.oneJobChange.entriesWritten === 1,
      notes: [
        `${milliseconds(measurement.oneJobChange.wallMs)} wall, ${milliseconds(measurement.oneJobChange.cpuMs)} CPU (git included)`,
      ],
    });
    const daemon = measurement.daemon;
    if (daemon !== undefined) {
      const sorted = [...daemon.tickCpuMs].sort((a, b) => a - b);
      const median = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
      rows.push({
        label: `${what}: daemon tick, nothing changed`,
        actual: `${milliseconds(median)} CPU (median of ${sorted.length})`,
        target: `< ${agentBenchmarkTargets.noChangeTickCpuMs} ms`,
        met: median < agentBenchmarkTargets.noChangeTickCpuMs,
        notes: [
          `the daemon's own CPU per idle tick, from /proc: ${milliseconds(daemon.ownCpuMsPerTick)} over ${daemon.ticks} ticks (git's children excluded); git fetch alone ${milliseconds(base.gitFetch.cpuMs)} CPU`,
        ],
      });
      rows.push({
        label: `${what}: daemon RSS after ${config.idleMinutes} min idle`,
        actual: `${daemon.idleRssMB.toFixed(0)} MB`,
        target: `< ${agentBenchmarkTargets.idleRssMB} MB`,
        met: daemon.idleRssMB < agentBenchmarkTargets.idleRssMB,
        notes: [
          `${daemon.anonymousMB.toFixed(0)} MB anonymous (heaps), ${daemon.fileMB.toFixed(0)} MB of mapped files (Node's binary and its ICU data, shared with every Node process)`,
        ],
      });
    }
  }
}

async function main(): Promise<number> {
  const config = loadAgentBenchConfig();
  say(
    `Cronfleet agent benchmark — Node ${process.version}, ${os.cpus().length} CPUs ` +
      `(${os.cpus()[0]?.model ?? 'unknown'}), load average ${loadAverage()}, ` +
      `PostgreSQL at ${redactUrl(config.databaseUrl)}`,
  );
  if (!config.skipBuild) buildPackages(say);
  const rows: AgentBenchRow[] = [];
  const problems: string[] = [];
  if (wanted(config, 'reconcile')) {
    try {
      await benchmarkReconcile(config, rows);
    } catch (error) {
      problems.push(`reconcile: ${(error as Error).message}`);
    }
  }
  if (!wanted(config, 'wrapper') && !wanted(config, 'drain')) return report(rows, problems);
  const backend = await startBenchBackend(config.databaseUrl);
  say(`backend (pid ${backend.pid}) at ${backend.url}, database ${backend.database.name}`);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    say('interrupted: stopping the backend and dropping the bench database');
    void backend.close().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (wanted(config, 'wrapper')) await benchmarkWrapper(config, rows);
    if (wanted(config, 'drain')) await benchmarkDrain(config, backend, rows, problems);
  } finally {
    if (!interrupted) {
      const stderr = backend.stderr().trim();
      await backend.close();
      if (stderr !== '') say(`backend stderr:\n${stderr}`);
      say(`dropped database ${backend.database.name}`);
    }
  }
  return report(rows, problems);
}

function report(rows: readonly AgentBenchRow[], problems: readonly string[]): number {
  say('');
  say(formatAgentReport(rows));
  if (problems.length > 0) {
    say('');
    say('Errors (the run failed):');
    for (const problem of problems) say(`  - ${problem}`);
    return 1;
  }
  return 0;
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`benchmark failed: ${(error as Error)?.stack ?? String(error)}\n`);
    process.exitCode = 1;
  },
);
