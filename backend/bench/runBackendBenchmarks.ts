/**
 * `npm run bench -w backend`: the backend benchmark of issue 3 §5, all in one run, against real
 * PostgreSQL.
 *
 * 1. Build core and backend (tsc), create a fresh `cronfleet_bench_<random>` database on the
 *    server of DATABASE_URL, migrate it, seed one organization, a viewer's API token, agents with
 *    their tokens and 1,000,000 runs of one agent over 50 jobs (then VACUUM ANALYZE).
 * 2. (a) a bare Express 5 app in its own process: the ceiling.
 * 3. The backend (`node dist/main.js serve`) in its own process, workers off, LOG_LEVEL=warn:
 *    (b) one check-in per request, at max throughput and at a fixed 500 req/s; (c) 100 check-ins
 *    per request; (d) a runs-list page of one job; (e) agent heartbeats.
 * 4. (m) the monitoring worker on a database of its own (bench/monitorBenchmark.ts).
 * 5. Print the table, the targets with pass/miss, (b)/(a); drop the databases.
 *
 * Exit 0 when every measurement ran without a failed request, whether or not the targets were
 * met (it is a measurement); 1 when a request failed, a measurement could not run, or an
 * acknowledged check-in is missing from the table.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBenchConfig, type BenchConfig } from './benchConfig.js';
import {
  countRuns,
  createBenchDatabase,
  redactUrl,
  seedBenchPrincipals,
  seedRunHistory,
  type BenchDatabase,
  type BenchPrincipals,
  type RunHistory,
} from './benchDatabase.js';
import {
  benchmarkTargets,
  combineRounds,
  formatReport,
  measurementErrors,
  type Measurement,
  type MeasurementId,
} from './benchmarkReport.js';
import { agentTokenRotation, checkInBatchBody, heartbeatBody } from './benchRequests.js';
import { runLoad, type LoadSpec } from './loadRun.js';
import {
  formatMonitorReport,
  runMonitorBenchmark,
  type MonitorBenchResult,
} from './monitorBenchmark.js';
import { startServerProcess, type ServerProcess } from './serverProcess.js';

const backendDir = fileURLToPath(new URL('..', import.meta.url));
const repositoryDir = path.resolve(backendDir, '..');

/** The 1-minute load average: on a shared machine, other work skews every figure. */
function loadAverage(): string {
  return (os.loadavg()[0] ?? 0).toFixed(2);
}

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function buildPackages(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  for (const project of ['core/tsconfig.build.json', 'backend/tsconfig.build.json']) {
    say(`building: tsc -p ${project}`);
    execFileSync(process.execPath, [tsc, '-p', project], {
      cwd: repositoryDir,
      stdio: 'inherit',
    });
  }
}

/**
 * What the server must answer before we flood it: a 2xx whose body passes `check`, else why this
 * measurement is skipped.
 */
async function probe(
  spec: LoadSpec,
  check?: (body: string) => string | undefined,
): Promise<string | undefined> {
  const request = spec.makeRequest();
  let response: Response;
  try {
    response = await fetch(new URL(spec.path, spec.baseUrl), {
      method: spec.method,
      headers: request.headers,
      ...(request.body === undefined ? {} : { body: request.body }),
    });
  } catch (error) {
    return `the probe request failed: ${(error as Error).message}`;
  }
  const text = await response.text();
  if (response.ok) {
    const problem = check?.(text);
    return problem === undefined ? undefined : `the probe's answer is wrong: ${problem}`;
  }
  if (response.status === 404 && text.includes('No route for')) {
    return `the route ${spec.method} ${spec.path.split('?')[0]} is not implemented (404)`;
  }
  return `the probe answered ${response.status}: ${text.slice(0, 500)}`;
}

interface Planned {
  id: MeasurementId;
  label: string;
  itemsPerRequest: number;
  spec: LoadSpec;
  /** Check-ins land in this namespace: checked against what the server acknowledged. */
  checkInNamespace?: string;
  /** Checks the probe's 2xx body: undefined when right, else what is wrong. */
  checkProbe?: (body: string) => string | undefined;
}

interface RunState {
  config: BenchConfig;
  database: BenchDatabase;
  principals: BenchPrincipals;
  history: RunHistory | undefined;
  measurements: Measurement[];
  integrityProblems: string[];
}

