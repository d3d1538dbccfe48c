import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CheckIn, CheckInFinish } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RunReaper } from '../../src/control/runReaper.js';
import { liveRunDirectory, readLiveRuns } from '../../src/run/liveRunRegistry.js';
import { isGroupRunning, isProcessRunning } from '../../src/run/processGroup.js';
import { openRunCheckInSink } from '../../src/run/runCheckInSink.js';
import { spoolDirectoryOf } from '../../src/spool/checkInSpool.js';
import { readSegmentFile } from '../../src/spool/spoolLayout.js';
import { finishes, jobSpec, spawnWrapper, starts, TestState, waitFor } from './runFixtures.js';

/**
 * The live-run registry with real wrapper processes: a run is listed while its wrapper runs and
 * gone once its finish is recorded; after `kill -9` of the wrapper of an Allow job (no lock, so
 * no later run would ever clean up), the daemon's reaper stops the command's whole process group
 * and spools a `lost` finish with the reason.
 */

let state: TestState;
let marks: string;
beforeAll(async () => {
  state = await TestState.create('live-runs');
  marks = path.join(state.root, 'marks');
  await mkdir(marks);
});
afterAll(() => state.remove());

const silent = { info: () => {}, warn: () => {}, error: () => {} };

async function spooled(): Promise<CheckIn[]> {
  const directory = path.join(spoolDirectoryOf(state.stateDir), 'segments');
  const names = await readdir(directory).catch(() => [] as string[]);
  const checkIns: CheckIn[] = [];
  for (const name of names.sort()) {
    const { entries } = await readSegmentFile(path.join(directory, name));
    checkIns.push(...entries.map((entry) => entry.checkIn));
  }
  return checkIns;
}

const readPid = async (file: string) => {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.endsWith('\n') ? Number(text) : undefined;
};

describe('live runs', () => {
  it('a run is live from before its start check-in until its finish is recorded', async () => {
    const release = path.join(marks, 'normal-release');
    await state.install(
      jobSpec('normal', {
        command: `while [ ! -e ${release} ]; do sleep 0.02; done; echo done`,
      }),
    );
    const wrapper = spawnWrapper(state, 'test/normal');
    const live = await waitFor('the run to be live, with its group', async () => {
      const [file] = await readLiveRuns(state.stateDir);
      return file?.record?.group != null ? file.record : undefined;
    });
    const runStart = starts(await state.checkIns()).find((start) => start.name === 'normal');
    expect(runStart?.runId).toBe(live.runId);
    expect(live).toMatchObject({
      namespace: 'test',
      name: 'normal',
      attempt: 1,
      trigger: 'scheduled',
      wrapper: { pid: wrapper.child.pid },
    });
    expect(isGroupRunning(live.group!)).toBe(true);
    const reaper = new RunReaper({
      stateDir: state.stateDir,
      sink: await openRunCheckInSink(state.stateDir),
      logger: silent,
    });
    expect(await reaper.runningRunIds()).toEqual([live.runId]);

    await mkdir(release);
    expect((await wrapper.exited).code).toBe(0);
    expect(await readLiveRuns(state.stateDir)).toEqual([]);
    expect(await reaper.runningRunIds()).toEqual([]);
    expect(finishes(await state.checkIns()).find((f) => f.runId === live.runId)?.status).toBe(
      'succeeded',
    );
  });

  it('after kill -9 of the wrapper of an Allow job, the reaper stops its group and records it lost', async () => {
    const background = path.join(marks, 'allow-background');
    await state.install(
      jobSpec('forever', {
        concurrencyPolicy: 'Allow',
        // A grandchild in the background and a shell loop in the foreground, printing as it goes.
        command: `sleep 1000 & echo $! > ${background}; while true; do echo tick; sleep 0.2; done`,
      }),
    );
    const wrapper = spawnWrapper(state, 'test/forever', { spool: true, killGraceMs: 1_000 });
    const live = await waitFor('the run to be live, with its group', async () => {
      const files = await readLiveRuns(state.stateDir);
      const file = files.find((candidate) => candidate.record?.name === 'forever');
      return file?.record?.group != null ? file.record : undefined;
    });
    const backgroundPid = await waitFor('the background sleep', () => readPid(background));
    const spool = await openRunCheckInSink(state.stateDir);
    const reaper = new RunReaper({
      stateDir: state.stateDir,
      sink: spool,
      logger: silent,
      killGraceMs: 1_000,
    });
    // Alive: listed, and a sweep leaves it alone.
    expect(await reaper.runningRunIds()).toEqual([live.runId]);
    expect(await reaper.sweep()).toEqual([]);
    await waitFor('some output in the run log', async () => {
      const log = path.join(state.stateDir, 'logs', 'test', 'forever', `${live.runId}.log`);
      return (await readFile(log, 'utf8').catch(() => '')).includes('tick\n');
    });

    wrapper.child.kill('SIGKILL');
    expect((await wrapper.exited).signal).toBe('SIGKILL');
    // Unsupervised: nobody will ever report it or stop it (Allow takes no lock).
    expect(isGroupRunning(live.group!)).toBe(true);
    expect(isProcessRunning(backgroundPid)).toBe(true);

    const reaped = await reaper.sweep();
    const reason = `its run wrapper (pid ${wrapper.child.pid}) ended without recording the run's end (killed, e.g. by kill -9 or the out-of-memory killer, or crashed); the agent stopped its command (process group ${live.group?.pgid}: TERM, then KILL after 1 s)`;
    expect(reaped).toEqual([
      {
        runId: live.runId,
        job: 'test/forever',
        liveness: 'wrapper-gone',
        stoppedGroup: true,
        reason,
        recorded: true,
      },
    ]);
    expect(isGroupRunning(live.group!)).toBe(false);
    expect(isProcessRunning(backgroundPid)).toBe(false);
    expect(existsSync(path.join(liveRunDirectory(state.stateDir), `${live.runId}.jsonl`))).toBe(
      false,
    );

    const checkIns = (await spooled()).filter((checkIn) => checkIn.runId === live.runId);
    expect(checkIns.map((checkIn) => checkIn.kind)).toEqual(['start', 'finish']);
    const finish = checkIns[1] as CheckInFinish;
    expect(finish).toMatchObject({
      status: 'lost',
      reason,
      namespace: 'test',
      name: 'forever',
      attempt: 1,
      exitCode: null,
      signal: null,
    });
    // What the command printed until then (its log), then the note.
    expect(`${finish.outputHead}${finish.outputTail}`).toMatch(
      /^tick\n(tick\n)*\[cronfleet\] lost: its run wrapper .*\n$/,
    );
    expect(await reaper.runningRunIds()).toEqual([]);
  });
});
