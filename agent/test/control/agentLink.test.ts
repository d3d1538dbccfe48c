import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import {
  createCronfleetClient,
  type Condition,
  type InventoryRequest,
  type InventoryResponse,
} from '@cronfleet/core/api';
import { eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../../backend/test/agentTestCalls.js';
import { seedEnrollmentToken, seedOrganization, seedUser } from '../../../backend/test/seed.js';
import { startTestApp, type TestApp } from '../../../backend/test/testApp.js';
import { agents } from '../../../backend/src/db/schema.js';
import { loadAgentConfig } from '../../src/config/agentConfig.js';
import { enrollAgent } from '../../src/control/agentEnrollment.js';
import {
  createAgentLink,
  revocationReason,
  type AgentLink,
  type AgentLinkEvent,
  type AgentLinkOptions,
} from '../../src/control/agentLink.js';
import { agentVersion } from '../../src/control/agentVersion.js';
import { AgentStateStore } from '../../src/state/agentStateStore.js';
import {
  revisionA,
  revisionB,
  runSpec,
  silentLogger,
  TcpProxy,
  waitFor,
  writeAppliedState,
} from './controlFixtures.js';

/**
 * The agent's link to the real backend (in-process, PGlite or DATABASE_URL): heartbeats and the
 * inventory as the API then shows them, the loop through a backend outage, and revocation.
 */

const repositoryUrl = 'https://git.example.com/platform/jobs.git';

let app: TestApp;
let root: string;
let stateDir: string;
let agentId: string;
let admin: { token: string };
let store: AgentStateStore;

const conditions: Condition[] = [
  {
    type: 'Ready',
    status: 'false',
    reason: 'ManifestInvalid',
    message: '1 manifest has errors',
    lastTransitionTime: '2024-05-01T02:00:00.000Z',
  },
  {
    type: 'Stalled',
    status: 'true',
    reason: 'ManifestInvalid',
    message: 'ops/broken.yaml: spec.schedule',
    lastTransitionTime: '2024-05-01T02:00:00.000Z',
  },
];
const manifestError = {
  file: 'ops/broken.yaml',
  line: 7,
  column: 13,
  job: 'ops/broken',
  path: 'spec.schedule',
  message: 'cron expression has 4 fields',
};

function config(overrides: { backend?: string | undefined; dir?: string } = {}) {
  return loadAgentConfig(
    {
      backend: 'backend' in overrides ? overrides.backend : app.baseUrl,
      stateDir: overrides.dir ?? stateDir,
      repo: repositoryUrl,
      branch: 'release',
    },
    {},
  );
}

function linkOptions(overrides: Partial<AgentLinkOptions> = {}): AgentLinkOptions {
  return {
    config: config(),
    store,
    logger: silentLogger,
    discoverUnmanaged: async () => [
      { schedule: '@reboot', command: '/usr/local/bin/warm-cache' },
      { schedule: '*/5 * * * *', command: 'date +\\%s >> /tmp/ticks' },
    ],
    timing: { intervalOverrideMs: 40, backoffBaseMs: 20, backoffMaxMs: 80, jitter: 0 },
    ...overrides,
  };
}

async function link(overrides: Partial<AgentLinkOptions> = {}): Promise<AgentLink> {
  const created = await createAgentLink(linkOptions(overrides));
  if (created === null) throw new Error('expected a link');
  return created;
}

beforeAll(async () => {
  app = await startTestApp();
  root = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-link-'));
  stateDir = path.join(root, 'state');
  const organizationId = await seedOrganization(app.database);
  admin = await seedUser(app.database, organizationId, 'admin');
  const { token } = await seedEnrollmentToken(app.database, organizationId);
  agentId = (await enrollAgent({ config: config(), enrollmentToken: token, name: 'web-1' }))
    .agentId;
  store = new AgentStateStore(stateDir);
  await store.writeStatus({
    version: 1,
    lastAppliedRevision: revisionA,
    lastAttemptedRevision: revisionB,
    conditions,
    errors: [manifestError],
    failure: null,
    lastSyncAt: '2024-05-01T02:00:00.000Z',
  });
  await writeAppliedState(
    store,
    [
      runSpec('ops/backup', revisionA, {
        concurrencyPolicy: 'Forbid',
        retries: { limit: 2, delayMs: 30_000, backoff: 'exponential' },
        monitoring: {
          graceMs: 600_000,
          maxRuntimeMs: 10_800_000,
          alertAfter: 2,
          recoverAfter: 3,
          realertEveryMs: 14_400_000,
          notify: ['dba-pager', 'ops'],
        },
        labels: { team: 'platform', tier: 'critical' },
      }),
      runSpec('ops/report', revisionA, {
        schedule: '@daily',
        timezone: 'UTC',
        native: { expression: '0 0 * * *', timezone: 'UTC', exact: true },
        suspend: true,
      }),
    ],
    [runSpec('ops/lost-spec', revisionA)],
  );
});

afterAll(async () => {
  await app?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

describe('createAgentLink', () => {
  it('is null (offline) without a backend or without an agent token', async () => {
    const empty = path.join(root, 'empty');
    const offline = { store: new AgentStateStore(empty), logger: silentLogger };
    expect(
      await createAgentLink({ ...offline, config: config({ backend: undefined, dir: empty }) }),
    ).toBeNull();
    expect(await createAgentLink({ ...offline, config: config({ dir: empty }) })).toBeNull();
  });

  it('uses the backend the agent enrolled with when the configuration names none', async () => {
    const enrolled = await link({ config: config({ backend: undefined }) });
    expect(enrolled.backendUrl).toBe(app.baseUrl);
    expect(enrolled.agentId).toBe(agentId);
  });
});

describe('heartbeat and inventory', () => {
  it('sends conditions, revisions, repository, errors and version, and adopts the interval', async () => {
    let delivered: Date | undefined;
    const agentLink = await link({ deliveredThrough: () => delivered });
    expect(agentLink.heartbeatIntervalMs).toBe(30_000);
    await app.database.db
      .update(agents)
      .set({ heartbeatIntervalSeconds: 7 })
      .where(eq(agents.id, agentId));
    expect(await agentLink.heartbeat()).toEqual({ heartbeatIntervalSeconds: 7, commands: [] });
    expect(agentLink.heartbeatIntervalMs).toBe(7000);

    const shown = await call(app, 'GET', `/api/v1/agents/${agentId}`, admin.token);
    expect(shown.body).toMatchObject({
      name: 'web-1',
      status: 'online',
      conditions,
      lastAppliedRevision: revisionA,
      lastAttemptedRevision: revisionB,
      repository: { url: repositoryUrl, branch: 'release' },
      errors: [manifestError],
      version: agentVersion(),
      heartbeatIntervalSeconds: 7,
    });
    expect(shown.body.lastHeartbeatAt).not.toBeNull();
    // No drain has emptied the spool yet: nothing is known to have arrived.
    expect(shown.body.deliveredThrough).toBeNull();

    // The spool sender's watermark goes with every heartbeat, and a heartbeat without one (a
    // restarted agent before its first drain) keeps the last.
    delivered = new Date('2024-05-01T01:59:30.000Z');
    await agentLink.heartbeat();
    const after = await call(app, 'GET', `/api/v1/agents/${agentId}`, admin.token);
    expect(after.body.deliveredThrough).toBe('2024-05-01T01:59:30.000Z');
    delivered = undefined;
    await agentLink.heartbeat();
    const kept = await call(app, 'GET', `/api/v1/agents/${agentId}`, admin.token);
    expect(kept.body.deliveredThrough).toBe('2024-05-01T01:59:30.000Z');
  });

  it('reports each installed job from its run spec as applied, and the unmanaged entries', async () => {
    const agentLink = await link();
    expect(agentLink.inventoryDirty).toBe(true);
    const report = await agentLink.reportInventory();
    expect(report).toEqual({
      sent: true,
      jobs: 2,
      unmanaged: 2,
      skipped: [
        {
          id: 'ops/lost-spec',
          reason: `no run spec for revision ${revisionA}`,
        },
      ],
    });
    expect(agentLink.inventoryDirty).toBe(false);

    const shown = await call(app, 'GET', `/api/v1/agents/${agentId}`, admin.token);
    expect(shown.body.jobInstanceCount).toBe(2);
    const jobs = await createCronfleetClient({ baseUrl: app.baseUrl, token: admin.token }).listJobs(
      { namespace: 'ops' },
    );
    expect(
      jobs.items.map((job) => ({
        id: `${job.namespace}/${job.name}`,
        schedules: job.schedules.map(({ schedule, timezone }) => ({ schedule, timezone })),
        suspended: job.suspendedInstances,
      })),
    ).toEqual([
      {
        id: 'ops/backup',
        schedules: [{ schedule: '0 2 * * *', timezone: 'Europe/Paris' }],
        suspended: 0,
      },
      { id: 'ops/report', schedules: [{ schedule: '@daily', timezone: 'UTC' }], suspended: 1 },
    ]);
  });
});

/**
 * An HTTP receiver in place of the backend's inventory route: it keeps each inventory body as it
 * arrived and answers with `answer` (the backend does not store the routing fields yet, and
 * sends no warnings yet, so the real one cannot show them).
 */
async function inventoryReceiver(answer: InventoryResponse) {
  const bodies: unknown[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      if (request.method !== 'PUT' || request.url !== '/api/v1/agents/inventory') {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ error: { code: 'not_found', message: 'no such route' } }));
        return;
      }
      bodies.push(JSON.parse(Buffer.concat(chunks).toString('utf8')));
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(answer));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    bodies,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('what the inventory carries for monitoring', () => {
  it("sends each job's recovery, re-alerting, channels, retry limit and labels from its run spec", async () => {
    const receiver = await inventoryReceiver({ jobCount: 2, unmanagedCount: 2, warnings: [] });
    try {
      const agentLink = await link({ config: config({ backend: receiver.url }) });
      expect(await agentLink.reportInventory()).toMatchObject({ sent: true, jobs: 2 });
      const [body] = receiver.bodies as InventoryRequest[];
      expect(
        body?.jobs.map(({ name, monitoring, labels }) => ({ name, monitoring, labels })),
      ).toEqual([
        {
          name: 'backup',
          monitoring: {
            graceSeconds: 600,
            maxRuntimeSeconds: 10_800,
            alertAfter: 2,
            recoverAfter: 3,
            realertEverySeconds: 14_400,
            notify: ['dba-pager', 'ops'],
            retryLimit: 2,
          },
          labels: { team: 'platform', tier: 'critical' },
        },
        {
          // A spec that sets none of them (or was written before they existed): the defaults.
          name: 'report',
          monitoring: {
            graceSeconds: 300,
            maxRuntimeSeconds: null,
            alertAfter: 1,
            recoverAfter: 1,
            realertEverySeconds: null,
            notify: [],
            retryLimit: 0,
          },
          labels: {},
        },
      ]);
    } finally {
      await receiver.close();
    }
  });

  it("logs each warning of the backend's answer at warn level, naming the job", async () => {
    const message =
      'monitoring.notify names "ops", which is no notification channel of this organization; its incidents go to the default channels';
    const receiver = await inventoryReceiver({
      jobCount: 2,
      unmanagedCount: 2,
      warnings: [
        { namespace: 'ops', name: 'backup', message },
        { namespace: 'ops', name: 'report', message: 'a second warning' },
      ],
    });
    const lines: string[] = [];
    const logger = pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) });
    try {
      const agentLink = await link({ config: config({ backend: receiver.url }), logger });
      expect(await agentLink.reportInventory()).toMatchObject({ sent: true });
      // The other warn line is the installed job without a run spec (ops/lost-spec).
      const logged = lines
        .map((line) => JSON.parse(line) as Record<string, unknown>)
        .filter(({ msg }) => String(msg).startsWith('the backend warns'));
      expect(logged.map(({ level, job, msg }) => ({ level, job, msg }))).toEqual([
        { level: 40, job: 'ops/backup', msg: `the backend warns about job ops/backup: ${message}` },
        {
          level: 40,
          job: 'ops/report',
          msg: 'the backend warns about job ops/report: a second warning',
        },
      ]);
    } finally {
      await receiver.close();
    }
  });
});

