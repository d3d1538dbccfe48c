/**
 * The monitoring worker's benchmark (issue 12 §8), on its own fresh database:
 *
 * 1. Seeds 100 agents × 1,000 job instances (100,000), a mix of schedules and zones, with a few
 *    hundred thousand runs of history, all judged up to now and next looked at within the hour.
 * 2. (m0) an empty pass: nothing is due (median of 7).
 * 3. (m1) a pass with 1,000 instances due, each with two fires to judge (99 % started, 1 %
 *    missed: 10 incidents opened, their notifications queued), median of 3 rounds; ratio to (m0).
 * 4. (m2) detection: the real worker (a pass every 5 s) and an agent heartbeating as the agent
 *    does; a job whose fire starts no run is reported missed how long after fire + grace.
 */
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { nextFireTimes, parseCron } from '@cronfleet/core/cron';
import type { DatabaseHandle } from '../src/db/database.js';
import { loadBackendConfig } from '../src/env.js';
import type { AppContext } from '../src/http/appContext.js';
import { runMonitorPass, startMonitorWorker } from '../src/monitoring/monitorWorker.js';
import { seedOrganization } from '../test/seed.js';

export interface MonitorBenchOptions {
  agents: number;
  instancesPerAgent: number;
  due: number;
  /** Fires of (m2) to wait for (each about a minute). */
  detections: number;
  say(line: string): void;
}

export interface MonitorBenchResult {
  instances: number;
  emptyPassMs: number;
  duePassMs: number;
  ratio: number;
  /** Seconds after fire + grace at which each missed fire was reported. */
  detectionSeconds: number[];
  problems: string[];
}

const schedules = ['*/5 * * * *', '0 * * * *', '30 2 * * *', '*/15 9-17 * * 1-5'];
const zones = ['UTC', 'America/New_York', 'Europe/Berlin'];

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function contextOf(database: DatabaseHandle): AppContext {
  return {
    database,
    config: { ...loadBackendConfig({}), frontendDir: '/nonexistent' },
    logger: pino({ level: 'silent' }),
    now: () => new Date(),
    validateResponses: false,
  };
}

async function seed(database: DatabaseHandle, options: MonitorBenchOptions): Promise<string> {
  const organizationId = await seedOrganization(database, 'Monitor bench');
  const scheduleList = sql.raw(`array[${schedules.map((s) => `'${s}'`).join(',')}]`);
  const zoneList = sql.raw(`array[${zones.map((z) => `'${z}'`).join(',')}]`);
  await database.rows(sql`
    insert into agents (organization_id, name, hostname, machine_id, platform, arch, version,
      token_hash, last_heartbeat_at, delivered_through)
    select ${organizationId}, 'monitor-' || i, 'monitor-' || i || '.internal', md5('m' || i),
      'linux', 'x64', '0.1.0', md5('token' || i || random()), now(), now()
    from generate_series(1, ${options.agents}) as i`);
  await database.rows(sql`
    insert into job_instances (organization_id, agent_id, namespace, name, schedule, timezone,
      command_digest, source_path, revision, scheduler, grace_seconds, alert_after, health,
      judged_through, next_check_at)
    select ${organizationId}, a.id, 'ns-' || (j % 20), 'job-' || j,
      (${scheduleList})[1 + j % 4], (${zoneList})[1 + j % 3], repeat('0', 64), 'jobs/ns.yaml',
      repeat('a', 40), 'crontab', 60, 1, 'up', now(),
      now() + interval '10 minutes' + (j % 3000) * interval '1 second'
    from agents a cross join generate_series(1, ${options.instancesPerAgent}) as j
    where a.organization_id = ${organizationId}`);
  // History: three finished runs per instance over the last week.
  await database.rows(sql`
    insert into runs (run_id, organization_id, agent_id, namespace, name, status, scheduled_at,
      started_at, finished_at, duration_ms, exit_code, start_received, finish_received)
    select gen_random_uuid(), ji.organization_id, ji.agent_id, ji.namespace, ji.name, 'succeeded',
      now() - k * interval '2 days', now() - k * interval '2 days',
      now() - k * interval '2 days' + interval '1 second', 1000, 0, true, true
    from job_instances ji cross join generate_series(1, 3) as k
    where ji.organization_id = ${organizationId}`);
  await database.rows(sql`
    insert into notification_channels (organization_id, name, kind, is_default)
    values (${organizationId}, 'ops', 'webhook', true)`);
  await database.rows(sql`vacuum analyze`);
  return organizationId;
}

