import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CheckIn, CheckInFinish } from '@cronfleet/core/api';
import { CheckInFinish as CheckInFinishSchema } from '@cronfleet/core/api';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootId, processStartTime } from '../git/repositoryLock.js';
import { liveRunDirectory, type LiveRunRecord } from '../run/liveRunRegistry.js';
import { isGroupRunning } from '../run/processGroup.js';
import { runLogDirectory } from '../run/runLogFile.js';
import { RunReaper } from './runReaper.js';

/**
 * The reaper against real processes: a process group left running by a wrapper that is gone
 * (a real process that exited), a record of an earlier boot, a wrapper that still runs.
 */

let stateDir: string;
const cleanups: (() => void)[] = [];
beforeEach(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-reaper-'));
});
afterEach(async () => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  await rm(stateDir, { recursive: true, force: true });
});

const silent = { info: () => {}, warn: () => {}, error: () => {} };

class ArraySink {
  readonly checkIns: CheckIn[] = [];
  failing = false;
  record(checkIns: readonly CheckIn[]): Promise<void> {
    if (this.failing) return Promise.reject(new Error('ENOSPC: no space left on device'));
    this.checkIns.push(...checkIns);
    return Promise.resolve();
  }
}

let counter = 0;
const nextRunId = () => `6f9619ff-8b86-4d01-b42d-${(++counter).toString(16).padStart(12, '0')}`;

/** A real process that ran and exited: a wrapper killed -9. */
async function deadProcess(): Promise<{ pid: number; startTime: string | undefined }> {
  const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
  await once(child, 'spawn');
  const pid = child.pid!;
  const startTime = processStartTime(pid);
  child.kill('SIGKILL');
  await once(child, 'exit');
  return { pid, startTime };
}

/** A command in its own process group, as the wrapper starts it; its pgid is its pid. */
async function orphanGroup(): Promise<{ pgid: number; startTime: string | undefined }> {
  const child = spawn('/bin/sh', ['-c', 'sleep 1000 & sleep 1000; wait'], {
    detached: true,
    stdio: 'ignore',
  });
  await once(child, 'spawn');
  child.unref();
  const pgid = child.pid!;
  cleanups.push(() => {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // gone
    }
  });
  return { pgid, startTime: processStartTime(pgid) };
}

async function writeRecord(record: LiveRunRecord): Promise<string> {
  const directory = liveRunDirectory(stateDir);
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, `${record.runId}.jsonl`);
  const { group, ...first } = record;
  await writeFile(
    file,
    `${JSON.stringify(first)}\n${group === null ? '' : `${JSON.stringify({ group })}\n`}`,
  );
  return file;
}

function record(
  wrapper: LiveRunRecord['wrapper'],
  group: LiveRunRecord['group'],
  overrides: Partial<LiveRunRecord> = {},
): LiveRunRecord {
  return {
    runId: nextRunId(),
    namespace: 'ops',
    name: 'forever',
    attempt: 1,
    trigger: 'scheduled',
    manual: false,
    revision: 'a'.repeat(40),
    startedAt: new Date(Date.now() - 5_000).toISOString(),
    outputMaxBytes: 64,
    wrapper,
    group,
    ...overrides,
  };
}

const host = { hostname: os.hostname(), bootId: bootId() };

