import { randomUUID } from 'node:crypto';
import type { CheckIn, ListRunsResponse, RunDetail } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';
import { testDatabaseUrl } from './testDatabase.js';

const revision = 'b'.repeat(40);
const base = Date.parse('2024-05-01T00:00:00.000Z');
const minute = 60_000;

interface RunSpec {
  namespace?: string;
  name?: string;
  startedAtMs: number;
  status?: 'succeeded' | 'failed' | 'running';
  output?: string;
}

function checkInsOf(spec: RunSpec, runId = randomUUID()): CheckIn[] {
  const namespace = spec.namespace ?? 'production';
  const name = spec.name ?? 'backup';
  const start: CheckIn = {
    kind: 'start',
    runId,
    namespace,
    name,
    attempt: 1,
    trigger: 'scheduled',
    scheduledAt: null,
    startedAt: new Date(spec.startedAtMs).toISOString(),
    revision,
  };
  if (spec.status === 'running') return [start];
  return [
    start,
    {
      kind: 'finish',
      runId,
      namespace,
      name,
      attempt: 1,
      status: spec.status ?? 'succeeded',
      finishedAt: new Date(spec.startedAtMs + 1000).toISOString(),
      durationMs: 1000,
      exitCode: spec.status === 'failed' ? 1 : 0,
      signal: null,
      outputHead: spec.output ?? 'plain output',
      outputTail: '',
      outputTruncated: false,
      revision,
    },
  ];
}

