import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { createCronfleetClient, type CheckIn } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createServer as createBackendServer } from '../../../backend/src/createApp.js';
import { seedAgent, seedOrganization } from '../../../backend/test/seed.js';
import { startTestApp, type TestApp } from '../../../backend/test/testApp.js';
import { CheckInSpool } from '../../src/spool/checkInSpool.js';
import { readSegmentFile, SegmentClaim, SpoolLayout } from '../../src/spool/spoolLayout.js';
import { SpoolSender, type DrainResult } from '../../src/spool/spoolSender.js';
import { OutageListener } from '../outageListener.js';
import { checkInKeys, finishCheckIn, runCheckIns, runIdOf, startCheckIn } from './spoolCheckIns.js';

/**
 * The sender against the real backend, in-process on PGlite (or on PostgreSQL when DATABASE_URL
 * is set), imported from backend/test as the backend's own tests start it.
 */

let app: TestApp;
let scratch: string;
let organizationId: string;
let agentToken: string;

beforeAll(async () => {
  app = await startTestApp();
}, 90_000);

afterAll(async () => {
  await app?.close();
});

beforeEach(async () => {
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-spool-sender-'));
  organizationId = await seedOrganization(app.database, `Spool ${path.basename(scratch)}`);
  agentToken = (await seedAgent(app.database, organizationId)).token;
});

/** Senders whose loop a test started: stopped before the folder goes, even when a test fails. */
const looping: SpoolSender[] = [];

function startLoop(sender: SpoolSender): void {
  looping.push(sender);
  sender.start();
}

afterEach(async () => {
  await Promise.all(looping.splice(0).map((sender) => sender.stop()));
  rmSync(scratch, { recursive: true, force: true });
});

interface RunRow {
  run_id: string;
  start_received: boolean;
  finish_received: boolean;
  output_head: string | null;
  output_truncated: boolean | null;
}

async function recordedRuns(): Promise<RunRow[]> {
  return app.database.rows<RunRow>(sql`
    select run_id::text as run_id, start_received, finish_received, output_head, output_truncated
    from runs where organization_id = ${organizationId}::uuid order by run_id`);
}

function clientFor(baseUrl: string, token = agentToken) {
  return createCronfleetClient({ baseUrl, token, retries: 0, timeoutMs: 10_000 });
}

