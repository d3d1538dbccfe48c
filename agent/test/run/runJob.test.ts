import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { CheckIn } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isProcessRunning } from '../../src/run/processGroup.js';
import { retryDelayMs, runJob, type RunJobOptions } from '../../src/run/runJob.js';
import type { RunSpec } from '../../src/state/runSpec.js';
import { itNeeding, runningAsRoot } from '../requireRoot.js';
import {
  finishes,
  jobSpec,
  MemoryCheckInSink,
  REVISION,
  starts,
  TestState,
  uuidPattern,
  waitFor,
} from './runFixtures.js';

/**
 * runJob in-process with real commands (/bin/sh, real process groups), a real state directory
 * and an in-memory sink: check-in shapes, the skip rule, suspension, retries, timeouts, output
 * and log files, and a failing or hanging sink.
 */

let state: TestState;
beforeAll(async () => {
  state = await TestState.create('job');
});
afterAll(() => state.remove());

let counter = 0;
/** Installs a fresh job and runs it once; answers the outcome, the check-ins and the warnings. */
async function run(
  overrides: Partial<RunSpec>,
  options: Partial<RunJobOptions> = {},
): Promise<{
  outcome: Awaited<ReturnType<typeof runJob>>;
  checkIns: CheckIn[];
  warnings: string[];
  spec: RunSpec;
}> {
  counter += 1;
  const spec = jobSpec(`job-${counter}`, overrides);
  await state.install(spec);
  const sink = new MemoryCheckInSink();
  const warnings: string[] = [];
  const outcome = await runJob({
    stateDir: state.stateDir,
    id: spec.id,
    manual: false,
    environment: { PATH: process.env.PATH },
    sink,
    warn: (message) => warnings.push(message),
    killGraceMs: 300,
    ...options,
  });
  return { outcome, checkIns: sink.checkIns, warnings, spec };
}

const at = (iso: string) => () => new Date(iso);

