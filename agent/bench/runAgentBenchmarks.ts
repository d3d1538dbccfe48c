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

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function loadAverage(): string {
  return (os.loadavg()[0] ?? 0).toFixed(2);
}

function wanted(config: AgentBenchConfig, id: 'drain' | 'wrapper'): boolean {
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

async function main(): Promise<number> {
  const config = loadAgentBenchConfig();
  say(
    `Cronfleet agent benchmark — Node ${process.version}, ${os.cpus().length} CPUs ` +
      `(${os.cpus()[0]?.model ?? 'unknown'}), load average ${loadAverage()}, ` +
      `PostgreSQL at ${redactUrl(config.databaseUrl)}`,
  );
  if (!config.skipBuild) buildPackages(say);
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
  const rows: AgentBenchRow[] = [];
  const problems: string[] = [];
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
