import { randomUUID } from 'node:crypto';
import {
  apiExamples,
  type AgentCommand,
  type CheckInFinish,
  type CheckInStart,
  type HeartbeatRequest,
} from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { vanishedRunReason } from '../src/agents/heartbeatHandover.js';
import { recordQuietHeartbeats } from '../src/agents/heartbeatWriter.js';
import { call } from './agentTestCalls.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 10 §7a: a run that its live agent no longer reports in `runningRunIds` becomes `lost`
 * within two heartbeat intervals (30 s here), and never because of a heartbeat that could not yet
 * know it. Time is the app's clock: nothing here waits.
 */

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const t0 = new Date('2024-06-10T12:00:00.000Z');
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function startOf(runId: string, seconds: number): CheckInStart {
  return {
    kind: 'start',
    runId,
    namespace: 'production',
    name: 'backup',
    attempt: 1,
    trigger: 'scheduled',
    scheduledAt: null,
    startedAt: at(seconds).toISOString(),
    revision,
  };
}

function finishOf(runId: string, seconds: number): CheckInFinish {
  return {
    kind: 'finish',
    runId,
    namespace: 'production',
    name: 'backup',
    attempt: 1,
    status: 'succeeded',
    finishedAt: at(seconds).toISOString(),
    durationMs: 1000,
    exitCode: 0,
    signal: null,
    outputHead: 'done\n',
    outputTail: '',
    outputTruncated: false,
    revision,
  };
}