describe('the heartbeat loop', () => {
  it('keeps going while the backend is down and reports the inventory it missed once back', async () => {
    const proxy = await TcpProxy.start(app.baseUrl);
    const events: AgentLinkEvent[] = [];
    const agentLink = await link({
      config: config({ backend: proxy.url }),
      onEvent: (event) => events.push(event),
    });
    const controller = new AbortController();
    const revoked: string[] = [];
    const loop = agentLink.startHeartbeats({
      signal: controller.signal,
      onRevoked: (reason) => {
        revoked.push(reason);
      },
    });
    try {
      // The first inventory goes out after the first heartbeat (the link starts dirty).
      await waitFor(
        () => events.some((event) => event.type === 'inventory'),
        'the first inventory',
      );
      expect(events.slice(0, 2)).toEqual([
        { type: 'heartbeat', intervalMs: 7000, commands: 0 },
        { type: 'inventory', jobs: 2, unmanaged: 2, skipped: 1 },
      ]);

      // Counted from before the outage: a heartbeat may fail while the report below is failing.
      const failedAt = events.length;
      await proxy.down();
      // An apply meanwhile: its report fails and leaves the inventory dirty.
      const missed = await agentLink.reportInventory();
      expect(missed).toMatchObject({ sent: false, revoked: false });
      expect(agentLink.inventoryDirty).toBe(true);
      await waitFor(
        () => events.filter((event) => event.type === 'heartbeat-failed').length >= 4,
        'four failed heartbeats',
      );
      const failures = events.slice(failedAt).filter((event) => event.type === 'heartbeat-failed');
      expect(failures.slice(0, 4).map((event) => [event.failures, event.retryInMs])).toEqual([
        [1, 20],
        [2, 40],
        [3, 80],
        [4, 80],
      ]);

      const backAt = events.length;
      await proxy.up();
      await waitFor(
        () => events.slice(backAt).some((event) => event.type === 'inventory'),
        'the inventory after the outage',
      );
      expect(events.slice(backAt).filter((event) => event.type !== 'heartbeat-failed')).toEqual(
        expect.arrayContaining([
          { type: 'heartbeat', intervalMs: 7000, commands: 0 },
          { type: 'inventory', jobs: 2, unmanaged: 2, skipped: 1 },
        ]),
      );
      expect(agentLink.inventoryDirty).toBe(false);
    } finally {
      controller.abort();
      await proxy.close();
    }
    expect(await loop).toEqual({ reason: 'stopped' });
    expect(revoked).toEqual([]);
  });

  it('ends and calls onRevoked with the reason when the agent is revoked', async () => {
    const inventoryBefore = await readFile(store.inventoryFile, 'utf8');
    const events: AgentLinkEvent[] = [];
    const agentLink = await link({ onEvent: (event) => events.push(event) });
    const controller = new AbortController();
    const revoked: string[] = [];
    const loop = agentLink.startHeartbeats({
      signal: controller.signal,
      onRevoked: (reason) => {
        revoked.push(reason);
      },
    });
    await waitFor(() => events.some((event) => event.type === 'heartbeat'), 'a heartbeat');
    const answer = await call(app, 'POST', `/api/v1/agents/${agentId}/revoke`, admin.token, {
      reason: 'host decommissioned; moved to db-2',
    });
    expect(answer.status).toBe(200);
    expect(await loop).toEqual({
      reason: 'revoked',
      message: 'host decommissioned; moved to db-2',
    });
    expect(revoked).toEqual(['host decommissioned; moved to db-2']);
    expect(agentLink.revokedReason).toBe('host decommissioned; moved to db-2');
    expect(events.at(-1)).toEqual({
      type: 'revoked',
      reason: 'host decommissioned; moved to db-2',
    });
    // The link never touches what the agent installed.
    expect(await readFile(store.inventoryFile, 'utf8')).toBe(inventoryBefore);
    controller.abort();
  });
});

describe('revocationReason', () => {
  it('takes the reason out of the backend message, else keeps the message', () => {
    expect(
      revocationReason(
        'this agent was revoked: retired; see OPS-12; enroll it again with a new enrollment token',
      ),
    ).toBe('retired; see OPS-12');
    expect(
      revocationReason('this agent was revoked; enroll it again with a new enrollment token'),
    ).toBe('revoked');
    expect(revocationReason('unknown agent token')).toBe('unknown agent token');
  });
});
