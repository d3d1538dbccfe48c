import { randomUUID } from 'node:crypto';
import {
  apiExamples,
  type CheckIn,
  type CheckInFinish,
  type HeartbeatRequest,
  type InventoryJob,
} from '@cronfleet/core/api';
import { nextFireTimes, parseCron } from '@cronfleet/core/cron';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runMonitorPass } from '../../src/monitoring/monitorWorker.js';
import { markLostRuns } from '../../src/workers/lostRunWorker.js';
import { call } from '../agentTestCalls.js';
import { seedAgent, seedOrganization } from '../seed.js';
import { startTestApp, type TestApp } from '../testApp.js';
import { monitoredJob, testMonitorTiming, testRevision } from './monitorFixtures.js';

/**
 * Issue 12 §1–2: the monitoring worker against the real app and database, with the app's clock
 * moved by hand. Agents are simulated through the real agent protocol (inventory, heartbeats with
 * their deliveredThrough watermark, check-ins).
 */

const revision = testRevision;
const timing = testMonitorTiming;
const minute = 60_000;

interface Agent {
  agentId: string;
  token: string;
}

describe('monitoring worker', () => {
  let app: TestApp;
  let organizationId: string;
  let clock = new Date(0);

  const setClock = (at: Date) => {
    clock = at;
    app.setNow(at);
  };
  const pass = (at: Date) => {
    setClock(at);
    return runMonitorPass(app.context, { now: at }, timing);
  };

  const job = monitoredJob;

  async function newAgent(jobs: InventoryJob[], name = `agent-${randomUUID().slice(0, 8)}`) {
    const agent = await seedAgent(app.database, organizationId, { name });
    const answer = await call(app, 'PUT', '/api/v1/agents/inventory', agent.token, {
      revision,
      jobs,
      unmanaged: [],
    });
    expect(answer.status).toBe(200);
    return agent;
  }

  /** A heartbeat sent at `deliveredThrough`, or now when that is earlier (a lagging spool). */
  async function heartbeat(agent: Agent, deliveredThrough: Date, runningRunIds: string[] = []) {
    if (deliveredThrough.getTime() > clock.getTime()) setClock(deliveredThrough);
    const body: HeartbeatRequest = {
      ...apiExamples.heartbeatRequest,
      errors: [],
      runningRunIds,
      deliveredThrough: deliveredThrough.toISOString(),
    };
    const answer = await call(app, 'POST', '/api/v1/agents/heartbeat', agent.token, body);
    expect(answer.status).toBe(200);
  }

  async function checkIns(agent: Agent, items: CheckIn[]) {
    const answer = await call(app, 'POST', '/api/v1/check-ins', agent.token, { checkIns: items });
    expect(answer.status).toBe(200);
  }

  function started(name: string, scheduledAt: Date | null, startedAt: Date, runId = randomUUID()) {
    return {
      kind: 'start' as const,
      runId,
      namespace: 'monitoring',
      name,
      attempt: 1,
      trigger: 'scheduled' as const,
      scheduledAt: scheduledAt?.toISOString() ?? null,
      startedAt: startedAt.toISOString(),
      revision,
    };
  }

  function finished(
    runId: string,
    name: string,
    status: CheckInFinish['status'],
    finishedAt: Date,
    overrides: Partial<CheckInFinish> = {},
  ): CheckInFinish {
    return {
      kind: 'finish',
      runId,
      namespace: 'monitoring',
      name,
      attempt: 1,
      status,
      finishedAt: finishedAt.toISOString(),
      durationMs: 1000,
      exitCode: status === 'succeeded' ? 0 : status === 'failed' ? 3 : null,
      signal: null,
      outputHead: '',
      outputTail: status === 'failed' ? 'backup: disk full\n' : '',
      outputTruncated: false,
      revision,
      ...overrides,
    };
  }

  /** One run of `name`: its start and finish, `status`, for the fire at `fire`. */
  async function ran(
    agent: Agent,
    name: string,
    fire: Date,
    status: CheckInFinish['status'],
    attempt = 1,
  ) {
    const runId = randomUUID();
    // A retry starts 5 s after the attempt before it.
    const startAt = fire.getTime() + 1000 + (attempt - 1) * 5000;
    await checkIns(agent, [
      { ...started(name, fire, new Date(startAt), runId), attempt },
      { ...finished(runId, name, status, new Date(startAt + 1000)), attempt },
    ]);
  }

  async function incidentsOf(agentId: string) {
    return app.database.rows<{
      id: string;
      kind: string;
      name: string | null;
      resolved_at: string | null;
      occurrences: number;
      happened: string;
      resolution: string | null;
      silence_id: string | null;
    }>(sql`select id, kind, name, resolved_at::text, occurrences, happened, resolution, silence_id
      from incidents where agent_id = ${agentId} order by opened_at, kind`);
  }

  async function healthOf(agentId: string, name: string) {
    const [row] = await app.database.rows<{ health: string }>(
      sql`select health from job_instances where agent_id = ${agentId} and name = ${name}`,
    );
    return row?.health;
  }

  beforeAll(async () => {
    app = await startTestApp();
    organizationId = await seedOrganization(app.database);
  }, 90_000);

  beforeEach(() => {
    // Every test starts on its own day, so the worker's clock only moves forward.
    setClock(
      clock.getTime() === 0
        ? new Date('2026-01-05T00:00:00Z')
        : new Date(Date.UTC(clock.getUTCFullYear(), clock.getUTCMonth(), clock.getUTCDate() + 2)),
    );
  });

  afterAll(async () => {
    await app?.close();
  });

  it('opens one missed incident when no run starts within grace, and resolves it when the next fire starts', async () => {
    const t0 = clock;
    await pass(t0);
    const agent = await newAgent([job('every-5')]);
    await heartbeat(agent, t0);
    expect(await healthOf(agent.agentId, 'every-5')).toBe('new');

    // The fire at +5m is missed; the watermark says everything up to +7m has arrived.
    await heartbeat(agent, new Date(t0.getTime() + 7 * minute));
    const result = await pass(new Date(t0.getTime() + 7 * minute));
    expect(result.opened).toBe(1);
    let incidents = await incidentsOf(agent.agentId);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ kind: 'missed', resolved_at: null, occurrences: 1 });
    expect(incidents[0]!.happened).toBe('no run started for the fire at 2026-01-05 00:05 UTC');
    expect(await healthOf(agent.agentId, 'every-5')).toBe('missed');

    // A second pass changes nothing.
    expect((await pass(new Date(t0.getTime() + 7 * minute + 5000))).opened).toBe(0);

    // The fire at +10m runs: resolved.
    await ran(agent, 'every-5', new Date(t0.getTime() + 10 * minute), 'succeeded');
    await heartbeat(agent, new Date(t0.getTime() + 12 * minute));
    await pass(new Date(t0.getTime() + 12 * minute));
    incidents = await incidentsOf(agent.agentId);
    expect(incidents[0]).toMatchObject({
      kind: 'missed',
      resolution: 'a run started for the fire at 2026-01-05 00:10 UTC',
    });
    expect(incidents[0]!.resolved_at).not.toBeNull();
    expect(await healthOf(agent.agentId, 'every-5')).toBe('up');

    const events = await app.database.rows<{ type: string }>(
      sql`select type from incident_events where incident_id = ${incidents[0]!.id} order by id`,
    );
    expect(events.map((event) => event.type)).toEqual(['opened', 'resolved']);
  });

  it("judges nothing past the agent's watermark: a start still in its spool is never called missed", async () => {
    const t0 = clock;
    await pass(t0);
    const agent = await newAgent([job('spooled')]);
    // The agent was cut off from the backend: its watermark stays at t0 while it runs the job.
    await heartbeat(agent, t0);
    for (let step = 1; step <= 12; step += 1) {
      const at = new Date(t0.getTime() + step * 5 * minute + 90_000);
      setClock(at);
      await heartbeat(agent, t0);
      await pass(at);
    }
    expect(await incidentsOf(agent.agentId)).toEqual([]);
    // Its spool drains: every start arrives, then the watermark moves. Nothing was missed.
    const fires = Array.from(
      { length: 12 },
      (_, index) => new Date(t0.getTime() + (index + 1) * 5 * minute),
    );
    for (const fire of fires) await ran(agent, 'spooled', fire, 'succeeded');
    await heartbeat(agent, new Date(t0.getTime() + 62 * minute));
    await pass(new Date(t0.getTime() + 62 * minute));
    expect(await incidentsOf(agent.agentId)).toEqual([]);
    expect(await healthOf(agent.agentId, 'spooled')).toBe('up');
  });

  it('opens a failing incident after alertAfter failures, ignores attempts a retry follows, and recovers after recoverAfter successes', async () => {
    const t0 = clock;
    await pass(t0);
    const settings = { ...job('flaky').monitoring, alertAfter: 2, recoverAfter: 2, retryLimit: 1 };
    const agent = await newAgent([job('flaky', { monitoring: settings })]);
    const fire = (n: number) => new Date(t0.getTime() + n * 5 * minute);
    await heartbeat(agent, t0);

    // Fire 1: attempt 1 fails (a retry follows), attempt 2 fails: one failed run.
    await ran(agent, 'flaky', fire(1), 'failed', 1);
    await ran(agent, 'flaky', fire(1), 'failed', 2);
    await heartbeat(agent, fire(1));
    await pass(new Date(fire(1).getTime() + 90_000));
    expect(await incidentsOf(agent.agentId)).toEqual([]);

    // Fire 2 fails too, retried as well: two runs in a row failed.
    await ran(agent, 'flaky', fire(2), 'failed', 1);
    await ran(agent, 'flaky', fire(2), 'failed', 2);
    await heartbeat(agent, new Date(fire(2).getTime() + 90_000));
    await pass(new Date(fire(2).getTime() + 90_000));
    let incidents = await incidentsOf(agent.agentId);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ kind: 'failing', occurrences: 2, resolved_at: null });
    expect(incidents[0]!.happened).toBe(
      '2 runs in a row failed; the last exited with code 3 at 2026-01-09 00:10 UTC',
    );
    expect(await healthOf(agent.agentId, 'flaky')).toBe('failing');

    // One success is not enough (recoverAfter 2); two are.
    await ran(agent, 'flaky', fire(3), 'succeeded');
    await heartbeat(agent, new Date(fire(3).getTime() + 90_000));
    await pass(new Date(fire(3).getTime() + 90_000));
    expect((await incidentsOf(agent.agentId))[0]!.resolved_at).toBeNull();
    await ran(agent, 'flaky', fire(4), 'succeeded');
    await heartbeat(agent, new Date(fire(4).getTime() + 90_000));
    await pass(new Date(fire(4).getTime() + 90_000));
    incidents = await incidentsOf(agent.agentId);
    expect(incidents[0]).toMatchObject({ resolution: '2 runs in a row succeeded' });
    expect(incidents[0]!.resolved_at).not.toBeNull();
    expect(await healthOf(agent.agentId, 'flaky')).toBe('up');
  });

  it('reports a run past maxRuntime as overrunning while its agent lists it, never as lost, and resolves it when it ends', async () => {
    const t0 = clock;
    await pass(t0);
    const settings = { ...job('long').monitoring, maxRuntimeSeconds: 600 };
    const agent = await newAgent([job('long', { schedule: '0 3 * * *', monitoring: settings })]);
    const runId = randomUUID();
    await checkIns(agent, [started('long', null, new Date(t0.getTime() + minute), runId)]);
    await heartbeat(agent, new Date(t0.getTime() + 12 * minute), [runId]);
    await pass(new Date(t0.getTime() + 12 * minute));
    expect(await markLostRuns(app.database, { now: clock, defaultMaxRuntimeSeconds: 3600 })).toBe(
      0,
    );
    let incidents = await incidentsOf(agent.agentId);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ kind: 'overrun', resolved_at: null });
    expect(incidents[0]!.happened).toBe(
      'a run that started at 2026-01-11 00:01 UTC is still running',
    );
    expect(await healthOf(agent.agentId, 'long')).toBe('overrun');

    await checkIns(agent, [
      finished(runId, 'long', 'succeeded', new Date(t0.getTime() + 20 * minute)),
    ]);
    await heartbeat(agent, new Date(t0.getTime() + 20 * minute));
    await pass(new Date(t0.getTime() + 20 * minute));
    incidents = await incidentsOf(agent.agentId);
    expect(incidents[0]!.resolved_at).not.toBeNull();
    expect(await healthOf(agent.agentId, 'long')).toBe('up');
  });

  it('raises one agent-offline incident for a silent agent, and no missed incident for any of its jobs', async () => {
    const t0 = clock;
    await pass(t0);
    const agent = await newAgent([job('a'), job('b'), job('c')]);
    await heartbeat(agent, t0);
    // It goes silent for two hours; the worker keeps passing.
    for (let step = 1; step <= 24; step += 1) {
      await pass(new Date(t0.getTime() + step * 5 * minute));
    }
    let incidents = await incidentsOf(agent.agentId);
    expect(incidents.map((incident) => incident.kind)).toEqual(['agent_offline']);
    expect(await healthOf(agent.agentId, 'a')).toBe('unknown');

    // It comes back (its spool had nothing: the host was down): resolved, and the fires of its
    // time away are not judged.
    const back = new Date(t0.getTime() + 121 * minute);
    setClock(back);
    await heartbeat(agent, back);
    await pass(back);
    await heartbeat(agent, new Date(back.getTime() + minute));
    await pass(new Date(back.getTime() + 2 * minute));
    incidents = await incidentsOf(agent.agentId);
    expect(incidents.map((incident) => incident.kind)).toEqual(['agent_offline']);
    expect(incidents[0]!.resolved_at).not.toBeNull();
    expect(await healthOf(agent.agentId, 'a')).not.toBe('unknown');

    // From then on, its jobs are judged again.
    await heartbeat(agent, new Date(back.getTime() + 8 * minute));
    await pass(new Date(back.getTime() + 8 * minute));
    expect(
      (await incidentsOf(agent.agentId)).filter((incident) => incident.kind === 'missed'),
    ).toHaveLength(3);
  });

  it('after the backend itself was down, gives agents 3 intervals to heartbeat before calling them offline', async () => {
    const t0 = clock;
    await pass(t0);
    const agent = await newAgent([job('quiet', { schedule: '0 4 * * *' })]);
    await heartbeat(agent, t0);
    await pass(new Date(t0.getTime() + 30_000));
    // No pass for an hour: the backend was down. Its first pass back must not blame the agent.
    const restart = new Date(t0.getTime() + 60 * minute);
    await pass(restart);
    expect(await incidentsOf(agent.agentId)).toEqual([]);
    setClock(new Date(restart.getTime() + 20_000));
    await heartbeat(agent, new Date(restart.getTime() + 20_000));
    await pass(new Date(restart.getTime() + 95_000));
    expect(await incidentsOf(agent.agentId)).toEqual([]);
  });

  it('records an incident that a silence matches as silenced, and queues no notification for it', async () => {
    const t0 = clock;
    await pass(t0);
    await app.database
      .rows(sql`insert into notification_channels (organization_id, name, kind, is_default)
      values (${organizationId}, 'ops', 'webhook', true) on conflict do nothing`);
    const agent = await newAgent([job('maintenance', { labels: { team: 'db' } }), job('other')]);
    await app.database
      .rows(sql`insert into silences (organization_id, job_labels, starts_at, ends_at,
      comment, created_by_type, created_by_name)
      values (${organizationId}, '{"team":"db"}'::jsonb, ${t0.toISOString()}::timestamptz,
        ${new Date(t0.getTime() + 3_600_000).toISOString()}::timestamptz, 'database upgrade', 'system', 'test')`);
    await heartbeat(agent, new Date(t0.getTime() + 7 * minute));
    await pass(new Date(t0.getTime() + 7 * minute));
    const incidents = await incidentsOf(agent.agentId);
    expect(incidents.map((incident) => incident.name).sort()).toEqual(['maintenance', 'other']);
    const queued = async (incidentId: string) =>
      (
        await app.database.rows<{ count: number }>(
          sql`select count(*)::int as count from notification_deliveries where incident_id = ${incidentId}`,
        )
      )[0]!.count;
    const silenced = incidents.find((incident) => incident.name === 'maintenance')!;
    const loud = incidents.find((incident) => incident.name === 'other')!;
    expect(silenced.silence_id).not.toBeNull();
    expect(await queued(silenced.id)).toBe(0);
    expect(loud.silence_id).toBeNull();
    expect(await queued(loud.id)).toBe(1);
  });

  it('judges a suspended job not at all, and resolves what was open when it was suspended', async () => {
    const t0 = clock;
    await pass(t0);
    const agent = await newAgent([job('paused')]);
    await heartbeat(agent, new Date(t0.getTime() + 7 * minute));
    await pass(new Date(t0.getTime() + 7 * minute));
    expect((await incidentsOf(agent.agentId)).map((incident) => incident.kind)).toEqual(['missed']);
    const answer = await call(app, 'PUT', '/api/v1/agents/inventory', agent.token, {
      revision,
      jobs: [job('paused', { suspended: true })],
      unmanaged: [],
    });
    expect(answer.status).toBe(200);
    await heartbeat(agent, new Date(t0.getTime() + 60 * minute));
    await pass(new Date(t0.getTime() + 60 * minute));
    const incidents = await incidentsOf(agent.agentId);
    expect(incidents).toHaveLength(1);
    expect(incidents[0]).toMatchObject({ resolution: 'the job was suspended' });
    expect(await healthOf(agent.agentId, 'paused')).toBe('suspended');
  });

  it('answers an inventory that names an unknown channel with a warning, and keeps it on the instance', async () => {
    await app.database.rows(sql`insert into notification_channels (organization_id, name, kind)
      values (${organizationId}, 'dba-pager', 'pagerduty') on conflict do nothing`);
    const agent = await seedAgent(app.database, organizationId, { name: 'warned' });
    const notifying = (notify: string[]) =>
      job('notifying', { monitoring: { ...job('x').monitoring, notify } });
    const answer = await call(app, 'PUT', '/api/v1/agents/inventory', agent.token, {
      revision,
      jobs: [notifying(['dba-pager', 'dba-oncall']), job('plain')],
      unmanaged: [],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.warnings).toEqual([
      {
        namespace: 'monitoring',
        name: 'notifying',
        message:
          'monitoring.notify names "dba-oncall", which is no notification channel of this organization; its incidents go to the other channels named',
      },
    ]);
    const [row] = await app.database.rows<{ warnings: string[] }>(
      sql`select warnings from job_instances where agent_id = ${agent.agentId} and name = 'notifying'`,
    );
    expect(row!.warnings).toHaveLength(1);
    // Fixed in the next inventory: the warning goes.
    const fixed = await call(app, 'PUT', '/api/v1/agents/inventory', agent.token, {
      revision,
      jobs: [notifying(['dba-pager']), job('plain')],
      unmanaged: [],
    });
    expect(fixed.body.warnings).toEqual([]);
  });

  // Issue 12 §2: no alert across the 2026 transitions of three zones, for fixed-time and
  // wildcard jobs, when the agent starts exactly what the core evaluator says.
  // In the order of the calendar: the worker's clock only moves forward.
  const transitions = [
    { zone: 'America/New_York', from: '2026-03-07T12:00:00Z', to: '2026-03-09T12:00:00Z' },
    { zone: 'Europe/Berlin', from: '2026-03-28T12:00:00Z', to: '2026-03-30T12:00:00Z' },
    { zone: 'Australia/Lord_Howe', from: '2026-04-04T00:00:00Z', to: '2026-04-06T00:00:00Z' },
    { zone: 'Australia/Lord_Howe', from: '2026-10-03T00:00:00Z', to: '2026-10-05T00:00:00Z' },
    { zone: 'Europe/Berlin', from: '2026-10-24T12:00:00Z', to: '2026-10-26T12:00:00Z' },
    { zone: 'America/New_York', from: '2026-10-31T12:00:00Z', to: '2026-11-02T12:00:00Z' },
  ];
  const schedules = ['30 2 * * *', '0 1 * * *', '*/15 1-3 * * *', '45 * * * *'];

  it.each(transitions)(
    'raises nothing across the transition of $zone at $from',
    async ({ zone, from, to }) => {
      const start = new Date(from);
      const end = new Date(to);
      await pass(start);
      const jobs = schedules.map((schedule, index) =>
        job(`dst-${index}`, { schedule, timezone: zone }),
      );
      const agent = await newAgent(jobs);
      await heartbeat(agent, start);
      for (const [index, schedule] of schedules.entries()) {
        const fires = nextFireTimes(parseCron(schedule), {
          after: start,
          count: 200,
          timezone: zone,
        }).filter((fire) => fire.getTime() <= end.getTime() - 2 * minute);
        expect(fires.length).toBeGreaterThan(0);
        const items: CheckIn[] = [];
        for (const fire of fires) {
          const runId = randomUUID();
          items.push(started(`dst-${index}`, fire, new Date(fire.getTime() + 500), runId));
          items.push(finished(runId, `dst-${index}`, 'succeeded', new Date(fire.getTime() + 1500)));
        }
        await checkIns(agent, items);
      }
      // The worker passes every 30 minutes through the two days, the agent reporting as it goes.
      for (let at = start.getTime() + 30 * minute; at <= end.getTime(); at += 30 * minute) {
        await heartbeat(agent, new Date(at));
        await pass(new Date(at));
      }
      expect(await incidentsOf(agent.agentId)).toEqual([]);
      for (const index of schedules.keys())
        expect(await healthOf(agent.agentId, `dst-${index}`)).toBe('up');
    },
    240_000,
  );
});
