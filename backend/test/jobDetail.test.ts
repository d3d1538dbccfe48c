import {
  apiExamples,
  createCronfleetClient,
  CronfleetApiError,
  type InventoryJob,
  type JobDetail,
} from '@cronfleet/core/api';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents } from '../src/db/schema.js';
import { openIncident } from '../src/monitoring/incidentLifecycle.js';
import { upcomingFireTimes } from '../src/runs/jobDetail.js';
import { call } from './agentTestCalls.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 13 §2: GET /api/v1/jobs/:namespace/:name, the job page's data: the summary, each
 * instance with its agent, the next 10 fire times with daylight-saving notes, open incidents.
 */

const revision = 'd'.repeat(40);
// Noon UTC the day before New York springs forward (2025-03-09, 02:00 EST → 03:00 EDT).
const now = new Date('2025-03-08T12:00:00.000Z');

function job(overrides: Partial<InventoryJob> = {}): InventoryJob {
  const [example] = apiExamples.inventoryRequest.jobs;
  return {
    ...example!,
    namespace: 'production',
    name: 'nightly-db-backup',
    schedule: '30 2 * * *',
    timezone: 'America/New_York',
    sourcePath: 'production/backup.yaml',
    revision,
    monitoring: { ...example!.monitoring, notify: [] },
    ...overrides,
  };
}

