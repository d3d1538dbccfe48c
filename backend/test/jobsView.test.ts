import { randomUUID } from 'node:crypto';
import { createCronfleetClient, type CheckIn, type ListJobsResponse } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobInstances } from '../src/db/schema.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

const revision = 'c'.repeat(40);
const now = new Date('2024-06-10T12:00:00.000Z');
const hour = 60 * 60 * 1000;

type Outcome = 'succeeded' | 'failed' | 'timed_out' | 'skipped' | 'lost' | 'running';

/** A run of production/backup that started `hoursAgo` before now. */
function runOf(job: string, hoursAgo: number, outcome: Outcome, durationMs: number): CheckIn[] {
  const [namespace = '', name = ''] = job.split('/');
  const runId = randomUUID();
  const startedAt = new Date(now.getTime() - hoursAgo * hour);
  const start: CheckIn = {
    kind: 'start',
    runId,
    namespace,
    name,
    attempt: 1,
    trigger: 'scheduled',
    scheduledAt: startedAt.toISOString(),
    startedAt: startedAt.toISOString(),
    revision,
  };
  if (outcome === 'running') return [start];
  if (outcome === 'lost') return [start]; // marked lost below, as the detection worker would
  return [
    start,
    {
      kind: 'finish',
      runId,
      namespace,
      name,
      attempt: 1,
      status: outcome,
      finishedAt: new Date(startedAt.getTime() + durationMs).toISOString(),
      durationMs,
      exitCode: outcome === 'succeeded' ? 0 : outcome === 'skipped' ? null : 1,
      signal: null,
      outputHead: '',
      outputTail: '',
      outputTruncated: false,
      revision,
    },
  ];
}

