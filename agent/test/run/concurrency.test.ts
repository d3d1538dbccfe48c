import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessRunning } from '../../src/run/processGroup.js';
import {
  finishes,
  jobSpec,
  spawnWrapper,
  starts,
  TestState,
  uuidPattern,
  waitFor,
} from './runFixtures.js';

/**
 * concurrencyPolicy with real wrapper processes sharing one state directory: Forbid with five
 * wrappers started at once, Replace, and a wrapper killed -9 in the middle of a run.
 */

let state: TestState;
let marks: string;
beforeAll(async () => {
  state = await TestState.create('concurrency');
  marks = path.join(state.root, 'marks');
  await mkdir(marks);
});
afterAll(() => state.remove());

const lockFile = (name: string) => path.join(state.stateDir, 'locks', 'test', `${name}.lock`);
const readPid = async (file: string) => {
  const text = await readFile(file, 'utf8').catch(() => '');
  return text.endsWith('\n') ? Number(text) : undefined;
};

// Each wrapper process compiles its TypeScript through tsx first: seconds on a loaded machine.
describe('concurrencyPolicy', () => {
  it('Forbid: of five wrappers started at once, exactly one runs; four record skipped', async () => {
    const ran = path.join(marks, 'forbid-ran');
    const release = path.join(marks, 'forbid-release');
    await state.install(
      jobSpec('forbid', {
        concurrencyPolicy: 'Forbid',
        command: `echo $$ >> ${ran}; while [ ! -e ${release} ]; do sleep 0.02; done; echo done`,
      }),
    );
    const wrappers = Array.from({ length: 5 }, () => spawnWrapper(state, 'test/forbid'));
    const forbid = async () => (await state.checkIns()).filter((c) => c.name === 'forbid');
    // The one that runs waits for `release` until the four others have recorded their skip.
    await waitFor('four skipped runs', async () => {
      const skipped = finishes(await forbid()).filter((finish) => finish.status === 'skipped');
      return skipped.length === 4 || undefined;
    });
    await writeFile(release, '');
    const exits = await Promise.all(wrappers.map((wrapper) => wrapper.exited));
    expect(exits.map(({ code, stderr }) => [code, stderr])).toEqual(
      Array.from({ length: 5 }, () => [0, '']),
    );
    expect((await readFile(ran, 'utf8')).trim().split('\n')).toHaveLength(1);

    const checkIns = await forbid();
    const runStarts = starts(checkIns);
    const runFinishes = finishes(checkIns);
    expect(runStarts).toHaveLength(5);
    expect(new Set(runStarts.map((start) => start.runId)).size).toBe(5);
    const winner = runFinishes.find((finish) => finish.status === 'succeeded');
    expect(winner).toMatchObject({ exitCode: 0, outputHead: 'done\n' });
    expect(winner?.runId).toMatch(uuidPattern);
    const skipped = runFinishes.filter((finish) => finish.status === 'skipped');
    expect(skipped).toHaveLength(4);
    const holderLine = new RegExp(
      `^\\[cronfleet\\] skipped \\(concurrencyPolicy Forbid\\): run ${winner?.runId} \\(attempt 1, wrapper pid \\d+ on ${os.hostname()}, since [0-9T:.Z-]+\\) holds the lock\\n$`,
    );
    for (const finish of skipped) {
      expect(finish).toMatchObject({ exitCode: null, signal: null, outputTruncated: false });
      expect(finish.outputHead).toMatch(holderLine);
      // Each skip is a run of its own: its start precedes its finish.
      expect(runStarts.some((start) => start.runId === finish.runId)).toBe(true);
    }
    expect(existsSync(lockFile('forbid'))).toBe(false);
  });

  it('Replace: stops the running one’s whole group, then starts', async () => {
    const first = path.join(marks, 'replace-first');
    const background = path.join(marks, 'replace-background');
    await state.install(
      jobSpec('replace', {
        concurrencyPolicy: 'Replace',
        command: `if [ -e ${first} ]; then echo second; else touch ${first}; sleep 60 & echo $! > ${background}; echo first; sleep 60; fi`,
      }),
    );
    const older = spawnWrapper(state, 'test/replace', { killGraceMs: 1_000 });
    const backgroundPid = await waitFor('the first run to start', () => readPid(background));
    expect(isProcessRunning(backgroundPid)).toBe(true);
    const newer = spawnWrapper(state, 'test/replace', { killGraceMs: 1_000 });
    const [olderExit, newerExit] = await Promise.all([older.exited, newer.exited]);
    expect([olderExit.code, olderExit.stderr]).toEqual([143, '']);
    expect([newerExit.code, newerExit.stderr]).toEqual([0, '']);
    expect(isProcessRunning(backgroundPid)).toBe(false);

    const checkIns = (await state.checkIns()).filter((checkIn) => checkIn.name === 'replace');
    // The replaced run's finish is recorded before the new run starts.
    expect(checkIns.map((checkIn) => checkIn.kind)).toEqual(['start', 'finish', 'start', 'finish']);
    const [olderStart, olderFinish, newerStart, newerFinish] = checkIns;
    expect(olderFinish).toEqual({
      ...olderFinish,
      runId: olderStart?.runId,
      status: 'failed',
      exitCode: null,
      signal: 'SIGTERM',
      outputHead: `first\n[cronfleet] stopped: replaced by run ${newerStart?.runId} (concurrencyPolicy Replace)\n`,
    });
    expect(newerFinish).toMatchObject({
      runId: newerStart?.runId,
      status: 'succeeded',
      exitCode: 0,
      outputHead: 'second\n',
    });
    expect(existsSync(lockFile('replace'))).toBe(false);
  });

  it('a wrapper killed -9 mid-run does not block the next run; its orphan is stopped', async () => {
    const first = path.join(marks, 'crash-first');
    const orphan = path.join(marks, 'crash-orphan');
    await state.install(
      jobSpec('crash', {
        concurrencyPolicy: 'Forbid',
        command: `if [ -e ${first} ]; then echo second; else touch ${first}; sleep 60 & echo $! > ${orphan}; wait; fi`,
      }),
    );
    const crashed = spawnWrapper(state, 'test/crash', { killGraceMs: 1_000 });
    const orphanPid = await waitFor('the first run to start', () => readPid(orphan));
    // The wrapper names the command's process group in its lock just after starting it; killed
    // before that (a window of a few milliseconds, wider on a busy machine) it leaves nothing to
    // stop, which is not what this test is about.
    await waitFor('the lock to name the process group', async () =>
      (await readFile(lockFile('crash'), 'utf8').catch(() => '')).includes('"pgid"'),
    );
    crashed.child.kill('SIGKILL');
    expect((await crashed.exited).signal).toBe('SIGKILL');
    // The lock still names the dead wrapper, and its command still runs, unsupervised.
    expect(existsSync(lockFile('crash'))).toBe(true);
    expect(isProcessRunning(orphanPid)).toBe(true);

    const next = spawnWrapper(state, 'test/crash', { killGraceMs: 1_000 });
    const { code, stderr } = await next.exited;
    expect(code).toBe(0);
    const checkIns = (await state.checkIns()).filter((checkIn) => checkIn.name === 'crash');
    expect(checkIns.map((checkIn) => checkIn.kind)).toEqual(['start', 'start', 'finish']);
    const [crashedStart, nextStart, nextFinish] = checkIns;
    expect(nextFinish).toMatchObject({
      runId: nextStart?.runId,
      status: 'succeeded',
      outputHead: 'second\n',
    });
    expect(stderr).toMatch(
      new RegExp(
        `^cronfleet-agent run: test/crash: took over the lock of run ${crashedStart?.runId} \\(attempt 1, wrapper pid ${crashed.child.pid} on .*\\): its wrapper is gone; stopped the command it left running \\(process group \\d+\\)\\n$`,
      ),
    );
    expect(isProcessRunning(orphanPid)).toBe(false);
    expect(existsSync(lockFile('crash'))).toBe(false);
  });
});
