import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import {
  deleteExpiredAgentCommands,
  deleteExpiredMonitoringHistory,
  deleteExpiredRunBatch,
  deleteExpiredRuns,
  startRetentionWorker,
} from '../src/workers/retentionWorker.js';
import { seedAgent, seedOrganization } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';
import { testDatabaseUrl } from './testDatabase.js';

const dayMs = 24 * 60 * 60 * 1000;
const now = new Date('2024-06-10T12:00:00.000Z');

describe('retention worker', () => {
  let app: TestApp;
  let organizationId: string;
  let agentId: string;

  /** `count` runs recorded `days` days before now. */
  async function insertRuns(count: number, days: number): Promise<void> {
    const recordedAt = new Date(now.getTime() - days * dayMs).toISOString();
    await app.database.rows(sql`
      insert into runs (run_id, organization_id, agent_id, namespace, name, status, started_at, created_at)
      select gen_random_uuid(), ${organizationId}, ${agentId}, 'production', 'backup', 'succeeded',
        ${recordedAt}::timestamptz, ${recordedAt}::timestamptz
      from generate_series(1, ${count})`);
  }

  async function countRuns(): Promise<{ old: number; recent: number }> {
    const [row] = await app.database.rows<{ old: number; recent: number }>(sql`
      select
        (count(*) filter (where created_at < ${new Date(now.getTime() - 90 * dayMs).toISOString()}::timestamptz))::int as old,
        (count(*) filter (where created_at >= ${new Date(now.getTime() - 90 * dayMs).toISOString()}::timestamptz))::int as recent
      from runs`);
    return row ?? { old: -1, recent: -1 };
  }

  beforeAll(async () => {
    app = await startTestApp({ runRetentionDays: 90 });
    app.setNow(now);
    organizationId = await seedOrganization(app.database);
    agentId = (await seedAgent(app.database, organizationId)).agentId;
  }, 60_000);
  beforeEach(async () => {
    await app.database.rows(sql`delete from runs`);
  });
  afterAll(async () => {
    await app.close();
  });

  it('deletes only runs older than the retention, 1,000 per statement', async () => {
    await insertRuns(2500, 91);
    await insertRuns(7, 89);
    await insertRuns(3, 90 - 1 / 24); // 23 hours inside the retention
    const cutoff = new Date(now.getTime() - 90 * dayMs);
    expect(await deleteExpiredRunBatch(app.database, cutoff)).toBe(1000);
    expect(await countRuns()).toEqual({ old: 1500, recent: 10 });
    expect(await deleteExpiredRunBatch(app.database, cutoff)).toBe(1000);
    expect(await deleteExpiredRunBatch(app.database, cutoff)).toBe(500);
    expect(await deleteExpiredRunBatch(app.database, cutoff)).toBe(0);
    expect(await countRuns()).toEqual({ old: 0, recent: 10 });
  });

  it('runOnce deletes every expired run in batches and answers the count', async () => {
    await insertRuns(2100, 365);
    await insertRuns(5, 1);
    const worker = startRetentionWorker(app.context, {
      intervalMs: 3_600_000,
      initialDelayMs: 3_600_000,
    });
    try {
      expect(await worker.runOnce()).toBe(2100);
      expect(await worker.runOnce()).toBe(0);
    } finally {
      await worker.stop();
    }
    expect(await countRuns()).toEqual({ old: 0, recent: 5 });
  });

  it('runs on its own schedule until stopped', async () => {
    await insertRuns(50, 100);
    const worker = startRetentionWorker(app.context, { intervalMs: 50, initialDelayMs: 0 });
    try {
      await expect.poll(async () => (await countRuns()).old, { timeout: 10_000 }).toBe(0);
      await worker.stop();
      await insertRuns(5, 100);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await countRuns()).old).toBe(5);
    } finally {
      await worker.stop();
    }
  });

  it('deletes agent commands queued before the retention, with the runs of a pass', async () => {
    const queuedAt = (days: number) => new Date(now.getTime() - days * dayMs).toISOString();
    const queue = (count: number, days: number) =>
      app.database.rows(sql`
        insert into agent_commands (organization_id, agent_id, type, requested_by_type, created_at,
          expires_at)
        select ${organizationId}, ${agentId}, 'reconcile', 'system', ${queuedAt(days)}::timestamptz,
          ${queuedAt(days)}::timestamptz + interval '10 minutes'
        from generate_series(1, ${count})`);
    const countCommands = async () =>
      (
        await app.database.rows<{ count: number }>(
          sql`select count(*)::int as count from agent_commands`,
        )
      )[0]?.count;
    await app.database.rows(sql`delete from agent_commands`);
    await queue(250, 91);
    await queue(4, 89);
    expect(
      await deleteExpiredAgentCommands(app.database, new Date(now.getTime() - 90 * dayMs), 100),
    ).toBe(250);
    expect(await countCommands()).toBe(4);
    await queue(3, 120);
    const worker = startRetentionWorker(app.context, {
      intervalMs: 3_600_000,
      initialDelayMs: 3_600_000,
    });
    try {
      await worker.runOnce();
    } finally {
      await worker.stop();
    }
    expect(await countCommands()).toBe(4);
  });

  it('deletes incidents resolved and notifications sent before the retention, never open or pending ones', async () => {
    const daysAgo = (days: number) => new Date(now.getTime() - days * dayMs).toISOString();
    await app.database.rows(sql`insert into notification_channels (organization_id, name, kind)
      values (${organizationId}, 'retention', 'webhook') on conflict do nothing`);
    const incident = (name: string, openedDays: number, resolvedDays: number | null) =>
      app.database.rows<{ id: string }>(sql`
        insert into incidents (organization_id, kind, agent_id, namespace, name, opened_at,
          updated_at, expected, happened, resolved_at)
        values (${organizationId}, 'missed', ${agentId}, 'retention', ${name},
          ${daysAgo(openedDays)}::timestamptz, ${daysAgo(openedDays)}::timestamptz, 'e', 'h',
          ${resolvedDays === null ? null : daysAgo(resolvedDays)}::timestamptz)
        returning id`);
    const delivery = (key: string, days: number, status: string, incidentId: string | null) =>
      app.database.rows(sql`
        insert into notification_deliveries (organization_id, channel_id, incident_id, event,
          idempotency_key, payload, status, next_attempt_at, created_at)
        select ${organizationId}, id, ${incidentId}, 'test', ${key}, '{}'::jsonb,
          ${status}::delivery_status, now(), ${daysAgo(days)}::timestamptz
        from notification_channels where organization_id = ${organizationId} and name = 'retention'`);
    const [old] = await incident('old', 120, 100);
    await incident('recent', 120, 10);
    await incident('still-open', 120, null);
    await delivery('old-of-old-incident', 100, 'delivered', old!.id);
    await delivery('old-test', 100, 'failed', null);
    await delivery('old-pending', 100, 'pending', null);
    await delivery('recent-test', 10, 'delivered', null);

    expect(await deleteExpiredMonitoringHistory(app.database, new Date(daysAgo(90)), 1)).toBe(2);
    const names = await app.database.rows<{ name: string }>(
      sql`select name from incidents where namespace = 'retention' order by name`,
    );
    expect(names.map((row) => row.name)).toEqual(['recent', 'still-open']);
    const keys = await app.database.rows<{ idempotency_key: string }>(sql`
      select idempotency_key from notification_deliveries order by idempotency_key`);
    expect(keys.map((row) => row.idempotency_key)).toEqual(['old-pending', 'recent-test']);
  });

  it('lets two workers run at once: each expired run is deleted exactly once', async () => {
    await insertRuns(3000, 120);
    await insertRuns(20, 10);
    // On PostgreSQL each worker has its own connection pool, as two replicas would.
    const replicas: DatabaseHandle[] =
      testDatabaseUrl === undefined
        ? [app.database, app.database]
        : await Promise.all(
            [1, 2].map(() => openDatabase({ databaseUrl: app.database.url, dataDir: 'memory://' })),
          );
    try {
      // connect both before the race starts
      await Promise.all(replicas.map((replica) => replica.rows(sql`select 1`)));
      const counts = await Promise.all(
        replicas.map((replica) =>
          deleteExpiredRuns(replica, { now, retentionDays: 90, batchSize: 100 }),
        ),
      );
      expect(counts[0]! + counts[1]!).toBe(3000);
      if (testDatabaseUrl !== undefined) {
        // both really worked in parallel
        expect(counts[0]).toBeGreaterThan(0);
        expect(counts[1]).toBeGreaterThan(0);
      }
    } finally {
      if (testDatabaseUrl !== undefined)
        await Promise.all(replicas.map((replica) => replica.close()));
    }
    expect(await countRuns()).toEqual({ old: 0, recent: 20 });
  });
});
