import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createCronfleetClient, type RunCommand, type RunDetail } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call } from '../../../backend/test/agentTestCalls.js';
import { seedEnrollmentToken, seedOrganization, seedUser } from '../../../backend/test/seed.js';
import { startTestApp, type TestApp } from '../../../backend/test/testApp.js';
import { loadAgentConfig } from '../../src/config/agentConfig.js';
import { enrollAgent } from '../../src/control/agentEnrollment.js';
import { createAgentLink, type AgentLink } from '../../src/control/agentLink.js';
import { ManualRuns } from '../../src/control/manualRuns.js';
import { RunReaper } from '../../src/control/runReaper.js';
import { readLiveRuns } from '../../src/run/liveRunRegistry.js';
import { isGroupRunning } from '../../src/run/processGroup.js';
import { openRunCheckInSink } from '../../src/run/runCheckInSink.js';
import { spoolDirectoryOf } from '../../src/spool/checkInSpool.js';
import type { CheckInSink } from '../../src/spool/checkInSink.js';
import { SpoolSender } from '../../src/spool/spoolSender.js';
import {
  jobSpec,
  spawnWrapper,
  TestState,
  waitFor,
  type WrapperProcess,
} from '../run/runFixtures.js';
import { silentLogger } from './controlFixtures.js';

/**
 * Live runs end to end, against the real backend (in-process, PGlite or DATABASE_URL): real
 * wrapper processes record into the real spool, the sender delivers it, heartbeats list the live
 * runs. A wrapper killed -9 becomes a `lost` run with the agent's reason; run-now requests for a
 * job whose manual run still runs are recorded `skipped` under their own request ids; a heartbeat
 * that says `acceptsCommands: false` (sync --once) leaves the commands queued.
 */

vi.setConfig({ hookTimeout: 120_000, testTimeout: 60_000 });

let app: TestApp;
let state: TestState;
let marks: string;
let admin: { token: string };
let link: AgentLink;
let sink: CheckInSink;
let reaper: RunReaper;
let sender: SpoolSender;
const wrappers: WrapperProcess[] = [];

function config() {
  return loadAgentConfig({ backend: app.baseUrl, stateDir: state.stateDir }, {});
}

async function run(runId: string): Promise<RunDetail> {
  return createCronfleetClient({ baseUrl: app.baseUrl, token: admin.token }).getRun(runId);
}

/**
 * Drains the spool until the backend shows the run in `status`: a wrapper writes its live-run
 * record before its start check-in, so the record alone does not mean the start is spooled.
 */
async function runReaching(runId: string, status: RunDetail['status']): Promise<RunDetail> {
  let last: RunDetail | undefined;
  await waitFor(`run ${runId} to be ${status}`, async () => {
    await drain();
    last = await run(runId).catch(() => undefined);
    return last?.status === status || undefined;
  });
  return last!;
}

/** Sends what the spool holds now. */
async function drain(): Promise<void> {
  const drained = await sender.drainOnce({ signal: AbortSignal.timeout(20_000) });
  expect(drained.outcome).toBe('empty');
}

beforeAll(async () => {
  app = await startTestApp();
  state = await TestState.create('live-runs-backend');
  marks = path.join(state.root, 'marks');
  await mkdir(marks);
  const organizationId = await seedOrganization(app.database);
  admin = await seedUser(app.database, organizationId, 'admin');
  const { token } = await seedEnrollmentToken(app.database, organizationId);
  await enrollAgent({ config: config(), enrollmentToken: token, name: 'live-1' });
  sink = await openRunCheckInSink(state.stateDir);
  reaper = new RunReaper({
    stateDir: state.stateDir,
    sink,
    logger: silentLogger,
    killGraceMs: 1_000,
  });
  const created = await createAgentLink({
    config: config(),
    store: state.store,
    logger: silentLogger,
    discoverUnmanaged: () => Promise.resolve([]),
    runningRunIds: () => reaper.runningRunIds(),
  });
  if (created === null) throw new Error('expected a link');
  link = created;
  sender = new SpoolSender({
    directory: spoolDirectoryOf(state.stateDir),
    client: link.client,
    logger: silentLogger,
  });
});

afterAll(async () => {
  for (const wrapper of wrappers) wrapper.child.kill('SIGKILL');
  await app?.close();
  await state?.remove();
});

