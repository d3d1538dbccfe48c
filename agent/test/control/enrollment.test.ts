import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { CronfleetApiError, createCronfleetClient } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../../backend/test/agentTestCalls.js';
import { seedEnrollmentToken, seedOrganization, seedUser } from '../../../backend/test/seed.js';
import { startTestApp, type TestApp } from '../../../backend/test/testApp.js';
import { enrollCommand } from '../../src/commands/enrollCommand.js';
import { agentVersion } from '../../src/control/agentVersion.js';
import { readEnrollmentRecord } from '../../src/control/enrollmentRecord.js';
import { hashMachineId, readMachineId } from '../../src/control/machineIdentity.js';
import { commandContext } from './controlFixtures.js';

/**
 * `cronfleet-agent enroll` against the real backend, started in-process (PGlite, or PostgreSQL
 * when DATABASE_URL is set): the token file, the agent id, re-enrollment, organizations.
 */

let app: TestApp;
let root: string;
let organizationA: string;
let organizationB: string;
let adminA: { token: string };
let adminB: { token: string };

beforeAll(async () => {
  app = await startTestApp();
  root = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-enroll-'));
  organizationA = await seedOrganization(app.database, 'A');
  organizationB = await seedOrganization(app.database, 'B');
  adminA = await seedUser(app.database, organizationA, 'admin');
  adminB = await seedUser(app.database, organizationB, 'admin');
});

afterAll(async () => {
  await app?.close();
  if (root !== undefined) await rm(root, { recursive: true, force: true });
});

const agentTokenPattern = /^cfa_[A-Za-z0-9_-]{22,256}\n$/;

const heartbeat = {
  conditions: [],
  lastAppliedRevision: null,
  lastAttemptedRevision: null,
  repository: { url: 'https://git.example.com/jobs.git', branch: 'main' },
  errors: [],
  version: agentVersion(),
};

async function enrollmentTokenOf(admin: { token: string }, labels = {}): Promise<string> {
  const created = await call(app, 'POST', '/api/v1/enrollment-tokens', admin.token, {
    description: 'agent tests',
    labels,
  });
  expect(created.status).toBe(201);
  return created.body.token as string;
}

