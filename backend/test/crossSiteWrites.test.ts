import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memberships, users } from '../src/db/schema.js';
import { hashPassword } from '../src/auth/passwordHash.js';
import type { BackendConfig } from '../src/env.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 11 §3e: cross-site request forgery. A write made with the session cookie must carry the
 * dashboard's Origin or a custom header (X-Requested-With, X-Cronfleet-Client); a cross-origin
 * form POST to /agents/:id/reconcile with the cookie used to succeed. Token-authenticated calls
 * are unchanged, and reads are not affected.
 */

const password = 'a passphrase for the forgery tests';

interface Setup {
  app: TestApp;
  cookie: string;
  agentId: string;
  operatorToken: string;
}

async function setUp(overrides: Partial<BackendConfig> = {}): Promise<Setup> {
  const app = await startTestApp(overrides);
  const organizationId = await seedOrganization(app.database, 'Forgery');
  const [user] = await app.database.db
    .insert(users)
    .values({ email: 'ops@example.com', name: 'Ops', passwordHash: await hashPassword(password) })
    .returning();
  if (user === undefined) throw new Error('no user');
  await app.database.db
    .insert(memberships)
    .values({ organizationId, userId: user.id, role: 'operator' });
  const login = await fetch(`${app.baseUrl}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: 'ops@example.com', password }),
  });
  expect(login.status).toBe(200);
  const cookie = login.headers.getSetCookie()[0]?.split(';')[0] ?? '';
  const { agentId } = await seedAgent(app.database, organizationId);
  const operatorToken = (await seedUser(app.database, organizationId, 'operator')).token;
  return { app, cookie, agentId, operatorToken };
}

async function pendingCommands(app: TestApp, agentId: string): Promise<number> {
  const [row] = await app.database.rows<{ count: number }>(
    sql`select pending_command_count::int as count from agents where id = ${agentId}`,
  );
  return row?.count ?? -1;
}

async function send(
  app: TestApp,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; body: { error?: { code: string; message: string } } }> {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? {} : JSON.parse(text) };
}

describe('writes signed in with the session cookie', () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp();
  });
  afterAll(() => setup?.app.close());

  it('refuses a cross-origin form POST to /agents/:id/reconcile with a 403 that says why, and queues nothing', async () => {
    const { app, cookie, agentId } = setup;
    const answer = await send(
      app,
      'POST',
      `/api/v1/agents/${agentId}/reconcile`,
      {
        cookie,
        origin: 'https://attacker.example',
        'content-type': 'application/x-www-form-urlencoded',
      },
      'x=1',
    );
    expect(answer.status).toBe(403);
    expect(answer.body.error?.code).toBe('forbidden');
    expect(answer.body.error?.message).toMatch(/cross-site request refused/);
    expect(answer.body.error?.message).toMatch(/not https:\/\/attacker\.example/);
    expect(answer.body.error?.message).toMatch(/X-Requested-With/);
    expect(await pendingCommands(app, agentId)).toBe(0);
  });

  it('refuses a cookie write with neither Origin nor a custom header', async () => {
    const { app, cookie, agentId } = setup;
    const answer = await send(app, 'POST', `/api/v1/agents/${agentId}/reconcile`, { cookie });
    expect(answer.status).toBe(403);
    expect(answer.body.error?.message).toMatch(/this request has no Origin/);
    // Every unsafe method, including one on a route that does not exist.
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const other = await send(app, method, `/api/v1/agents/${agentId}`, { cookie });
      expect(other.status, method).toBe(403);
    }
    expect(await pendingCommands(app, agentId)).toBe(0);
  });

  it("accepts the dashboard's own Origin, and a custom header", async () => {
    const { app, cookie, agentId } = setup;
    const fromDashboard = await send(app, 'POST', `/api/v1/agents/${agentId}/reconcile`, {
      cookie,
      origin: app.baseUrl,
    });
    expect(fromDashboard.status).toBe(202);
    for (const header of ['x-requested-with', 'x-cronfleet-client']) {
      const answer = await send(app, 'POST', `/api/v1/agents/${agentId}/reconcile`, {
        cookie,
        [header]: 'XMLHttpRequest',
      });
      expect(answer.status, header).toBe(202);
    }
  });

  it('leaves reads alone: a GET with the cookie from another origin is answered', async () => {
    const { app, cookie } = setup;
    const answer = await send(app, 'GET', '/api/v1/auth/me', {
      cookie,
      origin: 'https://attacker.example',
    });
    expect(answer.status).toBe(200);
  });

  it('leaves token-authenticated calls unchanged, whatever their Origin', async () => {
    const { app, agentId, operatorToken, cookie } = setup;
    const calls: Record<string, string>[] = [
      { authorization: `Bearer ${operatorToken}` },
      { authorization: `Bearer ${operatorToken}`, origin: 'https://attacker.example' },
      // A token wins over a cookie sent along: the cookie authenticates nothing here.
      { authorization: `Bearer ${operatorToken}`, cookie },
    ];
    for (const headers of calls) {
      const answer = await send(app, 'POST', `/api/v1/agents/${agentId}/reconcile`, headers);
      expect(answer.status, JSON.stringify(headers)).toBe(202);
    }
  });

  it('refuses a sign-in posted from a foreign origin (login forgery), and accepts one without Origin', async () => {
    const { app } = setup;
    const body = JSON.stringify({ email: 'ops@example.com', password });
    const forged = await send(
      app,
      'POST',
      '/api/v1/auth/login',
      { 'content-type': 'application/json', origin: 'https://attacker.example' },
      body,
    );
    expect(forged.status).toBe(403);
    expect(forged.body.error?.message).toMatch(/not the dashboard's origin/);
    const fromCurl = await send(
      app,
      'POST',
      '/api/v1/auth/login',
      { 'content-type': 'application/json', cookie: setup.cookie },
      body,
    );
    expect(fromCurl.status).toBe(200);
  });
});

describe('with CRONFLEET_DASHBOARD_ORIGIN and CRONFLEET_CORS_ORIGINS', () => {
  let setup: Setup;
  beforeAll(async () => {
    setup = await setUp({
      dashboardOrigin: 'https://cron.example.com',
      corsOrigins: ['https://ops.example.com'],
    });
  });
  afterAll(() => setup?.app.close());

  it('accepts writes from the configured origins only', async () => {
    const { app, cookie, agentId } = setup;
    const path = `/api/v1/agents/${agentId}/reconcile`;
    expect(
      (await send(app, 'POST', path, { cookie, origin: 'https://cron.example.com' })).status,
    ).toBe(202);
    expect(
      (await send(app, 'POST', path, { cookie, origin: 'https://ops.example.com' })).status,
    ).toBe(202);
    // The origin the request was sent to no longer counts once the dashboard's origin is set.
    const own = await send(app, 'POST', path, { cookie, origin: app.baseUrl });
    expect(own.status).toBe(403);
    expect(own.body.error?.message).toMatch(/Origin https:\/\/cron\.example\.com/);
    expect((await send(app, 'POST', path, { cookie, origin: 'null' })).status).toBe(403);
  });
});
