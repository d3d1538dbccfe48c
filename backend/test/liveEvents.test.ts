import { randomUUID } from 'node:crypto';
import {
  apiExamples,
  parseLiveEvent,
  type AgentLiveEvent,
  type CheckIn,
  type HeartbeatRequest,
  type IncidentLiveEvent,
  type InventoryJob,
  type RunLiveEvent,
} from '@cronfleet/core/api';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer } from '../src/createApp.js';
import { registerEventStreamRoute } from '../src/events/eventStreamRoute.js';
import { LiveEventHub } from '../src/events/liveEventHub.js';
import { runMonitorPass, type MonitorTiming } from '../src/monitoring/monitorWorker.js';
import { call } from './agentTestCalls.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { dataOf, SseClient, type SseMessage } from './sseClient.js';
import { startTestApp, startTestReplica, type TestApp } from './testApp.js';

/**
 * Issue 13 §3: the dashboard's live events, end to end: a real HTTP client reads the stream
 * while agents check in through the real protocol and the real monitoring worker opens
 * incidents. On PostgreSQL (DATABASE_URL) a second replica shows the cross-replica path.
 */

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const minute = 60_000;
const timing: MonitorTiming = {
  intervalMs: 5_000,
  outageMs: 45 * 60_000,
  pollMs: 15_000,
  watermarkWaitMs: 5_000,
  idleMs: 3_600_000,
  offlineAfterIntervals: 3,
  fireLimit: 100,
};

function job(name: string): InventoryJob {
  const [example] = apiExamples.inventoryRequest.jobs;
  return {
    ...example!,
    namespace: 'live',
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
    labels: {},
  };
}

function start(name: string, runId = randomUUID()): CheckIn {
  return {
    kind: 'start',
    runId,
    namespace: 'live',
    name,
    attempt: 1,
    trigger: 'manual',
    scheduledAt: null,
    startedAt: new Date().toISOString(),
    revision,
  };
}

function finish(name: string, runId: string): CheckIn {
  return {
    kind: 'finish',
    runId,
    namespace: 'live',
    name,
    attempt: 1,
    status: 'succeeded',
    finishedAt: new Date().toISOString(),
    durationMs: 1200,
    exitCode: 0,
    signal: null,
    outputHead: 'ok',
    outputTail: '',
    outputTruncated: false,
    revision,
  };
}

async function checkIn(app: TestApp, agentToken: string, items: CheckIn[]) {
  const answer = await call(app, 'POST', '/api/v1/check-ins', agentToken, { checkIns: items });
  expect(answer.status).toBe(200);
}

function openStream(app: TestApp, token: string, lastEventId?: string) {
  return SseClient.open(`${app.baseUrl}/api/v1/events`, {
    authorization: `Bearer ${token}`,
    ...(lastEventId === undefined ? {} : { 'last-event-id': lastEventId }),
  });
}

const runOf = (runId: string, status?: string) => (message: SseMessage) =>
  message.event === 'run' &&
  (JSON.parse(message.data) as RunLiveEvent).runId === runId &&
  (status === undefined || (JSON.parse(message.data) as RunLiveEvent).status === status);

