/**
 * The benchmark's database: a fresh `cronfleet_bench_<random>` database on the PostgreSQL server
 * of DATABASE_URL, migrated with the backend's own migrator, seeded with the rows the measured
 * requests need, and dropped at the end.
 */
import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { openDatabase, postgresConnection, type DatabaseHandle } from '../src/db/database.js';
import { migrateDatabase } from '../src/db/migrateDatabase.js';
import { agents } from '../src/db/schema.js';
import { generateToken, hashToken } from '../src/http/credentials.js';
import { seedOrganization, seedUser } from '../test/seed.js';

export interface BenchDatabase {
  readonly name: string;
  /** The URL of the bench database, for the server process. */
  readonly url: string;
  readonly handle: DatabaseHandle;
  /** The server's version, for the report header. */
  readonly serverVersion: string;
  /** Closes the connection and drops the database (idempotent). */
  drop(): Promise<void>;
}

export async function createBenchDatabase(serverUrl: string): Promise<BenchDatabase> {
  const name = `cronfleet_bench_${randomBytes(6).toString('hex')}`;
  const connection = postgresConnection(serverUrl);
  const admin = postgres(connection.url, {
    ...(connection.path === undefined ? {} : { path: connection.path }),
    max: 1,
    onnotice: () => {},
  });
  try {
    await admin.unsafe(`create database ${name}`);
  } catch (error) {
    await admin.end({ timeout: 5 });
    throw new Error(
      `cannot create the bench database on ${redactUrl(serverUrl)}: ${(error as Error).message}; ` +
        'set DATABASE_URL to a PostgreSQL server where this user may CREATE DATABASE',
      { cause: error },
    );
  }
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let handle: DatabaseHandle | undefined;
  let dropped = false;
  const drop = async () => {
    if (dropped) return;
    dropped = true;
    await handle?.close();
    await admin.unsafe(`drop database if exists ${name} with (force)`);
    await admin.end({ timeout: 5 });
  };
  try {
    handle = await openDatabase({ databaseUrl: url.toString(), dataDir: 'memory://', poolSize: 4 });
    await migrateDatabase(handle);
    const [version] = await handle.rows<{ server_version: string }>(sql`show server_version`);
    return {
      name,
      url: url.toString(),
      handle,
      serverVersion: version?.server_version ?? 'unknown',
      drop,
    };
  } catch (error) {
    await drop();
    throw error;
  }
}

/** The URL without its password, for messages. */
export function redactUrl(text: string): string {
  try {
    const url = new URL(text);
    if (url.password !== '') url.password = '***';
    return url.toString();
  } catch {
    return '(an unparsable URL)';
  }
}

export interface BenchPrincipals {
  organizationId: string;
  /** A viewer's personal API token (read is all the runs list needs). */
  userToken: string;
  /** The agents the load rotates over, so no single agent row becomes a hot spot. */
  agents: Array<{ agentId: string; token: string }>;
}

/**
 * One organization, one viewer with a personal API token, and `agentCount` agents with their
 * tokens, written as test/seed.ts writes them (agents in one multi-row insert).
 */
export async function seedBenchPrincipals(
  handle: DatabaseHandle,
  agentCount: number,
): Promise<BenchPrincipals> {
  const organizationId = await seedOrganization(handle, 'Bench');
  const user = await seedUser(handle, organizationId, 'viewer');
  const seeded = Array.from({ length: agentCount }, (_unused, index) => {
    const token = generateToken('agent');
    return {
      token,
      row: {
        organizationId,
        name: `bench-agent-${index}`,
        hostname: `bench-${index}.internal`,
        machineId: hashToken(`bench-machine-${index}-${organizationId}`),
        platform: 'linux',
        arch: 'x64',
        version: '0.1.0',
        labels: { role: 'bench' },
        tokenHash: hashToken(token),
      },
    };
  });
  const rows = await handle.db
    .insert(agents)
    .values(seeded.map((agent) => agent.row))
    .returning({ id: agents.id, tokenHash: agents.tokenHash });
  const idByHash = new Map(rows.map((row) => [row.tokenHash, row.id]));
  return {
    organizationId,
    userToken: user.token,
    agents: seeded.map((agent) => {
      const agentId = idByHash.get(agent.row.tokenHash);
      if (agentId === undefined) throw new Error('a seeded agent was not returned');
      return { agentId, token: agent.token };
    }),
  };
}