describe('RunReaper', () => {
  it('stops the group a dead wrapper left, records the run lost with the reason and its output, and removes the record', async () => {
    const wrapper = await deadProcess();
    const group = await orphanGroup();
    const run = record({ ...wrapper, ...host }, group);
    const file = await writeRecord(run);
    const logDirectory = runLogDirectory(stateDir, 'ops', 'forever');
    await mkdir(logDirectory, { recursive: true });
    await writeFile(path.join(logDirectory, `${run.runId}.log`), 'step 1 done\nstep 2…\n');
    const sink = new ArraySink();
    const lost: CheckInFinish[] = [];
    const reaper = new RunReaper({
      stateDir,
      sink,
      logger: silent,
      killGraceMs: 1_000,
      onLost: (finish) => lost.push(finish),
    });

    const reaped = await reaper.sweep();
    expect(isGroupRunning(group)).toBe(false);
    expect(existsSync(file)).toBe(false);
    const reason = `its run wrapper (pid ${wrapper.pid}) ended without recording the run's end (killed, e.g. by kill -9 or the out-of-memory killer, or crashed); the agent stopped its command (process group ${group.pgid}: TERM, then KILL after 1 s)`;
    expect(reaped).toEqual([
      {
        runId: run.runId,
        job: 'ops/forever',
        liveness: 'wrapper-gone',
        stoppedGroup: true,
        reason,
        recorded: true,
      },
    ]);
    expect(sink.checkIns).toHaveLength(1);
    const finish = sink.checkIns[0] as CheckInFinish;
    expect(CheckInFinishSchema.parse(finish)).toEqual(finish);
    expect(finish).toMatchObject({
      runId: run.runId,
      namespace: 'ops',
      name: 'forever',
      attempt: 1,
      status: 'lost',
      exitCode: null,
      signal: null,
      revision: run.revision,
      reason,
      outputTruncated: true, // 64 bytes of output kept: head and tail
    });
    expect(finish.outputHead).toMatch(/^step 1 done\nstep 2…\n\[cronfle/);
    expect(finish.outputTail.endsWith('TERM, then KILL after 1 s)\n')).toBe(true);
    expect(finish.durationMs).toBeGreaterThanOrEqual(5_000);
    expect(lost).toEqual([finish]);
    expect(await reaper.sweep()).toEqual([]);
  });

  it('a record of an earlier boot is lost because the host restarted; its group is not signalled', async () => {
    const group = await orphanGroup();
    const run = record(
      { pid: process.pid, hostname: os.hostname(), startTime: '1', bootId: 'an-earlier-boot' },
      group,
    );
    await writeRecord(run);
    const sink = new ArraySink();
    const reaper = new RunReaper({ stateDir, sink, logger: silent });
    const [reaped] = await reaper.sweep();
    if (bootId() === undefined) return; // no boot id on this system: judged by the pid alone
    expect(reaped?.liveness).toBe('earlier-boot');
    expect((sink.checkIns[0] as CheckInFinish).reason).toBe(
      `the host restarted while the run was running (its wrapper, pid ${process.pid}, ran in an earlier boot)`,
    );
    // The number may name another process group after a restart: left alone.
    expect(isGroupRunning(group)).toBe(true);
  });

  it('lists live runs and runs being written; leaves them alone', async () => {
    const live = record(
      { pid: process.pid, startTime: processStartTime(process.pid), ...host },
      null,
    );
    await writeRecord(live);
    const writing = nextRunId();
    await writeFile(path.join(liveRunDirectory(stateDir), `${writing}.jsonl`), '');
    const sink = new ArraySink();
    const reaper = new RunReaper({ stateDir, sink, logger: silent });
    expect((await reaper.runningRunIds())?.sort()).toEqual([live.runId, writing].sort());
    expect(await reaper.sweep()).toEqual([]);
    expect(sink.checkIns).toEqual([]);
  });

  it('lists a dead run while it is being reaped, then no more', async () => {
    const wrapper = await deadProcess();
    const run = record({ ...wrapper, ...host }, null);
    await writeRecord(run);
    const sink = new ArraySink();
    const reaper = new RunReaper({ stateDir, sink, logger: silent });
    expect(await reaper.runningRunIds()).toEqual([run.runId]);
    await reaper.sweep(); // waits for the reap the listing started
    expect(await reaper.runningRunIds()).toEqual([]);
    expect(sink.checkIns).toHaveLength(1);
    expect((sink.checkIns[0] as CheckInFinish).reason).toMatch(/, before its command started$/);
  });

  it('keeps a run whose finish cannot be spooled and records it later, with the first reason', async () => {
    const wrapper = await deadProcess();
    const group = await orphanGroup();
    const run = record({ ...wrapper, ...host }, group);
    const file = await writeRecord(run);
    const sink = new ArraySink();
    sink.failing = true;
    const reaper = new RunReaper({ stateDir, sink, logger: silent, killGraceMs: 500 });
    const [failed] = await reaper.sweep();
    expect(failed).toMatchObject({ recorded: false, stoppedGroup: true });
    expect(existsSync(file)).toBe(true);
    // No longer listed as running: the backend's own rule may judge it lost meanwhile.
    expect(await reaper.runningRunIds()).toEqual([]);
    await reaper.sweep();
    sink.failing = false;
    const [recorded] = await reaper.sweep();
    expect(recorded).toMatchObject({ recorded: true, stoppedGroup: true, reason: failed?.reason });
    expect(sink.checkIns).toHaveLength(1);
    expect(existsSync(file)).toBe(false);
  });

  it('removes a record that stays unreadable (a wrapper killed while creating it)', async () => {
    const directory = liveRunDirectory(stateDir);
    await mkdir(directory, { recursive: true });
    const file = path.join(directory, `${nextRunId()}.jsonl`);
    await writeFile(file, '{"runId":');
    const old = new Date(Date.now() - 120_000);
    await utimes(file, old, old);
    const reaper = new RunReaper({ stateDir, sink: new ArraySink(), logger: silent });
    expect(await reaper.sweep()).toEqual([]);
    expect(existsSync(file)).toBe(false);
  });
});
