import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { cp, mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../src/db/database.js';
import {
  MigrationError,
  migrateDatabase,
  migrationsAreCurrent,
  migrationsFolder,
} from '../src/db/migrateDatabase.js';
import {
  createTestDatabase,
  publicTables,
  testDatabaseUrl,
  type TestDatabase,
} from './testDatabase.js';
import { seedAgent, seedOrganization } from './seed.js';

const backendDir = fileURLToPath(new URL('..', import.meta.url));
const run = promisify(execFile);

describe('migrations', () => {
  let database: TestDatabase | undefined;
  afterEach(async () => {
    await database?.close();
    database = undefined;
  });

  it('creates every table, and a second run applies nothing', async () => {
    database = await createTestDatabase({ migrate: false });
    expect(await migrationsAreCurrent(database)).toBe(false);
    const first = await migrateDatabase(database);
    expect(first.applied).toBe(first.total);
    expect(first.total).toBeGreaterThan(0);
    expect(await publicTables(database)).toEqual([
      'agent_commands',
      'agents',
      'api_tokens',
      'audit_log',
      'enrollment_tokens',
      'incident_events',
      'incidents',
      'job_instances',
      'memberships',
      'monitor_clock',
      'notification_attempts',
      'notification_channels',
      'notification_deliveries',
      'organizations',
      'runs',
      'sessions',
      'silences',
      'users',
    ]);
    expect(await migrationsAreCurrent(database)).toBe(true);
    expect(await migrateDatabase(database)).toEqual({ applied: 0, total: first.total });
  });

  it('lets several replicas migrate at once: exactly one applies, the others wait', async (context) => {
    if (testDatabaseUrl === undefined) context.skip(); // PGlite is one process: nothing to race
    database = await createTestDatabase({ migrate: false });
    const replicas = await Promise.all(
      [1, 2, 3, 4].map(() => openDatabase({ databaseUrl: database?.url, dataDir: 'memory://' })),
    );
    try {
      const outcomes = await Promise.all(replicas.map((replica) => migrateDatabase(replica)));
      const applied = outcomes.map((outcome) => outcome.applied).sort();
      expect(applied.slice(0, 3)).toEqual([0, 0, 0]);
      expect(applied[3]).toBe(outcomes[0]?.total);
    } finally {
      await Promise.all(replicas.map((replica) => replica.close()));
    }
  });

  it('rolls a failing migration back and reports it', async () => {
    database = await createTestDatabase({ migrate: false });
    // A table the first migration wants to create already exists: that migration fails.
    await database.db.execute(sql`create table runs (x int)`);
    await expect(migrateDatabase(database)).rejects.toThrow(MigrationError);
    await expect(migrateDatabase(database)).rejects.toThrow(
      /database migration failed, nothing was changed: relation "runs" already exists/,
    );
    expect(await publicTables(database)).toEqual(['runs']);
    expect(await migrationsAreCurrent(database)).toBe(false);
  });

  it('0004 keeps every run when two agents of an organization shared a run id: the later rows get a new one', async () => {
    database = await createTestDatabase();
    // Back to the runs table as 0003 left it, with the rows that it allowed.
    await database.db.execute(sql`drop index runs_org_run_key`);
    await database.db.execute(sql`drop index runs_agent_running_idx`);
    await database.db.execute(sql`alter table runs drop column reason`);
    const organizationId = await seedOrganization(database);
    const first = await seedAgent(database, organizationId);
    const second = await seedAgent(database, organizationId);
    const shared = randomUUID();
    for (const agent of [first, second]) {
      await database.db.execute(sql`
        insert into runs (run_id, organization_id, agent_id, namespace, name, status, started_at)
        values (${shared}, ${organizationId}, ${agent.agentId}, 'ops', 'backup', 'running', now())`);
    }
    const statements = (
      await readFile(path.join(migrationsFolder, '0004_run_reason_and_org_run_ids.sql'), 'utf8')
    ).split('--> statement-breakpoint');
    for (const statement of statements) await database.db.execute(sql.raw(statement));
    const rows = await database.rows<{ run_id: string; agent_id: string }>(
      sql`select run_id, agent_id from runs order by id`,
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual({ run_id: shared, agent_id: first.agentId });
    expect(rows[1]?.agent_id).toBe(second.agentId);
    expect(rows[1]?.run_id).not.toBe(shared);
  });

  it("0005 makes the bootstrap's admin the installation admin, and no one else", async () => {
    database = await createTestDatabase();
    const organizationId = await seedOrganization(database);
    const ids: string[] = [];
    for (const email of ['first@example.com', 'second@example.com']) {
      const rows = await database.rows<{ id: string }>(
        sql`insert into users (email, password_hash) values (${email}, 'x') returning id`,
      );
      ids.push(rows[0]?.id ?? '');
    }
    // As 0004 left users, with the audit entry every bootstrap (API or command) writes.
    await database.db.execute(sql`alter table users drop column installation_admin`);
    await database.db.execute(sql`
      insert into audit_log (organization_id, actor_type, action, target_type, target_id, details)
      values (${organizationId}, 'system', 'installation.bootstrap', 'organization', ${organizationId},
              ${JSON.stringify({ adminUserId: ids[0], via: 'cli' })}::jsonb)`);
    const statements = (
      await readFile(
        path.join(migrationsFolder, '0005_organizations_audit_token_parents.sql'),
        'utf8',
      )
    ).split('--> statement-breakpoint');
    for (const statement of statements.filter((text) => /"users"/.test(text))) {
      await database.db.execute(sql.raw(statement));
    }
    const rows = await database.rows<{ email: string; installation_admin: boolean }>(
      sql`select email, installation_admin from users order by email`,
    );
    expect(rows).toEqual([
      { email: 'first@example.com', installation_admin: true },
      { email: 'second@example.com', installation_admin: false },
    ]);
  });

  it('are current: generating from the schema again produces no new migration', async () => {
    const workDir = await mkdtemp(path.join(tmpdir(), 'cronfleet-drizzle-'));
    try {
      const out = path.join(workDir, 'drizzle');
      await cp(migrationsFolder, out, { recursive: true });
      const before = await snapshot(out);
      const { stdout } = await run(
        'npx',
        [
          'drizzle-kit',
          'generate',
          '--dialect',
          'postgresql',
          '--schema',
          './src/db/schema.ts',
          '--out',
          // drizzle-kit takes the output folder relative to the working directory
          path.relative(backendDir, out),
        ],
        { cwd: backendDir },
      );
      expect(stdout).toMatch(/No schema changes/);
      expect(await snapshot(out)).toEqual(before);
    } finally {
      await rm(workDir, { recursive: true, force: true });
    }
  }, 60_000);
});

async function snapshot(folder: string): Promise<Record<string, string>> {
  const files = (await readdir(folder, { recursive: true, withFileTypes: true })).filter((entry) =>
    entry.isFile(),
  );
  const entries = await Promise.all(
    files.map(async (entry) => {
      const file = path.join(entry.parentPath, entry.name);
      return [path.relative(folder, file), await readFile(file, 'utf8')] as const;
    }),
  );
  return Object.fromEntries(entries);
}