/**
 * Makes `due` random instances due with ten minutes to judge (every-5-minutes jobs in UTC: two
 * fires each), with a start for every fire but those of `missing` instances.
 */
async function prepareDue(
  database: DatabaseHandle,
  organizationId: string,
  due: number,
  missing: number,
): Promise<void> {
  const now = new Date();
  const after = new Date(now.getTime() - 10 * 60_000);
  const picked = await database.rows<{ agent_id: string; namespace: string; name: string }>(sql`
    update job_instances set schedule = '*/5 * * * *', timezone = 'UTC', health = 'up',
      judged_through = ${after.toISOString()}::timestamptz, next_check_at = now() - interval '1 second'
    where (agent_id, namespace, name) in (
      select agent_id, namespace, name from job_instances
      where organization_id = ${organizationId} order by random() limit ${due})
    returning agent_id, namespace, name`);
  const fires = nextFireTimes(parseCron('*/5 * * * *'), {
    after,
    count: 3,
    timezone: 'UTC',
  }).filter((fire) => fire.getTime() + 60_000 <= now.getTime());
  const starts = picked
    .slice(missing)
    .flatMap((instance) => fires.map((fire) => ({ ...instance, at: fire.toISOString() })));
  await database.rows(sql`
    insert into runs (run_id, organization_id, agent_id, namespace, name, status, scheduled_at,
      started_at, finished_at, duration_ms, exit_code, start_received, finish_received)
    select gen_random_uuid(), ${organizationId}, s.agent_id, s.namespace, s.name, 'succeeded',
      s.at, s.at + interval '1 second', s.at + interval '2 seconds', 1000, 0, true, true
    from jsonb_to_recordset(${JSON.stringify(starts)}::jsonb)
      as s(agent_id uuid, namespace text, name text, at timestamptz)`);
  await database.rows(sql`update agents set last_heartbeat_at = now(), delivered_through = now()
    where organization_id = ${organizationId}`);
}

async function detection(
  database: DatabaseHandle,
  organizationId: string,
  options: MonitorBenchOptions,
): Promise<number[]> {
  const graceSeconds = 5;
  const [agent] = await database.rows<{ id: string }>(sql`
    insert into agents (organization_id, name, hostname, machine_id, platform, arch, version,
      token_hash, last_heartbeat_at, delivered_through)
    values (${organizationId}, 'detector', 'detector.internal', md5('detector'), 'linux', 'x64',
      '0.1.0', md5('detector' || random()), now(), now())
    returning id`);
  await database.rows(sql`
    insert into job_instances (organization_id, agent_id, namespace, name, schedule, timezone,
      command_digest, source_path, revision, scheduler, grace_seconds, alert_after, health,
      judged_through, next_check_at)
    values (${organizationId}, ${agent!.id}, 'detect', 'never-starts', '* * * * *', 'UTC',
      repeat('0', 64), 'detect.yaml', repeat('a', 40), 'crontab', ${graceSeconds}, 1, 'up', now(), now())`);
  // The agents heartbeat every 30 s, and one second after each fire time + grace of their jobs
  // (what the agent's heartbeat loop does), each time with an empty spool.
  let stopped = false;
  const heartbeats = (async () => {
    const graceMs = graceSeconds * 1000;
    let nextRegular = Date.now() + 30_000;
    while (!stopped) {
      const now = Date.now();
      let aligned = Math.ceil((now - graceMs - 1000) / 60_000) * 60_000 + graceMs + 1000;
      if (aligned <= now) aligned += 60_000;
      const wake = Math.min(nextRegular, aligned);
      while (!stopped && Date.now() < wake) {
        await new Promise((resolve) => setTimeout(resolve, Math.min(200, wake - Date.now())));
      }
      if (stopped) break;
      if (Date.now() >= nextRegular) nextRegular = Date.now() + 30_000;
      await database.rows(sql`update agents set last_heartbeat_at = now(), delivered_through = now()
        where organization_id = ${organizationId}`);
    }
  })();
  const worker = startMonitorWorker(contextOf(database));
  const latencies: number[] = [];
  try {
    let seen = 0;
    const deadline = Date.now() + (options.detections + 1) * 70_000;
    while (latencies.length < options.detections && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      const [incident] = await database.rows<{
        occurrences: number;
        updated_ms: number;
        happened: string;
      }>(sql`
        select occurrences, (extract(epoch from updated_at) * 1000)::float8 as updated_ms, happened
        from incidents where agent_id = ${agent!.id} and kind = 'missed' and resolved_at is null`);
      if (incident === undefined || incident.occurrences === seen) continue;
      seen = incident.occurrences;
      // The fire just reported: the last whole minute at least grace before the report.
      const fire = Math.floor((incident.updated_ms - graceSeconds * 1000) / 60_000) * 60_000;
      const latency = (incident.updated_ms - (fire + graceSeconds * 1000)) / 1000;
      latencies.push(latency);
      options.say(
        `  (m2) fire ${new Date(fire).toISOString()} reported missed ${latency.toFixed(1)} s after fire + grace`,
      );
    }
  } finally {
    stopped = true;
    await worker.stop();
    await heartbeats;
  }
  return latencies;
}

