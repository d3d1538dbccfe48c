import { apiExamples, type InventoryJob } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runMonitorPass } from '../../src/monitoring/monitorWorker.js';
import { call } from '../agentTestCalls.js';
import { seedAgent, seedOrganization } from '../seed.js';
import { startTestApp, startTestReplica, type TestApp } from '../testApp.js';
import { testDatabaseUrl } from '../testDatabase.js';
import { testMonitorTiming, testRevision } from './monitorFixtures.js';

/**
 * Issue 12 §6: two backend replicas on one PostgreSQL run the monitoring worker at the same
 * moments; every transition happens once, with one timeline event, one audit record and one
 * notification per channel.
 */

const revision = testRevision;
const t0 = new Date('2026-06-01T00:00:00Z');
// Passes minutes apart, as a backend that was up all along (production: every 5 s).
const timing = testMonitorTiming;
const at = (minutes: number) => new Date(t0.getTime() + minutes * 60_000);

describe.skipIf(testDatabaseUrl === undefined)('monitoring worker on two replicas', () => {
  let primary: TestApp;
  let replica: TestApp;
  let organizationId: string;

  const both = async (now: Date) => {
    primary.setNow(now);
    replica.setNow(now);
    return Promise.all(
      [primary, replica].map((app) => runMonitorPass(app.context, { now, batchSize: 7 }, timing)),
    );
  };

  beforeAll(async () => {
    primary = await startTestApp();
    replica = await startTestReplica(primary);
    organizationId = await seedOrganization(primary.database);
    await primary.database
      .rows(sql`insert into notification_channels (organization_id, name, kind, is_default)
      values (${organizationId}, 'ops', 'webhook', true)`);
  }, 90_000);

  afterAll(async () => {
    await replica?.close();
    await primary?.close();
  });

  it('opens and resolves each incident once, however the two passes interleave', async () => {
    primary.setNow(t0);
    await both(t0);
    const [example] = apiExamples.inventoryRequest.jobs;
    const jobs: InventoryJob[] = Array.from({ length: 40 }, (_, index) => ({
      ...example!,
      namespace: 'replicas',
      name: `job-${index}`,
      schedule: '*/5 * * * *',
      timezone: 'UTC',
      suspended: false,
      labels: {},
      monitoring: { ...example!.monitoring, graceSeconds: 60, maxRuntimeSeconds: null },
    }));
    const agent = await seedAgent(primary.database, organizationId, { name: 'busy' });
    const silent = await seedAgent(primary.database, organizationId, { name: 'silent' });
    for (const who of [agent, silent]) {
      expect(
        (
          await call(primary, 'PUT', '/api/v1/agents/inventory', who.token, {
            revision,
            jobs,
            unmanaged: [],
          })
        ).status,
      ).toBe(200);
    }
    const heartbeat = async (who: { token: string }, now: Date) => {
      primary.setNow(now);
      const answer = await call(primary, 'POST', '/api/v1/agents/heartbeat', who.token, {
        ...apiExamples.heartbeatRequest,
        errors: [],
        runningRunIds: [],
        deliveredThrough: now.toISOString(),
      });
      expect(answer.status).toBe(200);
    };
    await heartbeat(silent, at(0));

    // Every fire of `busy` at +5m is missed; `silent` stops heartbeating.
    await heartbeat(agent, at(7));
    const opened = await both(at(7));
    expect(opened.reduce((sum, result) => sum + result.opened, 0)).toBe(41);
    // Each replica judged a share; together every instance once.
    expect(opened.reduce((sum, result) => sum + result.judged, 0)).toBeGreaterThanOrEqual(40);

    // The next fire starts for every job: each missed incident resolves once.
    const items = jobs.flatMap((job) => {
      const runId = crypto.randomUUID();
      return [
        {
          kind: 'start' as const,
          runId,
          namespace: job.namespace,
          name: job.name,
          attempt: 1,
          trigger: 'scheduled' as const,
          scheduledAt: at(10).toISOString(),
          startedAt: at(10).toISOString(),
          revision,
        },
      ];
    });
    expect(
      (await call(primary, 'POST', '/api/v1/check-ins', agent.token, { checkIns: items })).status,
    ).toBe(200);
    await heartbeat(agent, at(12));
    const resolved = await both(at(12));
    expect(resolved.reduce((sum, result) => sum + result.resolved, 0)).toBe(40);

    const counts = await primary.database.rows<{ what: string; count: number }>(sql`
      select 'missed' as what, count(*)::int as count from incidents where kind = 'missed'
      union all select 'offline', count(*)::int from incidents where kind = 'agent_offline'
      union all select 'opened events', count(*)::int from incident_events where type = 'opened'
      union all select 'resolved events', count(*)::int from incident_events where type = 'resolved'
      union all select 'audit', count(*)::int from audit_log where action like 'incident.%'
      union all select 'deliveries', count(*)::int from notification_deliveries`);
    expect(Object.fromEntries(counts.map((row) => [row.what, row.count]))).toEqual({
      missed: 40,
      offline: 1,
      'opened events': 41,
      'resolved events': 40,
      // 41 opened + 40 resolved
      audit: 81,
      deliveries: 81,
    });
  }, 120_000);
});
