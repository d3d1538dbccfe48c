import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { hashPassword } from '../src/auth/passwordHash.js';
import { auditLog, memberships, organizations, sessions, users } from '../src/db/schema.js';
import { hashToken } from '../src/http/credentials.js';
import { seedOrganization } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/** Bootstrap, login, logout, me, session cookies and sign-in rate limits, over real HTTP. */

// Every sign-in runs scrypt (memory-hard, ~100 ms each), and some tests start apps of their own.
vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const password = 'correct horse battery staple';
let addressCounter = 0;

/** A client address of its own (the apps trust one proxy hop), so rate limits do not collide. */
function freshAddress(): string {
  addressCounter += 1;
  return `10.${Math.floor(addressCounter / 250)}.0.${(addressCounter % 250) + 1}`;
}

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
  options: {
    body?: unknown;
    cookie?: string;
    token?: string;
    headers?: Record<string, string>;
  } = {},
): Promise<Call> {
  const headers: Record<string, string> = {
    'x-forwarded-for': options.headers?.['x-forwarded-for'] ?? freshAddress(),
    ...options.headers,
  };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (options.cookie !== undefined) {
    headers.cookie = options.cookie;
    // What the dashboard's scripts send: a write signed in by the cookie needs it (or its Origin).
    headers['x-requested-with'] = 'XMLHttpRequest';
  }
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const response = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers,
    ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    body: text === '' ? undefined : JSON.parse(text),
    headers: response.headers,
  };
}

/** The `name=value` part of the session cookie a response set. */
function sessionCookieOf(result: Call): string {
  const setCookie = result.headers
    .getSetCookie()
    .find((line) => line.startsWith('cronfleet_session='));
  if (setCookie === undefined)
    throw new Error(`no session cookie in ${JSON.stringify(result.body)}`);
  return setCookie.split(';')[0] ?? '';
}

function setCookieLine(result: Call): string {
  return result.headers.getSetCookie().find((line) => line.startsWith('cronfleet_session=')) ?? '';
}

async function seedPasswordUser(
  app: TestApp,
  organizationId: string,
  role: 'admin' | 'operator' | 'viewer',
  email: string,
): Promise<string> {
  const [user] = await app.database.db
    .insert(users)
    .values({ email, name: email.split('@')[0] ?? '', passwordHash: await hashPassword(password) })
    .returning();
  if (user === undefined) throw new Error('no user');
  await app.database.db.insert(memberships).values({ organizationId, userId: user.id, role });
  return user.id;
}

describe('first-run bootstrap', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ trustProxy: 1 });
  });
  afterAll(() => app.close());

  it('rejects an invalid request and changes nothing', async () => {
    const result = await call(app, 'POST', '/api/v1/auth/bootstrap', {
      body: { organizationName: 'Acme', email: 'not-an-email', password: 'short' },
    });
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe('validation_failed');
    const paths = (result.body.error.details as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['email', 'password']));
    expect(result.body.error.message).toMatch(/at least 12 characters/);
    expect(await app.database.db.select().from(users)).toHaveLength(0);
  });

  it('lets exactly one of five concurrent bootstraps succeed', async () => {
    const results = await Promise.all(
      [1, 2, 3, 4, 5].map((n) =>
        call(app, 'POST', '/api/v1/auth/bootstrap', {
          body: {
            organizationName: `Org ${n}`,
            email: `  Admin${n}@Example.COM `,
            password,
            name: `Admin ${n}`,
          },
        }),
      ),
    );
    const statuses = results.map((result) => result.status).sort();
    expect(statuses).toEqual([201, 409, 409, 409, 409]);
    const winner = results.find((result) => result.status === 201);
    expect(winner?.body.role).toBe('admin');
    expect(winner?.body.user.email).toMatch(/^admin\d@example\.com$/);
    for (const loser of results.filter((result) => result.status === 409)) {
      expect(loser.body.error).toEqual({
        code: 'conflict',
        message: expect.stringMatching(/already set up.*sign in/),
      });
      expect(loser.headers.getSetCookie()).toEqual([]);
    }
    expect(await app.database.db.select().from(organizations)).toHaveLength(1);
    expect(await app.database.db.select().from(users)).toHaveLength(1);
    const [membership] = await app.database.db.select().from(memberships);
    expect(membership?.role).toBe('admin');

    // The winner is signed in by its cookie.
    const me = await call(app, 'GET', '/api/v1/auth/me', { cookie: sessionCookieOf(winner!) });
    expect(me.status).toBe(200);
    expect(me.body).toMatchObject({
      role: 'admin',
      via: 'session',
      permissions: ['read', 'write', 'admin'],
    });

    const audit = await app.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'installation.bootstrap'));
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit[0]?.details)).not.toContain(password);
  });

  it('is refused once a user exists, even later', async () => {
    const result = await call(app, 'POST', '/api/v1/auth/bootstrap', {
      body: { organizationName: 'Late', email: 'late@example.com', password },
    });
    expect(result.status).toBe(409);
    expect(await app.database.db.select().from(organizations)).toHaveLength(1);
  });

  it('never stores the password in plaintext', async () => {
    const [user] = await app.database.db.select().from(users);
    expect(user?.passwordHash).toMatch(
      /^scrypt\$32768\$8\$1\$[A-Za-z0-9_-]{22}\$[A-Za-z0-9_-]{43}$/,
    );
    expect(user?.passwordHash).not.toContain(password);
    const dump = await app.database.rows<Record<string, unknown>>(
      sql`select u.*, s.* from users u left join sessions s on s.user_id = u.id`,
    );
    expect(JSON.stringify(dump)).not.toContain(password);
  });
});

