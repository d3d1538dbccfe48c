import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createCronfleetClient } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAgent, seedOrganization } from '../../../backend/test/seed.js';
import { startTestApp, type TestApp } from '../../../backend/test/testApp.js';
import { CheckInSpool } from '../../src/spool/checkInSpool.js';
import { SpoolSender } from '../../src/spool/spoolSender.js';
import { finishCheckIn, runIdOf, startCheckIn } from './spoolCheckIns.js';

/**
 * Issue 10 §7c end to end: a check-in whose run id belongs to another agent (a spool copied from
 * another host) gets a 409 for its batch from the real backend; the sender bisects, sets only
 * that check-in aside, and every other check-in is recorded.
 */

let app: TestApp;
let scratch: string;

beforeAll(async () => {
  app = await startTestApp();
  scratch = mkdtempSync(path.join(os.tmpdir(), 'cronfleet-spool-conflict-'));
}, 90_000);

afterAll(async () => {
  await app?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe("a check-in with another agent's run id", () => {
  it('is set aside alone; the rest of the spool is recorded', async () => {
    const organizationId = await seedOrganization(app.database, 'Conflict');
    const owner = await seedAgent(app.database, organizationId);
    const copier = await seedAgent(app.database, organizationId);
    const taken = runIdOf(999, 7);
    const ownerClient = createCronfleetClient({ baseUrl: app.baseUrl, token: owner.token });
    await ownerClient.sendCheckIns({ checkIns: [startCheckIn(taken)] });

    const directory = path.join(scratch, 'spool');
    const spool = new CheckInSpool({ directory });
    const own = Array.from({ length: 20 }, (_unused, index) => runIdOf(index + 1, 7));
    await spool.record([
      ...own.slice(0, 10).map((runId) => startCheckIn(runId)),
      finishCheckIn(taken),
      ...own.slice(10).map((runId) => startCheckIn(runId)),
    ]);
    const client = createCronfleetClient({ baseUrl: app.baseUrl, token: copier.token, retries: 0 });
    const sender = new SpoolSender({ directory, client });
    const result = await sender.drainOnce();
    expect(result).toMatchObject({ outcome: 'empty', accepted: 20, rejected: 1 });

    const rows = await app.database.rows<{ run_id: string; agent_id: string; status: string }>(
      sql`select run_id, agent_id, status from runs where organization_id = ${organizationId}`,
    );
    expect(
      rows
        .filter((row) => row.agent_id === copier.agentId)
        .map((row) => row.run_id)
        .sort(),
    ).toEqual([...own].sort());
    // The owner's run is untouched by the copied finish.
    expect(rows.find((row) => row.run_id === taken)).toEqual({
      run_id: taken,
      agent_id: owner.agentId,
      status: 'running',
    });
    const [setAside] = readdirSync(path.join(directory, 'rejected'));
    expect(setAside).toBeDefined();
    const kept = JSON.parse(readFileSync(path.join(directory, 'rejected', setAside ?? ''), 'utf8'));
    expect(kept.checkIn.runId).toBe(taken);
    expect(JSON.stringify(kept.reason)).toMatch(/another agent/);
  });
});
