import { randomUUID } from 'node:crypto';
import {
  apiExamples,
  type HeartbeatRequest,
  type Incident,
  type InventoryJob,
  type Silence,
} from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runMonitorPass } from '../../src/monitoring/monitorWorker.js';
import { call } from '../agentTestCalls.js';
import { seedAgent, seedOrganization, seedUser, type SeededUser } from '../seed.js';
import { startTestApp, type TestApp } from '../testApp.js';
import { testMonitorTiming, testRevision } from './monitorFixtures.js';

/**
 * Issue 12 §4: the silence routes against the real app and database, and a silence's effect on
 * the incidents the real monitoring worker opens (with the app's clock moved by hand).
 */

const revision = testRevision;
const minute = 60_000;
const hour = 60 * minute;
const day = 24 * hour;
const timing = testMonitorTiming;

describe('silence routes', () => {
  let app: TestApp;
  let organizationId: string;
  let admin: SeededUser;
  let operator: SeededUser;
  let viewer: SeededUser;
  let otherAdmin: SeededUser;
  let otherAgentId: string;
  let clock = new Date(0);

  const setClock = (at: Date) => {
    clock = at;
    app.setNow(at);
  };
  const after = (from: Date, ms: number) => new Date(from.getTime() + ms);
  const get = (path: string, user: SeededUser = viewer) => call(app, 'GET', path, user.token);

  async function create(body: unknown, user: SeededUser = operator) {
    return call(app, 'POST', '/api/v1/silences', user.token, body);
  }
  async function created(body: unknown, user: SeededUser = operator): Promise<Silence> {
    const answer = await create(body, user);
    expect(answer.status, JSON.stringify(answer.body)).toBe(201);
    return answer.body as Silence;
  }

  async function listed(query = ''): Promise<Silence[]> {
    const answer = await get(`/api/v1/silences?limit=200${query}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    return answer.body.items as Silence[];
  }

  async function auditOf(silenceId: string) {
    return app.database.rows<{
      action: string;
      actor_type: string;
      actor_id: string;
      details: Record<string, unknown>;
    }>(sql`select action, actor_type, actor_id, details from audit_log
      where target_type = 'silence' and target_id = ${silenceId} order by id`);
  }

  beforeAll(async () => {
    app = await startTestApp();
    organizationId = await seedOrganization(app.database);
    admin = await seedUser(app.database, organizationId, 'admin');
    operator = await seedUser(app.database, organizationId, 'operator');
    viewer = await seedUser(app.database, organizationId, 'viewer');
    const otherOrganization = await seedOrganization(app.database, 'Other');
    otherAdmin = await seedUser(app.database, otherOrganization, 'admin');
    otherAgentId = (await seedAgent(app.database, otherOrganization)).agentId;
  }, 90_000);

  beforeEach(() => {
    // Every test starts on its own day, so the worker's clock only moves forward.
    setClock(
      clock.getTime() === 0
        ? new Date('2026-03-02T00:00:00Z')
        : new Date(Date.UTC(clock.getUTCFullYear(), clock.getUTCMonth(), clock.getUTCDate() + 2)),
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('creates a silence that starts now by default, shows who made it, and audits it', async () => {
    const now = clock;
    const silence = await created({
      matchers: { namespace: 'production', job: 'nightly-db-backup' },
      endsAt: after(now, 2 * hour).toISOString(),
      comment: 'restore drill\nCHG-42',
    });
    expect(silence).toEqual({
      id: expect.any(String),
      matchers: { namespace: 'production', job: 'nightly-db-backup', labels: {} },
      startsAt: now.toISOString(),
      endsAt: after(now, 2 * hour).toISOString(),
      comment: 'restore drill\nCHG-42',
      createdBy: {
        type: 'api_token',
        id: operator.userId,
        name: `${operator.email} (API token "test")`,
      },
      createdAt: now.toISOString(),
      expiredAt: null,
      status: 'active',
    });
    expect(await auditOf(silence.id)).toEqual([
      {
        action: 'silence.create',
        actor_type: 'api_token',
        actor_id: operator.userId,
        details: {
          matchers: silence.matchers,
          startsAt: silence.startsAt,
          endsAt: silence.endsAt,
          comment: silence.comment,
        },
      },
    ]);

    const agent = await seedAgent(app.database, organizationId);
    const later = await created(
      {
        matchers: { labels: { team: 'dba' }, agentId: agent.agentId },
        startsAt: after(now, day).toISOString(),
        endsAt: after(now, day + hour).toISOString(),
        comment: 'kernel upgrade',
      },
      admin,
    );
    expect(later).toMatchObject({
      matchers: { labels: { team: 'dba' }, agentId: agent.agentId },
      status: 'pending',
      createdBy: { type: 'api_token', id: admin.userId },
    });
  });

  it('refuses what would make no sense, each with a 400 that locates it, and stores nothing', async () => {
    const now = clock;
    const endsAt = after(now, hour).toISOString();
    const valid = { matchers: { namespace: 'production' }, endsAt, comment: 'window' };
    const cases: [string, unknown, string][] = [
      ['no matcher', { ...valid, matchers: {} }, 'matchers'],
      ['only empty labels', { ...valid, matchers: { labels: {} } }, 'matchers'],
      ['no matchers at all', { endsAt, comment: 'window' }, 'matchers'],
      ['no endsAt', { matchers: valid.matchers, comment: 'window' }, 'endsAt'],
      ['an endsAt in the past', { ...valid, endsAt: after(now, -minute).toISOString() }, 'endsAt'],
      ['an endsAt of now', { ...valid, endsAt: now.toISOString() }, 'endsAt'],
      [
        'an endsAt over a year ahead',
        { ...valid, endsAt: after(now, 366 * day).toISOString() },
        'endsAt',
      ],
      [
        'an endsAt before startsAt',
        { ...valid, startsAt: after(now, 2 * hour).toISOString() },
        'endsAt',
      ],
      ['an endsAt without a zone', { ...valid, endsAt: '2026-03-04T10:00:00' }, 'endsAt'],
      ['an endsAt of year 0', { ...valid, endsAt: '0000-01-01T00:00:00Z' }, 'endsAt'],
      ['an empty comment', { ...valid, comment: '' }, 'comment'],
      ['a comment of spaces', { ...valid, comment: '   ' }, 'comment'],
      ['a comment over 1000 characters', { ...valid, comment: 'x'.repeat(1001) }, 'comment'],
      ['no comment', { matchers: valid.matchers, endsAt }, 'comment'],
      [
        'a namespace that is no DNS label',
        { ...valid, matchers: { namespace: 'Prod_1' } },
        'matchers.namespace',
      ],
      ['a job name with a slash', { ...valid, matchers: { job: 'a/b' } }, 'matchers.job'],
      [
        'a label key with a space',
        { ...valid, matchers: { labels: { 'a b': 'c' } } },
        'matchers.labels',
      ],
      [
        'more than 20 labels',
        {
          ...valid,
          matchers: {
            labels: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])),
          },
        },
        'matchers.labels',
      ],
      [
        'an agentId that is no UUID',
        { ...valid, matchers: { agentId: 'db-1' } },
        'matchers.agentId',
      ],
      ['an unknown agent', { ...valid, matchers: { agentId: randomUUID() } }, 'matchers.agentId'],
      [
        "another organization's agent",
        { ...valid, matchers: { agentId: otherAgentId } },
        'matchers.agentId',
      ],
      ['an unknown matcher', { ...valid, matchers: { team: 'dba' } }, 'matchers'],
      ['an unknown field', { ...valid, status: 'active' }, '(root)'],
      ['an array', [valid], '(root)'],
    ];
    const [{ count: before } = { count: -1 }] = await app.database.rows<{ count: number }>(
      sql`select count(*)::int as count from silences`,
    );
    for (const [what, body, where] of cases) {
      const answer = await create(body);
      const shown = `${what}: ${answer.status} ${JSON.stringify(answer.body)}`;
      expect(answer.status, shown).toBe(400);
      expect(answer.body.error.code, shown).toBe('validation_failed');
      const paths = (answer.body.error.details as { path: string }[]).map((issue) => issue.path);
      expect(
        paths.some((path) => path === where || path.startsWith(`${where}.`)),
        shown,
      ).toBe(true);
    }
    const unknownAgent = await create({ ...valid, matchers: { agentId: otherAgentId } });
    expect(unknownAgent.body.error.details).toEqual([
      {
        path: 'matchers.agentId',
        message: 'must be the id of an agent of this organization (GET /api/v1/agents lists them)',
      },
    ]);
    const [{ count: afterwards } = { count: -2 }] = await app.database.rows<{ count: number }>(
      sql`select count(*)::int as count from silences`,
    );
    expect(afterwards).toBe(before);
  });

  it('lists silences newest first, by status relative to now, in pages', async () => {
    const now = clock;
    const made: Silence[] = [];
    const window = (fromHours: number, toHours: number, comment: string) => ({
      matchers: { namespace: 'listing' },
      startsAt: after(now, fromHours * hour).toISOString(),
      endsAt: after(now, toHours * hour).toISOString(),
      comment,
    });
    // Created a minute apart: active now, pending (starts in 2 h), short (ends in 1 h).
    made.push(await created(window(-1, 3, 'active')));
    setClock(after(now, minute));
    made.push(await created(window(2, 4, 'pending')));
    setClock(after(now, 2 * minute));
    made.push(await created(window(0, 1, 'short')));

    const ours = (silences: Silence[]) =>
      silences.filter((silence) => silence.matchers.namespace === 'listing').map((s) => s.comment);
    expect(ours(await listed())).toEqual(['short', 'pending', 'active']);
    expect(ours(await listed('&status=active'))).toEqual(['short', 'active']);
    expect(ours(await listed('&status=pending'))).toEqual(['pending']);
    expect(ours(await listed('&status=expired'))).toEqual([]);

    // Two hours and a half later: the short one has ended, the pending one has started.
    setClock(after(now, 150 * minute));
    expect(ours(await listed('&status=active'))).toEqual(['pending', 'active']);
    expect(ours(await listed('&status=expired'))).toEqual(['short']);
    expect(ours(await listed('&status=pending'))).toEqual([]);
    const short = (await listed()).find((silence) => silence.id === made[2]!.id)!;
    expect(short).toMatchObject({ status: 'expired', expiredAt: null });

    // Pages of one, following nextCursor: the same silences in the same order.
    const all = (await listed()).map((silence) => silence.id);
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const answer = await get(
        `/api/v1/silences?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      expect(answer.status).toBe(200);
      paged.push(...answer.body.items.map((silence: Silence) => silence.id));
      cursor = answer.body.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(all);

    expect((await get('/api/v1/silences', otherAdmin)).body.items).toEqual([]);
    for (const query of ['status=over', 'limit=201', 'cursor=bm90LWEtY3Vyc29y']) {
      const answer = await get(`/api/v1/silences?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.details[0].path).toBe(query.split('=')[0]);
    }
  });

  it('expires a silence now, answers it, audits it, and refuses a second expiry with a 409', async () => {
    const now = clock;
    const silence = await created({
      matchers: { job: 'expiring' },
      endsAt: after(now, 3 * hour).toISOString(),
      comment: 'done early',
    });
    const pending = await created({
      matchers: { job: 'expiring' },
      startsAt: after(now, day).toISOString(),
      endsAt: after(now, day + hour).toISOString(),
      comment: 'not needed after all',
    });

    const at = after(now, 20 * minute);
    setClock(at);
    expect((await call(app, 'DELETE', `/api/v1/silences/${silence.id}`, viewer.token)).status).toBe(
      403,
    );
    const elsewhere = await call(app, 'DELETE', `/api/v1/silences/${silence.id}`, otherAdmin.token);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error.message).toBe('silence not found');
    expect(
      (await call(app, 'DELETE', `/api/v1/silences/${randomUUID()}`, operator.token)).status,
    ).toBe(404);
    expect((await call(app, 'DELETE', '/api/v1/silences/x', operator.token)).status).toBe(400);

    const expired = await call(app, 'DELETE', `/api/v1/silences/${silence.id}`, operator.token);
    expect(expired.status, JSON.stringify(expired.body)).toBe(200);
    expect(expired.body).toEqual({
      ...silence,
      endsAt: at.toISOString(),
      expiredAt: at.toISOString(),
      status: 'expired',
    });
    expect((await listed('&status=expired')).map((item) => item.id)).toContain(silence.id);
    expect((await auditOf(silence.id)).map((row) => row.action)).toEqual([
      'silence.create',
      'silence.expire',
    ]);
    expect((await auditOf(silence.id))[1]).toMatchObject({
      actor_type: 'api_token',
      actor_id: operator.userId,
      details: { expiredAt: at.toISOString(), wasStatus: 'active' },
    });

    const again = await call(app, 'DELETE', `/api/v1/silences/${silence.id}`, admin.token);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toBe(
      `silence ${silence.id} was already expired at ${at.toISOString()}`,
    );

    // A pending silence can be expired before it starts; one that has ended is over already.
    const dropped = await call(app, 'DELETE', `/api/v1/silences/${pending.id}`, admin.token);
    expect(dropped.body).toMatchObject({ status: 'expired', expiredAt: at.toISOString() });
    const ended = await created({
      matchers: { job: 'expiring' },
      endsAt: after(at, hour).toISOString(),
      comment: 'short',
    });
    setClock(after(at, 2 * hour));
    const over = await call(app, 'DELETE', `/api/v1/silences/${ended.id}`, operator.token);
    expect(over.status).toBe(409);
    expect(over.body.error.message).toBe(
      `silence ${ended.id} is over already: it ended at ${after(at, hour).toISOString()}`,
    );
  });

  it('lets viewers list silences but not create them', async () => {
    expect((await get('/api/v1/silences', viewer)).status).toBe(200);
    const refused = await create(
      {
        matchers: { namespace: 'production' },
        endsAt: after(clock, hour).toISOString(),
        comment: 'viewer',
      },
      viewer,
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/needs the write permission; your role is viewer/);
  });

  it('makes an incident that opens under a matching silence silenced, with no notification; others notify', async () => {
    const t0 = clock;
    await runMonitorPass(app.context, { now: t0 }, timing);
    await app.database
      .rows(sql`insert into notification_channels (organization_id, name, kind, is_default)
      values (${organizationId}, 'ops', 'webhook', true) on conflict do nothing`);
    const [example] = apiExamples.inventoryRequest.jobs;
    const job = (name: string, labels: Record<string, string>): InventoryJob => ({
      ...example!,
      namespace: 'silencing',
      name,
      schedule: '*/5 * * * *',
      timezone: 'UTC',
      suspended: false,
      monitoring: {
        graceSeconds: 60,
        maxRuntimeSeconds: null,
        alertAfter: 1,
        recoverAfter: 1,
        realertEverySeconds: null,
        notify: [],
        retryLimit: 0,
      },
      labels,
    });
    const agent = await seedAgent(app.database, organizationId, { name: 'silenced-host' });
    const quietAgent = await seedAgent(app.database, organizationId, { name: 'maintained-host' });
    expect(
      (
        await call(app, 'PUT', '/api/v1/agents/inventory', agent.token, {
          revision,
          jobs: [job('db-dump', { team: 'dba' }), job('web-report', { team: 'web' })],
          unmanaged: [],
        })
      ).status,
    ).toBe(200);
    const heartbeat = async (token: string, at: Date) => {
      setClock(at);
      const body: HeartbeatRequest = {
        ...apiExamples.heartbeatRequest,
        errors: [],
        runningRunIds: [],
        deliveredThrough: at.toISOString(),
      };
      expect((await call(app, 'POST', '/api/v1/agents/heartbeat', token, body)).status).toBe(200);
    };
    await heartbeat(agent.token, t0);
    await heartbeat(quietAgent.token, t0);

    // Before the problem: the DBAs' jobs, and everything of the host under maintenance.
    const byLabel = await created({
      matchers: { namespace: 'silencing', labels: { team: 'dba' } },
      endsAt: after(t0, 2 * hour).toISOString(),
      comment: 'database upgrade',
    });
    const byAgent = await created({
      matchers: { agentId: quietAgent.agentId },
      endsAt: after(t0, 2 * hour).toISOString(),
      comment: 'host maintenance',
    });

    // db-dump and web-report miss their fires at +5m; maintained-host goes silent.
    await heartbeat(agent.token, after(t0, 7 * minute));
    await runMonitorPass(app.context, { now: after(t0, 7 * minute) }, timing);

    const answer = await get('/api/v1/incidents?limit=200');
    expect(answer.status).toBe(200);
    const incidents = answer.body.items as Incident[];
    const find = (agentId: string, name: string | null) =>
      incidents.find(
        (incident) => incident.agent.id === agentId && (incident.job?.name ?? null) === name,
      )!;
    const dump = find(agent.agentId, 'db-dump');
    const report = find(agent.agentId, 'web-report');
    const offline = find(quietAgent.agentId, null);
    expect(dump).toMatchObject({ kind: 'missed', silenced: true, silenceId: byLabel.id });
    expect(offline).toMatchObject({ kind: 'agent_offline', silenced: true, silenceId: byAgent.id });
    expect(report).toMatchObject({ kind: 'missed', silenced: false, silenceId: null });

    const queued = async (incidentId: string) =>
      (
        await app.database.rows<{ count: number }>(
          sql`select count(*)::int as count from notification_deliveries where incident_id = ${incidentId}`,
        )
      )[0]!.count;
    expect(await queued(dump.id)).toBe(0);
    expect(await queued(offline.id)).toBe(0);
    expect(await queued(report.id)).toBe(1);

    const detail = await get(`/api/v1/incidents/${dump.id}`);
    expect(detail.body.events.map((event: { type: string }) => event.type)).toEqual([
      'opened',
      'silenced',
    ]);
    expect(detail.body.events[1].message).toBe(`silenced by silence ${byLabel.id}`);
  }, 120_000);
});
