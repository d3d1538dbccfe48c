import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiTokens, auditLog } from '../src/db/schema.js';
import { seedOrganization, seedUser, type SeededUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/** Personal API tokens: create (shown once), list, revoke; scopes ∩ role; organizations apart. */

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

interface Call {
  status: number;
  // A parsed JSON answer, checked field by field with expect().
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

async function call(
  app: TestApp,
  method: string,
  path: string,
  token: string,
  body?: unknown,
): Promise<Call> {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return { status: response.status, body: text === '' ? undefined : JSON.parse(text) };
}

describe('personal API tokens', () => {
  let app: TestApp;
  let acme: string;
  let admin: SeededUser;
  let operator: SeededUser;
  let viewer: SeededUser;
  let otherAdmin: SeededUser;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await seedOrganization(app.database, 'Acme');
    const globex = await seedOrganization(app.database, 'Globex');
    admin = await seedUser(app.database, acme, 'admin');
    operator = await seedUser(app.database, acme, 'operator');
    viewer = await seedUser(app.database, acme, 'viewer');
    otherAdmin = await seedUser(app.database, globex, 'admin');
  });
  afterAll(() => app.close());

  it('shows a new token once, and it works at once with its scopes', async () => {
    const created = await call(app, 'POST', '/api/v1/tokens', operator.token, {
      name: 'ci deploy',
      scopes: ['write', 'read'],
      expiresInDays: 30,
    });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^cfp_[A-Za-z0-9_-]{43}$/);
    expect(created.body.apiToken).toMatchObject({
      name: 'ci deploy',
      userId: operator.userId,
      userEmail: operator.email,
      scopes: ['read', 'write'],
      revokedAt: null,
      lastUsedAt: null,
      tokenPrefix: created.body.token.slice(0, 10),
    });
    const days = (Date.parse(created.body.apiToken.expiresAt) - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(29.9);
    expect(days).toBeLessThan(30.1);

    const me = await call(app, 'GET', '/api/v1/auth/me', created.body.token);
    expect(me.body).toMatchObject({
      via: 'api_token',
      role: 'operator',
      permissions: ['read', 'write'],
    });

    // The list shows its prefix, never the token or its hash.
    const list = await call(app, 'GET', '/api/v1/tokens', operator.token);
    expect(list.status).toBe(200);
    const listed = list.body.items.find(
      (item: { id: string }) => item.id === created.body.apiToken.id,
    );
    expect(listed).toMatchObject({
      name: 'ci deploy',
      tokenPrefix: created.body.token.slice(0, 10),
    });
    expect(listed.lastUsedAt).not.toBeNull();
    expect(JSON.stringify(list.body)).not.toContain(created.body.token);
    expect(Object.keys(listed).sort()).toEqual(
      [
        'createdAt',
        'expiresAt',
        'id',
        'lastUsedAt',
        'name',
        'parentTokenId',
        'revokedAt',
        'scopes',
        'tokenPrefix',
        'userEmail',
        'userId',
      ].sort(),
    );

    // The database keeps only the hash; the audit log records the creation without the token.
    const rows = JSON.stringify(await app.database.rows(sql`select * from api_tokens`));
    expect(rows).not.toContain(created.body.token);
    const audit = JSON.stringify(await app.database.db.select().from(auditLog));
    expect(audit).toContain('api_token.create');
    expect(audit).not.toContain(created.body.token);
  });

  it('never grants more than the caller has', async () => {
    const viewerWrite = await call(app, 'POST', '/api/v1/tokens', viewer.token, {
      name: 'x',
      scopes: ['read', 'write'],
    });
    expect(viewerWrite.status).toBe(403);
    expect(viewerWrite.body.error.message).toMatch(
      /cannot grant the write scope.*your role is viewer/,
    );
    const operatorAdmin = await call(app, 'POST', '/api/v1/tokens', operator.token, {
      name: 'x',
      scopes: ['admin'],
    });
    expect(operatorAdmin.status).toBe(403);

    // A read-only token of an admin cannot mint a write token, although the role could.
    const readOnly = await call(app, 'POST', '/api/v1/tokens', admin.token, {
      name: 'ro',
      scopes: ['read'],
    });
    const escalate = await call(app, 'POST', '/api/v1/tokens', readOnly.body.token, {
      name: 'x',
      scopes: ['write'],
    });
    expect(escalate.status).toBe(403);
    expect(escalate.body.error.message).toMatch(/the API token you are using does not/);
  });

  it('lets a viewer create, list and revoke a read-scoped token of their own', async () => {
    const created = await call(app, 'POST', '/api/v1/tokens', viewer.token, {
      name: 'dashboards',
      scopes: ['read'],
    });
    expect(created.status).toBe(201);
    const me = await call(app, 'GET', '/api/v1/auth/me', created.body.token);
    expect(me.body).toMatchObject({ role: 'viewer', permissions: ['read'], via: 'api_token' });
    const revoked = await call(
      app,
      'DELETE',
      `/api/v1/tokens/${created.body.apiToken.id}`,
      viewer.token,
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedAt).not.toBeNull();
  });

  it('acts with its scopes intersected with the role', async () => {
    // An admin's read-only token cannot do admin or write things.
    const readOnly = await call(app, 'POST', '/api/v1/tokens', admin.token, {
      name: 'read only',
      scopes: ['read'],
    });
    const users = await call(app, 'GET', '/api/v1/users', readOnly.body.token);
    expect(users.status).toBe(403);
    expect(users.body.error.message).toMatch(/lacks the scope/);
    expect((await call(app, 'GET', '/api/v1/users', admin.token)).status).toBe(200);

    // A token with the admin scope of a user later demoted to viewer acts as a viewer.
    const member = await seedUser(app.database, acme, 'admin');
    const full = await call(app, 'POST', '/api/v1/tokens', member.token, {
      name: 'full',
      scopes: ['read', 'write', 'admin'],
    });
    expect((await call(app, 'GET', '/api/v1/users', full.body.token)).status).toBe(200);
    const demoted = await call(app, 'PATCH', `/api/v1/users/${member.userId}`, admin.token, {
      role: 'viewer',
    });
    expect(demoted.status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/users', full.body.token)).status).toBe(403);
    const me = await call(app, 'GET', '/api/v1/auth/me', full.body.token);
    expect(me.body.permissions).toEqual(['read']);
  });

  it('rejects a revoked token and an expired token on the next call', async () => {
    const created = await call(app, 'POST', '/api/v1/tokens', operator.token, {
      name: 'short',
      scopes: ['read'],
      expiresInDays: 1,
    });
    const token: string = created.body.token;
    expect((await call(app, 'GET', '/api/v1/auth/me', token)).status).toBe(200);

    app.setNow(new Date(Date.now() + 86_400_000 + 60_000));
    try {
      const expired = await call(app, 'GET', '/api/v1/auth/me', token);
      expect(expired.status).toBe(401);
      expect(expired.body.error.message).toMatch(/expired/);
    } finally {
      app.setNow(undefined);
    }

    // Used again, so this replica has it cached when it is revoked.
    expect((await call(app, 'GET', '/api/v1/auth/me', token)).status).toBe(200);
    const revoked = await call(
      app,
      'DELETE',
      `/api/v1/tokens/${created.body.apiToken.id}`,
      operator.token,
    );
    expect(revoked.status).toBe(200);
    const after = await call(app, 'GET', '/api/v1/auth/me', token);
    expect(after.status).toBe(401);
    expect(after.body.error.message).toMatch(/revoked/);
    // Revoking again changes nothing; the list hides revoked tokens unless asked.
    const again = await call(
      app,
      'DELETE',
      `/api/v1/tokens/${created.body.apiToken.id}`,
      operator.token,
    );
    expect(again.status).toBe(200);
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    const live = await call(app, 'GET', '/api/v1/tokens', operator.token);
    expect(live.body.items.map((item: { id: string }) => item.id)).not.toContain(
      created.body.apiToken.id,
    );
    const all = await call(app, 'GET', '/api/v1/tokens?includeRevoked=true', operator.token);
    expect(all.body.items.map((item: { id: string }) => item.id)).toContain(
      created.body.apiToken.id,
    );
  });

  it('records when a token was last used, to the minute', async () => {
    const created = await call(app, 'POST', '/api/v1/tokens', operator.token, {
      name: 'touch',
      scopes: ['read'],
    });
    const token: string = created.body.token;
    const lastUsed = async () => {
      const [row] = await app.database.db
        .select({ lastUsedAt: apiTokens.lastUsedAt })
        .from(apiTokens)
        .where(eq(apiTokens.id, created.body.apiToken.id));
      return row?.lastUsedAt?.getTime();
    };
    const start = Date.now() + 3_600_000;
    try {
      app.setNow(new Date(start));
      expect((await call(app, 'GET', '/api/v1/auth/me', token)).status).toBe(200);
      expect(await lastUsed()).toBe(start);
      // Within the minute, calls (answered from the credential cache) write nothing.
      app.setNow(new Date(start + 30_000));
      expect((await call(app, 'GET', '/api/v1/auth/me', token)).status).toBe(200);
      expect(await lastUsed()).toBe(start);
      // After it, the next call records its time.
      app.setNow(new Date(start + 61_000));
      expect((await call(app, 'GET', '/api/v1/auth/me', token)).status).toBe(200);
      expect(await lastUsed()).toBe(start + 61_000);
    } finally {
      app.setNow(undefined);
    }
  });

  it("lets only admins see and revoke other people's tokens", async () => {
    const mine = await call(app, 'POST', '/api/v1/tokens', viewer.token, {
      name: 'mine',
      scopes: ['read'],
    });
    const tokenId: string = mine.body.apiToken.id;

    const operatorList = await call(
      app,
      'GET',
      `/api/v1/tokens?userId=${viewer.userId}`,
      operator.token,
    );
    expect(operatorList.status).toBe(403);
    expect((await call(app, 'GET', '/api/v1/tokens?all=true', operator.token)).status).toBe(403);
    // Asking for one's own tokens by id is fine.
    expect(
      (await call(app, 'GET', `/api/v1/tokens?userId=${operator.userId}`, operator.token)).status,
    ).toBe(200);

    const operatorRevoke = await call(app, 'DELETE', `/api/v1/tokens/${tokenId}`, operator.token);
    expect(operatorRevoke.status).toBe(403);
    expect(operatorRevoke.body.error.message).toMatch(/only admins/);

    const adminList = await call(app, 'GET', `/api/v1/tokens?userId=${viewer.userId}`, admin.token);
    expect(adminList.body.items.map((item: { id: string }) => item.id)).toContain(tokenId);
    const everyone = await call(app, 'GET', '/api/v1/tokens?all=true', admin.token);
    const owners = new Set(everyone.body.items.map((item: { userId: string }) => item.userId));
    expect([...owners]).toEqual(
      expect.arrayContaining([admin.userId, operator.userId, viewer.userId]),
    );
    expect([...owners]).not.toContain(otherAdmin.userId);

    const adminRevoke = await call(app, 'DELETE', `/api/v1/tokens/${tokenId}`, admin.token);
    expect(adminRevoke.status).toBe(200);
    expect(adminRevoke.body.userId).toBe(viewer.userId);
  });

  it("answers 404 for another organization's token, and never lists it", async () => {
    const theirs = await call(app, 'POST', '/api/v1/tokens', otherAdmin.token, {
      name: 'theirs',
      scopes: ['read'],
    });
    const foreign = await call(
      app,
      'DELETE',
      `/api/v1/tokens/${theirs.body.apiToken.id}`,
      admin.token,
    );
    expect(foreign.status).toBe(404);
    expect(foreign.body.error).toEqual({ code: 'not_found', message: 'API token not found' });
    expect((await call(app, 'DELETE', `/api/v1/tokens/${randomUUID()}`, admin.token)).body).toEqual(
      foreign.body,
    );
    expect((await call(app, 'GET', '/api/v1/auth/me', theirs.body.token)).status).toBe(200);

    const listed = await call(
      app,
      'GET',
      `/api/v1/tokens?userId=${otherAdmin.userId}`,
      admin.token,
    );
    expect(listed.body.items).toEqual([]);
  });

  it('validates the request with messages that say what is allowed', async () => {
    const bad = await call(app, 'POST', '/api/v1/tokens', admin.token, {
      name: '',
      scopes: ['root'],
      expiresInDays: 0,
    });
    expect(bad.status).toBe(400);
    const paths = bad.body.error.details.map((issue: { path: string }) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['name', 'scopes[0]', 'expiresInDays']));
    const badId = await call(app, 'DELETE', '/api/v1/tokens/not-a-uuid', admin.token);
    expect(badId.status).toBe(400);
    expect(
      (await call(app, 'POST', '/api/v1/tokens', 'cfp_nonsense', { name: 'x', scopes: ['read'] }))
        .status,
    ).toBe(401);
  });
});
