import { randomUUID } from 'node:crypto';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../src/auth/passwordHash.js';
import { auditLog, memberships, users } from '../src/db/schema.js';
import type { BackendConfig } from '../src/env.js';
import { seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 11 §1: organizations. A user belongs to several; a session has an active one that the
 * user switches; an API token acts in its own only. Who may create one is the installation's
 * setting (CRONFLEET_ORGANIZATION_CREATORS); renaming is for admins of the active one; creating,
 * renaming and switching are audited.
 */

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const password = 'correct horse battery staple';

interface Call {
  status: number;
  // A parsed JSON answer, checked field by field with expect().
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

/** A call with a session cookie or a bearer token; writes with a cookie say they come from a script. */
async function call(
  app: TestApp,
  method: string,
  path: string,
  auth: { cookie?: string; token?: string },
  body?: unknown,
): Promise<Call> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (auth.cookie !== undefined) {
    headers.cookie = auth.cookie;
    headers['x-cronfleet-client'] = 'test';
  }
  if (auth.token !== undefined) headers.authorization = `Bearer ${auth.token}`;
  const response = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? undefined : JSON.parse(text),
    headers: response.headers,
  };
}

function sessionCookieOf(answer: Call): string {
  const line = answer.headers
    .getSetCookie()
    .find((cookie) => cookie.startsWith('cronfleet_session='));
  if (line === undefined) throw new Error(`no session cookie in ${JSON.stringify(answer.body)}`);
  return line.split(';')[0] ?? '';
}

async function auditOf(app: TestApp, organizationId: string, action: string) {
  return app.database.db
    .select()
    .from(auditLog)
    .where(and(eq(auditLog.organizationId, organizationId), eq(auditLog.action, action)));
}

/** An installation set up through the API: its bootstrap admin, signed in. */
async function bootstrapped(overrides: Partial<BackendConfig> = {}) {
  const app = await startTestApp(overrides);
  const answer = await call(
    app,
    'POST',
    '/api/v1/auth/bootstrap',
    {},
    {
      organizationName: 'Acme',
      email: 'ada@example.com',
      password,
    },
  );
  expect(answer.status).toBe(201);
  return { app, cookie: sessionCookieOf(answer), acme: answer.body.organization.id as string };
}