describe('a scheduled run', () => {
  it('records a start before the command and a finish after it, one runId', async () => {
    const before = Date.now();
    const { outcome, checkIns, warnings, spec } = await run(
      { command: 'echo "out $GREETING"; echo err >&2; pwd', env: { GREETING: 'hi' } },
      { scheduledAt: new Date('2026-03-01T10:00:00Z') },
    );
    expect(warnings).toEqual([]);
    expect(outcome.kind).toBe('ran');
    expect(outcome.exitCode).toBe(0);
    expect(checkIns.map((checkIn) => checkIn.kind)).toEqual(['start', 'finish']);
    const [start] = starts(checkIns);
    const [finish] = finishes(checkIns);
    expect(start).toEqual({
      kind: 'start',
      runId: expect.stringMatching(uuidPattern) as string,
      namespace: 'test',
      name: spec.name,
      attempt: 1,
      trigger: 'scheduled',
      scheduledAt: '2026-03-01T10:00:00.000Z',
      startedAt: expect.any(String) as string,
      revision: REVISION,
    });
    expect(Date.parse(start?.startedAt ?? '')).toBeGreaterThanOrEqual(before - 1);
    // No workingDir and no HOME: the wrapper's own directory.
    expect(finish).toEqual({
      kind: 'finish',
      runId: start?.runId,
      namespace: 'test',
      name: spec.name,
      attempt: 1,
      status: 'succeeded',
      finishedAt: expect.any(String) as string,
      durationMs: expect.any(Number) as number,
      exitCode: 0,
      signal: null,
      // stdout and stderr in one stream, in the order written (as cron does).
      outputHead: `out hi\nerr\n${process.cwd()}\n`,
      outputTail: '',
      outputTruncated: false,
      revision: REVISION,
    });
    expect(Date.parse(finish?.finishedAt ?? '') - Date.parse(start?.startedAt ?? '')).toBe(
      finish?.durationMs,
    );
    // The whole output is in the run's log file.
    const logFile = path.join(state.stateDir, 'logs', 'test', spec.name, `${start?.runId}.log`);
    expect(await readFile(logFile, 'utf8')).toBe(finish?.outputHead);
  });

  it('runs in workingDir, and an argv command runs without a shell', async () => {
    const { checkIns } = await run({ command: ['/bin/echo', '$HOME', '*'], workingDir: '/tmp' });
    expect(finishes(checkIns)[0]?.outputHead).toBe('$HOME *\n');
    const { checkIns: second } = await run({ command: 'pwd', workingDir: '/tmp' });
    expect(finishes(second)[0]?.outputHead).toBe('/tmp\n');
    // Without workingDir: the home directory of the user the job runs as.
    const { checkIns: third } = await run(
      { command: 'pwd; echo $HOME' },
      { environment: { PATH: process.env.PATH, HOME: state.root } },
    );
    expect(finishes(third)[0]?.outputHead).toBe(`${state.root}\n${state.root}\n`);
  });

  itNeeding(
    [runningAsRoot],
    'runs as spec.user when the wrapper is root (needs root)',
    async () => {
      const { checkIns } = await run({
        command: 'id -un; pwd; echo $HOME',
        user: 'nobody',
        workingDir: '/tmp',
      });
      const home = (await readFile('/etc/passwd', 'utf8'))
        .split('\n')
        .find((line) => line.startsWith('nobody:'))
        ?.split(':')[5];
      expect(finishes(checkIns)[0]).toMatchObject({
        status: 'succeeded',
        outputHead: `nobody\n/tmp\n${home}\n`,
      });
      const unknown = await run({ command: 'true', user: 'no-such-user-here' });
      expect(finishes(unknown.checkIns)[0]).toMatchObject({
        status: 'failed',
        outputHead:
          '[cronfleet] cannot start the command: spec.user: no user "no-such-user-here" on this machine (getent passwd no-such-user-here)\n',
      });
    },
  );

  it("applies the time-zone skip rule: a native fire that is not the job's records nothing", async () => {
    const superset = {
      schedule: '0 3 * * *',
      native: { expression: '0 * * * *', timezone: 'UTC', exact: false },
    };
    const skipped = await run(superset, { now: at('2026-03-01T04:00:07Z') });
    expect(skipped.outcome).toEqual({
      kind: 'not-run',
      reason:
        'native fire 2026-03-01T04:00:00.000Z ("0 * * * *" in UTC) is not a fire time of "0 3 * * *" in UTC; ' +
        "the job's next fire time is 2026-03-02T03:00:00.000Z",
      exitCode: 0,
    });
    expect(skipped.checkIns).toEqual([]);
    const fired = await run(superset, { now: at('2026-03-01T03:00:07Z') });
    expect(fired.outcome.kind).toBe('ran');
    expect(starts(fired.checkIns)[0]?.scheduledAt).toBe('2026-03-01T03:00:00.000Z');
  });

  it('does not run a suspended job, unless manually', async () => {
    const suspended = await run({ suspend: true, command: 'echo ran' });
    expect(suspended.outcome).toEqual({
      kind: 'not-run',
      reason: `test/${suspended.spec.name} is suspended`,
      exitCode: 0,
    });
    expect(suspended.checkIns).toEqual([]);

    const manual = await run(
      {
        suspend: true,
        command: 'echo ran',
        schedule: '0 3 * * *',
        native: { expression: '0 * * * *', timezone: 'UTC', exact: false },
      },
      { manual: true, now: at('2026-03-01T04:30:00Z'), scheduledAt: new Date(0) },
    );
    expect(manual.outcome.kind).toBe('ran');
    expect(starts(manual.checkIns)[0]).toMatchObject({ trigger: 'manual', scheduledAt: null });
    expect(finishes(manual.checkIns)[0]).toMatchObject({
      status: 'succeeded',
      outputHead: 'ran\n',
    });
  });

  it('answers an error (exit 2) for a job that is not installed or not a job id', async () => {
    const sink = new MemoryCheckInSink();
    const common = {
      stateDir: state.stateDir,
      manual: false,
      environment: {},
      sink,
      warn: () => {},
    };
    expect(await runJob({ ...common, id: 'test/absent' })).toEqual({
      kind: 'error',
      message: `job test/absent is not installed by the agent of ${state.stateDir}: its inventory does not list it. See what is installed with: cronfleet-agent status --state-dir ${state.stateDir}; a scheduler entry left over from a removed job can be deleted`,
      exitCode: 2,
    });
    expect((await runJob({ ...common, id: '../etc' })).exitCode).toBe(2);
    expect(sink.checkIns).toEqual([]);
  });
});

