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
  return answer.body as {
    agentId: string;
    agentToken: string;
    heartbeatIntervalSeconds: number;
    outcome: string;
  };
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
    expect(inventory.body).toMatchObject({ jobCount: 3, unmanagedCount: 1 });
    // The example's jobs notify dba-pager and ops, which this organization has no channel for.
    expect(inventory.body.warnings).toHaveLength(6);
    expect(inventory.body.warnings[0].message).toMatch(
      /^monitoring\.notify names "(dba-pager|ops)", which is no notification channel of this organization/,
    );

    const shown = await api('GET', `/api/v1/agents/${enrolled.agentId}`, operator.token);
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
      scheduler: 'cron.d',
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
    expect(replaced.body).toMatchObject({ jobCount: 2, unmanagedCount: 0 });
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

describe('identity', () => {
  const heartbeatWith = (agentToken: string) =>
    api('POST', '/api/v1/agents/heartbeat', agentToken, apiExamples.heartbeatRequest);
  const auditOf = (agentId: string) =>
    app.database.rows<{ action: string; details: Record<string, unknown> }>(
      sql`select action, details from audit_log where target_id = ${agentId} order by id`,
    );

  it('gives a second agent on the same host (another state directory) its own identity; the first keeps working', async () => {
    const first = await enroll(
      await createEnrollmentToken({ labels: { zone: 'a' } }),
      enrollBody({ machine: 'host-42', name: 'demo', labels: { 'cronfleet.dev/demo': 'true' } }),
    );
    expect(first).toMatchObject({ outcome: 'created' });
    await api('PUT', '/api/v1/agents/inventory', first.agentToken, {
      revision: null,
      jobs: [job('kept')],
      unmanaged: [],
    });
    const second = await enroll(
      await createEnrollmentToken(),
      enrollBody({ machine: 'host-42', name: 'test-agent' }),
    );
    expect(second).toMatchObject({ outcome: 'created' });
    expect(second.agentId).not.toBe(first.agentId);

    // Both work: nobody took anybody over.
    expect((await heartbeatWith(first.agentToken)).status).toBe(200);
    expect((await heartbeatWith(second.agentToken)).status).toBe(200);
    const shown = await api('GET', `/api/v1/agents/${first.agentId}`, operator.token);
    expect(shown.body).toMatchObject({
      name: 'demo',
      labels: { zone: 'a', 'cronfleet.dev/demo': 'true' },
      jobInstanceCount: 1,
    });
    // Operators see that the two share a host.
    const other = await api('GET', `/api/v1/agents/${second.agentId}`, operator.token);
    expect(other.body.machineId).toBe(shown.body.machineId);
    expect((await auditOf(first.agentId)).map((row) => row.action)).toEqual(['agent.enroll']);
    expect((await auditOf(second.agentId)).map((row) => row.action)).toEqual(['agent.enroll']);
  });

  it('re-enrolls with the current agent token as proof: same id, history and inventory; the old token stops working', async () => {
    const first = await enroll(
      await createEnrollmentToken({ labels: { zone: 'a' } }),
      enrollBody({ machine: 'host-43', name: 'old-name' }),
    );
    await api('PUT', '/api/v1/agents/inventory', first.agentToken, {
      revision: null,
      jobs: [job('kept')],
      unmanaged: [],
    });
    const again = await enroll(
      await createEnrollmentToken({ labels: { zone: 'b' } }),
      enrollBody({
        machine: 'host-43',
        name: 'new-name',
        labels: { extra: 'yes' },
        currentAgentToken: first.agentToken,
      }),
    );
    expect(again).toMatchObject({ agentId: first.agentId, outcome: 'reenrolled' });
    expect(again.agentToken).not.toBe(first.agentToken);

    const old = await heartbeatWith(first.agentToken);
    expect(old.status).toBe(401);
    expect(old.body.error.message).toContain('unknown agent token');
    expect((await heartbeatWith(again.agentToken)).status).toBe(200);

    const shown = await api('GET', `/api/v1/agents/${first.agentId}`, viewer.token);
    expect(shown.body).toMatchObject({
      name: 'new-name',
      labels: { zone: 'b', extra: 'yes' },
      jobInstanceCount: 1,
    });
    const audit = await auditOf(first.agentId);
    expect(audit.map((row) => row.action)).toEqual(['agent.enroll', 'agent.reenroll']);
    expect(audit[1]?.details).toMatchObject({ previousName: 'old-name', sameMachine: true });
    expect(JSON.stringify(audit)).not.toContain(first.agentToken.slice(4));
  });

  it('refuses a proof that is stale or of another organization with a 409 that says what to do, and takes no use', async () => {
    const first = await enroll(await createEnrollmentToken(), enrollBody({ machine: 'host-44' }));
    const second = await enroll(
      await createEnrollmentToken(),
      enrollBody({ machine: 'host-44', currentAgentToken: first.agentToken }),
    );
    expect(second.agentId).toBe(first.agentId);
    const token = await createEnrollmentToken({ maxUses: 1 });
    const stale = await api(
      'POST',
      '/api/v1/agents/enroll',
      token,
      enrollBody({ machine: 'host-44', currentAgentToken: first.agentToken }),
    );
    expect(stale.status).toBe(409);
    expect(stale.body.error.code).toBe('conflict');
    expect(stale.body.error.message).toContain(
      'currentAgentToken is not the token of an agent of this organization',
    );
    expect(stale.body.error.message).toContain('cronfleet-agent enroll --new');
    expect((await heartbeatWith(second.agentToken)).status).toBe(200);

    // Another organization's agent token proves nothing here, and reveals nothing.
    const otherToken = (await api('POST', '/api/v1/enrollment-tokens', otherAdmin.token, {})).body
      .token as string;
    const theirs = (await api('POST', '/api/v1/agents/enroll', otherToken, enrollBody())).body;
    const crossed = await api(
      'POST',
      '/api/v1/agents/enroll',
      token,
      enrollBody({ currentAgentToken: theirs.agentToken }),
    );
    expect(crossed.status).toBe(409);
    expect(crossed.body.error.message).toBe(stale.body.error.message);
    expect((await heartbeatWith(theirs.agentToken)).status).toBe(200);

    // Both refusals rolled back: the single-use token still enrolls.
    const created = await enroll(token, enrollBody());
    expect(created.outcome).toBe('created');

    const malformed = await api(
      'POST',
      '/api/v1/agents/enroll',
      await createEnrollmentToken(),
      enrollBody({ currentAgentToken: 'cfe_not-an-agent-token-at-all' }),
    );
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.details[0].path).toBe('currentAgentToken');
  });

  it("replaces an agent through an operator's single-use replace token (a reinstalled host)", async () => {
    const original = await enroll(
      await createEnrollmentToken(),
      enrollBody({ machine: 'host-45', name: 'db-7' }),
    );
    await api('PUT', '/api/v1/agents/inventory', original.agentToken, {
      revision: null,
      jobs: [job('kept')],
      unmanaged: [],
    });
    const created = await api('POST', '/api/v1/enrollment-tokens', operator.token, {
      description: 'db-7 reinstalled',
      replacesAgentId: original.agentId,
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ replacesAgentId: original.agentId, maxUses: 1 });
    const listed = await api('GET', '/api/v1/enrollment-tokens', operator.token);
    expect(
      listed.body.items.find((item: { id: string }) => item.id === created.body.id),
    ).toMatchObject({ replacesAgentId: original.agentId });

    // The reinstalled host lost its state: a new machine id file, no agent token.
    const replaced = await enroll(
      created.body.token,
      enrollBody({ machine: 'host-45-reinstalled', name: 'db-7' }),
    );
    expect(replaced).toMatchObject({ agentId: original.agentId, outcome: 'replaced' });
    expect((await heartbeatWith(original.agentToken)).status).toBe(401);
    expect((await heartbeatWith(replaced.agentToken)).status).toBe(200);
    const shown = await api('GET', `/api/v1/agents/${original.agentId}`, operator.token);
    expect(shown.body).toMatchObject({
      jobInstanceCount: 1,
      machineId: enrollBody({ machine: 'host-45-reinstalled' }).machineId,
    });
    const audit = await auditOf(original.agentId);
    expect(audit.map((row) => row.action)).toEqual(['agent.enroll', 'agent.replace']);
    expect(audit[1]?.details).toMatchObject({
      previousName: 'db-7',
      sameMachine: false,
      replaceApprovedBy: operator.userId,
    });
    const [creation] = await app.database.rows<{ details: Record<string, unknown> }>(
      sql`select details from audit_log where target_id = ${created.body.id} and action = 'enrollment_token.create'`,
    );
    expect(creation?.details).toMatchObject({ replacesAgentId: original.agentId, maxUses: 1 });

    // Once: the token is used up.
    const twice = await api('POST', '/api/v1/agents/enroll', created.body.token, enrollBody());
    expect(twice.status).toBe(401);
  });

  it('checks a replace request: an operator decides, one use, an agent of the organization', async () => {
    const { agentId } = await seedAgent(app.database, organizationId, { name: 'replace-me' });
    const many = await api('POST', '/api/v1/enrollment-tokens', operator.token, {
      replacesAgentId: agentId,
      maxUses: 2,
    });
    expect(many.status).toBe(400);
    expect(many.body.error.details).toEqual([
      {
        path: 'maxUses',
        message: 'a token that replaces an agent is used once: leave maxUses out or set it to 1',
      },
    ]);
    const byViewer = await api('POST', '/api/v1/enrollment-tokens', viewer.token, {
      replacesAgentId: agentId,
    });
    expect(byViewer.status).toBe(403);
    const elsewhere = await api('POST', '/api/v1/enrollment-tokens', otherAdmin.token, {
      replacesAgentId: agentId,
    });
    expect(elsewhere.status).toBe(404);
    expect(elsewhere.body.error.message).toBe('agent (replacesAgentId) not found');
    const unknown = await api('POST', '/api/v1/enrollment-tokens', operator.token, {
      replacesAgentId: '00000000-0000-4000-8000-000000000000',
    });
    expect(unknown.status).toBe(404);
    const tokens = await app.database.rows<{ count: number }>(
      sql`select count(*)::int as count from enrollment_tokens where replaces_agent_id is not null and replaces_agent_id = ${agentId}`,
    );
    expect(tokens).toEqual([{ count: 0 }]);
  });

  it('keeps a revoked agent revoked: no proof, no replace token and no new enrollment re-enters it', async () => {
    const enrolled = await enroll(
      await createEnrollmentToken(),
      enrollBody({ machine: 'host-46', name: 'retired' }),
    );
    const replaceToken = (
      await api('POST', '/api/v1/enrollment-tokens', operator.token, {
        replacesAgentId: enrolled.agentId,
      })
    ).body.token as string;
    const revoked = await api('POST', `/api/v1/agents/${enrolled.agentId}/revoke`, operator.token, {
      reason: 'host sold',
    });
    expect(revoked.status).toBe(200);

    const withProof = await api(
      'POST',
      '/api/v1/agents/enroll',
      await createEnrollmentToken(),
      enrollBody({ machine: 'host-46', currentAgentToken: enrolled.agentToken }),
    );
    expect(withProof.status).toBe(409);
    expect(withProof.body.error.message).toBe(
      `agent retired (${enrolled.agentId}) was revoked (host sold), and a revoked agent stays revoked: its token cannot enroll into it. Enroll this host as a new agent instead (cronfleet-agent enroll --new); see "Identity" in docs/agent.md`,
    );
    const withReplace = await api(
      'POST',
      '/api/v1/agents/enroll',
      replaceToken,
      enrollBody({ machine: 'host-46' }),
    );
    expect(withReplace.status).toBe(409);
    expect(withReplace.body.error.message).toContain('a revoked agent stays revoked');
    const newReplace = await api('POST', '/api/v1/enrollment-tokens', operator.token, {
      replacesAgentId: enrolled.agentId,
    });
    expect(newReplace.status).toBe(409);
    expect(newReplace.body.error.message).toContain('replacesAgentId: agent retired was revoked');

    const fresh = await enroll(await createEnrollmentToken(), enrollBody({ machine: 'host-46' }));
    expect(fresh).toMatchObject({ outcome: 'created' });
    expect(fresh.agentId).not.toBe(enrolled.agentId);
    const shown = await api('GET', `/api/v1/agents/${enrolled.agentId}`, operator.token);
    expect(shown.body).toMatchObject({ status: 'revoked', revokedReason: 'host sold' });
    expect((await heartbeatWith(enrolled.agentToken)).status).toBe(401);
    expect((await auditOf(enrolled.agentId)).map((row) => row.action)).toEqual([
      'agent.enroll',
      'agent.revoke',
    ]);
  });

  it('shows machine ids to operators and admins, not to viewers or read-only API tokens', async () => {
    const body = enrollBody({ machine: 'host-47' });
    const { agentId } = await enroll(await createEnrollmentToken(), body);
    const readOnlyAdmin = await seedUser(app.database, organizationId, 'admin', {
      scopes: ['read'],
    });
    for (const who of [viewer, readOnlyAdmin]) {
      const shown = await api('GET', `/api/v1/agents/${agentId}`, who.token);
      expect(shown.status).toBe(200);
      expect(shown.body).not.toHaveProperty('machineId');
      const listed = await api('GET', `/api/v1/agents?q=${body.name}`, who.token);
      expect(listed.body.items).toHaveLength(1);
      expect(listed.body.items[0]).not.toHaveProperty('machineId');
      expect(JSON.stringify([shown.body, listed.body])).not.toContain(body.machineId);
    }
    const shown = await api('GET', `/api/v1/agents/${agentId}`, operator.token);
    expect(shown.body.machineId).toBe(body.machineId);
    const listed = await api('GET', `/api/v1/agents?q=${body.name}`, operator.token);
    expect(listed.body.items[0].machineId).toBe(body.machineId);
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

    // Enrolling the machine again creates another agent: the revoked one stays revoked.
    const reenrolled = await enroll(
      await createEnrollmentToken(),
      enrollBody({ machine: 'stolen' }),
    );
    expect(reenrolled.agentId).not.toBe(enrolled.agentId);
    const shown = await api('GET', `/api/v1/agents/${enrolled.agentId}`, viewer.token);
    expect(shown.body).toMatchObject({ revokedReason: 'host decommissioned' });
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