describe('runs list and show', () => {
  let app: TestApp;
  let agentA1: { agentId: string; token: string };
  let agentA2: { agentId: string; token: string };
  let agentB: { agentId: string; token: string };
  let viewer: string;
  let otherAdmin: string;
  const outputs: Record<string, string> = {};

  async function send(token: string, checkIns: CheckIn[]) {
    const response = await fetch(`${app.baseUrl}/api/v1/check-ins`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ checkIns }),
    });
    expect(response.status).toBe(200);
  }

  async function list(query: Record<string, string>, token = viewer) {
    const response = await fetch(
      `${app.baseUrl}/api/v1/runs?${new URLSearchParams(query).toString()}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    return { status: response.status, body: (await response.json()) as ListRunsResponse };
  }

  const outputsOf = (page: ListRunsResponse) =>
    page.items.map((run) => outputs[run.runId] ?? '').sort();

  beforeAll(async () => {
    app = await startTestApp();
    const organizationId = await seedOrganization(app.database, 'Acme');
    const otherOrganizationId = await seedOrganization(app.database, 'Other');
    agentA1 = await seedAgent(app.database, organizationId, { name: 'db-1' });
    agentA2 = await seedAgent(app.database, organizationId, { name: 'web-1' });
    agentB = await seedAgent(app.database, otherOrganizationId, { name: 'db-1' });
    viewer = (await seedUser(app.database, organizationId, 'viewer')).token;
    otherAdmin = (await seedUser(app.database, otherOrganizationId, 'admin')).token;

    const texts = [
      'backup 50% done',
      'backup 500 done',
      'snake_case name',
      'snakeXcase name',
      'C:\\path\\file',
      "it's 'quoted'",
      'HELLO world',
    ];
    const batch: CheckIn[] = [];
    texts.forEach((output, index) => {
      const runId = randomUUID();
      outputs[runId] = output;
      batch.push(...checkInsOf({ startedAtMs: base + index * minute, output }, runId));
    });
    await send(agentA1.token, batch);
    await send(
      agentA2.token,
      [0, 1, 2].flatMap((index) =>
        checkInsOf({
          namespace: 'staging',
          name: 'report',
          startedAtMs: base + (10 + index) * minute,
          status: 'failed',
        }),
      ),
    );
    await send(
      agentB.token,
      checkInsOf({ startedAtMs: base + 20 * minute, output: 'backup 50% done' }),
    );
  }, 60_000);
  afterAll(async () => {
    await app.close();
  });

  it('lists the organization’s runs newest first, with agent names', async () => {
    const { status, body } = await list({});
    expect(status).toBe(200);
    expect(body.items).toHaveLength(10);
    expect(body.nextCursor).toBeNull();
    const times = body.items.map((run) => Date.parse(run.startedAt ?? ''));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect(body.items[0]).toMatchObject({
      namespace: 'staging',
      name: 'report',
      agentId: agentA2.agentId,
      agentName: 'web-1',
      status: 'failed',
      exitCode: 1,
      durationMs: 1000,
    });
    expect(body.items[0]).not.toHaveProperty('outputHead');
  });

  it('filters by job, namespace, agent, status and time', async () => {
    expect((await list({ job: 'production/backup' })).body.items).toHaveLength(7);
    expect((await list({ job: 'staging/backup' })).body.items).toHaveLength(0);
    expect((await list({ namespace: 'staging' })).body.items).toHaveLength(3);
    expect((await list({ agentId: agentA2.agentId })).body.items).toHaveLength(3);
    expect((await list({ status: 'failed' })).body.items).toHaveLength(3);
    expect((await list({ status: 'running' })).body.items).toHaveLength(0);
    const range = await list({
      from: new Date(base + 2 * minute).toISOString(),
      to: new Date(base + 4 * minute).toISOString(),
    });
    expect(outputsOf(range.body)).toEqual(['snakeXcase name', 'snake_case name']);
    // from is inclusive and to exclusive, whatever the offset used to write them
    const offset = await list({ from: '2024-05-01T02:06:00+02:00', to: '2024-05-01T00:07:00Z' });
    expect(outputsOf(offset.body)).toEqual(['HELLO world']);
  });

  it('searches output text literally: %, _, backslashes and quotes are not patterns', async () => {
    const search = async (q: string) => outputsOf((await list({ q })).body);
    expect(await search('50%')).toEqual(['backup 50% done']);
    expect(await search('%')).toEqual(['backup 50% done']);
    expect(await search('_')).toEqual(['snake_case name']);
    expect(await search('snake_case')).toEqual(['snake_case name']);
    expect(await search('\\')).toEqual(['C:\\path\\file']);
    expect(await search('\\path')).toEqual(['C:\\path\\file']);
    expect(await search("it's")).toEqual(["it's 'quoted'"]);
    expect(await search("'")).toEqual(["it's 'quoted'"]);
    expect(await search('hello')).toEqual(['HELLO world']);
    expect(await search("' or '1'='1")).toEqual([]);
    expect(await search("x'; drop table runs; --")).toEqual([]);
    expect(await search('%%')).toEqual([]);
    expect(await search('[a-z]*')).toEqual([]);
    expect((await list({})).body.items).toHaveLength(10);
  });

  it('rejects malformed filters with a 400 that names the parameter', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ job: "production/backup' or '1'='1" }, 'job'],
      [{ job: 'backup' }, 'job'],
      [{ namespace: "staging'--" }, 'namespace'],
      [{ agentId: "' or 1=1 --" }, 'agentId'],
      [{ status: "failed' or 'x'='x" }, 'status'],
      [{ from: "2024-05-01'; delete from runs; --" }, 'from'],
      [{ to: 'yesterday' }, 'to'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '201' }, 'limit'],
      [{ limit: '1; select 1' }, 'limit'],
      [{ cursor: "' or 1=1" }, 'cursor'],
      [{ cursor: Buffer.from('{"t":"x","i":1}').toString('base64url') }, 'cursor'],
      [{ q: 'x'.repeat(201) }, 'q'],
    ];
    for (const [query, parameter] of cases) {
      const { status, body } = await list(query);
      expect(status, JSON.stringify(query)).toBe(400);
      expect(JSON.stringify(body), JSON.stringify(query)).toContain(parameter);
    }
    expect((await list({})).body.items).toHaveLength(10);
  });

  it('keeps pages stable while runs arrive between them', async () => {
    const job = { namespace: 'paging', name: 'steady' };
    const pagingStart = base + 100 * minute;
    // 25 runs, several sharing a start time (the id breaks the tie)
    const originals = Array.from({ length: 25 }, (_, index) => ({
      ...job,
      startedAtMs: pagingStart + Math.floor(index / 3) * minute,
    }));
    await send(
      agentA1.token,
      originals.flatMap((spec) => checkInsOf(spec)),
    );
    const seen: string[] = [];
    const newer = new Set<string>();
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: Record<string, string> = { job: 'paging/steady', limit: '10' };
      if (cursor !== null) query.cursor = cursor;
      const { status, body } = await list(query);
      expect(status).toBe(200);
      seen.push(...body.items.map((run) => run.runId));
      cursor = body.nextCursor;
      pages += 1;
      // runs arrive between pages: one newer than everything, one older than everything
      const newerId = randomUUID();
      newer.add(newerId);
      await send(agentA1.token, [
        ...checkInsOf({ ...job, startedAtMs: pagingStart + 60 * minute + pages }, newerId),
        ...checkInsOf({ ...job, startedAtMs: pagingStart - pages * minute }),
      ]);
    } while (cursor !== null);
    const all = (await list({ job: 'paging/steady', limit: '200' })).body.items.map(
      (run) => run.runId,
    );
    expect(all).toHaveLength(25 + 2 * pages);
    // no run twice, no newer run, every original once, in the order of the full list
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.filter((runId) => newer.has(runId))).toEqual([]);
    expect(seen.slice(0, 25)).toEqual(all.filter((runId) => !newer.has(runId)).slice(0, 25));
    expect(seen).toEqual(all.filter((runId) => seen.includes(runId)));
    // the older arrivals are read at the end, as later pages reach them
    expect(seen.length).toBeGreaterThan(25);
  });

  it('ends with a null cursor on an exact last page', async () => {
    const first = await list({ namespace: 'staging', limit: '3' });
    expect(first.body.items).toHaveLength(3);
    expect(first.body.nextCursor).toBeNull();
    const two = await list({ namespace: 'staging', limit: '2' });
    expect(two.body.nextCursor).not.toBeNull();
    const rest = await list({
      namespace: 'staging',
      limit: '2',
      cursor: two.body.nextCursor ?? '',
    });
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.nextCursor).toBeNull();
  });

  it('shows one run with its output', async () => {
    const [run] = (await list({ q: 'HELLO' })).body.items;
    const response = await fetch(`${app.baseUrl}/api/v1/runs/${run?.runId ?? ''}`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(response.status).toBe(200);
    const detail = (await response.json()) as RunDetail;
    expect(detail).toMatchObject({ ...run, outputHead: 'HELLO world', outputTail: '' });

    const missing = await fetch(`${app.baseUrl}/api/v1/runs/${randomUUID()}`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(missing.status).toBe(404);
    const malformed = await fetch(`${app.baseUrl}/api/v1/runs/not-a-uuid`, {
      headers: { authorization: `Bearer ${viewer}` },
    });
    expect(malformed.status).toBe(400);
  });

  it('never shows another organization’s runs', async () => {
    const other = await list({}, otherAdmin);
    expect(other.body.items).toHaveLength(1);
    expect(other.body.items[0]?.agentId).toBe(agentB.agentId);
    expect((await list({ agentId: agentA1.agentId }, otherAdmin)).body.items).toEqual([]);
    expect((await list({ q: 'HELLO' }, otherAdmin)).body.items).toEqual([]);
    const [mine] = (await list({ q: 'HELLO' })).body.items;
    const response = await fetch(`${app.baseUrl}/api/v1/runs/${mine?.runId ?? ''}`, {
      headers: { authorization: `Bearer ${otherAdmin}` },
    });
    expect(response.status).toBe(404);
    // a cursor from one organization's listing shows nothing of the other's
    const page = await list({ limit: '1' });
    const crossed = await list({ cursor: page.body.nextCursor ?? '' }, otherAdmin);
    expect(crossed.body.items.every((run) => run.agentId === agentB.agentId)).toBe(true);
  });

  it('needs a read-capable credential', async () => {
    expect((await fetch(`${app.baseUrl}/api/v1/runs`)).status).toBe(401);
    expect((await list({}, agentA1.token)).status).toBe(401);
  });
});

/**
 * A text search reads runs one by one until its page is full: PostgreSQL cancels it after
 * CRONFLEET_RUN_SEARCH_TIMEOUT_MS, and the caller learns how to narrow it. (PGlite has no timer
 * to cancel a statement with.)
 */
describe.skipIf(testDatabaseUrl === undefined || testDatabaseUrl === '')(
  'runs search time limit',
  () => {
    let app: TestApp;
    let viewer: string;

    beforeAll(async () => {
      app = await startTestApp({ runSearchTimeoutMs: 5 });
      const organizationId = await seedOrganization(app.database);
      viewer = (await seedUser(app.database, organizationId, 'viewer')).token;
      const agent = await seedAgent(app.database, organizationId);
      await app.database.db.execute(sql`
        insert into runs (run_id, organization_id, agent_id, namespace, name, status, started_at,
          output_head, output_tail, revision, start_received, finish_received)
        select gen_random_uuid(), ${organizationId}::uuid, ${agent.agentId}::uuid, 'bulk',
          'job-' || (i % 10), 'succeeded', timestamptz '2024-01-01' + i * interval '1 second',
          repeat('line of output ' || i || ' ', 40), repeat('tail ' || i || ' ', 40), ${revision},
          true, true
        from generate_series(1, 300000) as i`);
    }, 120_000);
    afterAll(async () => {
      await app?.close();
    });

    it('cancels a search that runs out of time with a 400 that says how to narrow it', async () => {
      const response = await fetch(`${app.baseUrl}/api/v1/runs?q=nowhere-to-be-found`, {
        headers: { authorization: `Bearer ${viewer}` },
      });
      expect(response.status).toBe(400);
      const body = (await response.json()) as {
        error: { code: string; message: string; details: unknown };
      };
      expect(body.error.code).toBe('validation_failed');
      expect(body.error.message).toMatch(/search for "nowhere-to-be-found" read runs for 0\.005 s/);
      expect(body.error.message).toMatch(/narrow it with job, agentId or from\/to/);
      expect(body.error.details).toEqual([
        { path: 'q', message: 'searched for longer than 0.005 s; narrow the search' },
      ]);
      // Other lists are not limited, and the connection the search used serves again.
      const page = await fetch(`${app.baseUrl}/api/v1/runs?job=bulk/job-1&limit=5`, {
        headers: { authorization: `Bearer ${viewer}` },
      });
      expect(page.status).toBe(200);
      expect(((await page.json()) as ListRunsResponse).items).toHaveLength(5);
    });
  },
);