describe('job detail (GET /api/v1/jobs/:namespace/:name)', () => {
  let app: TestApp;
  let organizationId: string;
  let viewer: string;
  let otherViewer: string;
  let db1: { agentId: string; token: string };
  let db2: { agentId: string; token: string };

  const client = (token: string) =>
    createCronfleetClient({ baseUrl: app.baseUrl, token, retries: 0 });

  beforeAll(async () => {
    app = await startTestApp();
    app.setNow(now);
    organizationId = await seedOrganization(app.database, 'Acme');
    const otherOrganization = await seedOrganization(app.database, 'Other');
    viewer = (await seedUser(app.database, organizationId, 'viewer')).token;
    otherViewer = (await seedUser(app.database, otherOrganization, 'viewer')).token;
    db1 = await seedAgent(app.database, organizationId, { name: 'db-1' });
    db2 = await seedAgent(app.database, organizationId, { name: 'db-2' });
    const retired = await seedAgent(app.database, organizationId, { name: 'db-0' });
    const other = await seedAgent(app.database, otherOrganization, { name: 'other-1' });
    const put = async (token: string, jobs: InventoryJob[]) =>
      expect(
        (
          await call(app, 'PUT', '/api/v1/agents/inventory', token, {
            revision,
            jobs,
            unmanaged: [],
          })
        ).status,
      ).toBe(200);
    await put(db1.token, [job()]);
    await put(db2.token, [job({ suspended: true, sourcePath: 'production/backup-db2.yaml' })]);
    await put(retired.token, [job(), job({ name: 'retired-only' })]);
    // Revoked after it applied them: its instances are no longer shown.
    await app.database.db
      .update(agents)
      .set({ revokedAt: now, revokedReason: 'retired' })
      .where(eq(agents.id, retired.agentId));
    await put(other.token, [job(), job({ name: 'theirs-only' })]);
    // db-1 is online (a heartbeat now); db-2 never sent one.
    expect(
      (
        await call(app, 'POST', '/api/v1/agents/heartbeat', db1.token, {
          ...apiExamples.heartbeatRequest,
          errors: [],
        })
      ).status,
    ).toBe(200);
    await openIncident(
      app.database.db,
      { dashboardUrl: 'http://127.0.0.1' },
      {
        organizationId,
        agent: { id: db1.agentId, name: 'db-1' },
        job: {
          namespace: 'production',
          name: 'nightly-db-backup',
          labels: {},
          notify: [],
          realertEverySeconds: null,
          suspended: false,
        },
      },
      'failing',
      { expected: 'a successful run', happened: 'exit code 1', occurrences: 2 },
      now,
    );
  }, 90_000);

  afterAll(async () => {
    await app?.close();
  });

  it('answers the summary, each instance with its agent and settings, and the open incidents', async () => {
    const detail: JobDetail = await client(viewer).getJob('production', 'nightly-db-backup');
    const [summary] = (await client(viewer).listJobs({ q: 'nightly-db-backup' })).items;
    // The summary is the jobs list's, field for field.
    expect(detail).toMatchObject(summary!);
    expect(detail).toMatchObject({
      namespace: 'production',
      name: 'nightly-db-backup',
      instances: 2,
      suspendedInstances: 1,
      suspended: false,
    });
    expect(detail.instanceDetails).toEqual([
      {
        agent: { id: db1.agentId, name: 'db-1', status: 'online' },
        schedule: '30 2 * * *',
        scheduleDescription: expect.any(String),
        timezone: 'America/New_York',
        suspended: false,
        sourcePath: 'production/backup.yaml',
        revision,
        health: 'new',
        healthSince: expect.any(String),
        warnings: [],
        monitoring: {
          graceSeconds: 600,
          maxRuntimeSeconds: 10_800,
          alertAfter: 2,
          recoverAfter: 1,
          realertEverySeconds: 3600,
          notify: [],
        },
      },
      expect.objectContaining({
        agent: { id: db2.agentId, name: 'db-2', status: 'offline' },
        suspended: true,
        health: 'suspended',
        sourcePath: 'production/backup-db2.yaml',
      }),
    ]);
    expect(detail.openIncidents).toHaveLength(1);
    expect(detail.openIncidents[0]).toMatchObject({
      kind: 'failing',
      status: 'open',
      agent: { id: db1.agentId, name: 'db-1' },
      job: { namespace: 'production', name: 'nightly-db-backup' },
    });
  });

  it('lists the next 10 fire times in the job zone, with a note on the day the clocks change', async () => {
    const { nextFireTimes } = await client(viewer).getJob('production', 'nightly-db-backup');
    // Only db-1's instance: db-2's is suspended.
    expect(nextFireTimes).toHaveLength(10);
    expect(nextFireTimes.map((fire) => fire.at).slice(0, 3)).toEqual([
      // 02:30 does not exist on 2025-03-09: it runs at 03:00 EDT.
      '2025-03-09T07:00:00.000Z',
      '2025-03-10T06:30:00.000Z',
      '2025-03-11T06:30:00.000Z',
    ]);
    expect(nextFireTimes[0]).toEqual({
      at: '2025-03-09T07:00:00.000Z',
      schedule: '30 2 * * *',
      timezone: 'America/New_York',
      instances: 1,
      daylightSavingNote:
        'clocks go forward 1 h in America/New_York at 02:00 EST: 02:00–02:59 does not exist, a job due then runs at 03:00 EDT',
    });
    expect(nextFireTimes.slice(1).every((fire) => fire.daylightSavingNote === null)).toBe(true);
  });

  it('merges the fire times of instances that disagree, and marks the repeated hour in the fall', () => {
    const fires = upcomingFireTimes(
      [
        { schedule: '30 1 * * *', timezone: 'America/New_York', suspended: false },
        { schedule: '30 1 * * *', timezone: 'America/New_York', suspended: false },
        { schedule: '0 12 * * *', timezone: null, suspended: false },
        { schedule: '@reboot', timezone: null, suspended: false },
      ],
      new Date('2025-11-01T12:00:00Z'),
    );
    expect(fires).toHaveLength(10);
    expect(fires.slice(0, 3)).toEqual([
      {
        at: '2025-11-02T05:30:00.000Z',
        schedule: '30 1 * * *',
        timezone: 'America/New_York',
        instances: 2,
        daylightSavingNote:
          'clocks go back 1 h in America/New_York at 02:00 EDT: 01:00–01:59 happens twice; a fixed-time job runs once',
      },
      {
        at: '2025-11-02T12:00:00.000Z',
        schedule: '0 12 * * *',
        timezone: null,
        instances: 1,
        daylightSavingNote: null,
      },
      {
        at: '2025-11-03T06:30:00.000Z',
        schedule: '30 1 * * *',
        timezone: 'America/New_York',
        instances: 2,
        daylightSavingNote: null,
      },
    ]);
  });

  it('answers 404 with a clear message for an unknown job, a revoked agent only, or another organization', async () => {
    for (const [token, path] of [
      [viewer, 'production/no-such-job'],
      [viewer, 'staging/nightly-db-backup'],
      [viewer, 'production/theirs-only'],
      [viewer, 'production/retired-only'],
      [otherViewer, 'production/no-such-job'],
    ] as const) {
      const answer = await call(app, 'GET', `/api/v1/jobs/${path}`, token);
      expect(answer.status).toBe(404);
      expect(answer.body).toMatchObject({
        error: {
          code: 'not_found',
          message: expect.stringContaining(`job ${path} not found`),
        },
      });
    }
    await expect(client(viewer).getJob('production', 'no-such-job')).rejects.toBeInstanceOf(
      CronfleetApiError,
    );
    // The other organization sees its own instance only.
    const theirs = await client(otherViewer).getJob('production', 'nightly-db-backup');
    expect(theirs.instanceDetails.map((instance) => instance.agent.name)).toEqual(['other-1']);
    expect(theirs.openIncidents).toEqual([]);
  });

  it('refuses an invalid name (400) and a caller without credentials (401)', async () => {
    expect((await call(app, 'GET', '/api/v1/jobs/production/Not_A_Name', viewer)).status).toBe(400);
    expect(
      (await call(app, 'GET', '/api/v1/jobs/production/nightly-db-backup', undefined)).status,
    ).toBe(401);
  });
});
