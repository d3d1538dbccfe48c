import { randomUUID } from 'node:crypto';
import {
  apiExamples,
  type CheckIn,
  type CheckInFinish,
  type CheckInStart,
  type InventoryRequest,
} from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { markLostRuns, startLostRunWorker } from '../src/workers/lostRunWorker.js';
import { call } from './agentTestCalls.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';
import { testDatabaseUrl } from './testDatabase.js';

/** Issue 5: runs whose finish never comes become `lost`; a finish that comes after all wins. */

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const now = new Date('2024-06-10T12:00:00.000Z');
const hourMs = 3_600_000;
const before = (ms: number) => new Date(now.getTime() - ms).toISOString();
const defaultMaxRuntimeSeconds = 24 * 3600;

function inventoryOf(jobs: [name: string, maxRuntimeSeconds: number | null][]): InventoryRequest {
  const [job] = apiExamples.inventoryRequest.jobs;
  if (job === undefined) throw new Error('the inventory example has no job');
  return {
    revision,
    jobs: jobs.map(([name, maxRuntimeSeconds]) => ({
      ...job,
      namespace: 'production',
      name,
      monitoring: { ...job.monitoring, maxRuntimeSeconds },
    })),
    unmanaged: [],
  };
}

function startOf(runId: string, name: string, startedAt: string): CheckInStart {
  return {
    kind: 'start',
    runId,
    namespace: 'production',
    name,
    attempt: 1,
    trigger: 'scheduled',
    scheduledAt: null,
    startedAt,
    revision,
  };
}

function finishOf(runId: string, name: string, overrides: Partial<CheckInFinish>): CheckInFinish {
  return {
    kind: 'finish',
    runId,
    namespace: 'production',
    name,
    attempt: 1,
    status: 'succeeded',
    finishedAt: now.toISOString(),
    durationMs: 1000,
    exitCode: 0,
    signal: null,
    outputHead: 'done\n',
    outputTail: '',
    outputTruncated: false,
    revision,
    ...overrides,
  };
}

