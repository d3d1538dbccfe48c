import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CheckInSpool, SpoolWriteError } from '../../src/spool/checkInSpool.js';
import { describeNeeding, runningAsRoot, skipOrFail } from '../requireRoot.js';
import { checkInKeys, finishCheckIn, runIdOf, startCheckIn } from './spoolCheckIns.js';

/**
 * A full disk under the spool: a 256 KiB tmpfs mounted by the test (root only, as in CI).
 */

const isRoot = runningAsRoot.holds;
let scratch: string;
let mounted = false;
let mountFailure = '';

beforeAll(() => {
  if (!isRoot) return;
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-spool-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k,mode=0700', 'tmpfs', scratch], {
      stdio: 'pipe',
    });
    mounted = true;
  } catch (error) {
    // Root without CAP_SYS_ADMIN (some containers): the test says so (and fails on CI).
    mountFailure = String((error as { stderr?: Buffer }).stderr ?? error).trim();
  }
});

afterAll(() => {
  if (mounted) execFileSync('umount', [scratch]);
  if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
});

describeNeeding([runningAsRoot], 'the spool on a full disk (root mounts a tmpfs)', () => {
  it('record() rejects clearly, keeps everything already durable, and works again once space returns', async (context) => {
    if (!mounted) skipOrFail(context, `cannot mount a tmpfs here: ${mountFailure}`);
    const filler = path.join(scratch, 'filler');
    writeFileSync(filler, Buffer.alloc(160 * 1024));
    const directory = path.join(scratch, 'spool');
    const spool = new CheckInSpool({ directory, segmentBytes: 16 * 1024 });

    const durable: string[] = [];
    let failure: unknown;
    for (let n = 1; n <= 200 && failure === undefined; n += 1) {
      const runId = runIdOf(n);
      for (const checkIn of [
        startCheckIn(runId),
        finishCheckIn(runId, { outputHead: 'h'.repeat(2000), outputTail: 't'.repeat(2000) }),
      ]) {
        try {
          await spool.record([checkIn]);
          durable.push(`${checkIn.runId}/${checkIn.kind}`);
        } catch (error) {
          failure = error;
          break;
        }
      }
    }

    expect(failure).toBeInstanceOf(SpoolWriteError);
    expect((failure as SpoolWriteError).code).toBe('ENOSPC');
    expect((failure as Error).message).toMatch(
      new RegExp(
        `^cannot record 1 check-in in the spool ${directory}: .*\\(the file system is full; free space on it\\)$`,
      ),
    );
    // Some records made it before the disk filled (about 90 KiB: ~20 runs).
    expect(durable.length).toBeGreaterThan(20);
    const whileFull = await spool.pendingCheckIns();
    expect(checkInKeys(whileFull.checkIns)).toEqual([...durable].sort());

    // Still full: still a clear refusal, and still nothing lost.
    await expect(spool.record([startCheckIn(runIdOf(999))])).rejects.toBeInstanceOf(
      SpoolWriteError,
    );
    expect(checkInKeys((await spool.pendingCheckIns()).checkIns)).toEqual([...durable].sort());

    // Space comes back: recording works again, after whatever a failed write left behind.
    rmSync(filler);
    const after = finishCheckIn(runIdOf(1000), { outputHead: 'back' });
    await spool.record([startCheckIn(runIdOf(1000)), after]);
    const pending = await spool.pendingCheckIns();
    expect(checkInKeys(pending.checkIns)).toEqual(
      [...durable, `${runIdOf(1000)}/start`, `${runIdOf(1000)}/finish`].sort(),
    );
    expect(pending.checkIns.at(-1)).toEqual(after);
  });
});
