import { apiExamples } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, enrollBody } from './agentTestCalls.js';
import {
  seedAgent,
  seedEnrollmentToken,
  seedOrganization,
  seedUser,
  type SeededUser,
} from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

// PGlite's start and the migration are slow on a busy 2-core machine.
vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

let app: TestApp;

const api = (method: string, path: string, token: string | undefined, body?: unknown) =>
  call(app, method, path, token, body);

/** A fresh organization per test, so filters see only that test's agents. */
async function freshOrganization(): Promise<{ organizationId: string; viewer: SeededUser }> {
  const organizationId = await seedOrganization(app.database);
  return { organizationId, viewer: await seedUser(app.database, organizationId, 'viewer') };
}

async function listNames(token: string, query: string): Promise<string[]> {
  const answer = await api('GET', `/api/v1/agents?${query}`, token);
  expect(answer.status).toBe(200);
  return (answer.body.items as { name: string }[]).map((agent) => agent.name).sort();
}

beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

describe('agents list', () => {
  it('derives online and offline from the last heartbeat and its interval', async () => {
    const { organizationId, viewer } = await freshOrganization();
    const { token } = await seedEnrollmentToken(app.database, organizationId);
    const start = new Date('2030-01-01T00:00:00.000Z');
    app.setNow(start);
    try {
      const fast = (await api('POST', '/api/v1/agents/enroll', token, enrollBody({ name: 'fast' })))
        .body;
      const slow = (await api('POST', '/api/v1/agents/enroll', token, enrollBody({ name: 'slow' })))
        .body;
      await api('POST', '/api/v1/agents/enroll', token, enrollBody({ name: 'silent' }));
      await seedAgent(app.database, organizationId, { name: 'gone', revokedReason: 'retired' });
      await app.database.rows(
        sql`update agents set heartbeat_interval_seconds = 300 where id = ${slow.agentId}`,
      );
      for (const agent of [fast, slow]) {
        const beat = await api(
          'POST',
          '/api/v1/agents/heartbeat',
          agent.agentToken,
          apiExamples.heartbeatRequest,
        );
        expect(beat.status).toBe(200);
      }
      expect(await listNames(viewer.token, 'status=online')).toEqual(['fast', 'slow']);
      expect(await listNames(viewer.token, 'status=offline')).toEqual(['silent']);
      expect(await listNames(viewer.token, 'status=revoked')).toEqual(['gone']);

      // Online while the last heartbeat is younger than 2 × interval + 10 s: 70 s for 30 s.
      app.setNow(new Date(start.getTime() + 69_000));
      expect(await listNames(viewer.token, 'status=online')).toEqual(['fast', 'slow']);
      app.setNow(new Date(start.getTime() + 70_000));
      expect(await listNames(viewer.token, 'status=online')).toEqual(['slow']);
      expect(await listNames(viewer.token, 'status=offline')).toEqual(['fast', 'silent']);
      const all = await api('GET', '/api/v1/agents', viewer.token);
      const statusOf = Object.fromEntries(
        (all.body.items as { name: string; status: string }[]).map((agent) => [
          agent.name,
          agent.status,
        ]),
      );
      expect(statusOf).toEqual({
        fast: 'offline',
        slow: 'online',
        silent: 'offline',
        gone: 'revoked',
      });

      // 2 × 300 s + 10 s for the slow one.
      app.setNow(new Date(start.getTime() + 610_000));
      expect(await listNames(viewer.token, 'status=online')).toEqual([]);
      const shown = await api('GET', `/api/v1/agents/${slow.agentId}`, viewer.token);
      expect(shown.body.status).toBe('offline');
    } finally {
      app.setNow(undefined);
    }
  });

  it('filters by labels, every selector matching', async () => {
    const { organizationId, viewer } = await freshOrganization();
    await seedAgent(app.database, organizationId, {
      name: 'db-eu',
      labels: { role: 'db', region: 'eu' },
    });
    await seedAgent(app.database, organizationId, {
      name: 'db-us',
      labels: { role: 'db', region: 'us' },
    });
    await seedAgent(app.database, organizationId, {
      name: 'web-eu',
      labels: { role: 'web', region: 'eu' },
    });
    await seedAgent(app.database, organizationId, { name: 'bare' });
    expect(await listNames(viewer.token, 'label=role=db')).toEqual(['db-eu', 'db-us']);
    expect(await listNames(viewer.token, 'label=role=db&label=region=eu')).toEqual(['db-eu']);
    expect(await listNames(viewer.token, 'label=role=db&label=role=web')).toEqual([]);
    expect(await listNames(viewer.token, 'label=example.com%2Ftier=gold')).toEqual([]);
    const bad = await api('GET', '/api/v1/agents?label=role', viewer.token);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('key=value');
  });

  it('searches names and hostnames case-insensitively, taking %, _ and quotes literally', async () => {
    const { organizationId, viewer } = await freshOrganization();
    const { token } = await seedEnrollmentToken(app.database, organizationId);
    const hosts: Record<string, string> = {
      percent: 'disk-100%-full.internal',
      underscore: 'db_primary.internal',
      quotes: `o'brien "lab" box`,
      backslash: 'win\\share',
      plain: 'Alpha.Example.com',
    };
    for (const [name, hostname] of Object.entries(hosts)) {
      const enrolled = await api(
        'POST',
        '/api/v1/agents/enroll',
        token,
        enrollBody({ name, hostname }),
      );
      expect(enrolled.status).toBe(201);
    }
    const search = (text: string) => listNames(viewer.token, `q=${encodeURIComponent(text)}`);
    expect(await search('%')).toEqual(['percent']);
    expect(await search('_')).toEqual(['underscore']);
    expect(await search("'")).toEqual(['quotes']);
    expect(await search('"lab"')).toEqual(['quotes']);
    expect(await search('\\')).toEqual(['backslash']);
    expect(await search('ALPHA.example')).toEqual(['plain']);
    expect(await search('PLAIN')).toEqual(['plain']);
    expect(await search("'; drop table agents; --")).toEqual([]);
    expect(await search('.internal')).toEqual(['percent', 'underscore']);
  });

  it('pages by a cursor that stays stable while agents are added', async () => {
    const { organizationId, viewer } = await freshOrganization();
    const original: string[] = [];
    for (let index = 0; index < 7; index += 1) {
      original.push(
        (await seedAgent(app.database, organizationId, { name: `first-${index}` })).agentId,
      );
    }
    const seen: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const suffix: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await api('GET', `/api/v1/agents?limit=3${suffix}`, viewer.token);
      expect(page.status).toBe(200);
      seen.push(...(page.body.items as { id: string }[]).map((agent) => agent.id));
      cursor = page.body.nextCursor;
      pages += 1;
      if (pages === 1) {
        // Agents enrolled while the client pages through.
        for (let index = 0; index < 3; index += 1) {
          await seedAgent(app.database, organizationId, { name: `later-${index}` });
        }
      }
    } while (cursor !== null && pages < 10);
    expect(new Set(seen).size).toBe(seen.length);
    // The first seven are the original agents (ties in created_at are ordered by id, so their
    // order among themselves is the list's, not necessarily the insertion order).
    expect(new Set(seen.slice(0, 7))).toEqual(new Set(original));
    expect(seen).toHaveLength(10);

    const bad = await api('GET', '/api/v1/agents?cursor=bm90LWEtY3Vyc29y', viewer.token);
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toContain('pass back nextCursor unchanged');
    const tooLarge = await api('GET', '/api/v1/agents?limit=500', viewer.token);
    expect(tooLarge.status).toBe(400);
  });

  it('combines filters with pagination', async () => {
    const { organizationId, viewer } = await freshOrganization();
    for (let index = 0; index < 5; index += 1) {
      await seedAgent(app.database, organizationId, {
        name: `db-${index}`,
        labels: { role: 'db' },
      });
      await seedAgent(app.database, organizationId, {
        name: `web-${index}`,
        labels: { role: 'web' },
      });
    }
    const names: string[] = [];
    let cursor: string | null = null;
    do {
      const suffix: string = cursor === null ? '' : `&cursor=${cursor}`;
      const page = await api(
        'GET',
        `/api/v1/agents?label=role=db&q=db&status=offline&limit=2${suffix}`,
        viewer.token,
      );
      names.push(...(page.body.items as { name: string }[]).map((agent) => agent.name));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    expect(names).toEqual(['db-0', 'db-1', 'db-2', 'db-3', 'db-4']);
  });
});
