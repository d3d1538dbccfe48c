import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CheckInFinish } from '@cronfleet/core/api';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkInKeys,
  finishCheckIn,
  runCheckIns,
  runIdOf,
  startCheckIn,
} from '../../test/spool/spoolCheckIns.js';
import { CheckInSpool, SpoolWriteError } from './checkInSpool.js';
import { encodeFrame } from './spoolFrame.js';

let scratch: string;

beforeEach(() => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-spool-'));
});

afterEach(() => {
  rmSync(scratch, { recursive: true, force: true });
});

/** A real pino logger whose lines land in `lines`. */
function capturingLogger() {
  const lines: Array<{ level: number; msg: string } & Record<string, unknown>> = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => lines.push(JSON.parse(line)) },
  );
  return { logger, lines };
}

describe('CheckInSpool', () => {
  it('records check-ins durably and reads them back exactly, in order, with private modes', async () => {
    const spool = new CheckInSpool({ directory: path.join(scratch, 'spool') });
    const checkIns = runCheckIns(3);
    await spool.record(checkIns.slice(0, 1));
    await spool.record(checkIns.slice(1));
    await spool.record([]);
    const pending = await spool.pendingCheckIns();
    expect(pending.checkIns).toEqual(checkIns);
    expect(pending.skippedBytes).toBe(0);
    const segments = path.join(scratch, 'spool', 'segments');
    expect(readdirSync(segments)).toEqual(['000000000001.log']);
    expect(statSync(segments).mode & 0o777).toBe(0o700);
    expect(statSync(path.join(segments, '000000000001.log')).mode & 0o777).toBe(0o600);
  });

  it('starts a new segment once the current one is full, and reads across segments', async () => {
    const spool = new CheckInSpool({ directory: scratch, segmentBytes: 4096 });
    const checkIns = Array.from({ length: 20 }, (_unused, n) =>
      finishCheckIn(runIdOf(n + 1), { outputHead: 'x'.repeat(1000) }),
    );
    for (const checkIn of checkIns) await spool.record([checkIn]);
    // Each record is 1,000 bytes of output plus ~390 of JSON and header: 3 fit under 4,096, the
    // fourth goes over it (a writer only checks before appending), the fifth starts a segment.
    expect(readdirSync(path.join(scratch, 'segments'))).toHaveLength(5);
    expect((await spool.pendingCheckIns()).checkIns).toEqual(checkIns);
  });

  it('skips a torn record and still reads every record after it', async () => {
    const spool = new CheckInSpool({ directory: scratch });
    await spool.record([startCheckIn(runIdOf(1))]);
    const segment = path.join(scratch, 'segments', '000000000001.log');
    const torn = encodeFrame(Buffer.from(JSON.stringify(startCheckIn(runIdOf(2))))).subarray(0, 57);
    appendFileSync(segment, torn);
    await spool.record([startCheckIn(runIdOf(3)), finishCheckIn(runIdOf(3))]);
    const pending = await spool.pendingCheckIns();
    expect(checkInKeys(pending.checkIns)).toEqual(
      checkInKeys([startCheckIn(runIdOf(1)), startCheckIn(runIdOf(3)), finishCheckIn(runIdOf(3))]),
    );
    expect(pending.skippedBytes).toBe(57);
  });

  it('takes records from several writers at once without losing or mixing any', async () => {
    const writers = Array.from(
      { length: 4 },
      () => new CheckInSpool({ directory: scratch, segmentBytes: 8192 }),
    );
    const expected = runCheckIns(100);
    await Promise.all(
      expected.map((checkIn, index) => writers[index % writers.length]?.record([checkIn])),
    );
    const pending = await spool(scratch).pendingCheckIns();
    expect(pending.checkIns).toHaveLength(200);
    expect(checkInKeys(pending.checkIns)).toEqual(checkInKeys(expected));
    expect(pending.skippedBytes).toBe(0);
  });

  it('over its bound, drops the output of the oldest finished runs first and keeps every run record', async () => {
    const { logger, lines } = capturingLogger();
    const spool = new CheckInSpool({
      directory: scratch,
      maxBytes: 40_000,
      segmentBytes: 4096,
      logger,
    });
    const output = 'o'.repeat(1500);
    const checkIns = Array.from({ length: 40 }, (_unused, n) =>
      finishCheckIn(runIdOf(n + 1), { outputHead: output, outputTail: 'tail' }),
    );
    for (const checkIn of checkIns) await spool.record([checkIn]);

    const pending = (await spool.pendingCheckIns()).checkIns as CheckInFinish[];
    expect(pending.map((checkIn) => checkIn.runId)).toEqual(checkIns.map((c) => c.runId));
    const kept = pending.map((checkIn) => (checkIn.outputHead === '' ? '0' : '1')).join('');
    // Each record takes ~1.9 kB: 40 of them are ~76 kB against a bound of 40 kB. Segments of 3
    // records are stripped oldest first; the newest (open) segment and those that fit keep theirs.
    expect(kept).toBe('0'.repeat(24) + '1'.repeat(16));
    const firstKept = 24;
    for (const checkIn of pending.slice(0, firstKept)) {
      expect(checkIn).toEqual({
        ...checkIns.find((c) => c.runId === checkIn.runId),
        outputHead: '',
        outputTail: '',
        outputTruncated: true,
      });
    }
    expect(await spool.usage()).toEqual({ bytes: 37_680, segments: 14, claimedSegments: 0 });
    const warnings = lines.filter((line) => line.level === 40);
    expect(warnings.length).toBeGreaterThan(0);
    expect(warnings[0]?.msg).toMatch(
      /^check-in spool over its size bound: dropped the output of the \d+ oldest finished runs? \(their run records are kept\)$/,
    );
    const dropped = warnings.reduce((sum, line) => sum + Number(line.runs ?? 0), 0);
    expect(dropped).toBe(firstKept);
  });

  it('when only run records are left over the bound, records new runs without output, never drops one', async () => {
    const { logger, lines } = capturingLogger();
    const spool = new CheckInSpool({
      directory: scratch,
      maxBytes: 8192,
      segmentBytes: 4096,
      logger,
    });
    const starts = Array.from({ length: 40 }, (_unused, n) => startCheckIn(runIdOf(n + 1)));
    for (const start of starts) await spool.record([start]);
    const finish = finishCheckIn(runIdOf(1), { outputHead: 'precious', outputTail: 'output' });
    await spool.record([finish]);
    const pending = (await spool.pendingCheckIns()).checkIns;
    expect(pending).toHaveLength(41);
    expect(checkInKeys(pending)).toEqual(checkInKeys([...starts, finish]));
    expect(pending.at(-1)).toEqual({
      ...finish,
      outputHead: '',
      outputTail: '',
      outputTruncated: true,
    });
    expect((await spool.usage()).bytes).toBeGreaterThan(8192);
    const messages = lines.filter((line) => line.level === 40).map((line) => line.msg);
    expect(messages).toContain(
      'check-in spool is full of run records: recording this run without its output (the backend is not taking check-ins)',
    );
    expect(messages).toContain(
      'check-in spool is over its size bound with run records only: recording anyway, run records are never dropped',
    );
  });

  it('rejects clearly when the spool cannot be written, naming the folder', async () => {
    const blocker = path.join(scratch, 'not-a-folder');
    writeFileSync(blocker, 'x');
    const spool = new CheckInSpool({ directory: path.join(blocker, 'spool') });
    const failure = await spool.record([startCheckIn(runIdOf(1))]).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(SpoolWriteError);
    expect((failure as SpoolWriteError).code).toBe('ENOTDIR');
    expect((failure as Error).message).toContain(
      `cannot record 1 check-in in the spool ${path.join(blocker, 'spool')}: ENOTDIR`,
    );
  });
});

function spool(directory: string): CheckInSpool {
  return new CheckInSpool({ directory });
}
