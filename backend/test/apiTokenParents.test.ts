import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { apiTokens, auditLog } from '../src/db/schema.js';
import { call } from './agentTestCalls.js';
import { seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 11 §3a: a token created with an API token never outlives it. Its expiry is at most the
 * parent's, and revoking the parent revokes it (and the tokens it created), effective on the
 * very next call, through the credential cache.
 */

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const dayMs = 86_400_000;

describe('API tokens created by API tokens', () => {
  let app: TestApp;
  let organizationId: string;

  beforeAll(async () => {
    app = await startTestApp();
    organizationId = await seedOrganization(app.database, 'Acme');
  });
  afterAll(() => app.close());

  it("caps a child's expiry at its parent's: a viewer's 1-day token asks for a child that never expires", async () => {
    const viewer = await seedUser(app.database, organizationId, 'viewer');
    const parent = await call(app, 'POST', '/api/v1/tokens', viewer.token, {
      name: 'one day',
      scopes: ['read'],
      expiresInDays: 1,
    });
    expect(parent.status).toBe(201);
    const parentExpiry = Date.parse(parent.body.apiToken.expiresAt);
    expect(parentExpiry - Date.now()).toBeLessThanOrEqual(dayMs);

    const child = await call(app, 'POST', '/api/v1/tokens', parent.body.token, {
      name: 'forever?',
      scopes: ['read'],
    });
    expect(child.status, JSON.stringify(child.body)).toBe(201);
    expect(child.body.apiToken.expiresAt).toBe(parent.body.apiToken.expiresAt);
    expect(child.body.apiToken.parentTokenId).toBe(parent.body.apiToken.id);
    const [stored] = await app.database.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.id, child.body.apiToken.id));
    expect(stored?.expiresAt?.getTime()).toBe(parentExpiry);
    expect(stored?.parentTokenId).toBe(parent.body.apiToken.id);

    // A shorter expiry than the parent's is kept as asked; a longer one is capped too.
    const shorter = await call(app, 'POST', '/api/v1/tokens', parent.body.token, {
      name: 'shorter',
      scopes: ['read'],
      expiresInDays: 1,
    });
    expect(Date.parse(shorter.body.apiToken.expiresAt)).toBeLessThanOrEqual(parentExpiry);
    const longer = await call(app, 'POST', '/api/v1/tokens', child.body.token, {
      name: 'grandchild',
      scopes: ['read'],
      expiresInDays: 3650,
    });
    expect(longer.status).toBe(201);
    expect(longer.body.apiToken.expiresAt).toBe(parent.body.apiToken.expiresAt);
    expect(longer.body.apiToken.parentTokenId).toBe(child.body.apiToken.id);

    // After the parent's expiry, the child is refused with it.
    app.setNow(new Date(parentExpiry + 1000));
    try {
      for (const token of [parent.body.token, child.body.token, longer.body.token]) {
        const me = await call(app, 'GET', '/api/v1/auth/me', token);
        expect(me.status).toBe(401);
        expect(me.body.error.message).toMatch(/expired/);
      }
    } finally {
      app.setNow(undefined);
    }
  });

  it('revokes the children and grandchildren with their parent, on the next call (credential cache included)', async () => {
    const viewer = await seedUser(app.database, organizationId, 'viewer');
    const parent = await call(app, 'POST', '/api/v1/tokens', viewer.token, {
      name: 'parent',
      scopes: ['read'],
      expiresInDays: 1,
    });
    const child = await call(app, 'POST', '/api/v1/tokens', parent.body.token, {
      name: 'child',
      scopes: ['read'],
    });
    const grandchild = await call(app, 'POST', '/api/v1/tokens', child.body.token, {
      name: 'grandchild',
      scopes: ['read'],
    });
    const sibling = await call(app, 'POST', '/api/v1/tokens', viewer.token, {
      name: 'made with another token',
      scopes: ['read'],
    });
    // Every token has been used once: each one is in the credential cache now.
    for (const token of [parent, child, grandchild, sibling].map((answer) => answer.body.token)) {
      expect((await call(app, 'GET', '/api/v1/auth/me', token)).status).toBe(200);
    }

    const revoked = await call(
      app,
      'DELETE',
      `/api/v1/tokens/${parent.body.apiToken.id}`,
      viewer.token,
    );
    expect(revoked.status).toBe(200);
    for (const token of [parent, child, grandchild].map((answer) => answer.body.token)) {
      const me = await call(app, 'GET', '/api/v1/auth/me', token);
      expect(me.status).toBe(401);
      expect(me.body.error.message).toMatch(/revoked/);
    }
    // The token that created the parent, and the parent's sibling, still work.
    expect((await call(app, 'GET', '/api/v1/auth/me', viewer.token)).status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/auth/me', sibling.body.token)).status).toBe(200);

    const listed = await call(app, 'GET', '/api/v1/tokens?includeRevoked=true', viewer.token);
    const byId = new Map(
      (listed.body.items as { id: string; revokedAt: string | null }[]).map((item) => [
        item.id,
        item.revokedAt,
      ]),
    );
    expect(byId.get(child.body.apiToken.id)).toBe(revoked.body.revokedAt);
    expect(byId.get(grandchild.body.apiToken.id)).toBe(revoked.body.revokedAt);
    expect(byId.get(sibling.body.apiToken.id)).toBeNull();

    const [entry] = await app.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.targetId, parent.body.apiToken.id));
    expect(entry?.action).toBe('api_token.create');
    const revocations = await app.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'api_token.revoke'));
    const ofParent = revocations.find((row) => row.targetId === parent.body.apiToken.id);
    expect((ofParent?.details.childTokensRevoked as string[]).sort()).toEqual(
      [child.body.apiToken.id, grandchild.body.apiToken.id].sort(),
    );
  });

  it('refuses to create a token with a token that was revoked meanwhile, though it is cached', async () => {
    const viewer = await seedUser(app.database, organizationId, 'viewer');
    const parent = await call(app, 'POST', '/api/v1/tokens', viewer.token, {
      name: 'parent',
      scopes: ['read'],
    });
    expect((await call(app, 'GET', '/api/v1/auth/me', parent.body.token)).status).toBe(200);
    // Revoked behind the cache's back (as a replica whose notification is still on its way).
    await app.database.db
      .update(apiTokens)
      .set({ revokedAt: new Date() })
      .where(eq(apiTokens.id, parent.body.apiToken.id));
    const child = await call(app, 'POST', '/api/v1/tokens', parent.body.token, {
      name: 'child',
      scopes: ['read'],
    });
    expect(child.status).toBe(401);
    expect(child.body.error.message).toMatch(/revoked/);
  });

  it('never leaves a live child of a revoked parent, however creations and the revocation interleave', async () => {
    const viewer = await seedUser(app.database, organizationId, 'viewer');
    const parent = await call(app, 'POST', '/api/v1/tokens', viewer.token, {
      name: 'raced',
      scopes: ['read'],
    });
    const creations = Array.from({ length: 8 }, (_, index) =>
      call(app, 'POST', '/api/v1/tokens', parent.body.token, {
        name: `child ${index}`,
        scopes: ['read'],
      }),
    );
    const revocation = call(
      app,
      'DELETE',
      `/api/v1/tokens/${parent.body.apiToken.id}`,
      viewer.token,
    );
    const answers = await Promise.all(creations);
    expect((await revocation).status).toBe(200);
    for (const answer of answers) expect([201, 401]).toContain(answer.status);
    const children = await app.database.db
      .select()
      .from(apiTokens)
      .where(eq(apiTokens.parentTokenId, parent.body.apiToken.id));
    expect(children).toHaveLength(answers.filter((answer) => answer.status === 201).length);
    for (const child of children) expect(child.revokedAt).not.toBeNull();
    for (const answer of answers.filter((created) => created.status === 201)) {
      expect((await call(app, 'GET', '/api/v1/auth/me', answer.body.token)).status).toBe(401);
    }
  });
});
