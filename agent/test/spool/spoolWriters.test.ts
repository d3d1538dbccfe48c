import { mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CheckInFinish } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckInSpool } from '../../src/spool/checkInSpool.js';
import { checkInKeys, finishCheckIn, runIdOf, startCheckIn } from './spoolCheckIns.js';
import { exitOf, startWriter, until } from './spoolWriterProcesses.js';

/**
 * The spool with real processes: N wrapper stand-ins appending at once, and wrappers killed with
 * -9 in the middle of appending.
 */

let scratch: string;
let temporaryDir: string;

beforeAll(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-spool-writers-'));
  temporaryDir = path.join(scratch, 'tmp');
  mkdirSync(temporaryDir);
});

afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe('the spool with concurrent writer processes', () => {
  it('8 processes × 50 check-ins each, appending at once: exactly 400 read back, none mixed', async () => {
    const directory = path.join(scratch, 'concurrent');
    // Small segments, so that writers also race to start new ones.
    const writers = Array.from({ length: 8 }, (_unused, index) =>
      startWriter({
        directory,
        prefix: index + 1,
        runs: 25,
        outputBytes: 300,
        segmentBytes: 16 * 1024,
        temporaryDir,
      }),
    );
    const exits = await Promise.all(writers.map(exitOf));
    for (const [index, exit] of exits.entries()) {
      expect({ exit, stderr: writers[index]?.stderr() }).toEqual({
        exit: { code: 0, signal: null },
        stderr: '',
      });
    }
    const pending = await new CheckInSpool({ directory }).pendingCheckIns();
    expect(pending.skippedBytes).toBe(0);
    expect(pending.checkIns).toHaveLength(400);
    const expected = writers.flatMap((_writer, index) =>
      Array.from({ length: 25 }, (_unused, n) => {
        const runId = runIdOf(n + 1, index + 1);
        const output = String.fromCharCode(97 + ((index + 1) % 26)).repeat(300);
        return [
          startCheckIn(runId),
          finishCheckIn(runId, { outputHead: output, outputTail: output }),
        ];
      }).flat(),
    );
    expect(checkInKeys(pending.checkIns)).toEqual(checkInKeys(expected));
    // Every record is whole: each finish holds exactly its own writer's output.
    const byKey = new Map(expected.map((checkIn) => [`${checkIn.runId}/${checkIn.kind}`, checkIn]));
    for (const checkIn of pending.checkIns) {
      expect(checkIn).toEqual(byKey.get(`${checkIn.runId}/${checkIn.kind}`));
    }
    expect(writers.flatMap((writer) => writer.durable).sort()).toEqual(checkInKeys(expected));
  });

  it('writers killed with -9 mid-append: every check-in reported durable is there, and the spool goes on', async () => {
    const directory = path.join(scratch, 'killed');
    // Large outputs (2 × 192 KiB per finish) make each write long enough to be cut by the kill.
    const writers = Array.from({ length: 4 }, (_unused, index) =>
      startWriter({
        directory,
        prefix: index + 11,
        runs: 0,
        outputBytes: 192 * 1024,
        segmentBytes: 512 * 1024,
        temporaryDir,
      }),
    );
    await until(() => writers.every((writer) => writer.durable.length >= 6), 20_000);
    for (const writer of writers) writer.child.kill('SIGKILL');
    const exits = await Promise.all(writers.map(exitOf));
    expect(exits.map((exit) => exit.signal)).toEqual(['SIGKILL', 'SIGKILL', 'SIGKILL', 'SIGKILL']);

    const spool = new CheckInSpool({ directory });
    const afterCrash = await spool.pendingCheckIns();
    const stored = new Set(checkInKeys(afterCrash.checkIns));
    const durable = writers.flatMap((writer) => writer.durable);
    expect(durable.length).toBeGreaterThanOrEqual(24);
    expect(durable.filter((key) => !stored.has(key))).toEqual([]);
    // Nothing is in the spool that no writer started, and every record read is whole.
    for (const checkIn of afterCrash.checkIns) {
      if (checkIn.kind !== 'finish') continue;
      const letter = (checkIn as CheckInFinish).outputHead[0] ?? '';
      expect((checkIn as CheckInFinish).outputHead).toBe(letter.repeat(192 * 1024));
    }

    // A new writer appends after whatever the killed ones left (whole or torn), and is read.
    const later = startCheckIn(runIdOf(1, 99));
    await spool.record([later]);
    const afterMore = await spool.pendingCheckIns();
    expect(afterMore.checkIns.at(-1)).toEqual(later);
    expect(afterMore.checkIns).toHaveLength(afterCrash.checkIns.length + 1);
    expect(afterMore.skippedBytes).toBe(afterCrash.skippedBytes);
  });
});
