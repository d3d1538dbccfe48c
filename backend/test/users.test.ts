import { randomUUID } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiTokens, auditLog, memberships, sessions, users } from '../src/db/schema.js';
import { seedOrganization, seedUser, type SeededUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/** Organization users: list, add, change role, remove; who may; the last admin; organizations apart. */

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

interface Call {
  status: number;
  // A parsed JSON answer, checked field by field with expect().
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
  headers: Headers;
}

async function call(
  app: TestApp,
  method: string,
  path: string,
  credential: { token?: string; cookie?: string },
  body?: unknown,
): Promise<Call> {
  const headers: Record<string, string> = {};
  if (credential.token !== undefined) headers.authorization = `Bearer ${credential.token}`;
  if (credential.cookie !== undefined) {
    headers.cookie = credential.cookie;
    // What the dashboard's scripts send: a write signed in by the cookie needs it (or its Origin).
    headers['x-requested-with'] = 'XMLHttpRequest';
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
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

const as = (user: SeededUser) => ({ token: user.token });
const password = 'a long enough passphrase';

describe('organization users', () => {
  let app: TestApp;
  let acme: string;
  let globex: string;
  let admin: SeededUser;
  let operator: SeededUser;
  let viewer: SeededUser;
  let globexAdmin: SeededUser;

  beforeAll(async () => {
    app = await startTestApp();
    acme = await seedOrganization(app.database, 'Acme');
    globex = await seedOrganization(app.database, 'Globex');
    admin = await seedUser(app.database, acme, 'admin');
    operator = await seedUser(app.database, acme, 'operator');
    viewer = await seedUser(app.database, acme, 'viewer');
    globexAdmin = await seedUser(app.database, globex, 'admin');
  });
  afterAll(() => app.close());

  it('lists the members of the organization with their roles (admins only)', async () => {
    const list = await call(app, 'GET', '/api/v1/users', as(admin));
    expect(list.status).toBe(200);
    expect(
      list.body.items.map((user: { id: string; role: string }) => [user.id, user.role]),
    ).toEqual([
      [admin.userId, 'admin'],
      [operator.userId, 'operator'],
      [viewer.userId, 'viewer'],
    ]);
    expect(JSON.stringify(list.body)).not.toContain(globexAdmin.userId);
    expect(JSON.stringify(list.body)).not.toMatch(/password|hash/i);
  });

  it('refuses every user route to operators and viewers (403), and to nobody (401)', async () => {
    const someone = viewer.userId;
    const attempts: [string, string, unknown][] = [
      ['GET', '/api/v1/users', undefined],
      ['POST', '/api/v1/users', { email: 'new@example.com', role: 'viewer', password }],
      ['PATCH', `/api/v1/users/${someone}`, { role: 'admin' }],
      ['DELETE', `/api/v1/users/${someone}`, undefined],
    ];
    for (const [method, path, body] of attempts) {
      for (const user of [operator, viewer]) {
        const result = await call(app, method, path, as(user), body);
        expect(result.status, `${method} ${path} as ${user.email}`).toBe(403);
        expect(result.body.error.message).toMatch(/needs the admin permission/);
      }
      expect((await call(app, method, path, {}, body)).status).toBe(401);
    }
    expect(
      await app.database.db.select().from(users).where(eq(users.email, 'new@example.com')),
    ).toEqual([]);
    const [row] = await app.database.db
      .select()
      .from(memberships)
      .where(eq(memberships.userId, someone));
    expect(row?.role).toBe('viewer');
  });

  it('adds a new user who can then sign in, and stores only a hash of the password', async () => {
    const added = await call(app, 'POST', '/api/v1/users', as(admin), {
      email: ' Grace@Example.com',
      name: 'Grace Hopper',
      role: 'operator',
      password,
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      email: 'grace@example.com',
      name: 'Grace Hopper',
      role: 'operator',
      accountCreated: true,
    });
    const [stored] = await app.database.db.select().from(users).where(eq(users.id, added.body.id));
    expect(stored?.passwordHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(await app.database.rows(sql`select * from users`))).not.toContain(
      password,
    );
    const audit = await app.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'user.add'));
    expect(audit.at(-1)).toMatchObject({
      actorId: admin.userId,
      targetId: added.body.id,
      organizationId: acme,
    });
    expect(JSON.stringify(audit)).not.toContain(password);

    const login = await call(
      app,
      'POST',
      '/api/v1/auth/login',
      {},
      { email: 'grace@example.com', password },
    );
    expect(login.status).toBe(200);
    expect(login.body.role).toBe('operator');
  });

  it('adds an existing account only when the admin also administers one of its organizations', async () => {
    const withPassword = await call(app, 'POST', '/api/v1/users', as(admin), {
      email: globexAdmin.email,
      role: 'viewer',
      password,
    });
    expect(withPassword.status).toBe(409);
    expect(withPassword.body.error.message).toMatch(/leave password out/);

    // Globex's admin never agreed to join Acme, and Acme's admin has no say in Globex: the
    // answer is the one for an e-mail without an account, and Acme learns nothing of the account.
    const grabbed = await call(app, 'POST', '/api/v1/users', as(admin), {
      email: globexAdmin.email,
      role: 'viewer',
    });
    expect(grabbed.status).toBe(400);
    expect(grabbed.body.error.message).toMatch(/has no account that you can add/);
    expect(JSON.stringify(grabbed.body)).not.toContain(globexAdmin.userId);

    // An account of an organization that Acme's admin also administers may be added.
    const initech = await seedOrganization(app.database, 'Initech');
    await app.database.db
      .insert(memberships)
      .values({ organizationId: initech, userId: admin.userId, role: 'admin' });
    const colleague = await seedUser(app.database, initech, 'operator');
    const added = await call(app, 'POST', '/api/v1/users', as(admin), {
      email: colleague.email,
      role: 'viewer',
    });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({
      id: colleague.userId,
      role: 'viewer',
      accountCreated: false,
    });

    const again = await call(app, 'POST', '/api/v1/users', as(admin), {
      email: colleague.email,
      role: 'admin',
    });
    expect(again.status).toBe(409);
    expect(again.body.error.message).toMatch(/already a member.*as viewer.*PATCH/);

    const unknown = await call(app, 'POST', '/api/v1/users', as(admin), {
      email: 'nobody@example.com',
      role: 'viewer',
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toMatch(/give a password/);

    const weak = await call(app, 'POST', '/api/v1/users', as(admin), {
      email: 'weak@example.com',
      role: 'viewer',
      password: 'short',
    });
    expect(weak.status).toBe(400);
    expect(weak.body.error.details).toEqual([
      { path: 'password', message: expect.stringMatching(/at least 12/) },
    ]);

    // Leaving Acme does not touch the Initech membership.
    const removed = await call(app, 'DELETE', `/api/v1/users/${colleague.userId}`, as(admin));
    expect(removed.status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/auth/me', as(colleague))).body.organization.id).toBe(
      initech,
    );
  });

  it('changes a role, which takes effect on the next call', async () => {
    const member = await seedUser(app.database, acme, 'viewer');
    expect(
      (await call(app, 'POST', '/api/v1/tokens', as(member), { name: 'w', scopes: ['write'] }))
        .status,
    ).toBe(403);
    const changed = await call(app, 'PATCH', `/api/v1/users/${member.userId}`, as(admin), {
      role: 'operator',
    });
    expect(changed.status).toBe(200);
    expect(changed.body).toMatchObject({ id: member.userId, role: 'operator' });
    // The seeded token only had the read scope of a viewer: it stays read-only.
    const me = await call(app, 'GET', '/api/v1/auth/me', as(member));
    expect(me.body).toMatchObject({ role: 'operator', permissions: ['read'] });
    const audit = await app.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'user.role.change'));
    expect(audit.at(-1)?.details).toMatchObject({ from: 'viewer', to: 'operator' });

    const invalid = await call(app, 'PATCH', `/api/v1/users/${member.userId}`, as(admin), {
      role: 'owner',
    });
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.details[0].path).toBe('role');
  });

  it('never demotes or removes the last admin', async () => {
    const org = await seedOrganization(app.database, 'Solo');
    const only = await seedUser(app.database, org, 'admin');
    const demote = await call(app, 'PATCH', `/api/v1/users/${only.userId}`, as(only), {
      role: 'operator',
    });
    expect(demote.status).toBe(409);
    expect(demote.body.error.message).toMatch(/last admin.*make another member admin first/);
    const remove = await call(app, 'DELETE', `/api/v1/users/${only.userId}`, as(only));
    expect(remove.status).toBe(409);
    // Setting the same role is a no-op, not a demotion.
    expect(
      (await call(app, 'PATCH', `/api/v1/users/${only.userId}`, as(only), { role: 'admin' }))
        .status,
    ).toBe(200);

    // With a second admin, one may step down; then the other is the last.
    const second = await seedUser(app.database, org, 'admin');
    expect(
      (await call(app, 'PATCH', `/api/v1/users/${only.userId}`, as(only), { role: 'viewer' }))
        .status,
    ).toBe(200);
    expect((await call(app, 'DELETE', `/api/v1/users/${second.userId}`, as(second))).status).toBe(
      409,
    );
  });

  it('keeps an admin when two admins demote each other at the same time', async () => {
    const org = await seedOrganization(app.database, 'Race');
    const a = await seedUser(app.database, org, 'admin');
    const b = await seedUser(app.database, org, 'admin');
    const results = await Promise.all([
      call(app, 'PATCH', `/api/v1/users/${b.userId}`, as(a), { role: 'viewer' }),
      call(app, 'PATCH', `/api/v1/users/${a.userId}`, as(b), { role: 'viewer' }),
    ]);
    const admins = await app.database.db
      .select()
      .from(memberships)
      .where(and(eq(memberships.organizationId, org), eq(memberships.role, 'admin')));
    expect(admins).toHaveLength(1);
    expect(results.map((result) => result.status).sort()).toContain(200);
  });

  it('removes a member with their sessions and tokens in this organization', async () => {
    const added = await call(app, 'POST', '/api/v1/users', as(admin), {
      email: 'leaver@example.com',
      role: 'operator',
      password,
    });
    const userId: string = added.body.id;
    const login = await call(
      app,
      'POST',
      '/api/v1/auth/login',
      {},
      { email: 'leaver@example.com', password },
    );
    const cookie = login.headers.getSetCookie()[0]?.split(';')[0] ?? '';
    const token = await call(
      app,
      'POST',
      '/api/v1/tokens',
      { cookie },
      { name: 'cli', scopes: ['read', 'write'] },
    );
    expect(token.status).toBe(201);

    // The leaver also belongs to Globex, whose session and tokens stay.
    await app.database.db
      .insert(memberships)
      .values({ organizationId: globex, userId, role: 'viewer' });
    const globexLogin = await call(
      app,
      'POST',
      '/api/v1/auth/login',
      {},
      {
        email: 'leaver@example.com',
        password,
        organizationId: globex,
      },
    );
    const globexCookie = globexLogin.headers.getSetCookie()[0]?.split(';')[0] ?? '';

    // Both credentials in use (and cached) when the member is removed.
    expect((await call(app, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/auth/me', { token: token.body.token })).status).toBe(
      200,
    );
    const removed = await call(app, 'DELETE', `/api/v1/users/${userId}`, as(admin));
    expect(removed.status).toBe(200);
    expect(removed.body).toEqual({ userId, sessionsEnded: 1, tokensDeleted: 1 });
    expect((await call(app, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(401);
    expect((await call(app, 'GET', '/api/v1/auth/me', { token: token.body.token })).status).toBe(
      401,
    );
    expect((await call(app, 'GET', '/api/v1/auth/me', { cookie: globexCookie })).status).toBe(200);
    expect(
      await app.database.db
        .select()
        .from(sessions)
        .where(and(eq(sessions.userId, userId), eq(sessions.organizationId, acme))),
    ).toEqual([]);
    expect(
      await app.database.db.select().from(apiTokens).where(eq(apiTokens.userId, userId)),
    ).toEqual([]);

    // Removing again: gone.
    expect((await call(app, 'DELETE', `/api/v1/users/${userId}`, as(admin))).status).toBe(404);
    // Added back, the old credentials stay dead.
    expect(
      (
        await call(app, 'POST', '/api/v1/users', as(admin), {
          email: 'leaver@example.com',
          role: 'viewer',
        })
      ).status,
    ).toBe(201);
    expect((await call(app, 'GET', '/api/v1/auth/me', { token: token.body.token })).status).toBe(
      401,
    );
  });

  it('answers 404 for a user of another organization, and changes nothing there', async () => {
    const outsider = await seedUser(app.database, globex, 'viewer');
    const unknown = randomUUID();
    for (const userId of [outsider.userId, unknown]) {
      const patch = await call(app, 'PATCH', `/api/v1/users/${userId}`, as(admin), {
        role: 'admin',
      });
      expect(patch.status).toBe(404);
      expect(patch.body.error).toEqual({ code: 'not_found', message: 'user not found' });
      const remove = await call(app, 'DELETE', `/api/v1/users/${userId}`, as(admin));
      expect(remove.status).toBe(404);
    }
    const [row] = await app.database.db
      .select()
      .from(memberships)
      .where(eq(memberships.userId, outsider.userId));
    expect(row).toMatchObject({ organizationId: globex, role: 'viewer' });
    expect((await call(app, 'GET', '/api/v1/auth/me', as(outsider))).status).toBe(200);
  });

  it('lets an admin of one organization manage only its own members', async () => {
    const list = await call(app, 'GET', '/api/v1/users', as(globexAdmin));
    const ids = list.body.items.map((user: { id: string }) => user.id);
    expect(ids).toContain(globexAdmin.userId);
    expect(ids).not.toContain(admin.userId);
    const remove = await call(app, 'DELETE', `/api/v1/users/${admin.userId}`, as(globexAdmin));
    expect(remove.status).toBe(404);
    expect((await call(app, 'GET', '/api/v1/users', as(admin))).status).toBe(200);
  });
});