describe('jobs view', () => {
  let app: TestApp;
  let viewer: string;
  let otherViewer: string;
  let lastRunId: string;

  async function jobs(query: Record<string, string> = {}, token = viewer) {
    const response = await fetch(
      `${app.baseUrl}/api/v1/jobs?${new URLSearchParams(query).toString()}`,
      { headers: { authorization: `Bearer ${token}` } },
    );
    return { status: response.status, body: (await response.json()) as ListJobsResponse };
  }

  beforeAll(async () => {
    app = await startTestApp();
    app.setNow(now);
    const organizationId = await seedOrganization(app.database, 'Acme');
    const otherOrganizationId = await seedOrganization(app.database, 'Other');
    const db1 = await seedAgent(app.database, organizationId);
    const db2 = await seedAgent(app.database, organizationId);
    const revoked = await seedAgent(app.database, organizationId, { revokedReason: 'retired' });
    const other = await seedAgent(app.database, otherOrganizationId);
    viewer = (await seedUser(app.database, organizationId, 'viewer')).token;
    otherViewer = (await seedUser(app.database, otherOrganizationId, 'viewer')).token;

    const instance = (
      agentId: string,
      organization: string,
      job: string,
      schedule: string,
      timezone: string | null,
      suspended = false,
    ) => {
      const [namespace = '', name = ''] = job.split('/');
      return {
        organizationId: organization,
        agentId,
        namespace,
        name,
        schedule,
        timezone,
        commandDigest: 'd'.repeat(64),
        sourcePath: `${namespace}/${name}.yaml`,
        revision,
        suspended,
        scheduler: 'crontab',
        graceSeconds: 600,
        labels: namespace === 'production' ? { team: 'dba' } : { team: 'web' },
      };
    };
    await app.database.db
      .insert(jobInstances)
      .values([
        instance(db1.agentId, organizationId, 'production/backup', '0 2 * * *', 'America/New_York'),
        instance(db2.agentId, organizationId, 'production/backup', '0 2 * * *', 'America/New_York'),
        instance(db1.agentId, organizationId, 'staging/report', '*/15 * * * *', 'UTC'),
        instance(db2.agentId, organizationId, 'staging/report', '0 * * * *', null),
        instance(db1.agentId, organizationId, 'production/on-boot', '@reboot', null),
        instance(db1.agentId, organizationId, 'production/paused', '0 3 * * *', null, true),
        instance(db2.agentId, organizationId, 'production/paused', '0 4 * * *', null, true),
        instance(revoked.agentId, organizationId, 'production/retired', '0 5 * * *', null),
        instance(other.agentId, otherOrganizationId, 'production/backup', '0 9 * * *', null),
      ]);

    const send = async (token: string, checkIns: CheckIn[]) => {
      const response = await fetch(`${app.baseUrl}/api/v1/check-ins`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ checkIns }),
      });
      expect(response.status).toBe(200);
    };
    const lost = runOf('production/backup', 30, 'lost', 0);
    const running = runOf('production/backup', 1, 'running', 0);
    lastRunId = running[0]?.runId ?? '';
    await send(db1.token, [
      ...runOf('production/backup', 150, 'succeeded', 100),
      ...runOf('production/backup', 120, 'succeeded', 200),
      ...runOf('production/backup', 100, 'succeeded', 300),
      ...runOf('production/backup', 72, 'skipped', 0),
      ...lost,
      // 8 days ago: outside the 7-day window
      ...runOf('production/backup', 8 * 24, 'failed', 99_999),
      // another organization's job of the same name
      ...running,
    ]);
    await send(db2.token, [
      ...runOf('production/backup', 50, 'failed', 400),
      ...runOf('production/backup', 10, 'timed_out', 1000),
    ]);
    await send(other.token, runOf('production/backup', 2, 'failed', 5));
    await app.database.rows(
      sql`update runs set status = 'lost' where run_id = ${lost[0]?.runId ?? ''}`,
    );
  }, 60_000);
  afterAll(async () => {
    await app.close();
  });

  it('summarizes each job across its instances, with 7-day success rate and p50/p95', async () => {
    const { status, body } = await jobs();
    expect(status).toBe(200);
    expect(body.items.map((job) => `${job.namespace}/${job.name}`)).toEqual([
      'production/backup',
      'production/on-boot',
      'production/paused',
      'staging/report',
    ]);
    const backup = body.items[0];
    expect(backup).toEqual({
      namespace: 'production',
      name: 'backup',
      schedule: '0 2 * * *',
      scheduleDescription: expect.stringContaining('02:00') as string,
      schedules: [
        {
          schedule: '0 2 * * *',
          description: expect.stringContaining('02:00') as string,
          timezone: 'America/New_York',
          instances: 2,
        },
      ],
      // 02:00 in New York (EDT, UTC−4) after 12:00 UTC
      nextRunAt: '2024-06-11T06:00:00.000Z',
      lastRun: {
        runId: lastRunId,
        agentId: expect.any(String) as string,
        status: 'running',
        startedAt: '2024-06-10T11:00:00.000Z',
        finishedAt: null,
        durationMs: null,
      },
      // 3 succeeded, failed, timed_out, skipped, lost, running (the 8-day-old run is outside)
      runs7d: 8,
      // succeeded ÷ (succeeded + failed + timed_out + lost) = 3 ÷ 6
      successRate7d: 0.5,
      // durations 100, 200, 300, 400, 1000: median 300; p95 = 400 + 0.8 × 600
      p50DurationMs7d: 300,
      p95DurationMs7d: 880,
      instances: 2,
      suspendedInstances: 0,
      suspended: false,
      labels: { team: 'dba' },
      // Every run of the job in this organization, newest first (the running one of an hour ago).
      recentRuns: expect.arrayContaining([]) as unknown,
      // The monitoring worker has not judged them yet.
      health: 'new',
      instanceHealth: [
        expect.objectContaining({ health: 'new', warnings: [] }),
        expect.objectContaining({ health: 'new', warnings: [] }),
      ],
    });
  });

  it('lists the last 20 runs of a job over its instances, newest first, and filters by label', async () => {
    const backup = (await jobs()).body.items[0]!;
    expect(backup.recentRuns).toHaveLength(9);
    expect(backup.recentRuns[0]).toEqual({
      runId: lastRunId,
      status: 'running',
      startedAt: '2024-06-10T11:00:00.000Z',
    });
    const starts = backup.recentRuns.map((run) => run.startedAt);
    expect([...starts].sort().reverse()).toEqual(starts);
    const names = async (label: string | string[]) => {
      const query = new URLSearchParams();
      for (const selector of [label].flat()) query.append('label', selector);
      const response = await fetch(`${app.baseUrl}/api/v1/jobs?${query.toString()}`, {
        headers: { authorization: `Bearer ${viewer}` },
      });
      const body = (await response.json()) as ListJobsResponse;
      return body.items.map((job) => `${job.namespace}/${job.name}`);
    };
    expect(await names('team=web')).toEqual(['staging/report']);
    expect(await names(['team=dba', 'team=web'])).toEqual([]);
    expect((await names('team=dba')).length).toBe(3);
  });

  it('shows health per instance and as a whole (the worst), silenced when every open incident is, and filters by it', async () => {
    const [first, second] = (await jobs()).body.items[0]!.instanceHealth;
    const setHealth = (agentId: string, health: string) =>
      app.database.rows(sql`update job_instances set health = ${health}::job_health
        where agent_id = ${agentId} and name = 'backup'`);
    const openIncident = (agentId: string, silenced: boolean) =>
      app.database.rows(sql`insert into incidents (organization_id, kind, agent_id, namespace, name,
          opened_at, updated_at, expected, happened, silence_id)
        select organization_id, 'failing', agent_id, namespace, name, now(), now(), 'e', 'h',
          ${silenced ? sql`gen_random_uuid()` : sql`null`}
        from job_instances where agent_id = ${agentId} and name = 'backup'`);
    try {
      await setHealth(first!.agentId, 'up');
      await setHealth(second!.agentId, 'failing');
      await openIncident(second!.agentId, true);
      let backup = (await jobs()).body.items[0]!;
      expect(backup.instanceHealth.map((instance) => instance.health).sort()).toEqual([
        'silenced',
        'up',
      ]);
      expect(backup.health).toBe('silenced');
      await openIncident(first!.agentId, false);
      await setHealth(first!.agentId, 'failing');
      backup = (await jobs()).body.items[0]!;
      expect(backup.health).toBe('failing');
      const names = async (health: string) =>
        (await jobs({ health })).body.items.map((job) => `${job.namespace}/${job.name}`);
      expect(await names('failing')).toEqual(['production/backup']);
      expect(await names('new')).toEqual(['production/on-boot', 'staging/report']);
      expect(await names('suspended')).toEqual(['production/paused']);
      expect((await jobs({ health: 'sick' })).status).toBe(400);
    } finally {
      await app.database.rows(sql`delete from incidents`);
      await app.database.rows(sql`update job_instances set health = 'new'`);
    }
  });

  it('pages in namespace/name order with a keyset cursor, with the total of every filter', async () => {
    const all = (await jobs()).body;
    expect(all.items.map((job) => `${job.namespace}/${job.name}`)).toEqual([
      'production/backup',
      'production/on-boot',
      'production/paused',
      'staging/report',
    ]);
    expect(all).toMatchObject({ total: 4, nextCursor: null });

    const seen: string[] = [];
    let cursor: string | undefined;
    for (let pages = 1; ; pages += 1) {
      const { status, body } = await jobs({ limit: '3', ...(cursor ? { cursor } : {}) });
      expect(status).toBe(200);
      expect(body.total).toBe(4);
      seen.push(...body.items.map((job) => `${job.namespace}/${job.name}`));
      if (body.nextCursor === null) {
        expect(pages).toBe(2);
        break;
      }
      cursor = body.nextCursor;
    }
    expect(seen).toEqual(all.items.map((job) => `${job.namespace}/${job.name}`));
    // Each page's figures are those of the whole list.
    const page2 = (await jobs({ limit: '1', cursor: cursor! })).body.items[0];
    expect(page2).toEqual(all.items[3]);

    // Filters and the cursor together; a cursor past the end still counts what matches.
    const production = await jobs({ namespace: 'production', limit: '2' });
    expect(production.body).toMatchObject({ total: 3 });
    expect(production.body.items).toHaveLength(2);
    const rest = await jobs({
      namespace: 'production',
      limit: '2',
      cursor: production.body.nextCursor!,
    });
    expect(rest.body.items.map((job) => job.name)).toEqual(['paused']);
    expect(rest.body).toMatchObject({ total: 3, nextCursor: null });
    const pastTheEnd = await jobs({ cursor: Buffer.from('["zzz","zzz"]').toString('base64url') });
    expect(pastTheEnd.body).toEqual({ items: [], nextCursor: null, total: 4 });

    // A cursor this server did not issue, and a limit out of range, are 400s that say so.
    const forged = await jobs({ cursor: Buffer.from('[1,2]').toString('base64url') });
    expect(forged.status).toBe(400);
    expect(JSON.stringify(forged.body)).toMatch(/cursor/);
    expect((await jobs({ limit: '0' })).status).toBe(400);
    expect((await jobs({ limit: '201' })).status).toBe(400);
  });

  it('lists the distinct schedules when instances disagree, and the earliest next run', async () => {
    const report = (await jobs()).body.items.find((job) => job.name === 'report');
    expect(report).toMatchObject({
      schedule: null,
      scheduleDescription: null,
      schedules: [
        { schedule: '*/15 * * * *', timezone: 'UTC', instances: 1 },
        { schedule: '0 * * * *', timezone: null, instances: 1 },
      ],
      nextRunAt: '2024-06-10T12:15:00.000Z',
      lastRun: null,
      runs7d: 0,
      successRate7d: null,
      p50DurationMs7d: null,
      p95DurationMs7d: null,
      instances: 2,
    });
  });

  it('has no next run for @reboot or a suspended job', async () => {
    const items = (await jobs()).body.items;
    expect(items.find((job) => job.name === 'on-boot')).toMatchObject({
      schedule: '@reboot',
      scheduleDescription: expect.stringContaining('@reboot') as string,
      nextRunAt: null,
      suspended: false,
    });
    expect(items.find((job) => job.name === 'paused')).toMatchObject({
      nextRunAt: null,
      suspended: true,
      suspendedInstances: 2,
      instances: 2,
    });
  });

  it('filters by namespace and by text, literally', async () => {
    const names = async (query: Record<string, string>) =>
      (await jobs(query)).body.items.map((job) => `${job.namespace}/${job.name}`);
    expect(await names({ namespace: 'staging' })).toEqual(['staging/report']);
    expect(await names({ q: 'BACK' })).toEqual(['production/backup']);
    expect(await names({ q: 'production/p' })).toEqual(['production/paused']);
    for (const q of ['%', '_', '\\', "'", "' or '1'='1", 'x%y', '[a-z]']) {
      expect(await names({ q }), q).toEqual([]);
    }
    expect((await jobs({ namespace: "prod' or 1=1 --" })).status).toBe(400);
    expect((await jobs({ q: '' })).status).toBe(400);
  });

  it('shows another organization only its own jobs and runs', async () => {
    const { body } = await jobs({}, otherViewer);
    expect(body.items).toHaveLength(1);
    expect(body.items[0]).toMatchObject({
      namespace: 'production',
      name: 'backup',
      schedule: '0 9 * * *',
      runs7d: 1,
      successRate7d: 0,
      p50DurationMs7d: 5,
      instances: 1,
    });
  });

  it('is served to the typed client of core', async () => {
    const client = createCronfleetClient({ baseUrl: app.baseUrl, token: viewer });
    const { items } = await client.listJobs({ namespace: 'staging' });
    expect(items.map((job) => job.name)).toEqual(['report']);
    const stats = await client.getStats();
    expect(stats.jobs.total).toBe(4);
    expect(stats.runsPerHour).toHaveLength(24);
  });

  it('needs a user credential', async () => {
    expect((await fetch(`${app.baseUrl}/api/v1/jobs`)).status).toBe(401);
  });
});