export interface RunHistory {
  /** The job whose runs page is measured, as `namespace/name`. */
  job: string;
  jobRuns: number;
  totalRuns: number;
  seedMilliseconds: number;
}

/** A fixed revision for the seeded runs (the contract requires one on every run). */
const seedRevision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

/**
 * `totalRuns` finished runs of one agent, spread round-robin over `jobCount` jobs of the
 * `history` namespace and over the last ~80 days (one every 7 s), in one INSERT … SELECT
 * generate_series; then VACUUM ANALYZE. The measured job is `history/job-00`: totalRuns / jobCount runs.
 */
export async function seedRunHistory(
  handle: DatabaseHandle,
  options: { organizationId: string; agentId: string; totalRuns: number; jobCount: number },
): Promise<RunHistory> {
  const started = performance.now();
  const { organizationId, agentId, totalRuns, jobCount } = options;
  // Times in milliseconds, as the backend stores them (the runs cursor's precision).
  await handle.db.execute(sql`
    insert into runs (
      run_id, organization_id, agent_id, namespace, name, attempt, trigger, status,
      scheduled_at, started_at, finished_at, duration_ms, exit_code,
      output_head, output_tail, output_truncated, revision, start_received, finish_received
    )
    select
      gen_random_uuid(),
      ${organizationId}::uuid,
      ${agentId}::uuid,
      'history',
      'job-' || lpad((i % ${jobCount}::int)::text, 2, '0'),
      1,
      'scheduled',
      (case when i % 17 = 0 then 'failed' else 'succeeded' end)::run_status,
      date_trunc('minute', now() - i * interval '7 seconds'),
      date_trunc('milliseconds', now()) - i * interval '7 seconds',
      date_trunc('milliseconds', now()) - i * interval '7 seconds' + (i % 5000) * interval '1 millisecond',
      i % 5000,
      case when i % 17 = 0 then 1 else 0 end,
      'run ' || i || ' started' || chr(10),
      'run ' || i || ' done' || chr(10),
      false,
      ${seedRevision},
      true,
      true
    from generate_series(1, ${totalRuns}::int) as i
  `);
  // VACUUM too, as autovacuum would have by then: without the visibility map every index-only
  // scan would visit the heap, which a table in steady state does not.
  await handle.db.execute(sql`vacuum analyze runs`);
  // Flush the seed's dirty pages now, so that a checkpoint does not write them (and every page's
  // first change after it does not log a full page image) during the measurements.
  try {
    await handle.db.execute(sql`checkpoint`);
  } catch {
    // CHECKPOINT needs superuser or pg_checkpoint; without it the first runs may pay for the seed.
  }
  const [count] = await handle.rows<{ count: string }>(
    sql`select count(*)::text as count from runs where organization_id = ${organizationId}::uuid and namespace = 'history' and name = 'job-00'`,
  );
  return {
    job: 'history/job-00',
    jobRuns: Number(count?.count ?? 0),
    totalRuns,
    seedMilliseconds: performance.now() - started,
  };
}

/** Rows of one job in the runs table (to check that what the server acknowledged was stored). */
export async function countRuns(
  handle: DatabaseHandle,
  organizationId: string,
  namespace: string,
): Promise<number> {
  const [row] = await handle.rows<{ count: string }>(
    sql`select count(*)::text as count from runs where organization_id = ${organizationId}::uuid and namespace = ${namespace}`,
  );
  return Number(row?.count ?? 0);
}