describe('organizations, with the default setting (the bootstrap admin creates them)', () => {
  let app: TestApp;
  let cookie: string;
  let acme: string;
  let adaId: string;

  beforeAll(async () => {
    ({ app, cookie, acme } = await bootstrapped());
    const [ada] = await app.database.db
      .select()
      .from(users)
      .where(eq(users.email, 'ada@example.com'));
    adaId = ada?.id ?? '';
    expect(ada?.installationAdmin).toBe(true);
  });
  afterAll(() => app.close());

  it('lets the bootstrap admin create one and become its admin; the session stays where it was', async () => {
    const created = await call(
      app,
      'POST',
      '/api/v1/organizations',
      { cookie },
      { name: 'Acme Data' },
    );
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body).toMatchObject({ name: 'Acme Data', role: 'admin', active: false });
    const list = await call(app, 'GET', '/api/v1/organizations', { cookie });
    expect(list.status).toBe(200);
    expect(list.body.canCreate).toBe(true);
    expect(
      list.body.items.map((item: { name: string; active: boolean }) => [item.name, item.active]),
    ).toEqual([
      ['Acme', true],
      ['Acme Data', false],
    ]);
    const me = await call(app, 'GET', '/api/v1/auth/me', { cookie });
    expect(me.body.organization.id).toBe(acme);
    expect(me.body.organizations).toHaveLength(2);
    const [entry] = await auditOf(app, created.body.id, 'organization.create');
    expect(entry).toMatchObject({
      actorType: 'user',
      actorId: adaId,
      targetType: 'organization',
      targetId: created.body.id,
    });
    expect(entry?.details).toMatchObject({ name: 'Acme Data', adminUserId: adaId, via: 'api' });
  });

  it('refuses anyone else, and an API token without the admin scope', async () => {
    const admin = await seedUser(app.database, acme, 'admin');
    const refused = await call(
      app,
      'POST',
      '/api/v1/organizations',
      { token: admin.token },
      { name: 'Mine' },
    );
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/CRONFLEET_ORGANIZATION_CREATORS=any-user/);
    const list = await call(app, 'GET', '/api/v1/organizations', { token: admin.token });
    expect(list.body.canCreate).toBe(false);

    const readOnly = await call(
      app,
      'POST',
      '/api/v1/tokens',
      { cookie },
      { name: 'ro', scopes: ['read'] },
    );
    const byReadToken = await call(
      app,
      'POST',
      '/api/v1/organizations',
      { token: readOnly.body.token },
      {
        name: 'Nope',
      },
    );
    expect(byReadToken.status).toBe(403);
    expect(byReadToken.body.error.message).toMatch(/admin scope/);
    const full = await call(
      app,
      'POST',
      '/api/v1/tokens',
      { cookie },
      {
        name: 'full',
        scopes: ['read', 'write', 'admin'],
      },
    );
    const byAdminToken = await call(
      app,
      'POST',
      '/api/v1/organizations',
      { token: full.body.token },
      {
        name: 'Made by token',
      },
    );
    expect(byAdminToken.status).toBe(201);
    expect(byAdminToken.body.active).toBe(false);
  });

  it('rejects a bad name with a 400 that names it', async () => {
    for (const name of ['', 'two\nlines', 'x'.repeat(201), 42]) {
      const answer = await call(app, 'POST', '/api/v1/organizations', { cookie }, { name });
      expect(answer.status).toBe(400);
      expect(answer.body.error.details[0].path).toBe('name');
    }
  });

  it("switches the session's organization: role, members and me follow; an API token cannot switch", async () => {
    const data = await call(
      app,
      'POST',
      '/api/v1/organizations',
      { cookie },
      { name: 'Switch target' },
    );
    const target = data.body.id as string;
    // Ada is a viewer elsewhere too: her role there applies once switched.
    const other = await seedOrganization(app.database, 'Globex');
    await app.database.db
      .insert(memberships)
      .values({ organizationId: other, userId: adaId, role: 'viewer' });

    const switched = await call(
      app,
      'PUT',
      '/api/v1/auth/session/organization',
      { cookie },
      {
        organizationId: other,
      },
    );
    expect(switched.status, JSON.stringify(switched.body)).toBe(200);
    expect(switched.body).toMatchObject({
      organization: { id: other, name: 'Globex' },
      role: 'viewer',
    });
    const me = await call(app, 'GET', '/api/v1/auth/me', { cookie });
    expect(me.body).toMatchObject({
      organization: { id: other },
      role: 'viewer',
      permissions: ['read'],
    });
    // As a viewer of Globex, Ada may not list its users, nor create tokens beyond read.
    expect((await call(app, 'GET', '/api/v1/users', { cookie })).status).toBe(403);

    const back = await call(
      app,
      'PUT',
      '/api/v1/auth/session/organization',
      { cookie },
      {
        organizationId: target,
      },
    );
    expect(back.status).toBe(200);
    expect(back.body.role).toBe('admin');
    const members = await call(app, 'GET', '/api/v1/users', { cookie });
    expect(members.status).toBe(200);
    expect(members.body.items.map((user: { id: string }) => user.id)).toEqual([adaId]);
    // Switching to where the session already is changes nothing and is not audited again.
    const again = await call(
      app,
      'PUT',
      '/api/v1/auth/session/organization',
      { cookie },
      {
        organizationId: target,
      },
    );
    expect(again.status).toBe(200);
    const entries = await auditOf(app, target, 'session.organization.switch');
    expect(entries).toHaveLength(1);
    expect(entries[0]).toMatchObject({ actorId: adaId, targetId: target });
    expect(await auditOf(app, other, 'session.organization.switch')).toHaveLength(1);

    const notMine = await call(
      app,
      'PUT',
      '/api/v1/auth/session/organization',
      { cookie },
      {
        organizationId: randomUUID(),
      },
    );
    expect(notMine.status).toBe(404);
    const bad = await call(
      app,
      'PUT',
      '/api/v1/auth/session/organization',
      { cookie },
      {
        organizationId: 'acme',
      },
    );
    expect(bad.status).toBe(400);
    expect(bad.body.error.details[0].path).toBe('organizationId');

    const token = await call(
      app,
      'POST',
      '/api/v1/tokens',
      { cookie },
      { name: 'ci', scopes: ['read'] },
    );
    const byToken = await call(
      app,
      'PUT',
      '/api/v1/auth/session/organization',
      { token: token.body.token },
      {
        organizationId: acme,
      },
    );
    expect(byToken.status).toBe(403);
    expect(byToken.body.error.message).toMatch(/API token belongs to one organization/);
    // The token stays in the organization it was created in.
    const tokenMe = await call(app, 'GET', '/api/v1/auth/me', { token: token.body.token });
    expect(tokenMe.body.organization.id).toBe(target);

    await call(
      app,
      'PUT',
      '/api/v1/auth/session/organization',
      { cookie },
      { organizationId: acme },
    );
  });

  it('renames the active organization for its admins only, and audits it', async () => {
    const renamed = await call(
      app,
      'PATCH',
      `/api/v1/organizations/${acme}`,
      { cookie },
      { name: 'Acme Corp' },
    );
    expect(renamed.status, JSON.stringify(renamed.body)).toBe(200);
    expect(renamed.body).toMatchObject({
      id: acme,
      name: 'Acme Corp',
      role: 'admin',
      active: true,
    });
    const me = await call(app, 'GET', '/api/v1/auth/me', { cookie });
    expect(me.body.organization.name).toBe('Acme Corp');
    const [entry] = await auditOf(app, acme, 'organization.rename');
    expect(entry?.details).toEqual({ from: 'Acme', to: 'Acme Corp' });

    const viewer = await seedUser(app.database, acme, 'viewer');
    const byViewer = await call(
      app,
      'PATCH',
      `/api/v1/organizations/${acme}`,
      { token: viewer.token },
      {
        name: 'Viewer Corp',
      },
    );
    expect(byViewer.status).toBe(403);

    // Another organization of Ada's: she must switch to it first.
    const second = await call(app, 'POST', '/api/v1/organizations', { cookie }, { name: 'Second' });
    const elsewhere = await call(
      app,
      'PATCH',
      `/api/v1/organizations/${second.body.id}`,
      { cookie },
      {
        name: 'Second renamed',
      },
    );
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error.message).toMatch(/switch to this one first/);
    // An organization she does not belong to is unknown.
    const stranger = await seedOrganization(app.database, 'Stranger');
    for (const id of [stranger, randomUUID()]) {
      const answer = await call(
        app,
        'PATCH',
        `/api/v1/organizations/${id}`,
        { cookie },
        { name: 'Mine now' },
      );
      expect(answer.status).toBe(404);
    }
    const badId = await call(
      app,
      'PATCH',
      '/api/v1/organizations/not-a-uuid',
      { cookie },
      { name: 'X' },
    );
    expect(badId.status).toBe(400);
  });
});