export async function runMonitorBenchmark(
  database: DatabaseHandle,
  options: MonitorBenchOptions,
): Promise<MonitorBenchResult> {
  const problems: string[] = [];
  const seedStart = Date.now();
  const organizationId = await seed(database, options);
  const instances = options.agents * options.instancesPerAgent;
  options.say(
    `(m) seeded ${instances.toLocaleString('en-US')} job instances on ${options.agents} agents in ${((Date.now() - seedStart) / 1000).toFixed(1)} s`,
  );
  const context = contextOf(database);
  // Warm up: the first pass creates the worker's clock row and compiles the statements.
  await runMonitorPass(context, { now: new Date() });

  const empty: number[] = [];
  for (let round = 0; round < 7; round += 1) {
    const start = performance.now();
    const result = await runMonitorPass(context, { now: new Date() });
    empty.push(performance.now() - start);
    if (result.judged !== 0) problems.push(`(m0) an empty pass judged ${result.judged} instances`);
  }
  const missing = Math.round(options.due / 100);
  const due: number[] = [];
  for (let round = 0; round < 3; round += 1) {
    await database.rows(sql`delete from incidents where organization_id = ${organizationId}`);
    await prepareDue(database, organizationId, options.due, missing);
    const start = performance.now();
    const result = await runMonitorPass(context, { now: new Date() });
    due.push(performance.now() - start);
    options.say(
      `  (m1) round ${round + 1}: ${(performance.now() - start).toFixed(0)} ms, judged ${result.judged}, opened ${result.opened}`,
    );
    if (result.judged < options.due)
      problems.push(`(m1) judged ${result.judged} of ${options.due} due instances`);
    if (result.opened !== missing)
      problems.push(`(m1) opened ${result.opened} incidents, expected ${missing}`);
  }
  await database.rows(sql`delete from incidents where organization_id = ${organizationId}`);
  const detectionSeconds =
    options.detections > 0 ? await detection(database, organizationId, options) : [];
  if (detectionSeconds.length < options.detections) {
    problems.push(
      `(m2) ${detectionSeconds.length} of ${options.detections} missed fires were reported`,
    );
  }
  const emptyPassMs = median(empty);
  const duePassMs = median(due);
  return {
    instances,
    emptyPassMs,
    duePassMs,
    ratio: duePassMs / emptyPassMs,
    detectionSeconds,
    problems,
  };
}

export function formatMonitorReport(result: MonitorBenchResult, due: number): string {
  const worstDetection = Math.max(...result.detectionSeconds);
  const rows = [
    ['(m0) empty pass', `${result.emptyPassMs.toFixed(0)} ms`, 'baseline', ''],
    [
      `(m1) pass with ${due.toLocaleString('en-US')} of ${result.instances.toLocaleString('en-US')} instances due`,
      `${result.duePassMs.toFixed(0)} ms (${result.ratio.toFixed(1)}× m0)`,
      '< 1000 ms',
      result.duePassMs < 1000 ? 'met' : 'MISSED',
    ],
    [
      '(m2) a missed fire reported after fire + grace',
      result.detectionSeconds.length === 0
        ? 'not measured'
        : `worst ${worstDetection.toFixed(1)} s`,
      '≤ 15 s',
      result.detectionSeconds.length === 0 ? '' : worstDetection <= 15 ? 'met' : 'MISSED',
    ],
  ];
  return rows.map((row) => `| ${row.join(' | ')} |`).join('\n');
}
