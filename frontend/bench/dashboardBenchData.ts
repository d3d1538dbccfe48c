/**
 * The fleet the dashboard benchmark shows: one organization with its agents (the backend bench's
 * seedBenchPrincipals), an admin who signs in with a password, `jobs` jobs written through the
 * agent protocol's inventory route (so job_instances holds what the inventory writer writes),
 * the monitoring worker's health on them, and `runs` finished runs over the last `runDays` days,
 * in one INSERT … SELECT generate_series.
 */
import { apiExamples, type InventoryJob } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import type { BenchPrincipals } from '../../backend/bench/benchDatabase.js';
import { hashPassword } from '../../backend/src/auth/passwordHash.js';
import type { DatabaseHandle } from '../../backend/src/db/database.js';
import { memberships, users } from '../../backend/src/db/schema.js';

export const benchAdmin = {
  email: 'bench-admin@example.com',
  password: 'correct horse battery staple',
};

/** The seeded revision (the contract requires one on every job and run). */
const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const namespaces = [
  'billing',
  'reports',
  'etl',
  'ops',
  'search',
  'mail',
  'backups',
  'analytics',
  'payments',
  'web',
];
/** Job j runs on agent j % agents; every `twinEvery`th job also on the next agent. */
const twinEvery = 10;

/** An admin with a password (seedBenchPrincipals' viewer has only an API token). */
export async function seedSignInUser(
  handle: DatabaseHandle,
  organizationId: string,
): Promise<void> {
  const [user] = await handle.db
    .insert(users)
    .values({
      email: benchAdmin.email,
      name: 'Bench Admin',
      passwordHash: await hashPassword(benchAdmin.password),
    })
    .returning({ id: users.id });
  if (user === undefined) throw new Error('no user inserted');
  await handle.db.insert(memberships).values({ organizationId, userId: user.id, role: 'admin' });
}

/** Job j's identity: `<namespace>/task-<j>`, namespaces round-robin. */
function jobIdentity(index: number): { namespace: string; name: string } {
  return {
    namespace: namespaces[index % namespaces.length] as string,
    name: `task-${String(index).padStart(5, '0')}`,
  };
}

/** A mix of schedules as a fleet has them: every 5 minutes, hourly, daily, weekly. */
function scheduleOf(index: number): string {
  switch (index % 4) {
    case 0:
      return '*/5 * * * *';
    case 1:
      return `${index % 60} * * * *`;
    case 2:
      return `${index % 60} ${index % 24} * * *`;
    default:
      return `${index % 60} ${index % 24} * * ${index % 7}`;
  }
}

function inventoryJob(index: number): InventoryJob {
  const [example] = apiExamples.inventoryRequest.jobs;
  if (example === undefined) throw new Error('apiExamples.inventoryRequest has no job');
  const identity = jobIdentity(index);
  return {
    ...example,
    ...identity,
    schedule: scheduleOf(index),
    timezone: index % 3 === 0 ? 'Europe/Berlin' : 'UTC',
    sourcePath: `${identity.namespace}/jobs.yaml`,
    revision,
    suspended: index % 100 === 99,
    monitoring: { ...example.monitoring, notify: [] },
    labels: { team: identity.namespace, tier: String(index % 3) },
  };
}

/**
 * Every agent's inventory through `PUT /api/v1/agents/inventory` (as the agent sends it) and a
 * heartbeat, so each agent is online and each instance is what the inventory writer stores.
 */
export async function writeInventories(
  baseUrl: string,
  principals: BenchPrincipals,
  jobCount: number,
): Promise<void> {
  const agentCount = principals.agents.length;
  const jobsOf: InventoryJob[][] = principals.agents.map(() => []);
  for (let index = 0; index < jobCount; index += 1) {
    jobsOf[index % agentCount]?.push(inventoryJob(index));
    if (index % twinEvery === 0) jobsOf[(index + 1) % agentCount]?.push(inventoryJob(index));
  }
  const heartbeat = {
    ...apiExamples.heartbeatRequest,
    conditions: [],
    errors: [],
    runningRunIds: [],
    deliveredThrough: new Date().toISOString(),
  };
  for (const [position, agent] of principals.agents.entries()) {
    await agentCall(baseUrl, 'PUT', '/api/v1/agents/inventory', agent.token, {
      revision,
      jobs: jobsOf[position] ?? [],
      unmanaged: [],
    });
    await agentCall(baseUrl, 'POST', '/api/v1/agents/heartbeat', agent.token, heartbeat);
  }
}

