import { mkdtempSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCronfleetClient } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAgent, seedOrganization } from '../../../backend/test/seed.js';
import { startTestApp, type TestApp } from '../../../backend/test/testApp.js';
import { CheckInSpool } from '../../src/spool/checkInSpool.js';
import { SpoolSender, type DrainResult } from '../../src/spool/spoolSender.js';
import { runIdOf } from './spoolCheckIns.js';
import { exitOf, startWriter } from './spoolWriterProcesses.js';

/**
 * Issue 5 §4 end to end: wrapper processes record while two senders (the daemon's and a
 * wrapper's) drain into the real backend at the same time. Every run arrives, once.
 */

let app: TestApp;
let scratch: string;
const senders: SpoolSender[] = [];

beforeAll(async () => {
  app = await startTestApp();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-spool-delivery-'));
}, 90_000);

afterAll(async () => {
  // Stopped before the folder goes, even when the test failed.
  await Promise.all(senders.map((sender) => sender.stop()));
  await app?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('spool delivery with writers and senders at once', () => {
  it('6 writer processes × 20 runs while two senders drain: 120 runs recorded, each whole and once', async () => {
    const organizationId = await seedOrganization(app.database, 'Delivery');
    const { token } = await seedAgent(app.database, organizationId);
    const directory = path.join(scratch, 'spool');
    const temporaryDir = path.join(scratch, 'tmp');
    mkdirSync(temporaryDir);
    const client = createCronfleetClient({ baseUrl: app.baseUrl, token, retries: 0 });
    senders.push(
      ...[1, 2].map(
        () => new SpoolSender({ directory, client, pollIntervalMs: 10, batchSize: 25 }),
      ),
    );
    const totals = { accepted: 0, duplicates: 0 };
    for (const sender of senders) {
      sender.on('sent', (event) => {
        totals.accepted += event.accepted;
        totals.duplicates += event.duplicates;
      });
      sender.start();
    }
    // Small segments: senders seal and take them while writers append.
    const writers = Array.from({ length: 6 }, (_unused, index) =>
      startWriter({
        directory,
        prefix: index + 1,
        runs: 20,
        outputBytes: 100,
        segmentBytes: 4096,
        temporaryDir,
      }),
    );
    const exits = await Promise.all(writers.map(exitOf));
    expect(exits.every((exit) => exit.code === 0)).toBe(true);
    const flushed: DrainResult[] = [];
    for (const sender of senders) flushed.push(await sender.flush(20_000));
    expect(flushed.map((result) => result.outcome)).toEqual(['empty', 'empty']);

    const runs = await app.database.rows<{
      run_id: string;
      start_received: boolean;
      finish_received: boolean;
      output_head: string;
    }>(sql`select run_id::text as run_id, start_received, finish_received, output_head
      from runs where organization_id = ${organizationId}::uuid order by run_id`);
    const expected = writers
      .flatMap((_writer, index) =>
        Array.from({ length: 20 }, (_unused, n) => runIdOf(n + 1, index + 1)),
      )
      .sort();
    expect(runs.map((run) => run.run_id)).toEqual(expected);
    for (const run of runs) {
      const letter = String.fromCharCode(97 + (Number.parseInt(run.run_id.slice(0, 8), 16) % 26));
      expect(run).toEqual({
        run_id: run.run_id,
        start_received: true,
        finish_received: true,
        output_head: letter.repeat(100),
      });
    }
    // Each check-in was recorded once; any copy sent again was only counted as a duplicate.
    expect(totals.accepted).toBe(240);
    expect((await new CheckInSpool({ directory }).pendingCheckIns()).checkIns).toEqual([]);
    expect(readdirSync(path.join(directory, 'sending'))).toEqual([]);
  }, 60_000);
});
