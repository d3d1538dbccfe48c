import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createServer } from '../src/createApp.js';
import { loadBackendConfig } from '../src/env.js';
import type { AppContext } from '../src/http/appContext.js';
import { recordCheckInsIngested } from '../src/operations/metrics.js';
import { seedAgent, seedOrganization } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

/** The real app on a database prepared by the test (unmigrated, closed, …). */
async function serveOn(
  database: TestDatabase,
): Promise<{ baseUrl: string; stop(): Promise<void> }> {
  const context: AppContext = {
    database,
    config: { ...loadBackendConfig({}), frontendDir: '/nonexistent' },
    logger: pino({ level: 'silent' }),
    now: () => new Date(),
    validateResponses: true,
  };
  const server: Server = createServer(context).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stop: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Each of these tests opens a database of its own: PGlite takes seconds to start and migrate. */
const slow = { timeout: 60_000 };

describe('GET /readyz', slow, () => {
  it('answers 200 when the database answers and every migration is applied', async () => {
    const app = await startTestApp();
    try {
      const response = await fetch(`${app.baseUrl}/readyz`);
      expect(response.status).toBe(200);
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(await response.json()).toEqual({
        status: 'ready',
        checks: { database: { ok: true }, migrations: { ok: true } },
      });
    } finally {
      await app.close();
    }
  });

  it('answers 503 naming the migrations check on an unmigrated database', async () => {
    const database = await createTestDatabase({ migrate: false });
    const server = await serveOn(database);
    try {
      const response = await fetch(`${server.baseUrl}/readyz`);
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({
        status: 'not_ready',
        checks: {
          database: { ok: true },
          migrations: {
            ok: false,
            message: 'migrations are pending; run `cronfleet-backend migrate`',
          },
        },
      });
    } finally {
      await server.stop();
      await database.close();
    }
  });

  it('answers 503 naming the database check when the database is gone', async () => {
    const database = await createTestDatabase();
    const server = await serveOn(database);
    let closed = false;
    try {
      // PGlite: close the handle; PostgreSQL: close it too (which drops the test database).
      await database.close();
      closed = true;
      const response = await fetch(`${server.baseUrl}/readyz`);
      expect(response.status).toBe(503);
      const body = (await response.json()) as {
        status: string;
        checks: { database: { ok: boolean; message?: string }; migrations: { ok: boolean } };
      };
      expect(body.status).toBe('not_ready');
      expect(body.checks.database.ok).toBe(false);
      expect(body.checks.database.message).toMatch(/^the database (query failed|did not answer)/);
      expect(body.checks.migrations).toEqual({
        ok: false,
        message: 'not checked: the database is unreachable',
      });
      // The liveness probe does not depend on the database.
      expect((await fetch(`${server.baseUrl}/healthz`)).status).toBe(200);
    } finally {
      await server.stop();
      if (!closed) await database.close();
    }
  });
});

describe('GET /metrics', slow, () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp();
  }, 60_000);
  afterAll(() => app.close());

  /** The value of one sample line, e.g. `cronfleet_agents{status="online"}`. */
  function sample(text: string, series: string): number | undefined {
    const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
    return line === undefined ? undefined : Number(line.slice(series.length + 1));
  }

  it('exposes the request histogram by route template after a request', async () => {
    const runId = '0b9a4a38-5bb1-4b59-9a43-3e4e4f0e8e01';
    expect((await fetch(`${app.baseUrl}/healthz`)).status).toBe(200);
    // An authenticated route answers 401 without a token: still counted under its template.
    expect((await fetch(`${app.baseUrl}/api/v1/runs/${runId}`)).status).toBe(401);
    expect((await fetch(`${app.baseUrl}/api/v1/nothing-here`)).status).toBe(404);

    const response = await fetch(`${app.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    const text = await response.text();
    expect(text).toContain('# TYPE cronfleet_http_request_duration_seconds histogram');
    expect(
      sample(
        text,
        'cronfleet_http_request_duration_seconds_count{method="GET",route="/healthz",status="200"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'cronfleet_http_request_duration_seconds_count{method="GET",route="/api/v1/runs/:runId",status="401"}',
      ),
    ).toBe(1);
    expect(
      sample(
        text,
        'cronfleet_http_request_duration_seconds_count{method="GET",route="unmatched",status="404"}',
      ),
    ).toBe(1);
    // Never a raw URL as a label value.
    expect(text).not.toContain(runId);
  });

  it('exposes agents and runs by status from the database, the pool and the process', async () => {
    // A fresh app: the database gauges are cached for a few seconds after the first scrape.
    const fresh = await startTestApp();
    try {
      await expectDatabaseGauges(fresh);
    } finally {
      await fresh.close();
    }
  });

  async function expectDatabaseGauges(app: TestApp): Promise<void> {
    const organizationId = await seedOrganization(app.database);
    const online = await seedAgent(app.database, organizationId);
    await seedAgent(app.database, organizationId);
    await seedAgent(app.database, organizationId, { revokedReason: 'decommissioned' });
    await app.database.rows(
      sql`update agents set last_heartbeat_at = now() where id = ${online.agentId}`,
    );
    await app.database.rows(sql`
      insert into runs (run_id, organization_id, agent_id, namespace, name, status, started_at)
      values
        (gen_random_uuid(), ${organizationId}, ${online.agentId}, 'prod', 'backup', 'running', now()),
        (gen_random_uuid(), ${organizationId}, ${online.agentId}, 'prod', 'backup', 'failed', now()),
        (gen_random_uuid(), ${organizationId}, ${online.agentId}, 'prod', 'backup', 'failed', now()),
        (gen_random_uuid(), ${organizationId}, ${online.agentId}, 'prod', 'backup', 'succeeded', now())`);

    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(sample(text, 'cronfleet_database_up')).toBe(1);
    expect(sample(text, 'cronfleet_agents{status="online"}')).toBe(1);
    expect(sample(text, 'cronfleet_agents{status="offline"}')).toBe(1);
    expect(sample(text, 'cronfleet_agents{status="revoked"}')).toBe(1);
    expect(sample(text, 'cronfleet_runs_running')).toBe(1);
    expect(sample(text, 'cronfleet_runs_last_24h{status="failed"}')).toBe(2);
    expect(sample(text, 'cronfleet_runs_last_24h{status="succeeded"}')).toBe(1);
    expect(sample(text, 'cronfleet_runs_last_24h{status="lost"}')).toBe(0);
    expect(sample(text, 'cronfleet_database_pool_max_connections')).toBe(
      app.database.driver === 'pglite' ? 1 : app.context.config.databasePoolSize,
    );
    expect(sample(text, `cronfleet_database_info{driver="${app.database.driver}"}`)).toBe(1);
    expect(text).toContain('cronfleet_process_cpu_user_seconds_total');
    expect(text).toContain('cronfleet_nodejs_eventloop_lag_seconds');
  }

  it('counts ingested check-ins reported through recordCheckInsIngested', async () => {
    recordCheckInsIngested(app.context, { accepted: 3, duplicates: 1 });
    recordCheckInsIngested(app.context, { accepted: 2, duplicates: 0 });
    const text = await (await fetch(`${app.baseUrl}/metrics`)).text();
    expect(text).toContain('# TYPE cronfleet_check_ins_ingested_total counter');
    expect(sample(text, 'cronfleet_check_ins_ingested_total{outcome="accepted"}')).toBe(5);
    expect(sample(text, 'cronfleet_check_ins_ingested_total{outcome="duplicate"}')).toBe(1);
  });
});