function wanted(config: BenchConfig, id: MeasurementId): boolean {
  return config.only === undefined || config.only.includes(id);
}

/** Measures `planned` once and returns the measurement (`round` only labels the log line). */
async function measureOnce(
  state: RunState,
  planned: Planned,
  round?: string,
): Promise<Measurement> {
  say(
    `measuring (${planned.id})${round === undefined ? '' : ` ${round}`} ${planned.label}: ${planned.spec.connections} connections, ` +
      `${planned.spec.warmUpSeconds} s warm-up + ${planned.spec.durationSeconds} s` +
      (planned.spec.overallRate === undefined ? '' : ` at ${planned.spec.overallRate} req/s`) +
      ` (load average ${loadAverage()})`,
  );
  const loadAtStart = os.loadavg()[0] ?? 0;
  const skipped = await probe(planned.spec, planned.checkProbe);
  if (skipped !== undefined) {
    say(`  skipped: ${skipped}`);
    return { ...planned, skipped };
  }
  const result = await runLoad(planned.spec);
  const measurement: Measurement = { ...planned, result, loadAverage: loadAtStart };
  say(
    `  ${Math.round(result.requestsPerSecond)} req/s, p50 ${result.latencyMs.p50.toFixed(2)} ms, ` +
      `p95 ${result.latencyMs.p95.toFixed(2)} ms, p99 ${result.latencyMs.p99.toFixed(2)} ms, ` +
      `${result.responses} responses, non-2xx ${result.non2xx}, errors ${result.errors}`,
  );
  if (planned.checkInNamespace !== undefined) {
    const stored = await countRuns(
      state.database.handle,
      state.principals.organizationId,
      planned.checkInNamespace,
    );
    // The probe's check-ins count too; the requests cut off at the end may or may not be stored.
    const acknowledged = (result.acknowledged + 1) * planned.itemsPerRequest;
    say(`  stored ${stored} runs for ${acknowledged} acknowledged check-ins`);
    if (stored < acknowledged) {
      state.integrityProblems.push(
        `(${planned.id}): the server acknowledged ${acknowledged} check-ins but only ${stored} runs are in the table`,
      );
    }
  }
  return measurement;
}

async function measure(state: RunState, planned: Planned): Promise<void> {
  state.measurements.push(await measureOnce(state, planned));
}

/**
 * (a) and (b) in alternation, `rounds` times each, with both servers up: the machine's speed
 * drifts by ±20 % over minutes, so (b)/(a) is judged on pairs measured side by side (see
 * combineRounds). A skipped round skips the measurement.
 */
async function measureCeilingAndCheckIns(
  state: RunState,
  ceiling: Planned | undefined,
  checkIns: Planned | undefined,
): Promise<void> {
  const rounds: Record<'a' | 'b', Measurement[]> = { a: [], b: [] };
  const count = state.config.rounds;
  for (let round = 1; round <= count; round += 1) {
    for (const planned of [ceiling, checkIns]) {
      if (planned === undefined) continue;
      const id = planned.id as 'a' | 'b';
      if (rounds[id].some((measurement) => measurement.skipped !== undefined)) continue;
      rounds[id].push(await measureOnce(state, planned, `round ${round}/${count}`));
    }
  }
  for (const measurements of [rounds.a, rounds.b]) {
    if (measurements.length > 0) state.measurements.push(combineRounds(measurements));
  }
}
function startExpressCeiling(): Promise<ServerProcess> {
  return startServerProcess({
    name: 'the bare Express app',
    args: ['--import', 'tsx', 'bench/bareExpressServer.ts'],
    cwd: backendDir,
    env: { PORT: '0', NODE_ENV: 'production' },
  });
}

function ceilingPlan(state: RunState, server: ServerProcess): Planned {
  const { config } = state;
  let sequence = 0;
  return {
    id: 'a',
    label: 'bare Express 5: parse JSON, 202',
    itemsPerRequest: 1,
    spec: {
      title: 'a',
      baseUrl: server.url,
      method: 'POST',
      path: '/api/v1/check-ins',
      makeRequest: () => ({
        headers: jsonHeaders('cfa_unused'),
        body: checkInBatchBody('ceiling', 1, sequence++),
      }),
      connections: config.connections,
      durationSeconds: config.durationSeconds,
      warmUpSeconds: config.warmUpSeconds,
      serverPid: server.pid,
    },
  };
}

