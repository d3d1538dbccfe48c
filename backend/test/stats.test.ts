import { randomUUID } from 'node:crypto';
import type { CheckIn, RunStatus, StatsResponse } from '@cronfleet/core/api';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { agents, jobInstances } from '../src/db/schema.js';
import { emptyHourBuckets } from '../src/runs/summarizeStats.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

const revision = 'e'.repeat(40);
const now = new Date('2024-06-10T12:30:00.000Z');

function runOf(job: string, startedAt: string, outcome: RunStatus): CheckIn[] {
  const [namespace = '', name = ''] = job.split('/');
  const runId = randomUUID();
  const start: CheckIn = {
    kind: 'start',
    runId,
    namespace,
    name,
    attempt: 1,
    trigger: 'scheduled',
    scheduledAt: null,
    startedAt,
    revision,
  };
  if (outcome === 'running' || outcome === 'lost') return [start];
  return [
    start,
    {
      kind: 'finish',
      runId,
      namespace,
      name,
      attempt: 1,
      status: outcome,
      finishedAt: new Date(Date.parse(startedAt) + 1000).toISOString(),
      durationMs: 1000,
      exitCode: outcome === 'succeeded' ? 0 : 1,
      signal: null,
      outputHead: '',
      outputTail: '',
      outputTruncated: false,
      revision,
    },
  ];
}

