import { randomUUID } from 'node:crypto';
import {
  apiExamples,
  type HeartbeatRequest,
  type Incident,
  type IncidentDetail,
  type InventoryJob,
} from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runMonitorPass } from '../../src/monitoring/monitorWorker.js';
import { call } from '../agentTestCalls.js';
import { seedAgent, seedOrganization, seedUser, type SeededUser } from '../seed.js';
import { startTestApp, type TestApp } from '../testApp.js';
import { monitoredJob, testMonitorTiming, testRevision } from './monitorFixtures.js';

/**
 * Issue 12 §3: the incident routes against the real app and database. Incidents are made by the
 * real monitoring worker (runMonitorPass, with the app's clock moved by hand) from agents
 * simulated through the agent protocol, as in monitorWorker.test.ts.
 */

const revision = testRevision;
const minute = 60_000;
const timing = testMonitorTiming;

interface Agent {
  agentId: string;
  token: string;
}

describe('incident routes', () => {
  let app: TestApp;
  let organizationId: string;
  let admin: SeededUser;
  let operator: SeededUser;
  let viewer: SeededUser;
  let otherAdmin: SeededUser;
  let clock = new Date(0);

  const setClock = (at: Date) => {
    clock = at;
    app.setNow(at);
  };
  const pass = (at: Date) => {
    setClock(at);
    return runMonitorPass(app.context, { now: at }, timing);
  };
  const after = (from: Date, minutes: number) => new Date(from.getTime() + minutes * minute);

  const job = monitoredJob;

  async function newAgent(jobs: InventoryJob[]): Promise<Agent> {
    const agent = await seedAgent(app.database, organizationId, {
      name: `agent-${randomUUID().slice(0, 8)}`,
    });
    const answer = await call(app, 'PUT', '/api/v1/agents/inventory', agent.token, {
      revision,
      jobs,
      unmanaged: [],
    });
    expect(answer.status).toBe(200);
    return agent;
  }

  async function heartbeat(agent: Agent, deliveredThrough: Date) {
    if (deliveredThrough.getTime() > clock.getTime()) setClock(deliveredThrough);
    const body: HeartbeatRequest = {
      ...apiExamples.heartbeatRequest,
      errors: [],
      runningRunIds: [],
      deliveredThrough: deliveredThrough.toISOString(),
    };
    const answer = await call(app, 'POST', '/api/v1/agents/heartbeat', agent.token, body);
    expect(answer.status).toBe(200);
  }

  /** A run of `name` (namespace `monitoring`) that started and succeeded for the fire at `fire`. */
  async function ran(agent: Agent, name: string, fire: Date) {
    const runId = randomUUID();
    const answer = await call(app, 'POST', '/api/v1/check-ins', agent.token, {
      checkIns: [
        {
          kind: 'start',
          runId,
          namespace: 'monitoring',
          name,
          attempt: 1,
          trigger: 'scheduled',
          scheduledAt: fire.toISOString(),
          startedAt: new Date(fire.getTime() + 1000).toISOString(),
          revision,
        },
        {
          kind: 'finish',
          runId,
          namespace: 'monitoring',
          name,
          attempt: 1,
          status: 'succeeded',
          finishedAt: new Date(fire.getTime() + 2000).toISOString(),
          durationMs: 1000,
          exitCode: 0,
          signal: null,
          outputHead: '',
          outputTail: '',
          outputTruncated: false,
          revision,
        },
      ],
    });
    expect(answer.status).toBe(200);
  }

  const get = (path: string, user: SeededUser = viewer) => call(app, 'GET', path, user.token);
  const post = (path: string, user: SeededUser, body?: unknown) =>
    call(app, 'POST', path, user.token, body);

  /** The incidents of the organization as the API lists them (every page). */
  async function listAll(query = ''): Promise<Incident[]> {
    const answer = await get(`/api/v1/incidents?limit=200${query}`);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body.nextCursor).toBeNull();
    return answer.body.items as Incident[];
  }

  async function incidentOf(agentId: string, name: string | null): Promise<Incident> {
    const found = (await listAll(`&agent=${agentId}`)).find(
      (incident) => (incident.job?.name ?? null) === name,
    );
    expect(found, `an incident of ${agentId}/${name}`).toBeDefined();
    return found!;
  }

  async function deliveries(incidentId: string): Promise<string[]> {
    const rows = await app.database.rows<{ event: string }>(
      sql`select event from notification_deliveries where incident_id = ${incidentId} order by id`,
    );
    return rows.map((row) => row.event);
  }

  async function auditOf(incidentId: string) {
    return app.database.rows<{ action: string; actor_type: string; actor_id: string | null }>(
      sql`select action, actor_type, actor_id from audit_log
        where target_type = 'incident' and target_id = ${incidentId} order by id`,
    );
  }

  beforeAll(async () => {
    app = await startTestApp();
    organizationId = await seedOrganization(app.database);
    admin = await seedUser(app.database, organizationId, 'admin');
    operator = await seedUser(app.database, organizationId, 'operator');
    viewer = await seedUser(app.database, organizationId, 'viewer');
    otherAdmin = await seedUser(
      app.database,
      await seedOrganization(app.database, 'Other'),
      'admin',
    );
    // A default channel, so that every notification is queued (and can be counted).
    await app.database
      .rows(sql`insert into notification_channels (organization_id, name, kind, is_default)
      values (${organizationId}, 'ops', 'webhook', true)`);
  }, 90_000);

  beforeEach(() => {
    // Every test starts on its own day, so the worker's clock only moves forward.
    setClock(
      clock.getTime() === 0
        ? new Date('2026-02-02T00:00:00Z')
        : new Date(Date.UTC(clock.getUTCFullYear(), clock.getUTCMonth(), clock.getUTCDate() + 2)),
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('lists incidents newest first, filters them by status, kind, namespace, job and agent, and pages them', async () => {
    const t0 = clock;
    await pass(t0);
    const first = await newAgent([job('alpha'), job('beta')]);
    const second = await newAgent([job('alpha', { namespace: 'batch' })]);
    const offline = await newAgent([job('gamma')]);
    for (const agent of [first, second, offline]) await heartbeat(agent, t0);
    // first misses its fires at +5m; offline goes silent; second's spool lags behind.
    await heartbeat(first, after(t0, 7));
    await heartbeat(second, after(t0, 4));
    await pass(after(t0, 7));
    // second's fires at +5m and +10m are judged a pass later: missed. first's alpha runs at
    // +10m: resolved.
    await ran(first, 'alpha', after(t0, 10));
    await heartbeat(first, after(t0, 12));
    await heartbeat(second, after(t0, 12));
    await pass(after(t0, 12));

    const all = await listAll();
    const mine = new Set([first.agentId, second.agentId, offline.agentId]);
    const ours = all.filter((incident) => mine.has(incident.agent.id));
    expect(ours.map((incident) => `${incident.kind}:${incident.job?.name ?? '-'}`).sort()).toEqual([
      'agent_offline:-',
      'missed:alpha',
      'missed:alpha',
      'missed:beta',
    ]);
    // Newest first: (openedAt, id) descending.
    const keys = all.map((incident) => `${incident.openedAt}|${incident.id}`);
    expect(keys).toEqual([...keys].sort().reverse());
    expect(ours[0]).toMatchObject({ job: { namespace: 'batch', name: 'alpha' }, status: 'open' });

    const offlineIncident = ours.find((incident) => incident.kind === 'agent_offline')!;
    expect(offlineIncident).toMatchObject({
      agent: { id: offline.agentId },
      job: null,
      status: 'open',
      silenced: false,
      silenceId: null,
      resolvedBy: null,
      acknowledgedBy: null,
      occurrences: 1,
    });
    const resolved = ours.find(
      (incident) => incident.agent.id === first.agentId && incident.job?.name === 'alpha',
    )!;
    expect(resolved).toMatchObject({
      status: 'resolved',
      resolution: 'a run started for the fire at 2026-02-02 00:10 UTC',
      resolvedBy: null,
      resolvedAt: after(t0, 12).toISOString(),
    });

    const ids = (incidents: Incident[]) => incidents.map((incident) => incident.id).sort();
    const only = (predicate: (incident: Incident) => boolean) => ids(all.filter(predicate));
    expect(ids(await listAll('&status=open'))).toEqual(only((i) => i.status === 'open'));
    expect(ids(await listAll('&status=resolved'))).toEqual(only((i) => i.status === 'resolved'));
    expect(ids(await listAll('&kind=agent_offline'))).toEqual(
      only((i) => i.kind === 'agent_offline'),
    );
    expect(ids(await listAll('&namespace=batch'))).toEqual(
      only((i) => i.job?.namespace === 'batch'),
    );
    expect(ids(await listAll('&job=alpha'))).toEqual(only((i) => i.job?.name === 'alpha'));
    expect(ids(await listAll('&namespace=monitoring&job=alpha&status=open'))).toEqual(
      only(
        (i) => i.job?.namespace === 'monitoring' && i.job.name === 'alpha' && i.status === 'open',
      ),
    );
    expect(ids(await listAll(`&agent=${first.agentId}`))).toEqual(
      only((i) => i.agent.id === first.agentId),
    );
    expect(await listAll(`&agent=${randomUUID()}`)).toEqual([]);

    // Pages of one, following nextCursor, give the same incidents in the same order.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const answer = await get(
        `/api/v1/incidents?limit=1${cursor === null ? '' : `&cursor=${cursor}`}`,
      );
      expect(answer.status).toBe(200);
      expect(answer.body.items.length).toBeLessThanOrEqual(1);
      paged.push(...answer.body.items.map((incident: Incident) => incident.id));
      cursor = answer.body.nextCursor;
    } while (cursor !== null);
    expect(paged).toEqual(all.map((incident) => incident.id));

    // Another organization sees none of them.
    const other = await get('/api/v1/incidents', otherAdmin);
    expect(other.status).toBe(200);
    expect(other.body.items).toEqual([]);
  }, 120_000);

  it('shows one incident with its timeline, oldest event first', async () => {
    const t0 = clock;
    await pass(t0);
    const agent = await newAgent([job('timeline')]);
    await heartbeat(agent, after(t0, 7));
    await pass(after(t0, 7));
    // Two more fires missed: updated.
    await heartbeat(agent, after(t0, 17));
    await pass(after(t0, 17));
    await ran(agent, 'timeline', after(t0, 20));
    await heartbeat(agent, after(t0, 22));
    await pass(after(t0, 22));

    const { id } = await incidentOf(agent.agentId, 'timeline');
    const answer = await get(`/api/v1/incidents/${id}`);
    expect(answer.status).toBe(200);
    const detail = answer.body as IncidentDetail;
    expect(detail).toMatchObject({
      id,
      kind: 'missed',
      status: 'resolved',
      job: { namespace: 'monitoring', name: 'timeline' },
      openedAt: after(t0, 7).toISOString(),
      occurrences: 3,
      happened: 'no run started for 3 fires in a row, the last at 2026-02-04 00:15 UTC',
      resolvedBy: null,
    });
    expect(detail.events.map((event) => event.type)).toEqual(['opened', 'updated', 'resolved']);
    expect(detail.events.map((event) => event.at)).toEqual([
      after(t0, 7).toISOString(),
      after(t0, 17).toISOString(),
      after(t0, 22).toISOString(),
    ]);
    expect(detail.events[0]).toMatchObject({
      actor: { type: 'system', id: null },
      message: 'no run started for the fire at 2026-02-04 00:05 UTC',
    });

    expect((await get(`/api/v1/incidents/${randomUUID()}`)).status).toBe(404);
    const elsewhere = await get(`/api/v1/incidents/${id}`, otherAdmin);
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error.message).toBe('incident not found');
    const notUuid = await get('/api/v1/incidents/not-an-id');
    expect(notUuid.status).toBe(400);
    expect(notUuid.body.error.details).toEqual([
      { path: 'incidentId', message: expect.stringMatching(/UUID/) },
    ]);
  }, 120_000);

  it('acknowledging an incident stops its re-alerts; an unacknowledged one is re-alerted', async () => {
    const t0 = clock;
    await pass(t0);
    const settings = { ...job('x').monitoring, realertEverySeconds: 600 };
    const agent = await newAgent([
      job('acked', { monitoring: settings }),
      job('loud', { monitoring: settings }),
    ]);
    await heartbeat(agent, after(t0, 7));
    await pass(after(t0, 7));
    const acked = await incidentOf(agent.agentId, 'acked');
    const loud = await incidentOf(agent.agentId, 'loud');
    expect(await deliveries(acked.id)).toEqual(['incident.opened']);

    setClock(after(t0, 8));
    const answer = await post(`/api/v1/incidents/${acked.id}/acknowledge`, operator);
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({
      id: acked.id,
      status: 'open',
      acknowledgedAt: after(t0, 8).toISOString(),
      acknowledgedBy: { type: 'api_token', id: operator.userId, name: operator.email },
      updatedAt: after(t0, 8).toISOString(),
    });
    expect(await auditOf(acked.id)).toContainEqual({
      action: 'incident.acknowledge',
      actor_type: 'api_token',
      actor_id: operator.userId,
    });

    // Past the re-alert time (+17m), twice over: only the unacknowledged incident is re-alerted.
    await heartbeat(agent, after(t0, 19));
    await pass(after(t0, 19));
    await heartbeat(agent, after(t0, 29));
    await pass(after(t0, 29));
    expect(await deliveries(acked.id)).toEqual(['incident.opened']);
    expect(await deliveries(loud.id)).toEqual([
      'incident.opened',
      'incident.updated',
      'incident.updated',
    ]);
    const detail = (await get(`/api/v1/incidents/${acked.id}`)).body as IncidentDetail;
    expect(detail.events.map((event) => event.type)).not.toContain('realerted');
    expect(detail.events.find((event) => event.type === 'acknowledged')).toMatchObject({
      actor: { type: 'api_token', id: operator.userId, name: operator.email },
      message: `acknowledged by ${operator.email} (API token "test")`,
    });

    const again = await post(`/api/v1/incidents/${acked.id}/acknowledge`, admin);
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already acknowledged at .*; it is not re-alerted/);
  }, 120_000);

  it('resolves an incident by hand with a comment: timeline, audit, status and the resolved notification', async () => {
    const t0 = clock;
    await pass(t0);
    const agent = await newAgent([job('by-hand'), job('no-comment')]);
    await heartbeat(agent, after(t0, 7));
    await pass(after(t0, 7));
    const incident = await incidentOf(agent.agentId, 'by-hand');

    setClock(after(t0, 9));
    const answer = await post(`/api/v1/incidents/${incident.id}/resolve`, admin, {
      comment: 'ran it by hand; the disk is cleaned up',
    });
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    expect(answer.body).toMatchObject({
      id: incident.id,
      status: 'resolved',
      resolvedAt: after(t0, 9).toISOString(),
      resolution: `resolved by ${admin.email} (API token "test"): ran it by hand; the disk is cleaned up`,
      resolvedBy: { type: 'api_token', id: admin.userId, name: admin.email },
      acknowledgedAt: null,
    });
    const detail = (await get(`/api/v1/incidents/${incident.id}`)).body as IncidentDetail;
    expect(detail.status).toBe('resolved');
    expect(detail.events.map((event) => event.type)).toEqual(['opened', 'resolved']);
    expect(detail.events[1]).toMatchObject({
      at: after(t0, 9).toISOString(),
      actor: { type: 'api_token', id: admin.userId, name: admin.email },
      message: answer.body.resolution,
    });
    expect(await auditOf(incident.id)).toEqual([
      { action: 'incident.open', actor_type: 'system', actor_id: null },
      { action: 'incident.resolve', actor_type: 'api_token', actor_id: admin.userId },
    ]);
    expect(await deliveries(incident.id)).toEqual(['incident.opened', 'incident.resolved']);
    expect(await listAll(`&agent=${agent.agentId}&status=resolved`)).toEqual([answer.body]);

    // Once resolved: a 409 that says so, for both steps; nothing changes.
    for (const step of ['resolve', 'acknowledge']) {
      const refused = await post(`/api/v1/incidents/${incident.id}/${step}`, operator, {});
      expect(refused.status).toBe(409);
      expect(refused.body.error.message).toContain(
        `was already resolved at ${after(t0, 9).toISOString()}`,
      );
    }
    expect(await deliveries(incident.id)).toEqual(['incident.opened', 'incident.resolved']);

    // Without a comment (the body is `{}`), by an operator.
    const plain = await incidentOf(agent.agentId, 'no-comment');
    const resolved = await post(`/api/v1/incidents/${plain.id}/resolve`, operator, {});
    expect(resolved.status).toBe(200);
    expect(resolved.body.resolution).toBe(`resolved by ${operator.email} (API token "test")`);
  }, 120_000);

  it("resolves an agent's incident, and a job's incident whose job is gone from its agent", async () => {
    const t0 = clock;
    await pass(t0);
    const silent = await newAgent([job('on-silent')]);
    const agent = await newAgent([job('removed')]);
    await heartbeat(silent, t0);
    await heartbeat(agent, after(t0, 7));
    await pass(after(t0, 7));
    const offline = await incidentOf(silent.agentId, null);
    const removed = await incidentOf(agent.agentId, 'removed');
    // Gone without a new inventory (which would resolve the incident itself): as when a
    // resolution races the inventory that removes the job.
    await app.database.rows(
      sql`delete from job_instances where agent_id = ${agent.agentId} and name = 'removed'`,
    );

    for (const { id } of [offline, removed]) {
      const answer = await post(`/api/v1/incidents/${id}/resolve`, operator, {
        comment: 'known',
      });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body.status).toBe('resolved');
      // Its channels are told: the instance is gone, so the organization's defaults.
      expect(await deliveries(id)).toEqual(['incident.opened', 'incident.resolved']);
    }
  }, 120_000);

  it('refuses viewers, other organizations, unknown ids and invalid bodies, and changes nothing', async () => {
    const t0 = clock;
    await pass(t0);
    const agent = await newAgent([job('guarded')]);
    await heartbeat(agent, after(t0, 7));
    await pass(after(t0, 7));
    const incident = await incidentOf(agent.agentId, 'guarded');
    const path = (step: string, id = incident.id) => `/api/v1/incidents/${id}/${step}`;

    for (const step of ['acknowledge', 'resolve']) {
      const asViewer = await post(path(step), viewer, {});
      expect(asViewer.status).toBe(403);
      expect(asViewer.body.error.message).toMatch(
        /needs the write permission; your role is viewer/,
      );
      const elsewhere = await post(path(step), otherAdmin, {});
      expect(elsewhere.status).toBe(404);
      expect(JSON.stringify(elsewhere.body)).not.toContain('guarded');
      expect((await post(path(step, randomUUID()), operator, {})).status).toBe(404);
      expect((await post(path(step, 'x'), operator, {})).status).toBe(400);
    }

    const invalid: [unknown, string][] = [
      [{ comment: '' }, 'comment'],
      [{ comment: '   ' }, 'comment'],
      [{ comment: 'x'.repeat(1001) }, 'comment'],
      [{ comment: 'bell \u0007' }, 'comment'],
      [{ comment: 42 }, 'comment'],
      [{ resolution: 'mine' }, '(root)'],
      [[], '(root)'],
    ];
    for (const [body, where] of invalid) {
      const answer = await post(path('resolve'), operator, body);
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(answer.body.error.code).toBe('validation_failed');
      expect(answer.body.error.details.map((issue: { path: string }) => issue.path)).toContain(
        where,
      );
    }
    const noBody = await post(path('resolve'), operator);
    expect(noBody.status).toBe(400);
    expect(noBody.body.error.message).toMatch(/send the request body as JSON/);

    const unchanged = (await get(`/api/v1/incidents/${incident.id}`)).body as IncidentDetail;
    expect(unchanged).toMatchObject({ status: 'open', acknowledgedAt: null, resolvedAt: null });
    expect(unchanged.events.map((event) => event.type)).toEqual(['opened']);
    expect((await auditOf(incident.id)).map((row) => row.action)).toEqual(['incident.open']);

    const invalidQueries: [string, string][] = [
      ['status=closed', 'status'],
      ['kind=late', 'kind'],
      ['namespace=Not_A_Label', 'namespace'],
      ['job=a/b', 'job'],
      ['agent=db-1', 'agent'],
      ['limit=0', 'limit'],
      ['cursor=bm90LWEtY3Vyc29y', 'cursor'],
    ];
    for (const [query, where] of invalidQueries) {
      const answer = await get(`/api/v1/incidents?${query}`);
      expect(answer.status, query).toBe(400);
      expect(answer.body.error.details.map((issue: { path: string }) => issue.path)).toContain(
        where,
      );
    }
  }, 120_000);
});