function jsonHeaders(token: string): Record<string, string> {
  return { 'content-type': 'application/json', authorization: `Bearer ${token}` };
}

function startBackend(state: RunState): Promise<ServerProcess> {
  return startServerProcess({
    name: 'the Cronfleet backend',
    args: [...state.config.serverNodeArgs, 'dist/main.js', 'serve'],
    cwd: backendDir,
    env: {
      PORT: '0',
      HOST: '127.0.0.1',
      DATABASE_URL: state.database.url,
      CRONFLEET_WORKERS: 'false',
      LOG_LEVEL: 'warn',
      NODE_ENV: 'production',
    },
  });
}

/** The backend's measurements, in order: (b), (b@500), (c), (d), (e). */
function backendPlan(state: RunState, server: ServerProcess): Planned[] {
  const { config, principals } = state;
  const agentToken = agentTokenRotation(principals.agents.map((agent) => agent.token));
  const common = {
    baseUrl: server.url,
    serverPid: server.pid,
    durationSeconds: config.durationSeconds,
    warmUpSeconds: config.warmUpSeconds,
  };
  const checkIns = (id: MeasurementId, namespace: string, size: number, rate?: number): Planned => {
    let sequence = 0;
    return {
      id,
      label:
        size === 1
          ? `check-in ×1 per request${rate === undefined ? '' : ` at ${rate} req/s`}`
          : `check-ins ×${size} per request`,
      itemsPerRequest: size,
      checkInNamespace: namespace,
      spec: {
        ...common,
        title: id,
        method: 'POST',
        path: '/api/v1/check-ins',
        makeRequest: () => ({
          headers: jsonHeaders(agentToken()),
          body: checkInBatchBody(namespace, size, sequence++),
        }),
        connections: config.connections,
        ...(rate === undefined ? {} : { overallRate: rate }),
      },
    };
  };
  const plan: Planned[] = [
    checkIns('b', 'ingest-single', 1),
    checkIns('b@500', 'ingest-rate', 1, benchmarkTargets.fixedRate),
    checkIns('c', 'ingest-batch', config.batchSize),
  ];
  if (state.history !== undefined) {
    plan.push({
      id: 'd',
      label: `runs page of 1 job (${state.history.jobRuns.toLocaleString('en-US')} of ${state.history.totalRuns.toLocaleString('en-US')} runs)`,
      itemsPerRequest: 1,
      spec: {
        ...common,
        title: 'd',
        method: 'GET',
        path: `/api/v1/runs?job=${encodeURIComponent(state.history.job)}&limit=50`,
        makeRequest: () => ({ headers: { authorization: `Bearer ${principals.userToken}` } }),
        connections: config.connections,
      },
      // A page that came back short would measure less work than a real page.
      checkProbe: (body) => {
        const page = JSON.parse(body) as { items?: Array<{ namespace?: string; name?: string }> };
        const items = page.items ?? [];
        const ofJob = items.filter((run) => `${run.namespace}/${run.name}` === state.history?.job);
        return ofJob.length === 50 && items.length === 50
          ? undefined
          : `expected 50 runs of ${state.history?.job}, got ${items.length} (${ofJob.length} of that job)`;
      },
    });
  }
  const heartbeat = heartbeatBody();
  plan.push({
    id: 'e',
    label: 'agent heartbeat',
    itemsPerRequest: 1,
    spec: {
      ...common,
      title: 'e',
      method: 'POST',
      path: '/api/v1/agents/heartbeat',
      makeRequest: () => ({ headers: jsonHeaders(agentToken()), body: heartbeat }),
      connections: config.connections,
    },
  });
  return plan;
}

/** (m): the monitoring worker, on a fresh database of its own (dropped after). */
async function monitorMeasurement(config: BenchConfig): Promise<MonitorBenchResult | undefined> {
  if (config.only !== undefined && !config.only.includes('m')) return undefined;
  const database = await createBenchDatabase(config.databaseUrl);
  try {
    say(`(m) monitoring worker: database ${database.name}, load average ${loadAverage()}`);
    return await runMonitorBenchmark(database.handle, {
      agents: config.monitorAgents,
      instancesPerAgent: config.monitorInstancesPerAgent,
      due: config.monitorDue,
      detections: config.monitorDetections,
      say,
    });
  } finally {
    await database.drop();
  }
}

