import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CheckIn as CheckInSchema, type CheckIn, type RunCommand } from '@cronfleet/core/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { jobSpec } from '../../test/run/runFixtures.js';
import { LiveRunEntry } from '../run/liveRunRegistry.js';
import { ManualRuns } from './manualRuns.js';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-manual-runs-'));
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

const silent = { info: () => {}, warn: () => {} };
const spec = jobSpec('report', { outputMaxBytes: 4096 });

const command = (n: number, name = 'report'): RunCommand => ({
  type: 'run',
  namespace: 'test',
  name,
  requestId: `0b7e2f3a-1c4d-4e5f-8a9b-${n.toString(16).padStart(12, '0')}`,
});

/** Manual runs whose wrappers the test ends by hand. */
function setUp() {
  const checkIns: CheckIn[] = [];
  const wrappers = new Map<string, () => void>();
  let recorded = 0;
  const manualRuns = new ManualRuns({
    stateDir,
    sink: {
      record: (batch) => {
        checkIns.push(...batch);
        return Promise.resolve();
      },
    },
    logger: silent,
    readRunSpec: () => Promise.resolve(spec),
    onRecorded: () => (recorded += 1),
    start: (_id, requestId) => new Promise<void>((resolve) => wrappers.set(requestId, resolve)),
    now: () => new Date('2026-05-01T12:00:00.000Z'),
  });
  return { manualRuns, checkIns, wrappers, recorded: () => recorded };
}

describe('ManualRuns', () => {
  it('runs one manual run per job; a second request is recorded skipped under its own id', async () => {
    const { manualRuns, checkIns, wrappers, recorded } = setUp();
    // Two requests for one job in one heartbeat answer, and one for another job.
    const results = await Promise.all([
      manualRuns.request(command(1)),
      manualRuns.request(command(2)),
      manualRuns.request(command(3, 'other')),
    ]);
    expect(results.map((result) => result.kind)).toEqual(['started', 'skipped', 'started']);
    expect([...wrappers.keys()]).toEqual([command(1).requestId, command(3).requestId]);
    const reason = `skipped: manual run ${command(1).requestId} of test/report is still running, and the agent runs one manual run per job at a time`;
    expect(results[1]).toEqual({
      kind: 'skipped',
      reason,
      runningRunId: command(1).requestId,
      recorded: true,
    });
    expect(checkIns).toEqual([
      {
        kind: 'start',
        runId: command(2).requestId,
        namespace: 'test',
        name: 'report',
        attempt: 1,
        trigger: 'manual',
        scheduledAt: null,
        startedAt: '2026-05-01T12:00:00.000Z',
        revision: spec.revision,
      },
      {
        kind: 'finish',
        runId: command(2).requestId,
        namespace: 'test',
        name: 'report',
        attempt: 1,
        status: 'skipped',
        finishedAt: '2026-05-01T12:00:00.000Z',
        durationMs: 0,
        exitCode: null,
        signal: null,
        outputHead: `[cronfleet] ${reason}\n`,
        outputTail: '',
        outputTruncated: false,
        revision: spec.revision,
        reason,
      },
    ]);
    for (const checkIn of checkIns) expect(CheckInSchema.parse(checkIn)).toEqual(checkIn);
    expect(recorded()).toBe(1);

    // The same request delivered again changes nothing.
    expect(await manualRuns.request(command(1))).toEqual({ kind: 'already-running' });
    // Once the first run's wrapper exits, the job takes a manual run again.
    wrappers.get(command(1).requestId)?.();
    await new Promise((resolve) => setImmediate(resolve));
    expect(await manualRuns.request(command(4))).toEqual({ kind: 'started' });
  });

  it('counts manual runs other processes started (the registry), not scheduled ones', async () => {
    const { manualRuns, checkIns } = setUp();
    const live = (runId: string, manual: boolean) =>
      LiveRunEntry.create(stateDir, {
        runId,
        namespace: 'test',
        name: 'report',
        attempt: 1,
        trigger: manual ? 'manual' : 'scheduled',
        manual,
        revision: spec.revision,
        startedAt: new Date().toISOString(),
        outputMaxBytes: 4096,
      });
    const scheduled = await live('11111111-2222-4333-8444-555555555555', false);
    expect(await manualRuns.request(command(1))).toEqual({ kind: 'started' });

    const fresh = setUp();
    const terminal = await live('66666666-7777-4888-8999-000000000000', true);
    expect(await fresh.manualRuns.request(command(2))).toMatchObject({
      kind: 'skipped',
      runningRunId: '66666666-7777-4888-8999-000000000000',
    });
    expect(fresh.checkIns.map((checkIn) => `${checkIn.kind} ${checkIn.runId}`)).toEqual([
      `start ${command(2).requestId}`,
      `finish ${command(2).requestId}`,
    ]);
    await terminal.remove();
    await scheduled.remove();
    expect(await fresh.manualRuns.request(command(3))).toEqual({ kind: 'started' });
    expect(checkIns).toEqual([]);
  });
});