async function agentCall(
  baseUrl: string,
  method: string,
  route: string,
  token: string,
  body: unknown,
): Promise<void> {
  const response = await fetch(`${baseUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) {
    throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  }
}

/**
 * The monitoring worker's verdict, as its passes would leave it: most jobs up, a few failing,
 * missed or overrunning (suspended ones are shown as suspended from the inventory's flag).
 */
export async function seedJobHealth(handle: DatabaseHandle, organizationId: string) {
  await handle.db.execute(sql`
    update job_instances set
      health = (case
        when n % 37 = 0 then 'failing'
        when n % 53 = 0 then 'missed'
        when n % 97 = 0 then 'overrun'
        else 'up' end)::job_health,
      health_since = now() - (n % 240) * interval '1 hour'
    from (select agent_id as a, namespace as ns, name as nm,
            substring(name from '[0-9]+$')::int as n
          from job_instances where organization_id = ${organizationId}::uuid) as job
    where agent_id = job.a and namespace = job.ns and name = job.nm`);
}

export interface RunHistorySeed {
  runs: number;
  milliseconds: number;
  /** Table and index size of runs, for the report. */
  tableSize: string;
}

/**
 * `runs` runs spread evenly over the jobs (each on its first agent) and over the last `days`
 * days, newest now: 92.5% succeeded, 4% failed, 1% timed out, 1% skipped, 1% lost, 0.5% manual
 * or retried, and the newest run of every 50th job still running. Then VACUUM ANALYZE and a
 * CHECKPOINT, as backend/bench's seedRunHistory does, so the measurements see a table in steady
 * state and do not pay for the seed's writes.
 */
export async function seedRuns(
  handle: DatabaseHandle,
  options: { organizationId: string; jobs: number; runs: number; days: number },
): Promise<RunHistorySeed> {
  const started = performance.now();
  const { organizationId, jobs, runs, days } = options;
  const perJob = Math.ceil(runs / jobs);
  const stepSeconds = Math.max(1, Math.floor((days * 86_400) / perJob));
  await handle.db.execute(sql`
    insert into runs (
      run_id, organization_id, agent_id, namespace, name, attempt, trigger, status,
      scheduled_at, started_at, finished_at, duration_ms, exit_code, signal, reason,
      output_head, output_tail, output_truncated, revision, start_received, finish_received
    )
    select
      gen_random_uuid(), ${organizationId}::uuid, job.agent_id, job.namespace, job.name,
      case when h >= 995 then 2 else 1 end,
      (case when h >= 995 then 'retry' when h between 990 and 994 then 'manual'
        else 'scheduled' end)::run_trigger,
      status::run_status,
      date_trunc('minute', at), at,
      case when status in ('running', 'lost') then null
        when status = 'skipped' then at
        else at + duration * interval '1 millisecond' end,
      case when status in ('succeeded', 'failed', 'timed_out') then duration end,
      case when status = 'succeeded' then 0 when status = 'failed' then 1 + h % 3 end,
      case when status = 'timed_out' then 'SIGTERM' end,
      case when status = 'lost' then 'the agent restarted while the run was in progress'
        when status = 'skipped' then 'concurrencyPolicy Forbid: the previous run was still running'
      end,
      'run ' || k || ' of ' || job.namespace || '/' || job.name || chr(10),
      case when status = 'failed' then 'error: exit ' || (1 + h % 3) || chr(10) else '' end,
      false, ${revision}, true, status <> 'running'
    from (
      select distinct on (ji.namespace, ji.name) ji.namespace, ji.name, ji.agent_id,
        substring(ji.name from '[0-9]+$')::int as j
      from job_instances ji join agents a on a.id = ji.agent_id
      where ji.organization_id = ${organizationId}::uuid
      order by ji.namespace, ji.name, a.name
    ) as job
    cross join generate_series(0, ${perJob - 1}::int) as k
    cross join lateral (select (job.j * 7919 + k * 104729) % 1000 as h) as mix
    cross join lateral (select
      date_trunc('milliseconds', now())
        - (k * ${stepSeconds}::int + (job.j * 37) % ${stepSeconds}::int) * interval '1 second'
        - (job.j % 1000) * interval '1 millisecond' as at,
      (job.j % 300) * 1000 + (h * 37) % 5000 as duration,
      case when k = 0 and job.j % 50 = 0 then 'running'
        when h < 925 then 'succeeded' when h < 965 then 'failed' when h < 975 then 'timed_out'
        when h < 985 then 'skipped' when h < 995 then 'lost' else 'succeeded' end as status
    ) as run
    where job.j + k * ${jobs}::int < ${runs}::int`);
  await handle.db.execute(sql`vacuum analyze runs`);
  await handle.db.execute(sql`vacuum analyze job_instances`);
  try {
    await handle.db.execute(sql`checkpoint`);
  } catch {
    // CHECKPOINT needs superuser or pg_checkpoint; without it the first loads may pay for the seed.
  }
  const [row] = await handle.rows<{ count: string; size: string }>(sql`
    select count(*)::text as count,
      pg_size_pretty(pg_total_relation_size('runs')) as size
    from runs where organization_id = ${organizationId}::uuid`);
  return {
    runs: Number(row?.count ?? 0),
    milliseconds: performance.now() - started,
    tableSize: row?.size ?? 'unknown',
  };
}