describe('exit codes and failures', () => {
  it('passes the exit code through and reports a failed run', async () => {
    const { outcome, checkIns } = await run({ command: 'echo bad; exit 3' });
    expect(outcome.exitCode).toBe(3);
    expect(finishes(checkIns)[0]).toMatchObject({
      status: 'failed',
      exitCode: 3,
      signal: null,
      outputHead: 'bad\n',
    });
  });

  it('reports a signal as the signal, exit code 128 + its number', async () => {
    const { outcome, checkIns } = await run({ command: 'kill -9 $$' });
    expect(outcome.exitCode).toBe(137);
    expect(finishes(checkIns)[0]).toMatchObject({
      status: 'failed',
      exitCode: null,
      signal: 'SIGKILL',
    });
  });

  it('reports a command that cannot start as failed, exit 127, saying why', async () => {
    // A program that does not exist: the shell's answer, as under cron.
    const missing = await run({ command: ['/nonexistent/tool', '--flag'] });
    expect(missing.outcome.exitCode).toBe(127);
    expect(finishes(missing.checkIns)[0]).toMatchObject({
      status: 'failed',
      exitCode: 127,
      signal: null,
    });
    expect(finishes(missing.checkIns)[0]?.outputHead).toMatch(/^sh: .*\/nonexistent\/tool.*\n$/);
    // A working directory that does not exist: the wrapper's answer.

    const noDir = await run({ command: 'true', workingDir: '/nonexistent/dir' });
    expect(noDir.outcome.exitCode).toBe(127);
    expect(finishes(noDir.checkIns)[0]).toMatchObject({
      status: 'failed',
      exitCode: null,
      signal: null,
      outputHead: '[cronfleet] cannot start the command: workingDir /nonexistent/dir: ENOENT\n',
    });
  });

  it('times out: TERM to the whole group, grandchildren included, then KILL', async () => {
    const pidFile = path.join(state.root, 'background.pid');
    const started = Date.now();
    const { outcome, checkIns } = await run({
      // The background sleep is a grandchild of the wrapper; the trap makes the shell outlive
      // TERM, so the KILL after the grace is needed too.
      command: `sleep 60 & echo $! > ${pidFile}; trap '' TERM; echo waiting; while true; do sleep 0.05; done`,
      timeoutMs: 300,
    });
    const elapsed = Date.now() - started;
    expect(outcome.exitCode).toBe(137);
    expect(finishes(checkIns)[0]).toMatchObject({
      status: 'timed_out',
      exitCode: null,
      signal: 'SIGKILL',
      outputHead:
        'waiting\n[cronfleet] timed out after 300 ms: TERM sent to the process group, KILL 300 ms later\n',
    });
    expect(elapsed).toBeGreaterThanOrEqual(600);
    expect(elapsed).toBeLessThan(5_000);
    const background = Number(await readFile(pidFile, 'utf8'));
    await waitFor('the background sleep to be gone', () => !isProcessRunning(background), 2_000);
  });

  it('does not wait for a background process that keeps the output pipe open', async () => {
    const pidFile = path.join(state.root, 'lingering.pid');
    const started = Date.now();
    const { outcome, checkIns } = await run(
      { command: `sleep 30 & echo $! > ${pidFile}; echo leaving` },
      { outputDrainMs: 200 },
    );
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(outcome.exitCode).toBe(0);
    expect(finishes(checkIns)[0]).toMatchObject({ status: 'succeeded', outputHead: 'leaving\n' });
    // Left running, as cron leaves it: only a stopped or timed-out run loses its group.
    const lingering = Number(await readFile(pidFile, 'utf8'));
    expect(isProcessRunning(lingering)).toBe(true);
    process.kill(lingering, 'SIGKILL');
  });

  it('keeps a non-UTF-8 output readable in the check-in and byte-exact in the log', async () => {
    const { checkIns, spec } = await run({ command: "printf 'caf\\351 \\377\\376 ok\\n'" });
    const [finish] = finishes(checkIns);
    expect(finish?.outputHead).toBe('caf\uFFFD \uFFFD\uFFFD ok\n');
    const log = await readFile(
      path.join(state.stateDir, 'logs', 'test', spec.name, `${finish?.runId}.log`),
    );
    expect([...log]).toEqual([...Buffer.from('caf\xe9 \xff\xfe ok\n', 'latin1')]);
  });
});

