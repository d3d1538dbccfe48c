import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call as callApp, enrollBody, sha256 } from './agentTestCalls.js';
import { seedOrganization, seedUser, type SeededUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

// PGlite's start and the migration are slow on a busy 2-core machine.
vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

let app: TestApp;
let organizationId: string;
let operator: SeededUser;
let viewer: SeededUser;
let otherAdmin: SeededUser;

const call = (method: string, path: string, token: string, body?: unknown) =>
  callApp(app, method, path, token, body);

beforeAll(async () => {
  app = await startTestApp();
  organizationId = await seedOrganization(app.database);
  operator = await seedUser(app.database, organizationId, 'operator');
  viewer = await seedUser(app.database, organizationId, 'viewer');
  const otherOrganization = await seedOrganization(app.database, 'Other');
  otherAdmin = await seedUser(app.database, otherOrganization, 'admin');
});
afterAll(() => app.close());

describe('enrollment tokens', () => {
  it('shows a new token once and stores only its hash', async () => {
    const created = await call('POST', '/api/v1/enrollment-tokens', operator.token, {
      description: 'db servers',
      labels: { role: 'db' },
      maxUses: 5,
      expiresInHours: 24,
    });
    expect(created.status).toBe(201);
    const token = created.body.token as string;
    expect(token).toMatch(/^cfe_[A-Za-z0-9_-]{43}$/);
    expect(created.body).toMatchObject({
      description: 'db servers',
      labels: { role: 'db' },
      maxUses: 5,
      uses: 0,
      revokedAt: null,
      status: 'active',
      tokenPrefix: token.slice(0, 10),
    });
    expect(Date.parse(created.body.expiresAt) - Date.parse(created.body.createdAt)).toBe(
      24 * 3_600_000,
    );

    const rows = await app.database.rows<Record<string, unknown>>(
      sql`select * from enrollment_tokens where id = ${created.body.id}`,
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]?.token_hash).toBe(sha256(token));
    expect(JSON.stringify(rows)).not.toContain(token.slice(4));

    const listed = await call('GET', '/api/v1/enrollment-tokens', operator.token);
    expect(listed.status).toBe(200);
    expect(JSON.stringify(listed.body)).not.toContain(token.slice(10));
    const summary = listed.body.items.find((item: { id: string }) => item.id === created.body.id);
    expect(summary).toEqual(
      Object.fromEntries(Object.entries(created.body).filter(([key]) => key !== 'token')),
    );

    const audit = await app.database.rows<{ action: string; details: unknown }>(
      sql`select action, details from audit_log where target_id = ${created.body.id}`,
    );
    expect(audit.map((row) => row.action)).toEqual(['enrollment_token.create']);
    expect(JSON.stringify(audit)).not.toContain(token.slice(10));
  });

  it('lets viewers neither create, list nor revoke tokens', async () => {
    const created = await call('POST', '/api/v1/enrollment-tokens', operator.token, {});
    expect((await call('POST', '/api/v1/enrollment-tokens', viewer.token, {})).status).toBe(403);
    expect((await call('GET', '/api/v1/enrollment-tokens', viewer.token)).status).toBe(403);
    const revoke = await call(
      'DELETE',
      `/api/v1/enrollment-tokens/${created.body.id}`,
      viewer.token,
    );
    expect(revoke.status).toBe(403);
    expect(revoke.body.error.message).toContain('write permission');
  });

  it("hides another organization's tokens: 404 on revoke, absent from lists", async () => {
    const created = await call('POST', '/api/v1/enrollment-tokens', operator.token, {});
    const revoke = await call(
      'DELETE',
      `/api/v1/enrollment-tokens/${created.body.id}`,
      otherAdmin.token,
    );
    expect(revoke.status).toBe(404);
    const listed = await call('GET', '/api/v1/enrollment-tokens', otherAdmin.token);
    expect(listed.body.items).toEqual([]);
    const unknown = await call(
      'DELETE',
      '/api/v1/enrollment-tokens/0b6f1c1e-5d2a-4c3b-9f5e-8a7d6c5b4a39',
      operator.token,
    );
    expect(unknown.status).toBe(404);
  });

  it('revokes a token: enrolling with it is a 401 that says so, revoking again changes nothing', async () => {
    const created = await call('POST', '/api/v1/enrollment-tokens', operator.token, {});
    const revoked = await call(
      'DELETE',
      `/api/v1/enrollment-tokens/${created.body.id}`,
      operator.token,
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body.status).toBe('revoked');
    const again = await call(
      'DELETE',
      `/api/v1/enrollment-tokens/${created.body.id}`,
      operator.token,
    );
    expect(again.body).toEqual(revoked.body);

    const enroll = await call('POST', '/api/v1/agents/enroll', created.body.token, enrollBody());
    expect(enroll.status).toBe(401);
    expect(enroll.body.error.message).toMatch(
      /revoked.*ask an operator for a new enrollment token/,
    );

    const audit = await app.database.rows<{ action: string }>(
      sql`select action from audit_log where target_id = ${created.body.id} order by id`,
    );
    expect(audit.map((row) => row.action)).toEqual([
      'enrollment_token.create',
      'enrollment_token.revoke',
    ]);
  });

  it('rejects an expired token with a 401 that names when it expired', async () => {
    const created = await call('POST', '/api/v1/enrollment-tokens', operator.token, {
      expiresInHours: 1,
    });
    app.setNow(new Date(Date.now() + 2 * 3_600_000));
    try {
      const enroll = await call('POST', '/api/v1/agents/enroll', created.body.token, enrollBody());
      expect(enroll.status).toBe(401);
      expect(enroll.body.error.message).toContain(`expired at ${created.body.expiresAt}`);
      const expired = await call('GET', '/api/v1/enrollment-tokens?status=expired', operator.token);
      expect(expired.body.items.map((item: { id: string }) => item.id)).toContain(created.body.id);
      const active = await call('GET', '/api/v1/enrollment-tokens?status=active', operator.token);
      expect(active.body.items.map((item: { id: string }) => item.id)).not.toContain(
        created.body.id,
      );
    } finally {
      app.setNow(undefined);
    }
  });

  it('enrolls exactly maxUses agents under 10 concurrent enrolls', async () => {
    const created = await call('POST', '/api/v1/enrollment-tokens', operator.token, {
      maxUses: 3,
    });
    const answers = await Promise.all(
      Array.from({ length: 10 }, () =>
        call('POST', '/api/v1/agents/enroll', created.body.token, enrollBody()),
      ),
    );
    const statuses = answers.map((answer) => answer.status).sort();
    expect(statuses).toEqual([201, 201, 201, 401, 401, 401, 401, 401, 401, 401]);
    for (const answer of answers.filter((each) => each.status === 401)) {
      expect(answer.body.error.message).toMatch(/ask an operator for a new enrollment token/);
    }
    const [row] = await app.database.rows<{ uses: number; agents: number }>(
      sql`select uses, (select count(*)::int from agents where enrollment_token_id = ${created.body.id}) as agents
          from enrollment_tokens where id = ${created.body.id}`,
    );
    expect(row).toEqual({ uses: 3, agents: 3 });
    const listed = await call('GET', '/api/v1/enrollment-tokens?status=used_up', operator.token);
    expect(listed.body.items.map((item: { id: string }) => item.id)).toEqual([created.body.id]);
  });

  it('validates the request with messages that say what is allowed', async () => {
    const bad = await call('POST', '/api/v1/enrollment-tokens', operator.token, {
      maxUses: 0,
      expiresInHours: -1,
      labels: { 'bad key': 'x' },
    });
    expect(bad.status).toBe(400);
    const paths = (bad.body.error.details as { path: string }[]).map((issue) => issue.path);
    expect(paths).toEqual(expect.arrayContaining(['maxUses', 'expiresInHours']));
    expect(paths.some((path) => path.startsWith('labels'))).toBe(true);
  });

  it('pages through tokens newest first without repeats', async () => {
    const fresh = await seedOrganization(app.database, 'Paging');
    const admin = await seedUser(app.database, fresh, 'admin');
    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const created = await call('POST', '/api/v1/enrollment-tokens', admin.token, {
        description: `token ${index}`,
      });
      ids.push(created.body.id);
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await call('GET', `/api/v1/enrollment-tokens?limit=2${query}`, admin.token);
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((item: { id: string }) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(seen).toEqual([...ids].reverse());
  });
});