describe('organizations, with CRONFLEET_ORGANIZATION_CREATORS=any-user', () => {
  let app: TestApp;

  beforeAll(async () => {
    ({ app } = await bootstrapped({ organizationCreators: 'any-user' }));
  });
  afterAll(() => app.close());

  it('lets any signed-in user create one, and become its admin', async () => {
    const organizationId = await seedOrganization(app.database, 'Globex');
    const [grace] = await app.database.db
      .insert(users)
      .values({ email: 'grace@example.com', passwordHash: await hashPassword(password) })
      .returning();
    await app.database.db
      .insert(memberships)
      .values({ organizationId, userId: grace?.id ?? '', role: 'viewer' });
    const login = await call(
      app,
      'POST',
      '/api/v1/auth/login',
      {},
      { email: 'grace@example.com', password },
    );
    const cookie = sessionCookieOf(login);
    const list = await call(app, 'GET', '/api/v1/organizations', { cookie });
    expect(list.body.canCreate).toBe(true);
    const created = await call(
      app,
      'POST',
      '/api/v1/organizations',
      { cookie },
      { name: "Grace's" },
    );
    expect(created.status).toBe(201);
    expect(created.body.role).toBe('admin');
    // Her viewer token has no admin scope: a token still cannot.
    const viewer = await seedUser(app.database, organizationId, 'viewer');
    const byToken = await call(
      app,
      'POST',
      '/api/v1/organizations',
      { token: viewer.token },
      { name: 'V' },
    );
    expect(byToken.status).toBe(403);
  });
});
