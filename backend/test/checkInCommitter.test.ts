import { randomUUID } from 'node:crypto';
import type { CheckIn } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DatabaseHandle } from '../src/db/database.js';
import { CheckInCommitter } from '../src/runs/checkInCommitter.js';
import { seedAgent, seedOrganization } from './seed.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

function start(runId = randomUUID()): CheckIn {
  return {
    kind: 'start',
    runId,
    namespace: 'ops',
    name: 'backup',
    attempt: 1,
    trigger: 'scheduled',
    scheduledAt: null,
    startedAt: '2026-11-22T02:00:00.000Z',
    revision,
  };
}

/** The database, counting the statements written through it. */
function counting(database: DatabaseHandle): DatabaseHandle & { statements: () => number } {
  let statements = 0;
  return {
    ...database,
    rows: (query) => {
      statements += 1;
      return database.rows(query);
    },
    preparedRows: (query) => {
      statements += 1;
      return database.preparedRows(query);
    },
    statements: () => statements,
  };
}

describe('CheckInCommitter (group commit)', () => {
  let database: TestDatabase;
  let organizationId: string;
  let agentA: string;
  let agentB: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    organizationId = await seedOrganization(database);
    agentA = (await seedAgent(database, organizationId)).agentId;
    agentB = (await seedAgent(database, organizationId)).agentId;
  });
  afterAll(() => database.close());

  it('writes concurrent requests together and answers each with its own counts', async () => {
    const db = counting(database);
    const committer = new CheckInCommitter(db, () => new Date(), { maxConcurrentWrites: 1 });
    const replayed = start();
    const requests = [
      committer.submit({ organizationId, agentId: agentA }, [start(), start(), replayed]),
      committer.submit({ organizationId, agentId: agentB }, [start()]),
      // The same check-in in two requests in flight at once is recorded once.
      committer.submit({ organizationId, agentId: agentA }, [replayed]),
      committer.submit({ organizationId, agentId: agentB }, [start(), start()]),
    ];
    expect(await Promise.all(requests)).toEqual([
      { accepted: 3, duplicates: 0 },
      { accepted: 1, duplicates: 0 },
      { accepted: 0, duplicates: 1 },
      { accepted: 2, duplicates: 0 },
    ]);
    // The first request was written alone; the three queued behind it shared one statement (each
    // write also reads which of its run ids other agents hold: one statement more per write).
    expect(db.statements()).toBe(2 * 2);
    const [row] = await database.rows<{ count: string }>(
      sql`select count(*)::text as count from runs where run_id = ${replayed.runId}::uuid`,
    );
    expect(row?.count).toBe('1');
  });

  it('fails only the request the database refuses, not the ones grouped with it', async () => {
    const committer = new CheckInCommitter(database, () => new Date(), { maxConcurrentWrites: 1 });
    const first = committer.submit({ organizationId, agentId: agentA }, [start()]);
    const good = committer.submit({ organizationId, agentId: agentB }, [start()]);
    // An agent id that does not exist: the insert violates the agents foreign key.
    const bad = committer.submit({ organizationId, agentId: randomUUID() }, [start()]);
    const alsoGood = committer.submit({ organizationId, agentId: agentA }, [start()]);
    await expect(first).resolves.toEqual({ accepted: 1, duplicates: 0 });
    await expect(good).resolves.toEqual({ accepted: 1, duplicates: 0 });
    await expect(bad).rejects.toThrow();
    await expect(alsoGood).resolves.toEqual({ accepted: 1, duplicates: 0 });
  });

  it("refuses only the request that carries another agent's run id, writing nothing of it", async () => {
    const committer = new CheckInCommitter(database, () => new Date(), { maxConcurrentWrites: 1 });
    const shared = start();
    const own = start();
    const first = committer.submit({ organizationId, agentId: agentA }, [start()]);
    // Grouped together: A's start of `shared` comes first, so B's request with it is refused.
    const ofA = committer.submit({ organizationId, agentId: agentA }, [shared]);
    const ofB = committer.submit({ organizationId, agentId: agentB }, [own, shared]);
    const alsoOfB = committer.submit({ organizationId, agentId: agentB }, [start()]);
    await expect(first).resolves.toEqual({ accepted: 1, duplicates: 0 });
    await expect(ofA).resolves.toEqual({ accepted: 1, duplicates: 0 });
    await expect(ofB).rejects.toMatchObject({
      status: 409,
      details: [{ path: 'checkIns[1].runId', message: expect.any(String) }],
    });
    await expect(alsoOfB).resolves.toEqual({ accepted: 1, duplicates: 0 });
    const rows = await database.rows<{ run_id: string; agent_id: string }>(
      sql`select run_id, agent_id from runs where run_id in (${shared.runId}::uuid, ${own.runId}::uuid)`,
    );
    expect(rows).toEqual([{ run_id: shared.runId, agent_id: agentA }]);
  });

  it('never puts more than maxWeightPerWrite check-ins in one statement, but always one request', async () => {
    const db = counting(database);
    const committer = new CheckInCommitter(db, () => new Date(), {
      maxConcurrentWrites: 1,
      maxWeightPerWrite: 3,
    });
    const results = await Promise.all([
      committer.submit({ organizationId, agentId: agentA }, [start()]),
      committer.submit({ organizationId, agentId: agentA }, [start(), start()]),
      committer.submit({ organizationId, agentId: agentA }, [start(), start()]),
      committer.submit({ organizationId, agentId: agentA }, [start(), start(), start(), start()]),
    ]);
    expect(results.map((result) => result.accepted)).toEqual([1, 2, 2, 4]);
    // [1], then [2] (2+2 > 3), then [2] (2+4 > 3), then [4] alone: 4 writes of 2 statements.
    expect(db.statements()).toBe(4 * 2);
  });
});