describe('live events (GET /api/v1/events)', () => {
  let app: TestApp;
  let organizationA: string;
  let viewerA: string;
  let viewerB: string;
  let agentA: { agentId: string; token: string };
  let agentB: { agentId: string; token: string };
  const streams: SseClient[] = [];

  const stream = async (token: string, lastEventId?: string) => {
    const client = await openStream(app, token, lastEventId);
    streams.push(client);
    return client;
  };

  beforeAll(async () => {
    app = await startTestApp();
    organizationA = await seedOrganization(app.database, 'Alpha');
    const organizationB = await seedOrganization(app.database, 'Beta');
    viewerA = (await seedUser(app.database, organizationA, 'viewer')).token;
    viewerB = (await seedUser(app.database, organizationB, 'viewer')).token;
    agentA = await seedAgent(app.database, organizationA, { name: 'alpha-1' });
    agentB = await seedAgent(app.database, organizationB, { name: 'beta-1' });
  }, 90_000);

  afterAll(async () => {
    for (const client of streams) await client.close();
    await app?.close();
  });

  it('answers a stream with the headers proxies and browsers need, under the security headers', async () => {
    const client = await stream(viewerA);
    expect(client.status).toBe(200);
    expect(client.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(client.headers.get('cache-control')).toBe('no-store, no-transform');
    expect(client.headers.get('x-accel-buffering')).toBe('no');
    expect(client.headers.get('content-encoding')).toBeNull();
    expect(client.headers.get('content-security-policy')).toContain("connect-src 'self'");
    await client.opened();
    expect(client.retry).toBe(5000);
    expect(client.lastEventId).toMatch(/^[0-9a-f]{8}\.\d+$/);
    await client.close();
  });

  it('refuses a caller without credentials (401) and sends no stream', async () => {
    const response = await fetch(`${app.baseUrl}/api/v1/events`);
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/json');
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'unauthorized',
    );
  });

  it("streams a run's start and finish to its organization, and never another organization's", async () => {
    const a = await stream(viewerA);
    const b = await stream(viewerB);
    await Promise.all([a.opened(), b.opened()]);
    const runB = randomUUID();
    const runA = randomUUID();
    // B's check-in commits first: had A's stream been sent B's event, it would come before A's.
    await checkIn(app, agentB.token, [start('beta-job', runB)]);
    await checkIn(app, agentA.token, [start('alpha-job', runA)]);
    const started = await a.next(runOf(runA, 'running'));
    expect(JSON.parse(started.data)).toEqual({
      runId: runA,
      namespace: 'live',
      name: 'alpha-job',
      agentId: agentA.agentId,
      status: 'running',
      startedAt: expect.any(String),
      finishedAt: null,
    });
    expect(parseLiveEvent(started.id, started.event, started.data)).not.toBeNull();
    await checkIn(app, agentA.token, [finish('alpha-job', runA)]);
    const finished = JSON.parse((await a.next(runOf(runA, 'succeeded'))).data) as RunLiveEvent;
    expect(finished.finishedAt).not.toBeNull();
    await b.next(runOf(runB, 'running'));

    const seenByA = JSON.stringify(a.messages);
    expect(seenByA).not.toContain(runB);
    expect(seenByA).not.toContain(agentB.agentId);
    expect(JSON.stringify(b.messages)).not.toContain(runA);
    // Ids increase within a stream.
    const ids = a.messages.map((message) => Number(message.id.split('.')[1]));
    expect(ids).toEqual([...ids].sort((x, y) => x - y));
  });

  it('sends one event per run of a batch, from one notification per chunk of the batch', async () => {
    const a = await stream(viewerA);
    await a.opened();
    const runIds = Array.from({ length: 120 }, () => randomUUID());
    await checkIn(
      app,
      agentA.token,
      runIds.map((runId) => start('batch-job', runId)),
    );
    for (const runId of runIds) await a.next(runOf(runId, 'running'), 30_000);
    expect(
      dataOf<RunLiveEvent>(a.messages, 'run').filter((r) => r.name === 'batch-job'),
    ).toHaveLength(120);
  });

  it('resumes from Last-Event-ID with what was missed, and asks for a refetch when it cannot', async () => {
    const watcher = await stream(viewerA);
    const first = await stream(viewerA);
    await Promise.all([watcher.opened(), first.opened()]);
    const before = randomUUID();
    await checkIn(app, agentA.token, [start('resume-job', before)]);
    const seen = await first.next(runOf(before));
    await first.close();

    const missed = randomUUID();
    await checkIn(app, agentA.token, [start('resume-job', missed)]);
    // Once the watcher has it, this replica has it in its ring.
    await watcher.next(runOf(missed));

    const resumed = await stream(viewerA, seen.id);
    const replayed = await resumed.next(runOf(missed));
    expect(replayed.id).toBe((await watcher.next(runOf(missed))).id);
    expect(resumed.messages.some(runOf(before))).toBe(false);

    const unknown = await stream(viewerA, 'ffffffff.12');
    const refetch = await unknown.next((message) => message.event === 'refetch');
    expect(JSON.parse(refetch.data)).toEqual({ reason: expect.stringContaining('Last-Event-ID') });
    const future = await stream(viewerA, `${seen.id.split('.')[0]}.999999`);
    await future.next((message) => message.event === 'refetch');
    // Another organization's stream resuming from A's id gets nothing of A.
    const other = await stream(viewerB, seen.id);
    await other.opened();
    expect(other.messages.filter((message) => message.event === 'run')).toEqual([]);
  });

  it('streams the incident the monitoring worker opens, and the agent that went offline', async () => {
    const a = await stream(viewerA);
    const b = await stream(viewerB);
    await Promise.all([a.opened(), b.opened()]);
    const t0 = new Date('2026-02-02T00:00:00Z');
    app.setNow(t0);
    await runMonitorPass(app.context, { now: t0 }, timing);
    const agent = await seedAgent(app.database, organizationA, { name: 'alpha-misses' });
    const inventory = await call(app, 'PUT', '/api/v1/agents/inventory', agent.token, {
      revision,
      jobs: [job('misses')],
      unmanaged: [],
    });
    expect(inventory.status).toBe(200);
    const heartbeat = async (at: Date) => {
      app.setNow(at);
      const body: HeartbeatRequest = {
        ...apiExamples.heartbeatRequest,
        errors: [],
        runningRunIds: [],
        deliveredThrough: at.toISOString(),
      };
      expect((await call(app, 'POST', '/api/v1/agents/heartbeat', agent.token, body)).status).toBe(
        200,
      );
    };
    await heartbeat(t0);
    // Its first heartbeat brought it online: an agent event.
    const online = await a.next(
      (message) =>
        message.event === 'agent' &&
        (JSON.parse(message.data) as AgentLiveEvent).agentId === agent.agentId,
    );
    expect(JSON.parse(online.data)).toMatchObject({
      name: 'alpha-misses',
      status: 'online',
      online: true,
    });
    // The fire at +5m never starts: at +7m the worker opens a missed incident.
    const t7 = new Date(t0.getTime() + 7 * minute);
    await heartbeat(t7);
    app.setNow(t7);
    await runMonitorPass(app.context, { now: t7 }, timing);
    const opened = await a.next(
      (message) =>
        message.event === 'incident' &&
        (JSON.parse(message.data) as IncidentLiveEvent).agent.id === agent.agentId,
    );
    expect(JSON.parse(opened.data)).toMatchObject({
      action: 'opened',
      kind: 'missed',
      status: 'open',
      acknowledged: false,
      job: { namespace: 'live', name: 'misses' },
      agent: { id: agent.agentId, name: 'alpha-misses' },
    });
    const incidentId = (JSON.parse(opened.data) as IncidentLiveEvent).id;

    // Acknowledged through the API: an event too.
    const operator = (await seedUser(app.database, organizationA, 'operator')).token;
    const ack = await call(app, 'POST', `/api/v1/incidents/${incidentId}/acknowledge`, operator);
    expect(ack.status).toBe(200);
    const acknowledged = await a.next(
      (message) =>
        message.event === 'incident' &&
        (JSON.parse(message.data) as IncidentLiveEvent).action === 'acknowledged',
    );
    expect(JSON.parse(acknowledged.data)).toMatchObject({ id: incidentId, acknowledged: true });

    // The agent falls silent: the worker opens agent_offline, and the agent's status changes.
    const later = new Date(t7.getTime() + 30 * minute);
    app.setNow(later);
    await runMonitorPass(app.context, { now: later }, timing);
    await a.next(
      (message) =>
        message.event === 'incident' &&
        (JSON.parse(message.data) as IncidentLiveEvent).kind === 'agent_offline',
    );
    const offline = await a.next(
      (message) =>
        message.event === 'agent' &&
        (JSON.parse(message.data) as AgentLiveEvent).agentId === agent.agentId &&
        (JSON.parse(message.data) as AgentLiveEvent).status === 'offline',
    );
    expect(JSON.parse(offline.data)).toMatchObject({ online: false });
    app.setNow(undefined);

    // B's stream heard nothing of it.
    const seenByB = JSON.stringify(b.messages);
    expect(seenByB).not.toContain(agent.agentId);
    expect(seenByB).not.toContain(incidentId);
  });

  it('streams an agent revoked by an admin', async () => {
    const a = await stream(viewerA);
    await a.opened();
    const doomed = await seedAgent(app.database, organizationA, { name: 'alpha-doomed' });
    const admin = (await seedUser(app.database, organizationA, 'admin')).token;
    const revoked = await call(
      app,
      'POST',
      `/api/v1/agents/${doomed.agentId}/revoke`,
      admin,
      apiExamples.revokeAgentRequest,
    );
    expect(revoked.status).toBe(200);
    const event = await a.next(
      (message) =>
        message.event === 'agent' &&
        (JSON.parse(message.data) as AgentLiveEvent).agentId === doomed.agentId,
    );
    expect(JSON.parse(event.data)).toMatchObject({
      name: 'alpha-doomed',
      status: 'revoked',
      online: false,
    });
  });

  it('ends a stream whose caller lost access, at the next keep-alive', async () => {
    // The route on an app of its own, with keep-alives every 200 ms.
    const own = express();
    const streams = registerEventStreamRoute(
      own,
      app.context,
      new LiveEventHub(app.context.database, app.context.logger, app.context.now),
      { keepAliveMs: 200 },
    );
    const server = http.createServer(own).listen(0, '127.0.0.1');
    await once(server, 'listening');
    try {
      const admin = await seedUser(app.database, organizationA, 'admin');
      const member = await seedUser(app.database, organizationA, 'viewer');
      const client = await SseClient.open(
        `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/events`,
        { authorization: `Bearer ${member.token}` },
      );
      await client.opened();
      await vi.waitFor(() => expect(client.comments).toContain('keep-alive'), { timeout: 10_000 });
      expect(streams.count).toBe(1);
      const removed = await call(app, 'DELETE', `/api/v1/users/${member.userId}`, admin.token);
      expect(removed.status).toBe(200);
      await vi.waitFor(() => expect(streams.count).toBe(0), { timeout: 10_000 });
      await client.close();
    } finally {
      server.closeAllConnections();
      server.close();
    }
  });

  it('ends its streams when the server closes, so that it can stop', async () => {
    const server = createServer(app.context).listen(0, '127.0.0.1');
    await once(server, 'listening');
    const client = await SseClient.open(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/events`,
      { authorization: `Bearer ${viewerA}` },
    );
    await client.opened();
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error === undefined ? resolve() : reject(error))),
    );
    await client.close();
  });

  it('releases the subscription when the client disconnects', async () => {
    const client = await stream(viewerA);
    await client.opened();
    await client.close();
    // The server saw the disconnect: a new stream and a check-in still work, nothing leaks.
    const again = await stream(viewerA);
    await again.opened();
    const runId = randomUUID();
    await checkIn(app, agentA.token, [start('after-close', runId)]);
    await again.next(runOf(runId));
  });
});

describe.runIf(process.env.DATABASE_URL !== undefined)('live events across replicas', () => {
  let primary: TestApp;
  let replica: TestApp;

  beforeAll(async () => {
    primary = await startTestApp();
    replica = await startTestReplica(primary);
  }, 90_000);

  afterAll(async () => {
    await replica?.close();
    await primary?.close();
  });

  it('delivers a change made through replica A to a stream on replica B, and only to its organization', async () => {
    const organization = await seedOrganization(primary.database, 'Replicated');
    const otherOrganization = await seedOrganization(primary.database, 'Elsewhere');
    const viewer = (await seedUser(primary.database, organization, 'viewer')).token;
    const otherViewer = (await seedUser(primary.database, otherOrganization, 'viewer')).token;
    const agent = await seedAgent(primary.database, organization);
    const otherAgent = await seedAgent(primary.database, otherOrganization);
    const onB = await openStream(replica, viewer);
    const otherOnB = await openStream(replica, otherViewer);
    try {
      await Promise.all([onB.opened(), otherOnB.opened()]);
      const runId = randomUUID();
      const otherRunId = randomUUID();
      await checkIn(primary, otherAgent.token, [start('elsewhere', otherRunId)]);
      await checkIn(primary, agent.token, [start('replicated', runId)]);
      const event = await onB.next(runOf(runId, 'running'));
      expect(JSON.parse(event.data)).toMatchObject({ agentId: agent.agentId, name: 'replicated' });
      await otherOnB.next(runOf(otherRunId));
      expect(JSON.stringify(onB.messages)).not.toContain(otherRunId);

      // An id of replica B means nothing to replica A: refetch.
      const onA = await openStream(primary, viewer, event.id);
      try {
        await onA.next((message) => message.event === 'refetch');
      } finally {
        await onA.close();
      }
    } finally {
      await onB.close();
      await otherOnB.close();
    }
  });
});
