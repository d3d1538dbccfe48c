import { apiExamples, type InventoryJob } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { call, enrollBody, sha256 } from './agentTestCalls.js';
import { seedAgent, seedOrganization, seedUser, type SeededUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

// PGlite's start and the migration are slow on a busy 2-core machine.
vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

let app: TestApp;
let organizationId: string;
let operator: SeededUser;
let viewer: SeededUser;
let otherAdmin: SeededUser;

const api = (method: string, path: string, token: string | undefined, body?: unknown) =>
  call(app, method, path, token, body);

async function createEnrollmentToken(body: Record<string, unknown> = {}): Promise<string> {
  const created = await api('POST', '/api/v1/enrollment-tokens', operator.token, body);
  expect(created.status).toBe(201);
  return created.body.token as string;
}

async function enroll(enrollmentToken: string, body = enrollBody()) {
  const answer = await api('POST', '/api/v1/agents/enroll', enrollmentToken, body);
  expect(answer.status).toBe(201);
  return answer.body as { agentId: string; agentToken: string; heartbeatIntervalSeconds: number };
}

function job(name: string, overrides: Partial<InventoryJob> = {}): InventoryJob {
  return { ...apiExamples.inventoryRequest.jobs[0]!, name, ...overrides };
}

async function jobNamesOf(agentId: string): Promise<string[]> {
  const rows = await app.database.rows<{ name: string }>(
    sql`select name from job_instances where agent_id = ${agentId} order by name`,
  );
  return rows.map((row) => row.name);
}

beforeAll(async () => {
  app = await startTestApp();
  organizationId = await seedOrganization(app.database);
  operator = await seedUser(app.database, organizationId, 'operator');
  viewer = await seedUser(app.database, organizationId, 'viewer');
  otherAdmin = await seedUser(app.database, await seedOrganization(app.database, 'Other'), 'admin');
});
afterAll(() => app.close());

describe('enroll → heartbeat → inventory → show', () => {
  it('runs the whole protocol and shows what the agent reported', async () => {
    const enrollmentToken = await createEnrollmentToken({ labels: { role: 'db', env: 'prod' } });
    const body = enrollBody({ labels: { role: 'web', team: 'platform' } });
    const enrolled = await enroll(enrollmentToken, body);
    expect(enrolled.agentToken).toMatch(/^cfa_/);
    expect(enrolled.heartbeatIntervalSeconds).toBe(30);

    // Only the hash of the agent token is stored.
    const [stored] = await app.database.rows<Record<string, unknown>>(
      sql`select * from agents where id = ${enrolled.agentId}`,
    );
    expect(stored?.token_hash).toBe(sha256(enrolled.agentToken));
    expect(JSON.stringify(stored)).not.toContain(enrolled.agentToken.slice(4));

    const heartbeat = await api(
      'POST',
      '/api/v1/agents/heartbeat',
      enrolled.agentToken,
      apiExamples.heartbeatRequest,
    );
    expect(heartbeat.status).toBe(200);
    expect(heartbeat.body).toEqual({ heartbeatIntervalSeconds: 30, commands: [] });

    const inventory = await api('PUT', '/api/v1/agents/inventory', enrolled.agentToken, {
      ...apiExamples.inventoryRequest,
      jobs: [job('a'), job('b'), job('c', { timezone: 'UTC', suspended: true })],
    });
    expect(inventory.status).toBe(200);
    expect(inventory.body).toEqual({ jobCount: 3, unmanagedCount: 1 });

    const shown = await api('GET', `/api/v1/agents/${enrolled.agentId}`, viewer.token);
    expect(shown.status).toBe(200);
    expect(shown.body).toMatchObject({
      id: enrolled.agentId,
      name: body.name,
      hostname: body.hostname,
      machineId: body.machineId,
      platform: 'linux',
      arch: 'x64',
      version: apiExamples.heartbeatRequest.version,
      // The enrollment token's labels win over the agent's own.
      labels: { role: 'db', env: 'prod', team: 'platform' },
      status: 'online',
      conditions: apiExamples.heartbeatRequest.conditions,
      errors: apiExamples.heartbeatRequest.errors,
      lastAppliedRevision: apiExamples.heartbeatRequest.lastAppliedRevision,
      lastAttemptedRevision: apiExamples.heartbeatRequest.lastAttemptedRevision,
      repository: apiExamples.heartbeatRequest.repository,
      heartbeatIntervalSeconds: 30,
      jobInstanceCount: 3,
      revokedAt: null,
      revokedReason: null,
    });

    const [instance] = await app.database.rows<Record<string, unknown>>(
      sql`select * from job_instances where agent_id = ${enrolled.agentId} and name = 'c'`,
    );
    expect(instance).toMatchObject({
      organization_id: organizationId,
      namespace: 'production',
      timezone: 'UTC',
      suspended: true,
      grace_seconds: 600,
      max_runtime_seconds: 10_800,
      alert_after: 2,
      scheduler: 'cron-d',
      concurrency_policy: 'Forbid',
    });

    const listed = await api('GET', '/api/v1/agents', viewer.token);
    expect(listed.body.items.map((agent: { id: string }) => agent.id)).toContain(enrolled.agentId);

    const audit = await app.database.rows<{ action: string; actor_type: string }>(
      sql`select action, actor_type from audit_log where target_id = ${enrolled.agentId}`,
    );
    expect(audit).toEqual([{ action: 'agent.enroll', actor_type: 'system' }]);
  });

  it('rejects a repository URL that carries credentials and stores nothing of it', async () => {
    const enrolled = await enroll(await createEnrollmentToken());
    const answer = await api('POST', '/api/v1/agents/heartbeat', enrolled.agentToken, {
      ...apiExamples.heartbeatRequest,
      repository: { url: 'https://x-token:secret123@git.example.com/ops/jobs.git', branch: 'main' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details[0].path).toBe('repository.url');
    const rows = await app.database.rows<{ repository_url: string | null }>(
      sql`select repository_url from agents where id = ${enrolled.agentId}`,
    );
    expect(rows).toEqual([{ repository_url: null }]);
  });
});

describe('inventory', () => {
  it("replaces the agent's job instances, and only this agent's", async () => {
    const token = await createEnrollmentToken();
    const first = await enroll(token);
    const second = await enroll(token);
    const put = (agentToken: string, jobs: InventoryJob[]) =>
      api('PUT', '/api/v1/agents/inventory', agentToken, { revision: null, jobs, unmanaged: [] });
    expect((await put(first.agentToken, [job('a'), job('b'), job('c')])).status).toBe(200);
    expect((await put(second.agentToken, [job('a'), job('z')])).status).toBe(200);
    const replaced = await put(first.agentToken, [job('b'), job('d')]);
    expect(replaced.body).toEqual({ jobCount: 2, unmanagedCount: 0 });
    expect(await jobNamesOf(first.agentId)).toEqual(['b', 'd']);
    expect(await jobNamesOf(second.agentId)).toEqual(['a', 'z']);
    // The same inventory again changes nothing.
    expect((await put(first.agentToken, [job('b'), job('d')])).status).toBe(200);
    expect(await jobNamesOf(first.agentId)).toEqual(['b', 'd']);
    expect((await put(first.agentToken, [])).body.jobCount).toBe(0);
    expect(await jobNamesOf(first.agentId)).toEqual([]);
  });

  it('keeps the old inventory when the new one fails half-way', async () => {
    const enrolled = await enroll(await createEnrollmentToken());
    const put = (jobs: InventoryJob[]) =>
      api('PUT', '/api/v1/agents/inventory', enrolled.agentToken, {
        revision: null,
        jobs,
        unmanaged: [],
      });
    expect((await put([job('old-1'), job('old-2')])).status).toBe(200);

    // A real database failure after the old rows were deleted: a trigger rejects one row.
    await app.database.rows(
      sql.raw(`create function reject_exploding_job() returns trigger language plpgsql as $$
        begin
          if new.name = 'explode' then raise exception 'refusing job %', new.name; end if;
          return new;
        end $$`),
    );
    await app.database.rows(
      sql.raw(`create trigger reject_exploding_job before insert on job_instances
        for each row execute function reject_exploding_job()`),
    );
    try {
      const many = Array.from({ length: 1500 }, (_, index) => job(`new-${index}`));
      const failed = await put([...many, job('explode')]);
      expect(failed.status).toBe(500);
      expect(failed.body.error.code).toBe('internal');
      expect(await jobNamesOf(enrolled.agentId)).toEqual(['old-1', 'old-2']);
    } finally {
      await app.database.rows(sql.raw('drop trigger reject_exploding_job on job_instances'));
      await app.database.rows(sql.raw('drop function reject_exploding_job()'));
    }
    // A contract violation is refused before anything changes.
    const invalid = await put([job('ok'), job('ok')]);
    expect(invalid.status).toBe(400);
    expect(invalid.body.error.message).toContain('appears more than once');
    expect(await jobNamesOf(enrolled.agentId)).toEqual(['old-1', 'old-2']);
  });
});

describe('re-enrollment', () => {
  it('keeps the agent id for the same machine; the new token replaces the old one', async () => {
    const token = await createEnrollmentToken({ labels: { zone: 'a' } });
    const first = await enroll(token, enrollBody({ machine: 'host-42', name: 'old-name' }));
    await api('PUT', '/api/v1/agents/inventory', first.agentToken, {
      revision: null,
      jobs: [job('kept')],
      unmanaged: [],
    });
    const again = await enroll(
      await createEnrollmentToken({ labels: { zone: 'b' } }),
      enrollBody({ machine: 'host-42', name: 'new-name', labels: { extra: 'yes' } }),
    );
    expect(again.agentId).toBe(first.agentId);
    expect(again.agentToken).not.toBe(first.agentToken);

    const old = await api(
      'POST',
      '/api/v1/agents/heartbeat',
      first.agentToken,
      apiExamples.heartbeatRequest,
    );
    expect(old.status).toBe(401);
    expect(old.body.error.message).toContain('unknown agent token');
    const fresh = await api(
      'POST',
      '/api/v1/agents/heartbeat',
      again.agentToken,
      apiExamples.heartbeatRequest,
    );
    expect(fresh.status).toBe(200);

    const shown = await api('GET', `/api/v1/agents/${first.agentId}`, viewer.token);
    expect(shown.body).toMatchObject({
      name: 'new-name',
      labels: { zone: 'b', extra: 'yes' },
      jobInstanceCount: 1,
    });
    const agentsOfMachine = await app.database.rows<{ count: number }>(
      sql`select count(*)::int as count from agents where machine_id = ${enrollBody({ machine: 'host-42' }).machineId}`,
    );
    expect(agentsOfMachine).toEqual([{ count: 1 }]);
    const audit = await app.database.rows<{ action: string }>(
      sql`select action from audit_log where target_id = ${first.agentId} order by id`,
    );
    expect(audit.map((row) => row.action)).toEqual(['agent.enroll', 'agent.reenroll']);
  });

  it('keeps machines of different organizations apart', async () => {
    const otherOrganization = await seedOrganization(app.database, 'Third');
    const otherOperator = await seedUser(app.database, otherOrganization, 'operator');
    const otherToken = (await api('POST', '/api/v1/enrollment-tokens', otherOperator.token, {}))
      .body.token as string;
    const here = await enroll(await createEnrollmentToken(), enrollBody({ machine: 'shared' }));
    const there = await enroll(otherToken, enrollBody({ machine: 'shared' }));
    expect(there.agentId).not.toBe(here.agentId);
  });
});

describe('rename, relabel, revoke', () => {
  it('renames and relabels, and writes the change to the audit log', async () => {
    const { agentId } = await seedAgent(app.database, organizationId, {
      name: 'before',
      labels: { role: 'db', env: 'test' },
    });
    const renamed = await api('PATCH', `/api/v1/agents/${agentId}`, operator.token, {
      name: 'after',
    });
    expect(renamed.status).toBe(200);
    expect(renamed.body).toMatchObject({ name: 'after', labels: { role: 'db', env: 'test' } });
    const relabeled = await api('PATCH', `/api/v1/agents/${agentId}`, operator.token, {
      labels: { role: 'web' },
    });
    expect(relabeled.body).toMatchObject({ name: 'after', labels: { role: 'web' } });

    const audit = await app.database.rows<{ action: string; details: unknown }>(
      sql`select action, details from audit_log where target_id = ${agentId} order by id`,
    );
    expect(audit).toEqual([
      { action: 'agent.update', details: { name: { from: 'before', to: 'after' } } },
      {
        action: 'agent.update',
        details: { labels: { from: { role: 'db', env: 'test' }, to: { role: 'web' } } },
      },
    ]);

    const empty = await api('PATCH', `/api/v1/agents/${agentId}`, operator.token, {});
    expect(empty.status).toBe(400);
    expect(empty.body.error.message).toContain('send name, labels or both');
    const badName = await api('PATCH', `/api/v1/agents/${agentId}`, operator.token, {
      name: 'has space',
    });
    expect(badName.status).toBe(400);
    expect(badName.body.error.details[0].path).toBe('name');
  });

  it('revokes an agent: its next calls get 401 with the reason', async () => {
    const enrolled = await enroll(await createEnrollmentToken(), enrollBody({ machine: 'stolen' }));
    // A call first, so that the agent's credentials are in the app's cache when it is revoked.
    const before = await api(
      'POST',
      '/api/v1/agents/heartbeat',
      enrolled.agentToken,
      apiExamples.heartbeatRequest,
    );
    expect(before.status).toBe(200);
    const revoked = await api('POST', `/api/v1/agents/${enrolled.agentId}/revoke`, operator.token, {
      reason: 'host decommissioned',
    });
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ status: 'revoked', revokedReason: 'host decommissioned' });

    const heartbeat = await api(
      'POST',
      '/api/v1/agents/heartbeat',
      enrolled.agentToken,
      apiExamples.heartbeatRequest,
    );
    expect(heartbeat.status).toBe(401);
    expect(heartbeat.body.error.message).toContain('revoked: host decommissioned');
    const inventory = await api('PUT', '/api/v1/agents/inventory', enrolled.agentToken, {
      revision: null,
      jobs: [],
      unmanaged: [],
    });
    expect(inventory.status).toBe(401);

    // Revoking again keeps the first revocation.
    const again = await api('POST', `/api/v1/agents/${enrolled.agentId}/revoke`, operator.token, {
      reason: 'other reason',
    });
    expect(again.body.revokedReason).toBe('host decommissioned');
    expect(again.body.revokedAt).toBe(revoked.body.revokedAt);
    const audit = await app.database.rows<{ action: string; details: unknown }>(
      sql`select action, details from audit_log where target_id = ${enrolled.agentId} and action = 'agent.revoke'`,
    );
    expect(audit).toHaveLength(1);

    // Enrolling the machine again with a valid enrollment token lifts the revocation.
    const reenrolled = await enroll(
      await createEnrollmentToken(),
      enrollBody({ machine: 'stolen' }),
    );
    expect(reenrolled.agentId).toBe(enrolled.agentId);
    const shown = await api('GET', `/api/v1/agents/${enrolled.agentId}`, viewer.token);
    expect(shown.body).toMatchObject({ revokedAt: null, revokedReason: null });
    expect(
      (
        await api(
          'POST',
          '/api/v1/agents/heartbeat',
          enrolled.agentToken,
          apiExamples.heartbeatRequest,
        )
      ).status,
    ).toBe(401);
  });

  it('gives the reason too when the revocation lands between authentication and the write', async () => {
    const enrolled = await enroll(await createEnrollmentToken(), enrollBody({ machine: 'raced' }));
    const heartbeat = () =>
      api('POST', '/api/v1/agents/heartbeat', enrolled.agentToken, apiExamples.heartbeatRequest);
    expect((await heartbeat()).status).toBe(200);
    // Revoked behind this replica's back (as by another replica whose NOTIFY has not arrived):
    // the cached credentials still authenticate, and the heartbeat's own write finds the
    // revocation.
    await app.database.rows(
      sql`update agents set revoked_at = now(), revoked_reason = 'moved to db-2' where id = ${enrolled.agentId}`,
    );
    const answer = await heartbeat();
    expect(answer.status).toBe(401);
    expect(answer.body.error.message).toBe(
      'this agent was revoked: moved to db-2; enroll it again with a new enrollment token',
    );
    const inventory = await api('PUT', '/api/v1/agents/inventory', enrolled.agentToken, {
      revision: null,
      jobs: [],
      unmanaged: [],
    });
    expect(inventory.status).toBe(401);
    expect(inventory.body.error.message).toContain('revoked: moved to db-2;');
  });

  it('lets viewers read agents but neither change nor revoke them', async () => {
    const { agentId } = await seedAgent(app.database, organizationId);
    expect((await api('GET', `/api/v1/agents/${agentId}`, viewer.token)).status).toBe(200);
    const patch = await api('PATCH', `/api/v1/agents/${agentId}`, viewer.token, { name: 'x' });
    expect(patch.status).toBe(403);
    const revoke = await api('POST', `/api/v1/agents/${agentId}/revoke`, viewer.token, {
      reason: 'no',
    });
    expect(revoke.status).toBe(403);
    const [row] = await app.database.rows<{ revoked_at: unknown }>(
      sql`select revoked_at from agents where id = ${agentId}`,
    );
    expect(row?.revoked_at).toBeNull();
  });

  it("answers 404 for another organization's agent and changes nothing", async () => {
    const { agentId } = await seedAgent(app.database, organizationId, { name: 'mine' });
    const show = await api('GET', `/api/v1/agents/${agentId}`, otherAdmin.token);
    expect(show.status).toBe(404);
    expect(show.body.error).toEqual({ code: 'not_found', message: 'agent not found' });
    const patch = await api('PATCH', `/api/v1/agents/${agentId}`, otherAdmin.token, {
      name: 'theirs',
    });
    expect(patch.status).toBe(404);
    const revoke = await api('POST', `/api/v1/agents/${agentId}/revoke`, otherAdmin.token, {
      reason: 'gotcha',
    });
    expect(revoke.status).toBe(404);
    const list = await api('GET', '/api/v1/agents', otherAdmin.token);
    expect(list.body.items.map((agent: { id: string }) => agent.id)).not.toContain(agentId);
    const [row] = await app.database.rows<{ name: string; revoked_at: unknown }>(
      sql`select name, revoked_at from agents where id = ${agentId}`,
    );
    expect(row).toEqual({ name: 'mine', revoked_at: null });
    expect((await api('GET', '/api/v1/agents/not-a-uuid', viewer.token)).status).toBe(400);
  });
});