describe('retries', () => {
  it('waits delay, then twice that (exponential)', () => {
    const retries = { limit: 3, delayMs: 30_000, backoff: 'exponential' as const };
    expect([2, 3, 4].map((next) => retryDelayMs(retries, next))).toEqual([30_000, 60_000, 120_000]);
    expect(retryDelayMs({ ...retries, backoff: 'constant' }, 4)).toBe(30_000);
  });

  it('retries a failed run, each attempt its own run with its attempt number', async () => {
    const counterFile = path.join(state.root, 'attempts');
    const { outcome, checkIns } = await run(
      {
        // Fails twice, then succeeds.
        command: `n=$(cat ${counterFile} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counterFile}; echo "attempt $n"; [ $n -ge 3 ]`,
        retries: { limit: 4, delayMs: 60, backoff: 'exponential' },
      },
      { scheduledAt: new Date('2026-03-01T10:00:00Z') },
    );
    expect(outcome.exitCode).toBe(0);
    expect(checkIns.map((checkIn) => `${checkIn.kind} ${checkIn.attempt}`)).toEqual([
      'start 1',
      'finish 1',
      'start 2',
      'finish 2',
      'start 3',
      'finish 3',
    ]);
    const runStarts = starts(checkIns);
    const runFinishes = finishes(checkIns);
    expect(runStarts.map((start) => start.trigger)).toEqual(['scheduled', 'retry', 'retry']);
    expect(new Set(runStarts.map((start) => start.scheduledAt))).toEqual(
      new Set(['2026-03-01T10:00:00.000Z']),
    );
    expect(new Set(runStarts.map((start) => start.runId)).size).toBe(3);
    expect(runFinishes.map((finish) => finish.runId)).toEqual(
      runStarts.map((start) => start.runId),
    );
    expect(
      runFinishes.map((finish) => [finish.status, finish.exitCode, finish.outputHead]),
    ).toEqual([
      ['failed', 1, 'attempt 1\n'],
      ['failed', 1, 'attempt 2\n'],
      ['succeeded', 0, 'attempt 3\n'],
    ]);
    // The waits: 60 ms before attempt 2, 120 ms before attempt 3.
    const gap = (index: number) =>
      Date.parse(runStarts[index + 1]?.startedAt ?? '') -
      Date.parse(runFinishes[index]?.finishedAt ?? '');
    expect(gap(0)).toBeGreaterThanOrEqual(60);
    expect(gap(1)).toBeGreaterThanOrEqual(120);
    expect(gap(1)).toBeLessThan(2_000);
  });

  it('stops after the limit with the last attempt’s exit code; timeouts are retried too', async () => {
    const { outcome, checkIns } = await run({
      command: 'exit 4',
      retries: { limit: 2, delayMs: 1, backoff: 'constant' },
    });
    expect(outcome.exitCode).toBe(4);
    expect(finishes(checkIns).map((finish) => [finish.attempt, finish.status])).toEqual([
      [1, 'failed'],
      [2, 'failed'],
      [3, 'failed'],
    ]);
    const timedOut = await run({
      command: 'sleep 10',
      timeoutMs: 100,
      retries: { limit: 1, delayMs: 1, backoff: 'constant' },
    });
    expect(
      finishes(timedOut.checkIns).map((finish) => [
        finish.status,
        finish.signal,
        finish.outputHead,
      ]),
    ).toEqual([
      [
        'timed_out',
        'SIGTERM',
        '[cronfleet] timed out after 100 ms: TERM sent to the process group\n',
      ],
      [
        'timed_out',
        'SIGTERM',
        '[cronfleet] timed out after 100 ms: TERM sent to the process group\n',
      ],
    ]);
    expect(timedOut.outcome.exitCode).toBe(143);
  });

  it('is stopped by its signal: the command ends, the finish is recorded, no retry', async () => {
    const controller = new AbortController();
    const running = run(
      { command: 'echo started; sleep 30', retries: { limit: 3, delayMs: 1, backoff: 'constant' } },
      { signal: controller.signal },
    );
    setTimeout(() => controller.abort('SIGTERM'), 300);
    const { outcome, checkIns } = await running;
    expect(outcome.exitCode).toBe(143);
    expect(checkIns.map((checkIn) => checkIn.kind)).toEqual(['start', 'finish']);
    expect(finishes(checkIns)[0]).toMatchObject({
      status: 'failed',
      signal: 'SIGTERM',
      outputHead: 'started\n[cronfleet] stopped: the wrapper was told to stop (SIGTERM)\n',
    });
  });
});