describe('stats', () => {
  let app: TestApp;
  let viewer: string;
  let otherViewer: string;

  async function stats(token = viewer) {
    const response = await fetch(`${app.baseUrl}/api/v1/stats`, {
      headers: { authorization: `Bearer ${token}` },
    });
    return { status: response.status, body: (await response.json()) as StatsResponse };
  }

  beforeAll(async () => {
    app = await startTestApp();
    app.setNow(now);
    const organizationId = await seedOrganization(app.database, 'Acme');
    const otherOrganizationId = await seedOrganization(app.database, 'Other');
    viewer = (await seedUser(app.database, organizationId, 'viewer')).token;
    otherViewer = (await seedUser(app.database, otherOrganizationId, 'viewer')).token;

    // heartbeat interval 30 s: online while the last heartbeat is less than 70 s old
    const heartbeat = async (agentId: string, secondsAgo: number | null) =>
      app.database.db
        .update(agents)
        .set({
          lastHeartbeatAt: secondsAgo === null ? null : new Date(now.getTime() - secondsAgo * 1000),
        })
        .where(eq(agents.id, agentId));
    const fresh = await seedAgent(app.database, organizationId);
    const edge = await seedAgent(app.database, organizationId);
    const late = await seedAgent(app.database, organizationId);
    await seedAgent(app.database, organizationId); // never sent a heartbeat
    const revoked = await seedAgent(app.database, organizationId, { revokedReason: 'gone' });
    const other = await seedAgent(app.database, otherOrganizationId);
    await heartbeat(fresh.agentId, 5);
    await heartbeat(edge.agentId, 69.9);
    await heartbeat(late.agentId, 70);
    await heartbeat(revoked.agentId, 1);
    await heartbeat(other.agentId, 1);

    const instance = (agentId: string, organization: string, name: string) => ({
      organizationId: organization,
      agentId,
      namespace: 'production',
      name,
      schedule: '0 * * * *',
      timezone: null,
      commandDigest: 'd'.repeat(64),
      sourcePath: `production/${name}.yaml`,
      revision,
      scheduler: 'crontab',
      graceSeconds: 600,
    });
    await app.database.db
      .insert(jobInstances)
      .values([
        instance(fresh.agentId, organizationId, 'good'),
        instance(edge.agentId, organizationId, 'good'),
        instance(fresh.agentId, organizationId, 'bad'),
        instance(fresh.agentId, organizationId, 'slow'),
        instance(fresh.agentId, organizationId, 'skipper'),
        instance(fresh.agentId, organizationId, 'dropped'),
        instance(fresh.agentId, organizationId, 'new'),
        instance(revoked.agentId, organizationId, 'retired'),
        instance(other.agentId, otherOrganizationId, 'good'),
      ]);

    const send = async (token: string, checkIns: CheckIn[]) => {
      const response = await fetch(`${app.baseUrl}/api/v1/check-ins`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ checkIns }),
      });
      expect(response.status).toBe(200);
    };
    const lost = runOf('production/dropped', '2024-06-10T06:00:00.000Z', 'lost');
    await send(fresh.token, [
      // current hour (12:00): 2 succeeded, 1 failed
      ...runOf('production/good', '2024-06-10T11:00:00.000Z', 'failed'),
      ...runOf('production/good', '2024-06-10T12:05:00.000Z', 'succeeded'),
      ...runOf('production/bad', '2024-06-10T12:00:00.000Z', 'succeeded'),
      ...runOf('production/bad', '2024-06-10T12:10:00.000Z', 'failed'),
      // 11:00 hour: the failed run above and one running
      ...runOf('production/slow', '2024-06-10T11:59:59.999Z', 'running'),
      // a skipped run after a timeout: still failing
      ...runOf('production/skipper', '2024-06-10T10:00:00.000Z', 'timed_out'),
      ...runOf('production/skipper', '2024-06-10T10:30:00.000Z', 'skipped'),
      ...lost,
      // the first bucket starts 23 hours before the current hour: 2024-06-09T13:00Z
      ...runOf('production/retired', '2024-06-09T13:00:00.000Z', 'succeeded'),
      ...runOf('production/retired', '2024-06-09T12:59:59.999Z', 'succeeded'),
      // in the future of `now`: not in any bucket
      ...runOf('production/retired', '2024-06-10T13:00:00.000Z', 'succeeded'),
    ]);
    await app.database.rows(
      sql`update runs set status = 'lost' where run_id = ${lost[0]?.runId ?? ''}`,
    );
    await send(other.token, runOf('production/good', '2024-06-10T12:01:00.000Z', 'failed'));
  }, 60_000);
  afterAll(async () => {
    await app.close();
  });

  it('counts agents by status with the heartbeat rule', async () => {
    const { status, body } = await stats();
    expect(status).toBe(200);
    expect(body.generatedAt).toBe(now.toISOString());
    expect(body.agents).toEqual({ online: 2, offline: 2, revoked: 1, total: 5 });
  });

  it('counts jobs by the outcome of their last run that was not skipped', async () => {
    const { body } = await stats();
    // good: succeeded; bad: failed; skipper: timed_out then skipped; dropped: lost; slow: running;
    // new: never; retired: only on a revoked agent, not counted
    expect(body.jobs).toEqual({ healthy: 1, failing: 3, running: 1, neverRun: 1, total: 6 });
  });

  it('buckets runs by the hour they started in, zero-filled, over 24 hours', async () => {
    const { body } = await stats();
    expect(body.runsPerHour).toHaveLength(24);
    expect(body.runsPerHour[0]?.hourStart).toBe('2024-06-09T13:00:00.000Z');
    expect(body.runsPerHour[23]?.hourStart).toBe('2024-06-10T12:00:00.000Z');
    const zero = { running: 0, succeeded: 0, failed: 0, timed_out: 0, skipped: 0, lost: 0 };
    const expected = new Map<number, Partial<typeof zero>>([
      [0, { succeeded: 1 }],
      [17, { lost: 1 }],
      [21, { timed_out: 1, skipped: 1 }],
      [22, { failed: 1, running: 1 }],
      [23, { succeeded: 2, failed: 1 }],
    ]);
    body.runsPerHour.forEach((bucket, index) => {
      expect(bucket.counts, bucket.hourStart).toEqual({ ...zero, ...expected.get(index) });
    });
  });

  it('shows another organization only its own numbers', async () => {
    const { body } = await stats(otherViewer);
    expect(body.agents).toEqual({ online: 1, offline: 0, revoked: 0, total: 1 });
    expect(body.jobs).toEqual({ healthy: 0, failing: 1, running: 0, neverRun: 0, total: 1 });
    expect(body.runsPerHour[23]?.counts.failed).toBe(1);
    expect(body.runsPerHour.reduce((sum, b) => sum + b.counts.succeeded, 0)).toBe(0);
  });

  it('needs a user credential', async () => {
    expect((await fetch(`${app.baseUrl}/api/v1/stats`)).status).toBe(401);
  });
});

describe('emptyHourBuckets', () => {
  it('ends with the current hour', () => {
    const buckets = emptyHourBuckets(new Date('2024-01-01T00:00:00.000Z'));
    expect(buckets[23]?.hourStart).toBe('2024-01-01T00:00:00.000Z');
    expect(buckets[0]?.hourStart).toBe('2023-12-31T01:00:00.000Z');
  });
});