describe('enroll', () => {
  const stateDir = () => path.join(root, 'state');
  const tokenFile = () => path.join(stateDir(), 'agent-token');
  let agentId = '';
  let firstToken = '';

  it('exchanges the enrollment token for an agent token (mode 0600) and records the agent id', async () => {
    const enrollmentToken = await enrollmentTokenOf(adminA, { zone: 'eu-west' });
    const tokenInput = path.join(root, 'enrollment-token');
    await writeFile(tokenInput, `${enrollmentToken}\n`);
    const run = commandContext({
      backend: app.baseUrl,
      stateDir: stateDir(),
      label: ['role=db', 'zone=ignored'],
    });
    expect(await enrollCommand(run.context, { tokenFile: tokenInput, name: 'db-1' })).toBe(0);
    expect(run.stderr()).toBe('');

    expect((await stat(tokenFile())).mode & 0o777).toBe(0o600);
    firstToken = await readFile(tokenFile(), 'utf8');
    expect(firstToken).toMatch(agentTokenPattern);
    const record = await readEnrollmentRecord(stateDir());
    expect(record).toMatchObject({ version: 1, backendUrl: app.baseUrl, name: 'db-1' });
    agentId = record?.agentId ?? '';
    expect(agentId).toMatch(/^[0-9a-f-]{36}$/);
    // The owner id of the crontab markers is another file, untouched by enrollment.
    await expect(stat(path.join(stateDir(), 'agent-id'))).rejects.toThrow(/ENOENT/);

    const machineId = await readMachineId({ stateDir: stateDir() });
    expect(run.stdout()).toBe(
      [
        `Enrolled as a new agent ${agentId} (db-1) at ${app.baseUrl}.`,
        `Agent token stored in ${tokenFile()} (mode 0600); machine id from ${machineId.source} (sent hashed).`,
        'Heartbeat every 30 s once the daemon runs: cronfleet-agent sync',
        '',
      ].join('\n'),
    );
    expect(run.stdout()).not.toContain(enrollmentToken);
    expect(run.stdout()).not.toContain(firstToken.trim());

    const shown = await call(app, 'GET', `/api/v1/agents/${agentId}`, adminA.token);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: agentId,
      name: 'db-1',
      hostname: os.hostname(),
      platform: 'linux',
      arch: process.arch,
      version: agentVersion(),
      // The enrollment token's labels win over the agent's own.
      labels: { role: 'db', zone: 'eu-west' },
      machineId: hashMachineId(machineId.raw),
      revokedAt: null,
    });
    expect(shown.body.machineId).not.toContain(machineId.raw);
  });

  it('refuses to touch a stored agent token without --force or --new, and says what each does', async () => {
    const enrollmentToken = await enrollmentTokenOf(adminA);
    const run = commandContext({ backend: app.baseUrl, stateDir: stateDir() });
    expect(await enrollCommand(run.context, { token: enrollmentToken })).toBe(2);
    expect(run.stderr()).toBe(
      `cronfleet-agent enroll: ${tokenFile()} already holds the agent token of agent ${agentId} at ${app.baseUrl}: this state directory is enrolled. To enroll it again as the same agent (keeping its id, history and inventory), add --force: the stored token is sent as proof. To enroll it as a new agent instead, add --new (the old agent stays at the backend until an operator revokes it). A second agent on this host needs its own state directory (--state-dir DIR)\n`,
    );
    const both = commandContext({ backend: app.baseUrl, stateDir: stateDir() });
    expect(
      await enrollCommand(both.context, { token: enrollmentToken, force: true, new: true }),
    ).toBe(2);
    expect(both.stderr()).toBe(
      'cronfleet-agent enroll: give --force (enroll again as the same agent) or --new (enroll as a new agent), not both\n',
    );
    // The stored token is proof for the backend that issued it only: it is sent nowhere else.
    const elsewhere = commandContext({ backend: 'http://127.0.0.1:9', stateDir: stateDir() });
    expect(await enrollCommand(elsewhere.context, { token: enrollmentToken, force: true })).toBe(2);
    expect(elsewhere.stderr()).toBe(
      `cronfleet-agent enroll: the stored agent token of agent ${agentId} at ${app.baseUrl} belongs to another backend than http://127.0.0.1:9, so --force cannot re-enroll it there; to enroll at http://127.0.0.1:9 as a new agent, give --new instead of --force\n`,
    );
    expect(await readFile(tokenFile(), 'utf8')).toBe(firstToken);
  });

  it('enrolls a second agent on the same host (another state directory) as a new agent; both keep working', async () => {
    const secondDir = path.join(root, 'state-second-user');
    const run = commandContext({ backend: app.baseUrl, stateDir: secondDir, label: ['role=test'] });
    expect(
      await enrollCommand(run.context, { token: await enrollmentTokenOf(adminA), name: 'test-1' }),
    ).toBe(0);
    const second = await readEnrollmentRecord(secondDir);
    expect(second?.agentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(second?.agentId).not.toBe(agentId);
    expect(run.stdout()).toContain(`Enrolled as a new agent ${second?.agentId} (test-1)`);

    const client = createCronfleetClient({ baseUrl: app.baseUrl, retries: 0 });
    const secondToken = (await readFile(path.join(secondDir, 'agent-token'), 'utf8')).trim();
    await expect(client.withToken(firstToken.trim()).heartbeat(heartbeat)).resolves.toEqual({
      heartbeatIntervalSeconds: 30,
      commands: [],
    });
    await expect(client.withToken(secondToken).heartbeat(heartbeat)).resolves.toEqual({
      heartbeatIntervalSeconds: 30,
      commands: [],
    });
    // The first agent kept its name and labels; both sit on one host.
    const first = await call(app, 'GET', `/api/v1/agents/${agentId}`, adminA.token);
    const other = await call(app, 'GET', `/api/v1/agents/${second?.agentId}`, adminA.token);
    expect(first.body).toMatchObject({ name: 'db-1', labels: { role: 'db', zone: 'eu-west' } });
    expect(other.body).toMatchObject({ name: 'test-1', labels: { role: 'test' } });
    expect(other.body.machineId).toBe(first.body.machineId);
  });

  it('re-enrolls the same machine as the same agent with --force; the old token stops working', async () => {
    const enrollmentToken = await enrollmentTokenOf(adminA);
    const run = commandContext(
      { backend: app.baseUrl, stateDir: stateDir() },
      { environment: { CRONFLEET_ENROLLMENT_TOKEN: enrollmentToken }, json: true },
    );
    expect(await enrollCommand(run.context, { force: true, name: 'db-1' })).toBe(0);
    const printed = JSON.parse(run.stdout());
    expect(printed).toMatchObject({
      agentId,
      previousAgentId: agentId,
      outcome: 'reenrolled',
      reenrolled: true,
      name: 'db-1',
      tokenFile: tokenFile(),
    });
    const secondToken = await readFile(tokenFile(), 'utf8');
    expect(secondToken).toMatch(agentTokenPattern);
    expect(secondToken).not.toBe(firstToken);
    expect((await stat(tokenFile())).mode & 0o777).toBe(0o600);

    const client = createCronfleetClient({ baseUrl: app.baseUrl, retries: 0 });
    await expect(client.withToken(secondToken.trim()).heartbeat(heartbeat)).resolves.toEqual({
      heartbeatIntervalSeconds: 30,
      commands: [],
    });
    const refused = await client
      .withToken(firstToken.trim())
      .heartbeat(heartbeat)
      .catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(CronfleetApiError);
    expect((refused as CronfleetApiError).status).toBe(401);
  });

  it("replaces an agent through an operator's replace token, as on a reinstalled host", async () => {
    // The host lost its state directory: a fresh one, no stored token.
    const reinstalled = path.join(root, 'state-reinstalled');
    const created = await call(app, 'POST', '/api/v1/enrollment-tokens', adminA.token, {
      description: 'db-1 reinstalled',
      replacesAgentId: agentId,
    });
    expect(created.status).toBe(201);
    const run = commandContext({ backend: app.baseUrl, stateDir: reinstalled });
    expect(await enrollCommand(run.context, { token: created.body.token, name: 'db-1' })).toBe(0);
    expect((await readEnrollmentRecord(reinstalled))?.agentId).toBe(agentId);
    expect(run.stdout()).toContain(
      `Enrolled as agent ${agentId} (db-1) at ${app.baseUrl}, replacing it as an operator asked: its history and inventory are kept, and its previous token no longer works.`,
    );
    const client = createCronfleetClient({ baseUrl: app.baseUrl, retries: 0 });
    const refused = await client
      .withToken((await readFile(tokenFile(), 'utf8')).trim())
      .heartbeat(heartbeat)
      .catch((error: unknown) => error);
    expect((refused as CronfleetApiError).status).toBe(401);
    const replacedToken = (await readFile(path.join(reinstalled, 'agent-token'), 'utf8')).trim();
    await expect(client.withToken(replacedToken).heartbeat(heartbeat)).resolves.toMatchObject({
      commands: [],
    });
  });

  it('keeps a revoked agent revoked: --force is refused with what to do, --new enrolls a new agent', async () => {
    const dir = path.join(root, 'state-revoked');
    const first = commandContext({ backend: app.baseUrl, stateDir: dir });
    expect(
      await enrollCommand(first.context, { token: await enrollmentTokenOf(adminA), name: 'old' }),
    ).toBe(0);
    const revokedId = (await readEnrollmentRecord(dir))?.agentId;
    const storedToken = await readFile(path.join(dir, 'agent-token'), 'utf8');
    const revoked = await call(app, 'POST', `/api/v1/agents/${revokedId}/revoke`, adminA.token, {
      reason: 'host sold',
    });
    expect(revoked.status).toBe(200);

    const forced = commandContext({ backend: app.baseUrl, stateDir: dir });
    expect(
      await enrollCommand(forced.context, { token: await enrollmentTokenOf(adminA), force: true }),
    ).toBe(1);
    expect(forced.stderr()).toContain(
      `agent old (${revokedId}) was revoked (host sold), and a revoked agent stays revoked: its token cannot enroll into it. Enroll this host as a new agent instead (cronfleet-agent enroll --new)`,
    );
    expect(await readFile(path.join(dir, 'agent-token'), 'utf8')).toBe(storedToken);

    const fresh = commandContext({ backend: app.baseUrl, stateDir: dir });
    expect(
      await enrollCommand(fresh.context, { token: await enrollmentTokenOf(adminA), new: true }),
    ).toBe(0);
    const newId = (await readEnrollmentRecord(dir))?.agentId;
    expect(newId).not.toBe(revokedId);
    expect(fresh.stdout()).toContain(
      `Enrolled as a new agent ${newId} (${os.hostname()}) at ${app.baseUrl}. The previous agent ${revokedId} stays at the backend (offline) until an operator revokes it.`,
    );
    const shown = await call(app, 'GET', `/api/v1/agents/${revokedId}`, adminA.token);
    expect(shown.body).toMatchObject({ status: 'revoked', revokedReason: 'host sold' });
  });

  it('gives the same machine another agent in another organization', async () => {
    const { token } = await seedEnrollmentToken(app.database, organizationB);
    const otherStateDir = path.join(root, 'state-b');
    const run = commandContext({ backend: app.baseUrl, stateDir: otherStateDir });
    expect(await enrollCommand(run.context, { token, name: 'db-1' })).toBe(0);
    const record = await readEnrollmentRecord(otherStateDir);
    expect(record?.agentId).toMatch(/^[0-9a-f-]{36}$/);
    expect(record?.agentId).not.toBe(agentId);

    const inB = await call(app, 'GET', `/api/v1/agents/${record?.agentId}`, adminB.token);
    const inA = await call(app, 'GET', `/api/v1/agents/${agentId}`, adminA.token);
    expect(inB.body.machineId).toBe(inA.body.machineId);
    // Each organization sees its own agent only.
    expect((await call(app, 'GET', `/api/v1/agents/${record?.agentId}`, adminA.token)).status).toBe(
      404,
    );
  });

  it('says what is wrong without echoing a token, and writes nothing', async () => {
    const fresh = path.join(root, 'state-failures');
    const attempt = async (
      flags: Parameters<typeof enrollCommand>[1],
      options: { backend?: string; environment?: Record<string, string> } = {},
    ) => {
      const run = commandContext(
        { backend: 'backend' in options ? options.backend : app.baseUrl, stateDir: fresh },
        { environment: options.environment ?? {} },
      );
      const code = await enrollCommand(run.context, flags);
      expect(run.stdout()).toBe('');
      return { code, stderr: run.stderr() };
    };

    expect(await attempt({})).toEqual({
      code: 2,
      stderr:
        'cronfleet-agent enroll: no enrollment token: give --enrollment-token-file FILE, --token TOKEN or CRONFLEET_ENROLLMENT_TOKEN\n',
    });
    expect(await attempt({ token: 'x', tokenFile: '/x' })).toEqual({
      code: 2,
      stderr:
        'cronfleet-agent enroll: give the enrollment token once: --token or --enrollment-token-file, not both\n',
    });
    const malformed = await attempt({ token: 'cfa_not-an-enrollment-token-at-all' });
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toMatch(
      /^cronfleet-agent enroll: the enrollment token is not valid: /,
    );
    expect(malformed.stderr).not.toContain('not-an-enrollment');

    const unknown = `cfe_${'Q'.repeat(30)}`;
    const refused = await attempt({ token: unknown });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(
      /^cronfleet-agent enroll: the backend refused the enrollment: enroll \(POST \/api\/v1\/agents\/enroll\) failed: the server answered 401 unauthorized: /,
    );
    expect(refused.stderr).not.toContain(unknown);

    const noBackend = await attempt({ token: unknown }, { backend: undefined });
    expect(noBackend).toEqual({
      code: 2,
      stderr:
        'cronfleet-agent enroll: no backend to enroll with: give --backend URL (or CRONFLEET_BACKEND_URL, or backendUrl in the config file)\n',
    });

    const { token } = await seedEnrollmentToken(app.database, organizationA);
    const unreachable = await attempt({ token }, { backend: 'http://127.0.0.1:9' });
    expect(unreachable.code).toBe(1);
    expect(unreachable.stderr).toMatch(/no answer from http:\/\/127\.0\.0\.1:9.*ECONNREFUSED/);
    expect(unreachable.stderr).not.toContain(token);

    await expect(stat(path.join(fresh, 'agent-token'))).rejects.toThrow(/ENOENT/);
    expect(await readEnrollmentRecord(fresh)).toBeUndefined();
  });
});
