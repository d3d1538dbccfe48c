import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  currentHolder,
  isHolderAlive,
  LockAbortedError,
  LockTimeoutError,
  processStartTime,
  withRepositoryLock,
  type LockHolder,
} from './repositoryLock.js';

let dir: string;
let lockFile: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-lock-'));
  lockFile = path.join(dir, '.repository.lock');
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function deadPid(): Promise<number> {
  const child = spawn('true');
  await new Promise((resolve) => child.on('exit', resolve));
  return child.pid ?? 0;
}

describe('withRepositoryLock', () => {
  it('runs callers one at a time in call order, holding the lock file meanwhile', async () => {
    const events: string[] = [];
    const work = (name: string, ms: number) => async () => {
      events.push(`start ${name}`);
      const holder = JSON.parse(await readFile(lockFile, 'utf8')) as LockHolder;
      expect(holder.pid).toBe(process.pid);
      await sleep(ms);
      events.push(`end ${name}`);
      return name;
    };
    const results = await Promise.all([
      withRepositoryLock(lockFile, { timeoutMs: 5_000 }, work('a', 30)),
      withRepositoryLock(lockFile, { timeoutMs: 5_000 }, work('b', 5)),
      withRepositoryLock(lockFile, { timeoutMs: 5_000 }, work('c', 1)),
    ]);
    expect(results).toEqual(['a', 'b', 'c']);
    expect(events).toEqual(['start a', 'end a', 'start b', 'end b', 'start c', 'end c']);
    await expect(stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('releases the lock when the work throws', async () => {
    await expect(
      withRepositoryLock(lockFile, { timeoutMs: 1_000 }, async () => {
        throw new Error('boom');
      }),
    ).rejects.toThrow('boom');
    expect(await withRepositoryLock(lockFile, { timeoutMs: 1_000 }, async () => 'next')).toBe(
      'next',
    );
  });

  it.each([
    ['a dead pid', async () => JSON.stringify({ ...currentHolder(), pid: await deadPid() })],
    [
      'a reused pid (other start time)',
      async () => JSON.stringify({ ...currentHolder(), startTime: '1' }),
    ],
    ['an earlier boot', async () => JSON.stringify({ ...currentHolder(), bootId: 'another-boot' })],
    ['unparsable content', async () => 'garbage'],
  ])('takes over a lock left by %s', async (_name, content) => {
    await writeFile(lockFile, await content());
    const stale: Array<LockHolder | undefined> = [];
    const result = await withRepositoryLock(
      lockFile,
      { timeoutMs: 1_000, onStale: (holder) => stale.push(holder) },
      async () => 'ran',
    );
    expect(result).toBe('ran');
    expect(stale).toHaveLength(1);
  });

  it('waits for a live holder, then times out naming it', async () => {
    const holder = { ...currentHolder(), pid: process.ppid, startTime: undefined };
    await writeFile(lockFile, JSON.stringify(holder));
    const waits: Array<LockHolder | undefined> = [];
    const started = Date.now();
    const error = await withRepositoryLock(
      lockFile,
      { timeoutMs: 200, onWait: (who) => waits.push(who) },
      async () => 'never',
    ).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LockTimeoutError);
    expect((error as LockTimeoutError).message).toContain(`held by pid ${process.ppid}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(200);
    expect(waits.map((who) => who?.pid)).toEqual([process.ppid]);
    // The live holder's lock is untouched.
    expect(JSON.parse(await readFile(lockFile, 'utf8'))).toEqual(holder);
  });

  it('stops waiting when aborted', async () => {
    await writeFile(
      lockFile,
      JSON.stringify({ ...currentHolder(), pid: process.ppid, startTime: undefined }),
    );
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    await expect(
      withRepositoryLock(lockFile, { timeoutMs: 5_000, signal: controller.signal }, async () => 1),
    ).rejects.toBeInstanceOf(LockAbortedError);
  });
});

describe('isHolderAlive', () => {
  it('tells a running process from a dead or reused pid', async () => {
    expect(isHolderAlive(currentHolder())).toBe(true);
    expect(isHolderAlive({ ...currentHolder(), pid: await deadPid() })).toBe(false);
    const startTime = processStartTime(process.pid);
    expect(startTime).toMatch(/^\d+$/);
    expect(isHolderAlive({ ...currentHolder(), startTime: `${startTime ?? ''}9` })).toBe(false);
  });
});
