import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { seedEnrollmentToken, seedOrganization } from '../../../backend/test/seed.js';
import { startTestApp, type TestApp } from '../../../backend/test/testApp.js';
import {
  defaultMonitorTiming,
  runMonitorPass,
} from '../../../backend/src/monitoring/monitorWorker.js';
import { makeTempDir, ServedRepository } from '../git/gitFixtures.js';

/**
 * Issue 12 §7, end to end: a real agent daemon (the built bin, embedded scheduler) reports to the
 * real backend; killed with SIGKILL, it leaves one agent-offline incident and no missed incident
 * for any of its jobs, however many of their fire times pass while it is gone.
 */

vi.setConfig({ hookTimeout: 120_000, testTimeout: 120_000 });

const run = promisify(execFile);
const agentBin = fileURLToPath(new URL('../../bin/cronfleet-agent.js', import.meta.url));

let app: TestApp;
let root: string;
let daemon: ChildProcess | undefined;

function job(name: string): string {
  return `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: ${name}
  namespace: offline
spec:
  schedule: '* * * * *'
  command: [echo, ${name}]
  monitoring:
    grace: 30s
`;
}

async function until(check: () => Promise<boolean>, what: string, withinMs = 90_000) {
  const deadline = Date.now() + withinMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

beforeAll(async () => {
  root = await makeTempDir('agent-offline');
  app = await startTestApp();
});

afterAll(async () => {
  if (daemon !== undefined && daemon.exitCode === null) daemon.kill('SIGKILL');
  await app?.close();
  await rm(root, { recursive: true, force: true });
});

describe('an agent daemon killed -9', () => {
  it('raises one agent-offline incident, and no missed incident for its jobs', async () => {
    const organizationId = await seedOrganization(app.database);
    const { token } = await seedEnrollmentToken(app.database, organizationId);
    const served = await ServedRepository.create(path.join(root, 'served'));
    await served.commit({
      'offline/jobs.yaml': [job('first'), job('second'), job('third')].join('---\n'),
    });
    const stateDir = path.join(root, 'state');
    const environment = { PATH: process.env.PATH, HOME: root };
    await run(
      process.execPath,
      [agentBin, 'enroll', '--backend', app.baseUrl, '--token', token, '--state-dir', stateDir],
      { env: environment },
    );
    // Heartbeats every second, so the test waits seconds rather than minutes.
    await app.database.rows(sql`update agents set heartbeat_interval_seconds = 1`);

    daemon = spawn(
      process.execPath,
      [
        agentBin,
        'sync',
        '--scheduler',
        'embedded',
        '--repo',
        served.fileUrl,
        '--state-dir',
        stateDir,
      ],
      { env: { ...environment, CRONFLEET_POLL_INTERVAL: '1s' }, stdio: 'ignore' },
    );
    const instances = async () =>
      (
        await app.database.rows<{ count: number }>(
          sql`select count(*)::int as count from job_instances`,
        )
      )[0]!.count;
    await until(async () => (await instances()) === 3, 'the inventory of 3 jobs');
    const heartbeatAt = async () =>
      (
        await app.database.rows<{ at: string | null }>(
          sql`select last_heartbeat_at::text as at from agents`,
        )
      )[0]!.at;
    const first = await heartbeatAt();
    await until(async () => (await heartbeatAt()) !== first, 'a heartbeat after the inventory');
    const timing = { ...defaultMonitorTiming, outageMs: 24 * 3_600_000 };
    await runMonitorPass(app.context, { now: new Date() }, timing);

    daemon.kill('SIGKILL');
    await new Promise((resolve) => daemon!.once('exit', resolve));
    const killedAt = Date.now();

    // Ten minutes pass without the agent: ten fire times of each job, and passes all along.
    for (let minute = 1; minute <= 10; minute += 1) {
      const now = new Date(killedAt + minute * 60_000);
      app.setNow(now);
      await runMonitorPass(app.context, { now }, timing);
    }
    const incidents = await app.database.rows<{ kind: string; resolved_at: string | null }>(
      sql`select kind, resolved_at::text from incidents order by opened_at`,
    );
    expect(incidents).toEqual([{ kind: 'agent_offline', resolved_at: null }]);
    const health = await app.database.rows<{ health: string }>(
      sql`select distinct health::text from job_instances`,
    );
    expect(health).toEqual([{ health: 'unknown' }]);
  });
});
