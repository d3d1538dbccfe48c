import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFastPath } from '../../src/run/runFastPath.js';
import { finishes, jobSpec, MemoryCheckInSink, starts, TestState } from './runFixtures.js';

/**
 * The executable's fast path for `run`: it takes exactly the lines the agent renders into
 * schedulers and leaves everything else to the full CLI.
 */

let state: TestState;
beforeAll(async () => {
  state = await TestState.create('fast');
  await state.install(jobSpec('hello', { command: 'echo hello; exit 7' }));
});
afterAll(() => state.remove());

function collect(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    text: () => text,
  };
}

describe('runFastPath', () => {
  it('leaves every other command line to the full CLI', async () => {
    const sink = new MemoryCheckInSink();
    const io = { stdout: collect().stream, stderr: collect().stream, environment: {} };
    for (const argv of [
      ['run', 'test/hello'], // the state dir comes from the configuration
      ['run', '--config', '/etc/cronfleet.yaml', '--state-dir', state.stateDir, 'test/hello'],
      ['run', '--state-dir', 'relative/dir', 'test/hello'],
      ['run', '--state-dir', state.stateDir, '--log-level', 'debug', 'test/hello'],
      ['run', '--state-dir', state.stateDir, '--scheduled-at', 'yesterday', 'test/hello'],
      ['run', '--state-dir', state.stateDir, 'test/hello', 'extra'],
      ['sync', '--state-dir', state.stateDir],
      ['--help'],
    ]) {
      expect(await runFastPath(argv, io, () => sink), argv.join(' ')).toBeUndefined();
    }
    expect(sink.checkIns).toEqual([]);
  });

  it('runs the wrapper for the lines the agent renders, with the job’s exit code', async () => {
    const sink = new MemoryCheckInSink();
    const stdout = collect();
    const stderr = collect();
    const io = { stdout: stdout.stream, stderr: stderr.stream, environment: {} };
    const scheduled = await runFastPath(
      [
        'run',
        '--state-dir',
        state.stateDir,
        '--scheduled-at',
        '2026-03-01T10:00:00Z',
        'test/hello',
      ],
      io,
      () => sink,
    );
    expect(scheduled).toBe(7);
    // A scheduled run keeps the job's output off the wrapper's stdout (cron would mail it).
    expect(stdout.text()).toBe('');
    const manual = await runFastPath(
      ['run', '--now', '--state-dir', state.stateDir, 'test/hello'],
      io,
      () => sink,
    );
    expect(manual).toBe(7);
    // A manual run shows it.
    expect(stdout.text()).toBe('hello\n');
    expect(stderr.text()).toBe('');
    expect(starts(sink.checkIns).map((start) => [start.trigger, start.scheduledAt])).toEqual([
      ['scheduled', '2026-03-01T10:00:00.000Z'],
      ['manual', null],
    ]);
    expect(finishes(sink.checkIns).map((finish) => finish.exitCode)).toEqual([7, 7]);
    expect(await runFastPath(['run', '--state-dir', state.stateDir, 'test/none'], io)).toBe(2);
    expect(stderr.text()).toBe(
      `cronfleet-agent run: job test/none is not installed by the agent of ${state.stateDir}: its inventory does not list it. See what is installed with: cronfleet-agent status --state-dir ${state.stateDir}; a scheduler entry left over from a removed job can be deleted\n`,
    );
  });
});
