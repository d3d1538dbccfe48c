import { randomUUID } from 'node:crypto';
import type { CheckIn, CheckInFinish, CheckInStart } from '@cronfleet/core/api';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runs } from '../src/db/schema.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

const revision = 'a'.repeat(40);

function startOf(runId: string, overrides: Partial<CheckInStart> = {}): CheckInStart {
  return {
    kind: 'start',
    runId,
    namespace: 'production',
    name: 'nightly-backup',
    attempt: 1,
    trigger: 'scheduled',
    scheduledAt: '2024-05-01T02:00:00.000Z',
    startedAt: '2024-05-01T02:00:01.000Z',
    revision,
    ...overrides,
  };
}

function finishOf(runId: string, overrides: Partial<CheckInFinish> = {}): CheckInFinish {
  return {
    kind: 'finish',
    runId,
    namespace: 'production',
    name: 'nightly-backup',
    attempt: 1,
    status: 'succeeded',
    finishedAt: '2024-05-01T02:00:11.000Z',
    durationMs: 10_000,
    exitCode: 0,
    signal: null,
    outputHead: 'hello\n',
    outputTail: 'bye\n',
    outputTruncated: false,
    revision,
    ...overrides,
  };
}

describe('check-ins', () => {
  let app: TestApp;
  let organizationId: string;
  let agentA: { agentId: string; token: string };
  let agentB: { agentId: string; token: string };
  let viewer: string;
  let otherViewer: string;
  let revokedToken: string;

  beforeAll(async () => {
    app = await startTestApp();
    organizationId = await seedOrganization(app.database, 'Acme');
    const otherOrganizationId = await seedOrganization(app.database, 'Other');
    agentA = await seedAgent(app.database, organizationId);
    agentB = await seedAgent(app.database, organizationId);
    revokedToken = (await seedAgent(app.database, organizationId, { revokedReason: 'stolen' }))
      .token;
    viewer = (await seedUser(app.database, organizationId, 'viewer')).token;
    otherViewer = (await seedUser(app.database, otherOrganizationId, 'admin')).token;
  }, 60_000);
  afterAll(async () => {
    await app.close();
  });

  async function send(token: string, checkIns: CheckIn[] | unknown) {
    const response = await fetch(`${app.baseUrl}/api/v1/check-ins`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ checkIns }),
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  async function runRows(runId: string) {
    return app.database.db.select().from(runs).where(eq(runs.runId, runId));
  }

  async function getRun(token: string, runId: string) {
    const response = await fetch(`${app.baseUrl}/api/v1/runs/${runId}`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as Record<string, unknown> };
  }

  it('records a start and a finish, and a replay changes nothing', async () => {
    const runId = randomUUID();
    expect(await send(agentA.token, [startOf(runId), finishOf(runId)])).toEqual({
      status: 200,
      body: { accepted: 2, duplicates: 0 },
    });
    const [before] = await runRows(runId);
    expect(before).toMatchObject({
      status: 'succeeded',
      startReceived: true,
      finishReceived: true,
      durationMs: 10_000,
      exitCode: 0,
      outputHead: 'hello\n',
      organizationId,
      agentId: agentA.agentId,
    });
    expect(before?.startedAt.toISOString()).toBe('2024-05-01T02:00:01.000Z');

    const replay = await send(agentA.token, [
      startOf(runId, { startedAt: '2024-05-01T03:00:00.000Z' }),
      finishOf(runId, { status: 'failed', exitCode: 3, outputHead: 'changed' }),
    ]);
    expect(replay).toEqual({ status: 200, body: { accepted: 0, duplicates: 2 } });
    expect(await runRows(runId)).toEqual([before]);
  });

  it('counts repeats inside one batch as duplicates', async () => {
    const runId = randomUUID();
    const result = await send(agentA.token, [
      startOf(runId),
      startOf(runId),
      finishOf(runId),
      finishOf(runId),
      finishOf(runId),
    ]);
    expect(result.body).toEqual({ accepted: 2, duplicates: 3 });
    expect(await runRows(runId)).toHaveLength(1);
  });

  it('takes a finish before its start, and the late start never reopens the run', async () => {
    const runId = randomUUID();
    expect(
      (await send(agentA.token, [finishOf(runId, { status: 'failed', exitCode: 2 })])).body,
    ).toEqual({ accepted: 1, duplicates: 0 });
    const [finished] = await runRows(runId);
    expect(finished).toMatchObject({
      status: 'failed',
      startReceived: false,
      finishReceived: true,
      trigger: 'scheduled',
      scheduledAt: null,
    });
    // derived: finishedAt − durationMs
    expect(finished?.startedAt.toISOString()).toBe('2024-05-01T02:00:01.000Z');

    expect(
      (
        await send(agentA.token, [
          startOf(runId, {
            trigger: 'manual',
            scheduledAt: null,
            startedAt: '2024-05-01T02:00:00.500Z',
          }),
        ])
      ).body,
    ).toEqual({ accepted: 1, duplicates: 0 });
    const [started] = await runRows(runId);
    expect(started).toMatchObject({
      status: 'failed',
      trigger: 'manual',
      startReceived: true,
      finishReceived: true,
      exitCode: 2,
    });
    expect(started?.startedAt.toISOString()).toBe('2024-05-01T02:00:01.000Z');

    const retried = randomUUID();
    await send(agentA.token, [finishOf(retried)]);
    await send(agentA.token, [startOf(retried, { trigger: 'retry', attempt: 2 })]);
    const [retriedRow] = await runRows(retried);
    expect(retriedRow).toMatchObject({
      status: 'succeeded',
      trigger: 'retry',
      scheduledAt: new Date('2024-05-01T02:00:00.000Z'),
    });
    expect((await send(agentA.token, [startOf(retried)])).body).toEqual({
      accepted: 0,
      duplicates: 1,
    });
  });

  it('stores times in milliseconds, derives startedAt exactly, and rejects unstorable values', async () => {
    const runId = randomUUID();
    await send(agentA.token, [
      finishOf(runId, { finishedAt: '2024-05-01T04:00:11.123456+02:00', durationMs: 1234 }),
    ]);
    const [row] = await runRows(runId);
    expect(row?.finishedAt?.toISOString()).toBe('2024-05-01T02:00:11.123Z');
    expect(row?.startedAt.toISOString()).toBe('2024-05-01T02:00:09.889Z');

    const bad: [string, CheckIn][] = [
      ['durationMs', finishOf(randomUUID(), { durationMs: 2 ** 31 })],
      ['exitCode', finishOf(randomUUID(), { exitCode: 2 ** 40 })],
      ['startedAt', startOf(randomUUID(), { startedAt: '0000-01-01T00:00:00Z' })],
      ['finishedAt', finishOf(randomUUID(), { finishedAt: '1969-12-31T23:59:59Z' })],
    ];
    for (const [field, checkIn] of bad) {
      const result = await send(agentA.token, [checkIn]);
      expect(result.status, field).toBe(400);
      expect(JSON.stringify(result.body), field).toContain(field);
      expect(await runRows(checkIn.runId)).toHaveLength(0);
    }
  });

  it('takes a batch of 1,000 and rejects 1,001 with a 400 that says to split it', async () => {
    const ids = Array.from({ length: 500 }, () => randomUUID());
    const batch = ids.flatMap((runId) => [startOf(runId), finishOf(runId)]);
    expect(await send(agentA.token, batch)).toEqual({
      status: 200,
      body: { accepted: 1000, duplicates: 0 },
    });
    expect(await send(agentA.token, batch)).toEqual({
      status: 200,
      body: { accepted: 0, duplicates: 1000 },
    });

    const tooMany = [...batch, startOf(randomUUID())];
    const rejected = await send(agentA.token, tooMany);
    expect(rejected.status).toBe(400);
    expect(JSON.stringify(rejected.body)).toMatch(/at most 1000 check-ins per batch; split/);
    const [{ count } = { count: 0 }] = await app.database.rows<{ count: number }>(
      // nothing of the rejected batch was written
      sql`select count(*)::int as count from runs where run_id = ${tooMany[1000]?.runId}`,
    );
    expect(count).toBe(0);
  });

  it('rejects an empty batch and a malformed check-in, and writes nothing', async () => {
    expect((await send(agentA.token, [])).status).toBe(400);
    const runId = randomUUID();
    const result = await send(agentA.token, [startOf(runId), { ...finishOf(runId), status: 'ok' }]);
    expect(result.status).toBe(400);
    expect(await runRows(runId)).toHaveLength(0);
  });

  it("refuses (409) a batch with another agent's run id, writes nothing of it, and keeps the run id free in other organizations", async () => {
    const runId = randomUUID();
    await send(agentA.token, [startOf(runId)]);
    const [ofA] = await runRows(runId);
    const innocent = randomUUID();
    const refused = await send(agentB.token, [
      startOf(innocent),
      finishOf(innocent),
      finishOf(runId, { status: 'failed' }),
    ]);
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({
      error: {
        code: 'conflict',
        message: expect.stringContaining('nothing of this batch was recorded'),
        details: [
          {
            path: 'checkIns[2].runId',
            message: expect.stringContaining('belongs to a run of another agent'),
          },
        ],
      },
    });
    // Nothing of that batch was written, and agent A's run is untouched.
    expect(await runRows(runId)).toEqual([ofA]);
    expect(await runRows(innocent)).toEqual([]);
    expect((await getRun(viewer, runId)).body).toMatchObject({
      agentId: agentA.agentId,
      status: 'running',
    });
    // The batch without the refused check-in goes through, as the agent's bisecting sends it.
    expect((await send(agentB.token, [startOf(innocent), finishOf(innocent)])).body).toEqual({
      accepted: 2,
      duplicates: 0,
    });
    // A start of another agent's run is refused as well; the owner still finishes it.
    expect((await send(agentB.token, [startOf(runId)])).status).toBe(409);
    expect((await send(agentA.token, [finishOf(runId)])).body).toEqual({
      accepted: 1,
      duplicates: 0,
    });
    expect(await runRows(runId)).toMatchObject([{ agentId: agentA.agentId, status: 'succeeded' }]);
    // Run ids are unique per organization: another organization's agent may use the same one.
    const [otherOrganization] = await app.database.rows<{ id: string }>(
      sql`select id from organizations where name = 'Other'`,
    );
    const outsider = await seedAgent(app.database, otherOrganization?.id ?? '');
    expect((await send(outsider.token, [startOf(runId)])).body).toEqual({
      accepted: 1,
      duplicates: 0,
    });
  });

  it('refuses the second of two agents sending one new run id at the same moment', async () => {
    const runId = randomUUID();
    const [first, second] = await Promise.all([
      send(agentA.token, [startOf(runId)]),
      send(agentB.token, [startOf(runId)]),
    ]);
    expect([first.status, second.status].sort()).toEqual([200, 409]);
    const rows = await runRows(runId);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.agentId).toBe(first.status === 200 ? agentA.agentId : agentB.agentId);
  });

  it('stores the reason of a lost or skipped run and returns it', async () => {
    const lost = randomUUID();
    const reason = "the wrapper (pid 123) was killed; its command's process group was stopped";
    await send(agentA.token, [startOf(lost)]);
    expect(
      (
        await send(agentA.token, [
          finishOf(lost, { status: 'lost', exitCode: null, reason: `${reason}\u0000` }),
        ])
      ).body,
    ).toEqual({ accepted: 1, duplicates: 0 });
    expect((await getRun(viewer, lost)).body).toMatchObject({
      status: 'lost',
      reason: `${reason}\uFFFD`,
    });
    const plain = randomUUID();
    await send(agentA.token, [finishOf(plain)]);
    expect((await getRun(viewer, plain)).body).toMatchObject({ status: 'succeeded', reason: null });
    const listed = await fetch(`${app.baseUrl}/api/v1/runs?status=lost`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    const page = (await listed.json()) as { items: { runId: string; reason: string | null }[] };
    expect(page.items.find((run) => run.runId === lost)?.reason).toBe(`${reason}\uFFFD`);
  });

  it('keeps check-ins of jobs not in the inventory, and output with NUL characters', async () => {
    const runId = randomUUID();
    await send(agentA.token, [
      finishOf(runId, { namespace: 'unknown', name: 'never-applied', outputTail: 'a\u0000b' }),
    ]);
    const { status, body } = await getRun(viewer, runId);
    expect(status).toBe(200);
    expect(body).toMatchObject({
      namespace: 'unknown',
      name: 'never-applied',
      outputTail: 'a\uFFFDb',
      outputHead: 'hello\n',
      startedAt: '2024-05-01T02:00:01.000Z',
    });
  });

  it('answers 401 to a revoked agent and to a user token, 404 to another organization', async () => {
    const runId = randomUUID();
    const revoked = await send(revokedToken, [startOf(runId)]);
    expect(revoked.status).toBe(401);
    expect(JSON.stringify(revoked.body)).toMatch(/revoked: stolen/);
    expect((await send(viewer, [startOf(runId)])).status).toBe(401);
    expect(await runRows(runId)).toHaveLength(0);

    await send(agentA.token, [startOf(runId)]);
    expect((await getRun(viewer, runId)).status).toBe(200);
    const other = await getRun(otherViewer, runId);
    expect(other.status).toBe(404);
    expect(other.body).toEqual({
      error: { code: 'not_found', message: `run ${runId} not found` },
    });
  });
});