async function recordAll(spool: CheckInSpool, checkIns: readonly CheckIn[]): Promise<void> {
  for (const checkIn of checkIns) await spool.record([checkIn]);
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const emptyDrain: DrainResult = {
  outcome: 'empty',
  sent: 0,
  accepted: 0,
  duplicates: 0,
  rejected: 0,
  batches: 0,
  deduplicated: 0,
  skippedBytes: 0,
};

describe('SpoolSender against the real backend', () => {
  it('drains 1,500 runs in batches of up to 1,000 and empties the spool', async () => {
    const spool = new CheckInSpool({ directory: scratch });
    const checkIns = runCheckIns(1500);
    await spool.record(checkIns.slice(0, 1000));
    await spool.record(checkIns.slice(1000));
    const sender = new SpoolSender({ directory: scratch, client: clientFor(app.baseUrl) });
    const batches: number[] = [];
    sender.on('sent', (event) => batches.push(event.checkIns));

    const result = await sender.drainOnce();

    expect(result).toEqual({ ...emptyDrain, sent: 3000, accepted: 3000, batches: 3 });
    expect(batches).toEqual([1000, 1000, 1000]);
    const runs = await recordedRuns();
    expect(runs).toHaveLength(1500);
    expect(runs.every((run) => run.start_received && run.finish_received)).toBe(true);
    expect(runs[0]?.output_head).toBe(`run ${runIdOf(1)} says hello\n`);
    expect((await spool.pendingCheckIns()).checkIns).toEqual([]);
    expect(await spool.usage()).toEqual({ bytes: 0, segments: 1, claimedSegments: 0 });
    expect(await sender.drainOnce()).toEqual(emptyDrain);
  });

  it('backend down (connections reset) for 100 runs, then up: exactly 100 runs recorded, none twice', async () => {
    // The backend's port, held by this test throughout: down first, then the backend's.
    const listener = await OutageListener.listen();
    const spool = new CheckInSpool({ directory: scratch });
    const sender = new SpoolSender({
      directory: scratch,
      client: clientFor(listener.url),
      pollIntervalMs: 50,
      backoff: { baseDelayMs: 20, maxDelayMs: 200 },
    });
    const refusals: string[] = [];
    sender.on('backoff', (event) => refusals.push(String((event.error as { code?: string }).code)));
    let accepted = 0;
    let duplicates = 0;
    sender.on('sent', (event) => {
      accepted += event.accepted;
      duplicates += event.duplicates;
    });
    startLoop(sender);
    for (const checkIn of runCheckIns(100)) {
      await spool.record([checkIn]);
      sender.notify();
    }
    await until(() => refusals.length >= 3, 10_000);
    expect(new Set(refusals)).toEqual(new Set(['ECONNRESET']));
    // Stopped, the sender gives back the segment it held in its claim while backing off.
    await sender.stop();
    // A writer appends again when a sender took its segment mid-write, so a check-in may be
    // held twice; every one of the 200 is there, and the sender sends each once.
    expect(new Set(checkInKeys((await spool.pendingCheckIns()).checkIns))).toEqual(
      new Set(checkInKeys(runCheckIns(100))),
    );
    expect(await recordedRuns()).toEqual([]);

    // The backend comes up on that port (the same app and database, a server of its own).
    const server: Server = createBackendServer(app.context);
    listener.up((socket) => server.emit('connection', socket));
    sender.start();
    try {
      await until(async () => (await spool.pendingCheckIns()).checkIns.length === 0, 20_000);
      await sender.stop();
    } finally {
      server.closeAllConnections();
      await listener.close();
    }
    const runs = await recordedRuns();
    expect(runs.map((run) => run.run_id)).toEqual(
      Array.from({ length: 100 }, (_unused, n) => runIdOf(n + 1)),
    );
    expect(runs.every((run) => run.start_received && run.finish_received)).toBe(true);
    expect({ accepted, duplicates }).toEqual({ accepted: 200, duplicates: 0 });
  }, 60_000);

  it('reports as delivered through the start of the last drain that emptied the spool', async () => {
    let clock = Date.parse('2026-06-01T10:00:00Z');
    const listener = await OutageListener.listen();
    const spool = new CheckInSpool({ directory: scratch });
    await recordAll(spool, runCheckIns(3));
    const sender = new SpoolSender({
      directory: scratch,
      client: clientFor(listener.url),
      now: () => clock,
    });
    expect(sender.deliveredThrough()).toBeUndefined();
    // The backend is down: nothing is known to have arrived.
    expect((await sender.drainOnce()).outcome).toBe('unavailable');
    expect(sender.deliveredThrough()).toBeUndefined();

    const server: Server = createBackendServer(app.context);
    listener.up((socket) => server.emit('connection', socket));
    try {
      clock += 60_000;
      const drainedAt = clock;
      const drained = await sender.drainOnce();
      expect(drained).toMatchObject({ outcome: 'empty', sent: 6 });
      expect(sender.deliveredThrough()).toEqual(new Date(drainedAt));
      // A later drain of an empty spool moves it on; a failed one never moves it back.
      clock += 60_000;
      await sender.drainOnce();
      expect(sender.deliveredThrough()).toEqual(new Date(clock));
    } finally {
      server.closeAllConnections();
      await listener.close();
    }
    await recordAll(spool, runCheckIns(1, 9));
    const before = sender.deliveredThrough();
    clock += 60_000;
    expect((await sender.drainOnce()).outcome).toBe('unavailable');
    expect(sender.deliveredThrough()).toEqual(before);
  }, 60_000);

  it('two senders draining at once send every check-in exactly once', async () => {
    const spool = new CheckInSpool({ directory: scratch, segmentBytes: 16 * 1024 });
    const checkIns = runCheckIns(400);
    await recordAll(spool, checkIns);
    const senders = [1, 2].map(
      () => new SpoolSender({ directory: scratch, client: clientFor(app.baseUrl), batchSize: 50 }),
    );
    const results = await Promise.all(senders.map((sender) => sender.drainOnce()));
    expect(results.map((result) => result.outcome)).toEqual(['empty', 'empty']);
    expect(results.reduce((sum, result) => sum + result.accepted, 0)).toBe(800);
    expect(results.reduce((sum, result) => sum + result.duplicates, 0)).toBe(0);
    // Both took part (16 KiB segments of ~45 check-ins each, claimed one at a time).
    expect(results.every((result) => result.sent > 0)).toBe(true);
    expect(await recordedRuns()).toHaveLength(400);
    expect((await spool.pendingCheckIns()).checkIns).toEqual([]);
  }, 60_000);

  it('takes over the claim of a sender that died mid-send, and leaves a live one alone', async () => {
    const spool = new CheckInSpool({ directory: scratch, segmentBytes: 4096 });
    await recordAll(spool, runCheckIns(30));
    // A sender that claimed two segments and died (its claim folder is never touched again)…
    const layout = new SpoolLayout(scratch);
    const dead = new SegmentClaim(layout);
    const [first, second] = await layout.listSegments();
    expect(await dead.take(first?.name ?? '')).toBe(true);
    expect(await dead.take(second?.name ?? '')).toBe(true);
    // …and a live one that holds a third.
    const live = new SegmentClaim(layout);
    const third = (await layout.listSegments())[0];
    expect(await live.take(third?.name ?? '')).toBe(true);
    const liveCheckIns = (await readSegmentFile(live.pathOf(third?.name ?? ''))).entries.map(
      (entry) => entry.checkIn,
    );
    expect(liveCheckIns.length).toBeGreaterThan(0);
    const old = new Date(Date.now() - 10 * 60_000);
    utimesSync(dead.dir, old, old);

    const sender = new SpoolSender({
      directory: scratch,
      client: clientFor(app.baseUrl),
      claimTimeoutMs: 60_000,
    });
    const result = await sender.drainOnce();
    expect(result).toEqual({
      ...emptyDrain,
      sent: 60 - liveCheckIns.length,
      accepted: 60 - liveCheckIns.length,
      batches: 1,
    });
    // Only the live claim is left, untouched.
    expect(readdirSync(layout.sendingDir)).toEqual([path.basename(live.dir)]);
    expect((await spool.pendingCheckIns()).checkIns).toEqual(liveCheckIns);
    await live.close();
    const rest = await sender.drainOnce();
    expect(rest).toEqual({
      ...emptyDrain,
      sent: liveCheckIns.length,
      accepted: liveCheckIns.length,
      batches: 1,
    });
    expect(await recordedRuns()).toHaveLength(30);
    expect((await recordedRuns()).every((run) => run.start_received && run.finish_received)).toBe(
      true,
    );
  }, 60_000);

  it('sets aside a check-in the contract refuses (found by bisection) and sends the rest', async () => {
    const spool = new CheckInSpool({ directory: scratch });
    const checkIns = runCheckIns(5);
    const bad = startCheckIn(runIdOf(3), { attempt: 0 });
    checkIns[4] = bad; // run 3's start
    await spool.record(checkIns);
    const sender = new SpoolSender({ directory: scratch, client: clientFor(app.baseUrl) });
    const rejectedEvents: string[] = [];
    sender.on('rejected', (event) => rejectedEvents.push(event.checkIn.runId));

    const result = await sender.drainOnce();

    // 10 fail → [0–4] fail → [0–2] sent, [3–4] fail → [3] sent, [4] set aside; then [5–9] sent.
    expect(result).toEqual({ ...emptyDrain, sent: 9, accepted: 9, rejected: 1, batches: 3 });
    expect(rejectedEvents).toEqual([runIdOf(3)]);
    const rejectedDir = path.join(scratch, 'rejected');
    const files = readdirSync(rejectedDir);
    expect(files).toHaveLength(1);
    expect(files[0]).toMatch(new RegExp(`-${runIdOf(3)}-start-[0-9a-f]{6}\\.json$`));
    const setAside = JSON.parse(readFileSync(path.join(rejectedDir, files[0] ?? ''), 'utf8'));
    expect(setAside.checkIn).toEqual(bad);
    expect(setAside.reason.code).toBe('invalid_before_sending');
    expect(setAside.reason.message).toContain('attempt counts from 1');
    const runs = await recordedRuns();
    expect(runs).toHaveLength(5);
    expect(runs.filter((run) => !run.start_received).map((run) => run.run_id)).toEqual([
      runIdOf(3),
    ]);
    expect((await spool.pendingCheckIns()).checkIns).toEqual([]);

    // An operator puts it back (e.g. after a backend upgrade): it is in the spool again.
    expect(await spool.requeueRejected()).toBe(1);
    expect(readdirSync(rejectedDir)).toEqual([]);
    expect((await spool.pendingCheckIns()).checkIns).toEqual([bad]);
  }, 60_000);

  it('a check-in too large for the backend (413) is found by bisection and sent without its output', async () => {
    const spool = new CheckInSpool({ directory: scratch });
    const checkIns = runCheckIns(10);
    // 2 × 1,000,000 control characters: JSON escapes each to 6 bytes, 12 MB > the 8 MB limit.
    const huge = finishCheckIn(runIdOf(7), {
      outputHead: '\u0001'.repeat(1_000_000),
      outputTail: '\u0001'.repeat(1_000_000),
    });
    checkIns[13] = huge;
    await spool.record(checkIns);
    const sender = new SpoolSender({
      directory: scratch,
      client: clientFor(app.baseUrl),
      maxBatchBytes: 64 * 1024 * 1024,
    });
    const result = await sender.drainOnce();
    expect(result).toMatchObject({ outcome: 'empty', sent: 20, accepted: 20, rejected: 0 });
    const runs = await recordedRuns();
    expect(runs).toHaveLength(10);
    const hugeRun = runs.find((run) => run.run_id === runIdOf(7));
    expect(hugeRun).toMatchObject({
      output_head: '',
      output_truncated: true,
      finish_received: true,
    });
    expect(runs.find((run) => run.run_id === runIdOf(6))).toMatchObject({
      output_head: `run ${runIdOf(6)} says hello\n`,
      output_truncated: false,
    });
  }, 60_000);

  it('401 (revoked agent): stops sending, keeps every check-in, tells why once', async () => {
    const revoked = await seedAgent(app.database, organizationId, {
      revokedReason: 'decommissioned',
    });
    const spool = new CheckInSpool({ directory: scratch });
    await recordAll(spool, runCheckIns(3));
    const sender = new SpoolSender({
      directory: scratch,
      client: clientFor(app.baseUrl, revoked.token),
      pollIntervalMs: 20,
    });
    const reasons: string[] = [];
    sender.on('unauthorized', (error) => reasons.push(error.message));
    startLoop(sender);
    await until(() => reasons.length > 0, 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain('401');
    expect(checkInKeys((await spool.pendingCheckIns()).checkIns)).toEqual(
      checkInKeys(runCheckIns(3)),
    );
    expect(readdirSync(path.join(scratch, 'sending'))).toEqual([]);
    expect(await recordedRuns()).toEqual([]);
    await sender.stop();
  }, 30_000);

  it('flush(timeout) sends what is left, and with the backend down returns in time keeping everything', async () => {
    const spool = new CheckInSpool({ directory: scratch });
    await recordAll(spool, runCheckIns(20));
    const backendDown = await OutageListener.listen();
    const down = new SpoolSender({ directory: scratch, client: clientFor(backendDown.url) });
    startLoop(down);
    const started = Date.now();
    const failed = await down.flush(2000);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(failed.outcome).toBe('unavailable');
    expect((await spool.pendingCheckIns()).checkIns).toHaveLength(40);
    await backendDown.close();

    const up = new SpoolSender({ directory: scratch, client: clientFor(app.baseUrl) });
    startLoop(up);
    await spool.record([startCheckIn(runIdOf(21)), finishCheckIn(runIdOf(21))]);
    const flushed = await up.flush(10_000);
    expect(flushed.outcome).toBe('empty');
    expect((await spool.pendingCheckIns()).checkIns).toEqual([]);
    expect(await recordedRuns()).toHaveLength(21);
  }, 30_000);
});