describe('the sink', () => {
  it('never stops or changes a run when it fails: the wrapper says so', async () => {
    const warnings: string[] = [];
    const spec = jobSpec('sink-fails', { command: 'echo still ran; exit 5' });
    await state.install(spec);
    const outcome = await runJob({
      stateDir: state.stateDir,
      id: spec.id,
      manual: true,
      environment: {},
      sink: { record: () => Promise.reject(new Error('ENOSPC: no space left on device')) },
      warn: (message) => warnings.push(message),
    });
    expect(outcome.exitCode).toBe(5);
    expect(warnings).toEqual([
      expect.stringMatching(
        /^test\/sink-fails: cannot record the check-in \(start [0-9a-f-]{36}\): ENOSPC: no space left on device; the job runs regardless$/,
      ),
      expect.stringMatching(
        /^test\/sink-fails: cannot record the check-in \(finish [0-9a-f-]{36}\)/,
      ),
    ]);
  });

  it('does not wait for a sink that hangs longer than recordTimeoutMs', async () => {
    const warnings: string[] = [];
    const spec = jobSpec('sink-hangs', { command: 'echo ran' });
    await state.install(spec);
    const started = Date.now();
    const outcome = await runJob({
      stateDir: state.stateDir,
      id: spec.id,
      manual: true,
      environment: {},
      sink: { record: () => new Promise(() => undefined) },
      warn: (message) => warnings.push(message),
      recordTimeoutMs: 100,
    });
    expect(outcome.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(warnings.map((warning) => warning.replace(/[0-9a-f-]{36}/, 'ID'))).toEqual([
      'test/sink-hangs: cannot record the check-in (start ID): no answer within 100 ms; the job runs regardless',
      'test/sink-hangs: cannot record the check-in (finish ID): no answer within 100 ms; the job runs regardless',
    ]);
  });
});

describe('run logs', () => {
  it('keeps the newest logs per job (retention)', async () => {
    const spec = jobSpec('rotated', { command: 'echo run' });
    await state.install(spec);
    const sink = new MemoryCheckInSink();
    for (let index = 0; index < 4; index += 1) {
      await runJob({
        stateDir: state.stateDir,
        id: spec.id,
        manual: true,
        environment: {},
        sink,
        warn: () => {},
        logRetention: { keepRuns: 2, maxBytesPerJob: 1_000_000 },
      });
      // Distinct modification times, so "newest" is well defined.
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    const directory = path.join(state.stateDir, 'logs', 'test', 'rotated');
    const runIds = starts(sink.checkIns).map((start) => `${start.runId}.log`);
    expect((await readdir(directory)).sort()).toEqual(runIds.slice(2).sort());
    expect(existsSync(path.join(directory, runIds[0] ?? ''))).toBe(false);
  });
});

describe('the concurrency lock, in-process', () => {
  it('Replace stops a run waiting between retries; it records nothing more', async () => {
    const marker = path.join(state.root, 'replace-retry-marker');
    const spec = jobSpec('replace-retry', {
      concurrencyPolicy: 'Replace',
      // The first attempt fails (and waits 20 s for its retry); any later run succeeds.
      command: `[ -e ${marker} ] || { touch ${marker}; exit 1; }`,
      retries: { limit: 3, delayMs: 20_000, backoff: 'constant' },
    });
    await state.install(spec);
    const sink = new MemoryCheckInSink();
    const options = {
      stateDir: state.stateDir,
      id: spec.id,
      manual: true,
      environment: { PATH: process.env.PATH },
      sink,
      warn: () => {},
      killGraceMs: 300,
    };
    const older = runJob(options);
    await waitFor('the first attempt to fail', () => finishes(sink.checkIns).length === 1);
    const started = Date.now();
    const newer = await runJob(options);
    expect(Date.now() - started).toBeLessThan(3_000);
    const olderOutcome = await older;
    expect([olderOutcome.exitCode, newer.exitCode]).toEqual([1, 0]);
    expect(sink.checkIns.map((checkIn) => `${checkIn.kind} ${checkIn.attempt}`)).toEqual([
      'start 1',
      'finish 1',
      'start 1',
      'finish 1',
    ]);
    expect(finishes(sink.checkIns).map((finish) => finish.status)).toEqual(['failed', 'succeeded']);
  });

  it('takes over a lock whose record cannot be read, and says so', async () => {
    const spec = jobSpec('garbled-lock', { concurrencyPolicy: 'Forbid', command: 'echo ran' });
    await state.install(spec);
    const lockFile = path.join(state.stateDir, 'locks', 'test', 'garbled-lock.lock');
    await mkdir(path.dirname(lockFile), { recursive: true });
    await writeFile(lockFile, '{"pid": "no');
    const { outcome, warnings } = await runOnce(spec);
    expect(outcome.exitCode).toBe(0);
    expect(warnings).toEqual([
      `test/garbled-lock: took over the lock ${lockFile}: its content was unreadable`,
    ]);
    expect(existsSync(lockFile)).toBe(false);
  });

  it('Allow takes no lock: two runs overlap', async () => {
    const spec = jobSpec('allowed', { concurrencyPolicy: 'Allow', command: 'sleep 0.3' });
    await state.install(spec);
    const [first, second] = await Promise.all([runOnce(spec), runOnce(spec)]);
    expect([first.outcome.exitCode, second.outcome.exitCode]).toEqual([0, 0]);
    const startOf = (run: typeof first) => Date.parse(starts(run.checkIns)[0]?.startedAt ?? '');
    const endOf = (run: typeof first) => Date.parse(finishes(run.checkIns)[0]?.finishedAt ?? '');
    expect(startOf(second)).toBeLessThan(endOf(first));
    expect(startOf(first)).toBeLessThan(endOf(second));
    expect(existsSync(path.join(state.stateDir, 'locks', 'test', 'allowed.lock'))).toBe(false);
  });
});

async function runOnce(spec: RunSpec) {
  const sink = new MemoryCheckInSink();
  const warnings: string[] = [];
  const outcome = await runJob({
    stateDir: state.stateDir,
    id: spec.id,
    manual: true,
    environment: { PATH: process.env.PATH },
    sink,
    warn: (message) => warnings.push(message),
  });
  return { outcome, warnings, checkIns: sink.checkIns };
}