describe('live runs against the backend', () => {
  it('a wrapper killed -9 becomes a lost run with the reason; its command is stopped', async () => {
    await state.install(
      jobSpec('forever', {
        concurrencyPolicy: 'Allow',
        // Silent after its first line: a command that kept printing would die of SIGPIPE on its
        // own once the wrapper is gone, racing the agent that must stop it.
        command: 'echo started; while true; do sleep 0.2; done',
      }),
    );
    const wrapper = spawnWrapper(state, 'test/forever', { spool: true, killGraceMs: 1_000 });
    wrappers.push(wrapper);
    const live = await waitFor('the run to be live, with its group', async () => {
      const files = await readLiveRuns(state.stateDir);
      const file = files.find((candidate) => candidate.record?.name === 'forever');
      return file?.record?.group != null ? file.record : undefined;
    });
    await runReaching(live.runId, 'running');
    await link.heartbeat();
    await link.heartbeat(); // listed twice: the backend keeps it running
    expect(await run(live.runId)).toMatchObject({ status: 'running', reason: null });

    wrapper.child.kill('SIGKILL');
    await wrapper.exited;
    const [reaped] = await reaper.sweep();
    expect(reaped).toMatchObject({ runId: live.runId, stoppedGroup: true, recorded: true });
    expect(isGroupRunning(live.group!)).toBe(false);
    await drain();
    await link.heartbeat();
    const lost = await run(live.runId);
    expect(lost).toMatchObject({
      status: 'lost',
      reason: reaped?.reason,
      namespace: 'test',
      name: 'forever',
    });
    expect(lost.reason).toMatch(
      /^its run wrapper \(pid \d+\) ended without recording the run's end .*; the agent stopped its command \(process group \d+: TERM, then KILL after 1 s\)$/,
    );
  });

  it('run now: one manual run per job; more requests are skipped under their ids; sync --once leaves commands queued', async () => {
    const release = path.join(marks, 'report-release');
    await state.install(
      jobSpec('report', {
        command: `while [ ! -e ${release} ]; do sleep 0.05; done; echo reported`,
      }),
    );
    const report = await link.reportInventory();
    expect(report.sent).toBe(true);
    const requestIds: string[] = [];
    for (let index = 0; index < 2; index += 1) {
      const asked = await call(app, 'POST', '/api/v1/jobs/test/report/run', admin.token, {});
      expect(asked.status).toBe(202);
      requestIds.push(asked.body.requests[0].requestId as string);
    }

    // sync --once says it takes no commands: they stay queued.
    const once = await createAgentLink({
      config: config(),
      store: state.store,
      logger: silentLogger,
      runningRunIds: () => reaper.runningRunIds(),
      acceptsCommands: false,
    });
    expect((await once!.heartbeat()).commands).toEqual([]);

    const manualRuns = new ManualRuns({
      stateDir: state.stateDir,
      sink,
      logger: silentLogger,
      start: async (id, requestId) => {
        const wrapper = spawnWrapper(state, id, { spool: true, manual: true, runId: requestId });
        wrappers.push(wrapper);
        await wrapper.exited;
      },
    });
    const { commands } = await link.heartbeat();
    expect(commands.map((command) => (command as RunCommand).requestId).sort()).toEqual(
      [...requestIds].sort(),
    );
    const results = [];
    for (const command of commands) results.push(await manualRuns.request(command as RunCommand));
    expect(results.map((result) => result.kind)).toEqual(['started', 'skipped']);
    const [startedId, skippedId] = commands.map((command) => (command as RunCommand).requestId);

    await waitFor('the manual run to be live', async () => {
      const files = await readLiveRuns(state.stateDir);
      return files.some((file) => file.runId === startedId && file.record?.manual) || undefined;
    });
    expect(await runReaching(startedId!, 'running')).toMatchObject({ trigger: 'manual' });
    expect(await run(skippedId!)).toMatchObject({
      status: 'skipped',
      trigger: 'manual',
      reason: `skipped: manual run ${startedId} of test/report is still running, and the agent runs one manual run per job at a time`,
    });

    await mkdir(release);
    await waitFor('the manual run to end', async () =>
      (await readLiveRuns(state.stateDir)).length === 0 ? true : undefined,
    );
    await drain();
    expect(await run(startedId!)).toMatchObject({ status: 'succeeded', outputHead: 'reported\n' });
  });
});