describe('login, me and logout', () => {
  let app: TestApp;
  let acme: string;
  let globex: string;
  let adaId: string;
  beforeAll(async () => {
    app = await startTestApp({ trustProxy: 1 });
    acme = await seedOrganization(app.database, 'Acme');
    globex = await seedOrganization(app.database, 'Globex');
    adaId = await seedPasswordUser(app, acme, 'operator', 'ada@example.com');
    // Ada joins Globex later, as a viewer.
    await app.database.db.insert(memberships).values({
      organizationId: globex,
      userId: adaId,
      role: 'viewer',
      createdAt: new Date(Date.now() + 1000),
    });
  });
  afterAll(() => app.close());

  it('signs in with a session cookie to the first organization, and `me` says who is calling', async () => {
    const login = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'ADA@example.com ', password },
    });
    expect(login.status).toBe(200);
    expect(login.body).toMatchObject({
      user: { id: adaId, email: 'ada@example.com', name: 'ada' },
      organization: { id: acme, name: 'Acme' },
      role: 'operator',
    });
    const cookie = sessionCookieOf(login);
    expect(cookie).toMatch(/^cronfleet_session=cfs_[A-Za-z0-9_-]{43}$/);

    const me = await call(app, 'GET', '/api/v1/auth/me', { cookie });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({
      user: { id: adaId, email: 'ada@example.com', name: 'ada' },
      organization: { id: acme, name: 'Acme' },
      role: 'operator',
      permissions: ['read', 'write'],
      via: 'session',
      organizations: [
        { id: acme, name: 'Acme', role: 'operator' },
        { id: globex, name: 'Globex', role: 'viewer' },
      ],
    });

    // The session is stored hashed, with its expiry.
    const token = cookie.split('=')[1] ?? '';
    const [stored] = await app.database.db
      .select()
      .from(sessions)
      .where(eq(sessions.tokenHash, hashToken(token)));
    expect(stored?.organizationId).toBe(acme);
    const ttlMs = (stored?.expiresAt.getTime() ?? 0) - Date.now();
    expect(ttlMs).toBeGreaterThan(7 * 24 * 3_600_000 - 60_000);
    const everything = JSON.stringify(await app.database.rows(sql`select * from sessions`));
    expect(everything).not.toContain(token);
  });

  it('signs in to another organization of the user when asked', async () => {
    const login = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password, organizationId: globex },
    });
    expect(login.status).toBe(200);
    expect(login.body.role).toBe('viewer');
    const me = await call(app, 'GET', '/api/v1/auth/me', { cookie: sessionCookieOf(login) });
    expect(me.body.organization).toEqual({ id: globex, name: 'Globex' });
    expect(me.body.permissions).toEqual(['read']);

    const elsewhere = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password, organizationId: randomUUID() },
    });
    expect(elsewhere.status).toBe(403);
    expect(elsewhere.body.error.message).toMatch(/not a member of that organization/);
  });

  it('answers a wrong password and an unknown e-mail with the same 401', async () => {
    const wrong = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password: 'wrong horse battery staple' },
    });
    const unknown = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'nobody@example.com', password },
    });
    expect(wrong.status).toBe(401);
    expect(unknown.status).toBe(401);
    expect(wrong.body).toEqual(unknown.body);
    expect(wrong.body.error.message).toBe(
      'wrong e-mail address or password; check both and try again',
    );
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });

  it('ends the session on logout and clears the cookie', async () => {
    const login = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password },
    });
    const cookie = sessionCookieOf(login);
    const before = await app.database.db.select().from(sessions);
    const logout = await call(app, 'POST', '/api/v1/auth/logout', { cookie });
    expect(logout.status).toBe(200);
    expect(logout.body).toEqual({ signedOut: true });
    expect(setCookieLine(logout)).toMatch(/^cronfleet_session=;.*Expires=Thu, 01 Jan 1970/);
    expect(await app.database.db.select().from(sessions)).toHaveLength(before.length - 1);

    const me = await call(app, 'GET', '/api/v1/auth/me', { cookie });
    expect(me.status).toBe(401);
    expect(me.body.error.message).toMatch(/sign in again/);
    const actions = (await app.database.db.select().from(auditLog)).map((row) => row.action);
    expect(actions).toContain('session.login');
    expect(actions).toContain('session.logout');
  });

  it('replaces the session a browser already had (no fixation)', async () => {
    const first = sessionCookieOf(
      await call(app, 'POST', '/api/v1/auth/login', {
        body: { email: 'ada@example.com', password },
      }),
    );
    expect((await call(app, 'GET', '/api/v1/auth/me', { cookie: first })).status).toBe(200);
    const second = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'ada@example.com', password },
      cookie: first,
    });
    expect(second.status).toBe(200);
    expect(sessionCookieOf(second)).not.toBe(first);
    expect((await call(app, 'GET', '/api/v1/auth/me', { cookie: first })).status).toBe(401);
    expect(
      (await call(app, 'GET', '/api/v1/auth/me', { cookie: sessionCookieOf(second) })).status,
    ).toBe(200);
  });

  it('records when a session was last seen, to the minute', async () => {
    const start = Date.now() + 3_600_000;
    try {
      app.setNow(new Date(start));
      const cookie = sessionCookieOf(
        await call(app, 'POST', '/api/v1/auth/login', {
          body: { email: 'ada@example.com', password },
        }),
      );
      const lastSeen = async () => {
        const [row] = await app.database.db
          .select({ lastSeenAt: sessions.lastSeenAt })
          .from(sessions)
          .where(eq(sessions.tokenHash, hashToken(cookie.split('=')[1] ?? '')));
        return row?.lastSeenAt?.getTime();
      };
      expect(await lastSeen()).toBe(start);
      app.setNow(new Date(start + 30_000));
      expect((await call(app, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(200);
      expect((await call(app, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(200);
      expect(await lastSeen()).toBe(start);
      app.setNow(new Date(start + 61_000));
      expect((await call(app, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(200);
      expect(await lastSeen()).toBe(start + 61_000);
      app.setNow(new Date(start + 90_000));
      expect((await call(app, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(200);
      expect(await lastSeen()).toBe(start + 61_000);
    } finally {
      app.setNow(undefined);
    }
  });

  it('expires a session after the configured time', async () => {
    const cookie = sessionCookieOf(
      await call(app, 'POST', '/api/v1/auth/login', {
        body: { email: 'ada@example.com', password },
      }),
    );
    app.setNow(new Date(Date.now() + 7 * 24 * 3_600_000 + 60_000));
    try {
      expect((await call(app, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(401);
    } finally {
      app.setNow(undefined);
    }
    expect((await call(app, 'GET', '/api/v1/auth/me', { cookie })).status).toBe(200);
  });

  it('needs credentials for me and logout', async () => {
    expect((await call(app, 'GET', '/api/v1/auth/me')).status).toBe(401);
    expect((await call(app, 'POST', '/api/v1/auth/logout')).status).toBe(401);
    expect(
      (await call(app, 'GET', '/api/v1/auth/me', { cookie: 'cronfleet_session=cfs_forged' }))
        .status,
    ).toBe(401);
  });

  it('refuses a user who belongs to no organization any more, after the password check', async () => {
    const orphan = await seedPasswordUser(app, acme, 'viewer', 'orphan@example.com');
    await app.database.db.delete(memberships).where(eq(memberships.userId, orphan));
    const login = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'orphan@example.com', password },
    });
    expect(login.status).toBe(403);
    expect(login.body.error.message).toMatch(/no organization/);
  });

  it('lets an API token call me (and logout ends nothing)', async () => {
    const { seedUser } = await import('./seed.js');
    const viewer = await seedUser(app.database, acme, 'viewer');
    const me = await call(app, 'GET', '/api/v1/auth/me', { token: viewer.token });
    expect(me.body).toMatchObject({ via: 'api_token', role: 'viewer', permissions: ['read'] });
    const logout = await call(app, 'POST', '/api/v1/auth/logout', { token: viewer.token });
    expect(logout.body).toEqual({ signedOut: false });
  });
});

describe('session cookie flags', () => {
  async function loginOn(
    overrides: Parameters<typeof startTestApp>[0],
    headers: Record<string, string> = {},
  ) {
    const app = await startTestApp({ trustProxy: 1, ...overrides });
    try {
      const acme = await seedOrganization(app.database);
      await seedPasswordUser(app, acme, 'admin', 'flags@example.com');
      const login = await call(app, 'POST', '/api/v1/auth/login', {
        body: { email: 'flags@example.com', password },
        headers,
      });
      expect(login.status).toBe(200);
      return setCookieLine(login);
    } finally {
      await app.close();
    }
  }

  it('is HttpOnly, SameSite=Lax, Path=/ and not Secure over plain http (auto)', async () => {
    const line = await loginOn({});
    expect(line).toMatch(/; HttpOnly/);
    expect(line).toMatch(/; SameSite=Lax/);
    expect(line).toMatch(/; Path=\//);
    expect(line).toMatch(/; Expires=/);
    expect(line).not.toMatch(/Secure/);
  });

  it('is Secure behind an https proxy (auto)', async () => {
    const line = await loginOn({}, { 'x-forwarded-proto': 'https' });
    expect(line).toMatch(/; Secure/);
    expect(line).toMatch(/; HttpOnly/);
  });

  it('is always Secure with CRONFLEET_COOKIE_SECURE=always, never with never', async () => {
    expect(await loginOn({ cookieSecure: 'always' })).toMatch(/; Secure/);
    expect(await loginOn({ cookieSecure: 'never' }, { 'x-forwarded-proto': 'https' })).not.toMatch(
      /Secure/,
    );
  });
});

describe('sign-in rate limits', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ trustProxy: 1 });
    const acme = await seedOrganization(app.database);
    await seedPasswordUser(app, acme, 'admin', 'target@example.com');
  });
  afterAll(() => app.close());

  it('answers 429 with Retry-After after 10 failed logins from one address', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.7' };
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const result = await call(app, 'POST', '/api/v1/auth/login', {
        body: { email: `guess${attempt}@example.com`, password: 'not the password' },
        headers,
      });
      expect(result.status).toBe(401);
    }
    const limited = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'target@example.com', password },
      headers,
    });
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.body.error.message).toMatch(/try again in \d+ seconds/);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);

    // Another address is not affected.
    const other = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'target@example.com', password },
    });
    expect(other.status).toBe(200);
  });

  it('never locks the owner out: 10 failed logins from 10 addresses leave the password working from another', async () => {
    // Issue 11 §3f. Guessing per account and address is slowed (test/loginThrottle.test.ts).
    for (let attempt = 1; attempt <= 10; attempt += 1) {
      const result = await call(app, 'POST', '/api/v1/auth/login', {
        body: { email: 'Target@example.com', password: `guess number ${attempt}` },
      });
      expect(result.status).toBe(401);
    }
    const owner = await call(app, 'POST', '/api/v1/auth/login', {
      body: { email: 'target@example.com', password },
    });
    expect(owner.status).toBe(200);
  });

  it('limits repeated bootstrap attempts too', async () => {
    const headers = { 'x-forwarded-for': '203.0.113.99' };
    const statuses: number[] = [];
    for (let attempt = 1; attempt <= 11; attempt += 1) {
      const result = await call(app, 'POST', '/api/v1/auth/bootstrap', {
        body: { organizationName: 'Again', email: `again${attempt}@example.com`, password },
        headers,
      });
      statuses.push(result.status);
    }
    expect(statuses.slice(0, 10).every((status) => status === 409)).toBe(true);
    expect(statuses[10]).toBe(429);
  });
});