describe('lost runs', () => {
  let app: TestApp;
  let organizationId: string;
  let viewer: string;
  /** db-1: bounded (max runtime 1 h) and unbounded (none); db-2: bounded with 2 h. */
  let db1: { agentId: string; token: string };
  let db2: { agentId: string; token: string };

  async function send(agent: { token: string }, checkIns: CheckIn[]) {
    const answer = await call(app, 'POST', '/api/v1/check-ins', agent.token, { checkIns });
    expect(answer.status).toBe(200);
    return answer.body as { accepted: number; duplicates: number };
  }

  /** Starts a run `ago` ms before now and answers its run id. */
  async function started(agent: { token: string }, name: string, ago: number): Promise<string> {
    const runId = randomUUID();
    await send(agent, [startOf(runId, name, before(ago))]);
    return runId;
  }

  async function runOf(runId: string) {
    const answer = await call(app, 'GET', `/api/v1/runs/${runId}`, viewer);
    expect(answer.status).toBe(200);
    return answer.body as {
      status: string;
      startedAt: string;
      finishedAt: string | null;
      durationMs: number | null;
      exitCode: number | null;
      reason: string | null;
    };
  }

  beforeAll(async () => {
    app = await startTestApp({ lostRunAfterHours: 24 });
    organizationId = await seedOrganization(app.database);
    viewer = (await seedUser(app.database, organizationId, 'viewer')).token;
    db1 = await seedAgent(app.database, organizationId, { name: 'db-1' });
    db2 = await seedAgent(app.database, organizationId, { name: 'db-2' });
    for (const [agent, inventory] of [
      [
        db1,
        inventoryOf([
          ['bounded', 3600],
          ['unbounded', null],
        ]),
      ],
      [db2, inventoryOf([['bounded', 7200]])],
    ] as const) {
      const answer = await call(app, 'PUT', '/api/v1/agents/inventory', agent.token, inventory);
      expect(answer.status).toBe(200);
    }
  }, 60_000);

  beforeEach(async () => {
    app.setNow(now);
    await app.database.rows(sql`delete from runs`);
  });

  afterAll(async () => {
    await app?.close();
  });

  it("marks a running run lost once its job instance's max runtime (else 24 h) has passed", async () => {
    const lost = [
      await started(db1, 'bounded', hourMs + 1000),
      await started(db2, 'bounded', 2 * hourMs + 1000),
      await started(db1, 'unbounded', 25 * hourMs),
      // Not (or no longer) in the agent's inventory: the default applies.
      await started(db1, 'removed-job', 25 * hourMs),
    ];
    const stillRunning = [
      await started(db1, 'bounded', hourMs - 1000),
      // The same job on db-2 has a max runtime of 2 h.
      await started(db2, 'bounded', hourMs + 1000),
      await started(db1, 'unbounded', 23 * hourMs),
      await started(db1, 'removed-job', 23 * hourMs),
    ];
    const finished = randomUUID();
    await send(db1, [
      startOf(finished, 'bounded', before(5 * hourMs)),
      finishOf(finished, 'bounded', { finishedAt: before(5 * hourMs - 1000) }),
    ]);

    expect(await markLostRuns(app.database, { now, defaultMaxRuntimeSeconds })).toBe(4);
    expect(await markLostRuns(app.database, { now, defaultMaxRuntimeSeconds })).toBe(0);

    for (const runId of lost) {
      expect(await runOf(runId)).toMatchObject({
        status: 'lost',
        finishedAt: now.toISOString(),
        durationMs: null,
        exitCode: null,
      });
    }
    // The reason says which limit passed.
    expect((await Promise.all(lost.map(runOf))).map((run) => run.reason)).toEqual([
      'no finish within maxRuntime 1h',
      'no finish within maxRuntime 2h',
      "no finish within 24h (the job sets no maxRuntime, or is no longer in its agent's inventory)",
      "no finish within 24h (the job sets no maxRuntime, or is no longer in its agent's inventory)",
    ]);
    for (const runId of stillRunning) expect((await runOf(runId)).reason).toBeNull();
    for (const runId of stillRunning) {
      expect(await runOf(runId)).toMatchObject({ status: 'running', finishedAt: null });
    }
    expect((await runOf(finished)).status).toBe('succeeded');
  });

  it('lets a finish that arrives after the run was marked lost win, once', async () => {
    const late = await started(db1, 'bounded', 3 * hourMs);
    const killed = await started(db1, 'bounded', 3 * hourMs);
    expect(await markLostRuns(app.database, { now, defaultMaxRuntimeSeconds })).toBe(2);
    app.setNow(new Date(now.getTime() + 60_000));

    const finish = finishOf(late, 'bounded', {
      finishedAt: before(hourMs),
      durationMs: 2 * hourMs,
    });
    expect(await send(db1, [finish])).toEqual({ accepted: 1, duplicates: 0 });
    const failed = finishOf(killed, 'bounded', {
      status: 'failed',
      finishedAt: before(2 * hourMs),
      durationMs: hourMs,
      exitCode: null,
      signal: 'SIGKILL',
    });
    expect(await send(db1, [failed])).toEqual({ accepted: 1, duplicates: 0 });

    expect(await runOf(late)).toMatchObject({
      status: 'succeeded',
      startedAt: before(3 * hourMs),
      finishedAt: before(hourMs),
      durationMs: 2 * hourMs,
      exitCode: 0,
    });
    expect(await runOf(killed)).toMatchObject({ status: 'failed', durationMs: hourMs });
    // Replays of either check-in are duplicates and change nothing; the worker leaves them be.
    expect(await send(db1, [finish, startOf(late, 'bounded', before(3 * hourMs)), failed])).toEqual(
      {
        accepted: 0,
        duplicates: 3,
      },
    );
    expect(
      await markLostRuns(app.database, { now: app.context.now(), defaultMaxRuntimeSeconds }),
    ).toBe(0);
    expect((await runOf(late)).status).toBe('succeeded');
    expect((await runOf(killed)).status).toBe('failed');
  });

  it('lets two workers run at once: each overdue run is marked exactly once', async () => {
    await app.database.rows(sql`
      insert into runs (run_id, organization_id, agent_id, namespace, name, status, started_at,
        start_received)
      select gen_random_uuid(), ${organizationId}, ${db1.agentId}, 'production', 'unbounded',
        'running', ${before(30 * hourMs)}::timestamptz, true
      from generate_series(1, 3000)`);
    await app.database.rows(sql`
      insert into runs (run_id, organization_id, agent_id, namespace, name, status, started_at,
        start_received)
      select gen_random_uuid(), ${organizationId}, ${db1.agentId}, 'production', 'unbounded',
        'running', ${before(hourMs)}::timestamptz, true
      from generate_series(1, 20)`);
    // On PostgreSQL each worker has its own connection pool, as two replicas would.
    const replicas: DatabaseHandle[] =
      testDatabaseUrl === undefined
        ? [app.database, app.database]
        : await Promise.all(
            [1, 2].map(() => openDatabase({ databaseUrl: app.database.url, dataDir: 'memory://' })),
          );
    try {
      await Promise.all(replicas.map((replica) => replica.rows(sql`select 1`)));
      const counts = await Promise.all(
        replicas.map((replica) =>
          markLostRuns(replica, { now, defaultMaxRuntimeSeconds, batchSize: 100 }),
        ),
      );
      expect((counts[0] ?? 0) + (counts[1] ?? 0)).toBe(3000);
      if (testDatabaseUrl !== undefined) {
        // both really worked in parallel
        expect(counts[0]).toBeGreaterThan(0);
        expect(counts[1]).toBeGreaterThan(0);
      }
    } finally {
      if (testDatabaseUrl !== undefined) {
        await Promise.all(replicas.map((replica) => replica.close()));
      }
    }
    const statuses = await app.database.rows<{ status: string; count: number }>(
      sql`select status, count(*)::int as count from runs group by status order by status`,
    );
    expect(statuses).toEqual([
      { status: 'running', count: 20 },
      { status: 'lost', count: 3000 },
    ]);
  });

  it('runs on its own schedule until stopped, with the configured default', async () => {
    const overdue = await started(db1, 'unbounded', 24 * hourMs + 1000);
    const worker = startLostRunWorker(app.context, { intervalMs: 50, initialDelayMs: 0 });
    try {
      await expect
        .poll(async () => (await runOf(overdue)).status, { timeout: 10_000 })
        .toBe('lost');
      expect(await worker.runOnce()).toBe(0);
      await worker.stop();
      const later = await started(db1, 'unbounded', 25 * hourMs);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect((await runOf(later)).status).toBe('running');
    } finally {
      await worker.stop();
    }
  });
});