describe('runs that their agent stopped reporting', () => {
  let app: TestApp;
  let organizationId: string;
  let viewer: string;
  let operator: string;
  let agent: { agentId: string; token: string };
  let neighbour: { agentId: string; token: string };

  /** A heartbeat at `seconds` past t0, listing `running` (undefined: an agent that does not track runs). */
  async function heartbeat(
    who: { token: string },
    seconds: number,
    running: string[] | undefined,
    extra: Partial<HeartbeatRequest> = {},
  ): Promise<AgentCommand[]> {
    app.setNow(at(seconds));
    const { runningRunIds: _example, ...body } = apiExamples.heartbeatRequest;
    const answer = await call(app, 'POST', '/api/v1/agents/heartbeat', who.token, {
      ...body,
      ...(running === undefined ? {} : { runningRunIds: running }),
      ...extra,
    });
    expect(answer.status).toBe(200);
    return answer.body.commands as AgentCommand[];
  }

  async function checkIn(who: { token: string }, seconds: number, checkIns: unknown[]) {
    app.setNow(at(seconds));
    const answer = await call(app, 'POST', '/api/v1/check-ins', who.token, { checkIns });
    expect(answer.status).toBe(200);
  }

  async function started(who: { token: string }, seconds: number): Promise<string> {
    const runId = randomUUID();
    await checkIn(who, seconds, [startOf(runId, seconds)]);
    return runId;
  }

  async function runOf(runId: string) {
    const answer = await call(app, 'GET', `/api/v1/runs/${runId}`, viewer);
    expect(answer.status).toBe(200);
    return answer.body as { status: string; reason: string | null; finishedAt: string | null };
  }

  beforeAll(async () => {
    app = await startTestApp();
    organizationId = await seedOrganization(app.database);
    viewer = (await seedUser(app.database, organizationId, 'viewer')).token;
    operator = (await seedUser(app.database, organizationId, 'operator')).token;
  }, 60_000);

  beforeEach(async () => {
    // Fresh agents: no previous heartbeat, no runs.
    agent = await seedAgent(app.database, organizationId);
    neighbour = await seedAgent(app.database, organizationId);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('marks a run lost within two heartbeat intervals once its agent stops listing it, with the reason', async () => {
    await heartbeat(agent, 0, []);
    const killed = await started(agent, 1);
    // Built before the wrapper began, arriving after its start: judges nothing.
    await heartbeat(agent, 2, []);
    expect((await runOf(killed)).status).toBe('running');
    await heartbeat(agent, 31, [killed]);
    expect((await runOf(killed)).status).toBe('running');
    // The wrapper was killed: the next heartbeat no longer lists it.
    await heartbeat(agent, 61, []);
    expect(await runOf(killed)).toMatchObject({
      status: 'lost',
      reason: vanishedRunReason,
      finishedAt: at(61).toISOString(),
    });

    // A run killed at once, before any heartbeat listed it: lost within two intervals of its start.
    const early = await started(agent, 62);
    await heartbeat(agent, 91, []);
    expect((await runOf(early)).status).toBe('running');
    await heartbeat(agent, 121, []);
    expect((await runOf(early)).status).toBe('lost');
  });

  it('judges nothing from a heartbeat without runningRunIds, nor runs of other agents', async () => {
    await heartbeat(agent, 0, undefined);
    await heartbeat(neighbour, 0, []);
    const untracked = await started(agent, 1);
    const ofNeighbour = await started(neighbour, 1);
    for (const seconds of [40, 80, 120]) {
      await heartbeat(agent, seconds, undefined);
      // The neighbour lists its run; the agent's own list never names the neighbour's run.
      await heartbeat(neighbour, seconds, [ofNeighbour]);
    }
    await heartbeat(agent, 160, []);
    expect((await runOf(untracked)).status).toBe('lost');
    expect((await runOf(ofNeighbour)).status).toBe('running');
  });

  it('lets a finish still in the spool win over lost, and never touches a finished run', async () => {
    await heartbeat(agent, 0, []);
    const spooled = await started(agent, 1);
    const finished = await started(agent, 1);
    await checkIn(agent, 20, [finishOf(finished, 20)]);
    await heartbeat(agent, 40, []);
    await heartbeat(agent, 80, []);
    expect((await runOf(spooled)).status).toBe('lost');
    expect(await runOf(finished)).toMatchObject({ status: 'succeeded', reason: null });
    await checkIn(agent, 90, [finishOf(spooled, 70)]);
    expect(await runOf(spooled)).toMatchObject({
      status: 'succeeded',
      reason: null,
      finishedAt: at(70).toISOString(),
    });
  });

  it('sends a heartbeat with nothing to judge through the grouped UPDATE, and one with a vanished run past it', async () => {
    await heartbeat(agent, 0, []);
    const running = await started(agent, 1);
    await heartbeat(agent, 40, [running]);
    const quiet = (runningRunIds: string[] | undefined) =>
      recordQuietHeartbeats(
        app.database,
        [
          {
            agent: { organizationId, agentId: agent.agentId },
            request: { ...apiExamples.heartbeatRequest, runningRunIds },
          },
        ],
        at(80),
      );
    // Listed, or not tracked: the grouped UPDATE records it (no run to mark).
    expect(await quiet([running])).toEqual([30]);
    expect(await quiet(undefined)).toEqual([30]);
    // Not listed: left for the transactional path (null), which marks it.
    expect(await quiet([])).toEqual([null]);
    expect((await runOf(running)).status).toBe('running');
    await heartbeat(agent, 120, []);
    expect((await runOf(running)).status).toBe('lost');
  });

  it('marks vanished runs and hands over commands in one heartbeat, and keeps them when commands are not accepted', async () => {
    await heartbeat(agent, 0, []);
    const killed = await started(agent, 1);
    await heartbeat(agent, 40, []);
    app.setNow(at(50));
    const queued = await call(app, 'POST', `/api/v1/agents/${agent.agentId}/reconcile`, operator);
    expect(queued.status).toBe(202);
    // `sync --once` cannot carry out commands: the run is judged, the command stays queued.
    expect(await heartbeat(agent, 80, [], { acceptsCommands: false })).toEqual([]);
    expect((await runOf(killed)).status).toBe('lost');
    expect(await heartbeat(agent, 90, [])).toEqual([{ type: 'reconcile' }]);
  });

  it('leaves alone a run listed by a concurrent heartbeat sent while its start was being recorded', async () => {
    await heartbeat(agent, 0, []);
    const runId = randomUUID();
    // The start and a heartbeat that does not know the run yet race: whichever is recorded first,
    // the run stays running (it was not recorded before the previous heartbeat).
    app.setNow(at(35));
    const [checkInAnswer, beat] = await Promise.all([
      call(app, 'POST', '/api/v1/check-ins', agent.token, { checkIns: [startOf(runId, 35)] }),
      call(app, 'POST', '/api/v1/agents/heartbeat', agent.token, {
        ...apiExamples.heartbeatRequest,
        runningRunIds: [],
      }),
    ]);
    expect([checkInAnswer.status, beat.status]).toEqual([200, 200]);
    expect((await runOf(runId)).status).toBe('running');
    const [row] = await app.database.rows<{ count: number }>(
      sql`select count(*)::int as count from runs where agent_id = ${agent.agentId} and status = 'lost'`,
    );
    expect(row?.count).toBe(0);
  });
});
