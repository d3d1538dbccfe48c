import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessRunning } from '../../src/run/processGroup.js';
import { finishes, jobSpec, spawnWrapper, starts, TestState, waitFor } from './runFixtures.js';

/**
 * The wrapper as its own process (the code path of `cronfleet-agent run`, from the TypeScript
 * sources through tsx): its exit code is the job's, a TERM to the wrapper stops the job's whole
 * group and still records the finish, and its check-ins bracket the command.
 */

let state: TestState;
beforeAll(async () => {
  state = await TestState.create('process');
  await state.install(
    jobSpec('exit-0', { command: 'exit 0' }),
    jobSpec('exit-1', { command: 'echo failing >&2; exit 1' }),
    jobSpec('killed', { command: 'kill -9 $$' }),
  );
});
afterAll(() => state.remove());

// Each wrapper process compiles its TypeScript through tsx first: seconds on a loaded machine.
describe('the wrapper process', () => {
  it("exits with the job's own exit code: 0, 1, and 137 for a KILL", async () => {
    const wrappers = ['exit-0', 'exit-1', 'killed'].map((name) =>
      spawnWrapper(state, `test/${name}`),
    );
    const exits = await Promise.all(wrappers.map((wrapper) => wrapper.exited));
    expect(exits.map(({ code, signal }) => [code, signal])).toEqual([
      [0, null],
      [1, null],
      [137, null],
    ]);
    expect(exits.map(({ stderr }) => stderr)).toEqual(['', '', '']);
    const byName = new Map(finishes(await state.checkIns()).map((finish) => [finish.name, finish]));
    expect(byName.get('exit-0')).toMatchObject({ status: 'succeeded', exitCode: 0, signal: null });
    expect(byName.get('exit-1')).toMatchObject({
      status: 'failed',
      exitCode: 1,
      signal: null,
      outputHead: 'failing\n',
    });
    expect(byName.get('killed')).toMatchObject({
      status: 'failed',
      exitCode: null,
      signal: 'SIGKILL',
    });
  });

  it('stops the whole group on TERM, records the finish, exits 143', async () => {
    const marks = path.join(state.root, 'marks');
    await mkdir(marks);
    await state.install(
      jobSpec('long', {
        command: 'sleep 60 & echo $! > "$MARKS/background.pid"; echo started; sleep 60',
        env: { MARKS: marks },
      }),
    );
    const wrapper = spawnWrapper(state, 'test/long', { killGraceMs: 500 });
    const pidFile = path.join(marks, 'background.pid');
    const background = await waitFor('the job to start', async () => {
      const text = await readFile(pidFile, 'utf8').catch(() => '');
      return text.endsWith('\n') ? Number(text) : undefined;
    });
    expect(isProcessRunning(background)).toBe(true);
    wrapper.child.kill('SIGTERM');
    const { code, stderr } = await wrapper.exited;
    expect(stderr).toBe('');
    expect(code).toBe(143);
    const checkIns = (await state.checkIns()).filter((checkIn) => checkIn.name === 'long');
    expect(checkIns.map((checkIn) => checkIn.kind)).toEqual(['start', 'finish']);
    expect(finishes(checkIns)[0]).toMatchObject({
      status: 'failed',
      exitCode: null,
      signal: 'SIGTERM',
      outputHead: 'started\n[cronfleet] stopped: the wrapper was told to stop (SIGTERM)\n',
    });
    expect(isProcessRunning(background)).toBe(false);
  });

  it('brackets the command with its check-ins, with little added time (sanity)', async () => {
    const times = path.join(state.root, 'times');
    await state.install(
      jobSpec('timed', { command: `date +%s%3N >> ${times}; sleep 0.2; date +%s%3N >> ${times}` }),
    );
    const spawnedAt = Date.now();
    const wrapper = spawnWrapper(state, 'test/timed');
    const { code } = await wrapper.exited;
    const exitedAt = Date.now();
    expect(code).toBe(0);
    const [commandStart, commandEnd] = (await readFile(times, 'utf8'))
      .trim()
      .split('\n')
      .map(Number);
    const checkIns = (await state.checkIns()).filter((checkIn) => checkIn.name === 'timed');
    const startedAt = Date.parse(starts(checkIns)[0]?.startedAt ?? '');
    const finishedAt = Date.parse(finishes(checkIns)[0]?.finishedAt ?? '');
    // The start is recorded before the command starts, the finish after it ends.
    expect(startedAt).toBeLessThanOrEqual(commandStart ?? 0);
    expect(finishedAt).toBeGreaterThanOrEqual(commandEnd ?? 0);
    expect(finishes(checkIns)[0]?.durationMs).toBe(finishedAt - startedAt);
    // Loose bounds: this wrapper runs from TypeScript through tsx on a shared CI machine; the
    // compiled wrapper's figures come from the benchmark (wrapperLatency.ts).
    expect((commandStart ?? 0) - spawnedAt).toBeLessThan(10_000);
    expect(exitedAt - (commandEnd ?? 0)).toBeLessThan(2_000);
    expect(commandStart).toBeGreaterThanOrEqual(spawnedAt);
  });
});
