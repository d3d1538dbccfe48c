import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { encodeCursor } from '../src/http/opaqueCursor.js';
import { auditLog } from '../src/db/schema.js';
import { call } from './agentTestCalls.js';
import { seedOrganization, seedUser, type SeededUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 11 §2: GET /api/v1/audit, for admins: the organization's own entries only, newest first,
 * in keyset pages, filtered by actor, action, target and time; every bad value a 400 that names
 * its parameter, never a 500.
 */

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

interface Entry {
  id: number;
  createdAt: string;
  actorId: string | null;
  action: string;
  targetType: string | null;
  targetId: string | null;
}

describe('GET /api/v1/audit', () => {
  let app: TestApp;
  let acme: string;
  let globex: string;
  let admin: SeededUser;
  let operator: SeededUser;
  let viewer: SeededUser;
  let globexAdmin: SeededUser;
  const agentId = randomUUID();
  const sameInstant = new Date('2024-05-01T12:00:00.123456Z');

  beforeAll(async () => {
    app = await startTestApp();
    acme = await seedOrganization(app.database, 'Acme');
    globex = await seedOrganization(app.database, 'Globex');
    admin = await seedUser(app.database, acme, 'admin');
    operator = await seedUser(app.database, acme, 'operator');
    viewer = await seedUser(app.database, acme, 'viewer');
    globexAdmin = await seedUser(app.database, globex, 'admin');
    const row = (
      organizationId: string,
      createdAt: Date,
      actorId: string | null,
      action: string,
      target?: [string, string],
    ) => ({
      organizationId,
      createdAt,
      actorType: actorId === null ? ('system' as const) : ('user' as const),
      actorId,
      action,
      targetType: target?.[0] ?? null,
      targetId: target?.[1] ?? null,
      details: { note: `${action} in ${organizationId === acme ? 'acme' : 'globex'}` },
    });
    await app.database.db.insert(auditLog).values([
      row(acme, new Date('2024-04-01T00:00:00Z'), admin.userId, 'api_token.create', [
        'api_token',
        't1',
      ]),
      row(acme, new Date('2024-04-02T00:00:00Z'), admin.userId, 'api_token.revoke', [
        'api_token',
        't1',
      ]),
      row(acme, new Date('2024-04-03T00:00:00Z'), operator.userId, 'agent.revoke', [
        'agent',
        agentId,
      ]),
      // A look-alike of api_token.* where `_` would match as a LIKE wildcard.
      row(acme, new Date('2024-04-04T00:00:00Z'), operator.userId, 'apiXtoken.create'),
      row(acme, new Date('2024-04-05T00:00:00Z'), null, 'installation.bootstrap'),
      // Five entries written in the same microsecond: pages must split them without loss.
      ...[1, 2, 3, 4, 5].map((n) =>
        row(acme, sameInstant, admin.userId, 'user.add', ['user', `same-${n}`]),
      ),
      row(globex, new Date('2024-04-03T00:00:00Z'), globexAdmin.userId, 'agent.revoke', [
        'agent',
        agentId,
      ]),
    ]);
  });
  afterAll(() => app.close());

  async function list(query: Record<string, string>, token = admin.token) {
    const answer = await call(app, 'GET', `/api/v1/audit?${new URLSearchParams(query)}`, token);
    return answer;
  }

  it("shows admins their organization's entries, newest first, and nobody else's", async () => {
    const answer = await list({});
    expect(answer.status, JSON.stringify(answer.body)).toBe(200);
    const items = answer.body.items as Entry[];
    expect(items).toHaveLength(10);
    expect(items.every((item) => !JSON.stringify(item).includes('globex'))).toBe(true);
    const times = items.map((item) => Date.parse(item.createdAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);
    expect(items[0]?.createdAt).toBe('2024-05-01T12:00:00.123Z');
    expect(answer.body.nextCursor).toBeNull();

    const other = await list({}, globexAdmin.token);
    expect((other.body.items as Entry[]).map((item) => item.action)).toEqual(['agent.revoke']);
  });

  it('is for admins only', async () => {
    for (const token of [operator.token, viewer.token]) {
      const answer = await list({}, token);
      expect(answer.status).toBe(403);
    }
    expect((await call(app, 'GET', '/api/v1/audit', undefined)).status).toBe(401);
  });

  it('filters by actor, actor type, action (exact or a prefix), target and time', async () => {
    const actions = async (query: Record<string, string>) => {
      const answer = await list(query);
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      return (answer.body.items as Entry[]).map((item) => item.action);
    };
    expect(await actions({ actor: operator.userId })).toEqual(['apiXtoken.create', 'agent.revoke']);
    expect(await actions({ actorType: 'system' })).toEqual(['installation.bootstrap']);
    expect(await actions({ action: 'api_token.revoke' })).toEqual(['api_token.revoke']);
    expect(await actions({ action: 'api_token.*' })).toEqual([
      'api_token.revoke',
      'api_token.create',
    ]);
    expect(await actions({ targetType: 'agent', targetId: agentId })).toEqual(['agent.revoke']);
    expect(await actions({ targetId: 't1', action: 'api_token.create' })).toEqual([
      'api_token.create',
    ]);
    expect(await actions({ from: '2024-04-02T00:00:00Z', to: '2024-04-04T00:00:00Z' })).toEqual([
      'agent.revoke',
      'api_token.revoke',
    ]);
    // Another organization's actor finds nothing here.
    expect(await actions({ actor: globexAdmin.userId })).toEqual([]);
  });

  it('pages through entries of the same microsecond without repeating or skipping any', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const answer = await list({ action: 'user.add', limit: '2', ...(cursor ? { cursor } : {}) });
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      seen.push(...(answer.body.items as Entry[]).map((item) => item.targetId ?? ''));
      cursor = answer.body.nextCursor ?? undefined;
      pages += 1;
    } while (cursor !== undefined && pages < 10);
    expect(pages).toBe(3);
    expect(seen).toEqual(['same-5', 'same-4', 'same-3', 'same-2', 'same-1']);
  });

  it('answers every bad value with a 400 that names its parameter, never a 500', async () => {
    const cases: [Record<string, string>, string][] = [
      [{ actor: 'ada' }, 'actor'],
      [{ actorType: 'robot' }, 'actorType'],
      [{ action: "x' or 1=1 --" }, 'action'],
      [{ action: 'API_TOKEN.CREATE' }, 'action'],
      [{ action: '*' }, 'action'],
      [{ targetType: 'Agent Smith' }, 'targetType'],
      [{ targetId: '\u0000' }, 'targetId'],
      [{ targetId: 'x'.repeat(201) }, 'targetId'],
      [{ from: 'yesterday' }, 'from'],
      [{ from: '0000-01-01T00:00:00Z' }, 'from'],
      [{ to: '0001-01-01T00:00:00+01:00' }, 'to'],
      [{ from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' }, 'to'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '201' }, 'limit'],
      [{ limit: 'ten' }, 'limit'],
      [{ cursor: 'not a cursor' }, 'cursor'],
      [{ cursor: encodeCursor(['999999999999999999', 1]) }, 'cursor'],
      [{ cursor: encodeCursor(['-999999999999999999', 1]) }, 'cursor'],
      [{ cursor: encodeCursor(['1714636800000000', 0]) }, 'cursor'],
      [{ cursor: encodeCursor(['1714636800000000', 2 ** 60]) }, 'cursor'],
      [{ cursor: encodeCursor({ id: 1 }) }, 'cursor'],
    ];
    for (const [query, parameter] of cases) {
      const answer = await list(query);
      const shown = `${JSON.stringify(query)}: ${answer.status} ${JSON.stringify(answer.body)}`;
      expect(answer.status, shown).toBe(400);
      expect(answer.body.error.code, shown).toBe('validation_failed');
      expect(answer.body.error.message, shown).toContain(parameter);
      expect(
        (answer.body.error.details as { path: string }[]).map((detail) => detail.path),
        shown,
      ).toContain(parameter);
    }
  });

  it('records organization creation, renaming and switching where its admins can read them', async () => {
    const created = await call(app, 'POST', '/api/v1/organizations', admin.token, { name: 'X' });
    // The default setting: a seeded admin is not the installation's admin.
    expect(created.status).toBe(403);
    const renamed = await call(app, 'PATCH', `/api/v1/organizations/${acme}`, admin.token, {
      name: 'Acme Corp',
    });
    expect(renamed.status).toBe(200);
    const answer = await list({ action: 'organization.*' });
    expect(answer.body.items).toHaveLength(1);
    expect(answer.body.items[0]).toMatchObject({
      action: 'organization.rename',
      actorType: 'api_token',
      actorId: admin.userId,
      targetType: 'organization',
      targetId: acme,
      details: { from: 'Acme', to: 'Acme Corp' },
    });
  });
});