async function main(): Promise<number> {
  const config = loadBenchConfig();
  say(
    `Cronfleet backend benchmark — Node ${process.version}, ${os.cpus().length} CPUs ` +
      `(${os.cpus()[0]?.model ?? 'unknown'}), load average ${loadAverage()}, ` +
      `PostgreSQL at ${redactUrl(config.databaseUrl)}`,
  );
  if (!config.skipBuild) buildPackages();

  const database = await createBenchDatabase(config.databaseUrl);
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) return;
    interrupted = true;
    say('interrupted: dropping the bench database');
    void database.drop().finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    say(`database ${database.name} (PostgreSQL ${database.serverVersion}), migrated`);
    const principals = await seedBenchPrincipals(database.handle, config.agents);
    say(`seeded 1 organization, 1 viewer API token, ${config.agents} agents`);
    let history: RunHistory | undefined;
    if (wanted(config, 'd')) {
      const historyAgent = principals.agents[0];
      if (historyAgent === undefined) throw new Error('no agent to own the run history');
      history = await seedRunHistory(database.handle, {
        organizationId: principals.organizationId,
        agentId: historyAgent.agentId,
        totalRuns: config.historyRuns,
        jobCount: config.historyJobs,
      });
      say(
        `seeded ${history.totalRuns.toLocaleString('en-US')} runs over ${config.historyJobs} jobs ` +
          `(${history.job}: ${history.jobRuns.toLocaleString('en-US')}) in ${(history.seedMilliseconds / 1000).toFixed(1)} s, vacuumed and analyzed`,
      );
    }
    const state: RunState = {
      config,
      database,
      principals,
      history,
      measurements: [],
      integrityProblems: [],
    };
    const ceiling = wanted(config, 'a') ? await startExpressCeiling() : undefined;
    const backend = (['b', 'b@500', 'c', 'd', 'e'] as const).some((id) => wanted(config, id))
      ? await startBackend(state)
      : undefined;
    try {
      if (ceiling !== undefined)
        say(`(a) bare Express 5 app (pid ${ceiling.pid}) at ${ceiling.url}`);
      if (backend !== undefined) {
        say(`backend (pid ${backend.pid}) at ${backend.url}, database ${database.name}`);
      }
      const plan = backend === undefined ? [] : backendPlan(state, backend);
      const byId = (id: MeasurementId) =>
        plan.find((planned) => planned.id === id && wanted(config, id));
      await measureCeilingAndCheckIns(
        state,
        ceiling === undefined ? undefined : ceilingPlan(state, ceiling),
        byId('b'),
      );
      for (const planned of plan) {
        if (planned.id !== 'b' && wanted(config, planned.id)) await measure(state, planned);
      }
    } finally {
      await ceiling?.stop();
      if (backend !== undefined) {
        await backend.stop();
        const warnings = backend.stderr().trim();
        if (warnings !== '') say(`backend stderr:\n${warnings}`);
      }
    }

    const monitor = await monitorMeasurement(config);

    say('');
    say(formatReport(state.measurements));
    if (monitor !== undefined) {
      say('');
      say('Monitoring worker (its own database):');
      say(formatMonitorReport(monitor, config.monitorDue));
      state.integrityProblems.push(...monitor.problems);
    }
    const busiest = Math.max(0, ...state.measurements.map((m) => m.loadAverage ?? 0));
    if (busiest > os.cpus().length) {
      say(
        `Note: the load average reached ${busiest.toFixed(1)} on ${os.cpus().length} CPUs during the ` +
          'runs: other processes competed for the CPUs, so these figures understate the backend.',
      );
    }
    const problems = [...measurementErrors(state.measurements), ...state.integrityProblems];
    if (problems.length > 0) {
      say('');
      say('Errors (the run failed):');
      for (const problem of problems) say(`  - ${problem}`);
      return 1;
    }
    return 0;
  } finally {
    if (!interrupted) {
      await database.drop();
      say(`dropped database ${database.name}`);
    }
  }
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
