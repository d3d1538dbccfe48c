import {
  apiExamples,
  type AgentCommand,
  type AgentCommandReceipt,
  type InventoryRequest,
} from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { call } from './agentTestCalls.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/** Issue 5: reconcile-now and run-now requests, queued and handed over in heartbeat answers. */

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';
const t0 = new Date('2024-06-10T12:00:00.000Z');
const ttlSeconds = 600;
const at = (seconds: number) => new Date(t0.getTime() + seconds * 1000);

function inventoryOf(...jobs: [namespace: string, name: string][]): InventoryRequest {
  const [job] = apiExamples.inventoryRequest.jobs;
  if (job === undefined) throw new Error('the inventory example has no job');
  return {
    revision,
    jobs: jobs.map(([namespace, name]) => ({ ...job, namespace, name })),
    unmanaged: [],
  };
}

describe('agent commands', () => {
  let app: TestApp;
  let organizationId: string;
  let operator: string;
  let otherOperator: string;
  /** db-1 and db-2 have production/backup, web-1 has only web/rotate-logs, old-db (revoked) has both backup and web/legacy. */
  const agents = {} as Record<'db1' | 'db2' | 'web1' | 'old', { agentId: string; token: string }>;
  let otherAgent: { agentId: string; token: string };

  async function heartbeat(
    agent: { token: string },
    body: unknown = apiExamples.heartbeatRequest,
  ): Promise<AgentCommand[]> {
    const answer = await call(app, 'POST', '/api/v1/agents/heartbeat', agent.token, body);
    if (answer.status !== 200) {
      throw new Error(`heartbeat: ${answer.status} ${JSON.stringify(answer.body)}`);
    }
    return answer.body.commands as AgentCommand[];
  }

  const reconcile = (agentId: string, token = operator) =>
    call(app, 'POST', `/api/v1/agents/${agentId}/reconcile`, token);
  const runJob = (namespace: string, name: string, body: unknown = {}, token = operator) =>
    call(app, 'POST', `/api/v1/jobs/${namespace}/${name}/run`, token, body);

  async function pendingCounts(): Promise<Record<string, number>> {
    const rows = await app.database.rows<{ id: string; pending: number }>(
      sql`select id, pending_command_count as pending from agents where organization_id = ${organizationId}`,
    );
    return Object.fromEntries(rows.map((row) => [row.id, Number(row.pending)]));
  }

  beforeAll(async () => {
    app = await startTestApp({ commandTtlSeconds: ttlSeconds });
    organizationId = await seedOrganization(app.database, 'Acme');
    const otherOrganizationId = await seedOrganization(app.database, 'Other');
    operator = (await seedUser(app.database, organizationId, 'operator')).token;
    otherOperator = (await seedUser(app.database, otherOrganizationId, 'operator')).token;
    agents.db1 = await seedAgent(app.database, organizationId, { name: 'db-1' });
    agents.db2 = await seedAgent(app.database, organizationId, { name: 'db-2' });
    agents.web1 = await seedAgent(app.database, organizationId, { name: 'web-1' });
    agents.old = await seedAgent(app.database, organizationId, { name: 'old-db' });
    otherAgent = await seedAgent(app.database, otherOrganizationId, { name: 'db-1' });
    const inventories: [{ token: string }, InventoryRequest][] = [
      [agents.db1, inventoryOf(['production', 'backup'])],
      [agents.db2, inventoryOf(['production', 'backup'])],
      [agents.web1, inventoryOf(['web', 'rotate-logs'])],
      [agents.old, inventoryOf(['production', 'backup'], ['web', 'legacy'])],
      [otherAgent, inventoryOf(['production', 'backup'])],
    ];
    for (const [agent, inventory] of inventories) {
      const answer = await call(app, 'PUT', '/api/v1/agents/inventory', agent.token, inventory);
      expect(answer.status).toBe(200);
    }
    const revoked = await call(
      app,
      'POST',
      `/api/v1/agents/${agents.old.agentId}/revoke`,
      operator,
      { reason: 'decommissioned' },
    );
    expect(revoked.status).toBe(200);
  }, 60_000);

  beforeEach(async () => {
    app.setNow(t0);
    // Each test starts with nothing queued.
    await app.database.rows(sql`delete from agent_commands`);
    await app.database.rows(sql`update agents set pending_command_count = 0`);
  });

  afterAll(async () => {
    await app?.close();
  });

  it('hands a reconcile request to its agent in the next heartbeat, once', async () => {
    expect(await heartbeat(agents.db1)).toEqual([]);
    const first = await reconcile(agents.db1.agentId);
    expect(first.status).toBe(202);
    expect(first.body).toEqual({
      requestId: expect.any(String),
      type: 'reconcile',
      agentId: agents.db1.agentId,
      agentName: 'db-1',
      createdAt: t0.toISOString(),
      expiresAt: at(ttlSeconds).toISOString(),
    });
    // Asking again while it waits answers the same request: the agent reconciles once.
    app.setNow(at(5));
    const again = await reconcile(agents.db1.agentId);
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect(await pendingCounts()).toMatchObject({ [agents.db1.agentId]: 1 });

    expect(await heartbeat(agents.db2)).toEqual([]);
    expect(await heartbeat(agents.db1)).toEqual([{ type: 'reconcile' }]);
    expect(await heartbeat(agents.db1)).toEqual([]);
    expect(await pendingCounts()).toMatchObject({ [agents.db1.agentId]: 0 });

    const [row] = await app.database.rows<{ delivered_at: Date | string }>(
      sql`select delivered_at from agent_commands where id = ${first.body.requestId}`,
    );
    expect(new Date(row?.delivered_at ?? 0).toISOString()).toBe(at(5).toISOString());
    const audit = await app.database.rows<{ action: string; details: { requestId: string } }>(
      sql`select action, details from audit_log where target_id = ${agents.db1.agentId} and action = 'agent.reconcile'`,
    );
    expect(audit.map((entry) => entry.details.requestId)).toEqual([first.body.requestId]);

    // Once delivered, a new request is a new reconcile.
    const next = await reconcile(agents.db1.agentId);
    expect(next.body.requestId).not.toBe(first.body.requestId);
    expect(await heartbeat(agents.db1)).toEqual([{ type: 'reconcile' }]);
  });

  it('refuses to queue a reconcile for a revoked agent (409) or an unknown one (404)', async () => {
    const revoked = await reconcile(agents.old.agentId);
    expect(revoked.status).toBe(409);
    expect(revoked.body.error.message).toBe(
      'agent old-db is revoked, so it cannot reconcile; enroll it again with a new enrollment token first',
    );
    expect((await reconcile(otherAgent.agentId)).status).toBe(404);
    expect((await reconcile(agents.db1.agentId, otherOperator)).status).toBe(404);
    const [{ count } = { count: -1 }] = await app.database.rows<{ count: number }>(
      sql`select count(*)::int as count from agent_commands`,
    );
    expect(count).toBe(0);
  });

  it('runs a job on every agent that has it, not revoked, with one request id each', async () => {
    const answer = await runJob('production', 'backup');
    expect(answer.status).toBe(202);
    const requests = answer.body.requests as AgentCommandReceipt[];
    expect(answer.body).toEqual({
      namespace: 'production',
      name: 'backup',
      requests: [
        {
          requestId: expect.any(String),
          type: 'run',
          agentId: agents.db1.agentId,
          agentName: 'db-1',
          createdAt: t0.toISOString(),
          expiresAt: at(ttlSeconds).toISOString(),
        },
        {
          requestId: expect.any(String),
          type: 'run',
          agentId: agents.db2.agentId,
          agentName: 'db-2',
          createdAt: t0.toISOString(),
          expiresAt: at(ttlSeconds).toISOString(),
        },
      ],
    });
    expect(new Set(requests.map((request) => request.requestId)).size).toBe(2);
    const [forDb1, forDb2] = requests;
    expect(await heartbeat(agents.web1)).toEqual([]);
    expect(await heartbeat(agents.db2)).toEqual([
      { type: 'run', namespace: 'production', name: 'backup', requestId: forDb2?.requestId },
    ]);
    expect(await heartbeat(agents.db1)).toEqual([
      { type: 'run', namespace: 'production', name: 'backup', requestId: forDb1?.requestId },
    ]);
    expect(await heartbeat(agents.db1)).toEqual([]);
    expect(await heartbeat(agents.db2)).toEqual([]);
    // The other organization's agent with the same job got nothing.
    expect(await heartbeat(otherAgent)).toEqual([]);

    const audit = await app.database.rows<{ actor_type: string; details: unknown }>(
      sql`select actor_type, details from audit_log where action = 'job.run' and target_id = 'production/backup'`,
    );
    expect(audit).toEqual([
      {
        actor_type: 'api_token',
        details: {
          requests: requests.map(({ agentId, agentName, requestId }) => ({
            agentId,
            agentName,
            requestId,
          })),
        },
      },
    ]);
  });

  it('runs a job on one agent when agentId is given', async () => {
    const answer = await runJob('production', 'backup', { agentId: agents.db2.agentId });
    expect(answer.status).toBe(202);
    expect(answer.body.requests.map((request: AgentCommandReceipt) => request.agentName)).toEqual([
      'db-2',
    ]);
    expect(await heartbeat(agents.db1)).toEqual([]);
    expect(await heartbeat(agents.db2)).toEqual([
      {
        type: 'run',
        namespace: 'production',
        name: 'backup',
        requestId: answer.body.requests[0].requestId,
      },
    ]);
  });

  it('answers 404 when no agent (or not the one asked for) has the job, 409 when only revoked ones do', async () => {
    const unknownJob = await runJob('production', 'no-such-job');
    expect(unknownJob.status).toBe(404);
    expect(unknownJob.body.error.message).toBe(
      'no agent of your organization has applied this job; check the namespace and name against GET /api/v1/jobs',
    );
    const notOnThatAgent = await runJob('production', 'backup', { agentId: agents.web1.agentId });
    expect(notOnThatAgent.status).toBe(404);
    expect(notOnThatAgent.body.error.message).toBe(
      'agent web-1 has not applied this job (its inventory does not hold it); leave agentId out to run it on every agent that has',
    );
    const foreignAgent = await runJob('production', 'backup', { agentId: otherAgent.agentId });
    expect(foreignAgent.status).toBe(404);
    expect(foreignAgent.body.error.message).toBe('agent not found');
    // Another organization's operator: as if the job did not exist.
    const foreign = await runJob('web', 'rotate-logs', {}, otherOperator);
    expect(foreign.status).toBe(404);

    const revoked = await runJob('production', 'backup', { agentId: agents.old.agentId });
    expect(revoked.status).toBe(409);
    expect(revoked.body.error.message).toBe(
      'agent old-db is revoked, so it cannot run jobs; enroll it again with a new enrollment token first',
    );
    const onlyRevoked = await runJob('web', 'legacy');
    expect(onlyRevoked.status).toBe(409);
    expect(onlyRevoked.body.error.message).toBe(
      'every agent that has applied this job is revoked (old-db); enroll one again first',
    );
    const badBody = await runJob('production', 'backup', { agentId: 'db-1' });
    expect(badBody.status).toBe(400);

    const [{ count } = { count: -1 }] = await app.database.rows<{ count: number }>(
      sql`select count(*)::int as count from agent_commands`,
    );
    expect(count).toBe(0);
    expect(Object.values(await pendingCounts())).toEqual([0, 0, 0, 0]);
  });

  it('drops a request that no heartbeat picked up before it expired', async () => {
    await runJob('production', 'backup', { agentId: agents.db1.agentId });
    app.setNow(at(ttlSeconds + 1));
    expect(await heartbeat(agents.db1)).toEqual([]);
    expect(await pendingCounts()).toMatchObject({ [agents.db1.agentId]: 0 });
    const [row] = await app.database.rows<{ delivered_at: unknown }>(
      sql`select delivered_at from agent_commands where agent_id = ${agents.db1.agentId}`,
    );
    expect(row?.delivered_at).toBeNull();
    // A reconcile asked for after that one expired is a new request, delivered as usual.
    const fresh = await reconcile(agents.db1.agentId);
    expect(fresh.body.createdAt).toBe(at(ttlSeconds + 1).toISOString());
    expect(await heartbeat(agents.db1)).toEqual([{ type: 'reconcile' }]);
  });

  it('keeps the commands queued when the heartbeat that would hand them over fails', async () => {
    await reconcile(agents.db1.agentId);
    // A real failure inside the heartbeat's transaction, after the agent's row was updated.
    await app.database.rows(sql`
      create function fail_command_delivery() returns trigger language plpgsql as $$
      begin raise exception 'delivery failed on purpose'; end $$`);
    await app.database.rows(sql`
      create trigger fail_command_delivery before update on agent_commands
      for each row execute function fail_command_delivery()`);
    try {
      const failed = await call(app, 'POST', '/api/v1/agents/heartbeat', agents.db1.token, {
        ...apiExamples.heartbeatRequest,
        version: '9.9.9',
      });
      expect(failed.status).toBe(500);
    } finally {
      await app.database.rows(sql`drop trigger fail_command_delivery on agent_commands`);
      await app.database.rows(sql`drop function fail_command_delivery()`);
    }
    // Nothing of that heartbeat committed: not its report, not the hand-over.
    const [agent] = await app.database.rows<{ version: string; pending: number }>(
      sql`select version, pending_command_count as pending from agents where id = ${agents.db1.agentId}`,
    );
    expect(agent).toEqual({ version: apiExamples.heartbeatRequest.version, pending: 1 });
    expect(await heartbeat(agents.db1)).toEqual([{ type: 'reconcile' }]);
    expect(await heartbeat(agents.db1)).toEqual([]);
  });

  it('hands over at most 10 commands per heartbeat, oldest first, and keeps the pending count right', async () => {
    const requestIds: string[] = [];
    for (let index = 0; index < 12; index += 1) {
      app.setNow(at(index));
      const answer = await runJob('production', 'backup', { agentId: agents.db1.agentId });
      expect(answer.status).toBe(202);
      requestIds.push(...(answer.body.requests as AgentCommandReceipt[]).map((r) => r.requestId));
    }
    app.setNow(at(20));
    const idsOf = (commands: AgentCommand[]) =>
      commands.map((command) => (command.type === 'run' ? command.requestId : 'reconcile'));
    expect(idsOf(await heartbeat(agents.db1))).toEqual(requestIds.slice(0, 10));
    expect(await pendingCounts()).toMatchObject({ [agents.db1.agentId]: 2 });
    await reconcile(agents.db1.agentId);
    expect(await pendingCounts()).toMatchObject({ [agents.db1.agentId]: 3 });
    expect(idsOf(await heartbeat(agents.db1))).toEqual([...requestIds.slice(10), 'reconcile']);
    expect(await pendingCounts()).toMatchObject({ [agents.db1.agentId]: 0 });
    expect(await heartbeat(agents.db1)).toEqual([]);
  });

  it('keeps the commands queued for a heartbeat that says it does not accept commands', async () => {
    await reconcile(agents.db1.agentId);
    const once = { ...apiExamples.heartbeatRequest, acceptsCommands: false, version: '9.9.8' };
    expect(await heartbeat(agents.db1, once)).toEqual([]);
    // The report was recorded; the command waits, counted.
    const [row] = await app.database.rows<{ version: string; pending: number }>(
      sql`select version, pending_command_count as pending from agents where id = ${agents.db1.agentId}`,
    );
    expect(row).toEqual({ version: '9.9.8', pending: 1 });
    expect(await heartbeat(agents.db1)).toEqual([{ type: 'reconcile' }]);
    expect(await pendingCounts()).toMatchObject({ [agents.db1.agentId]: 0 });
  });

  it('hands each command over exactly once while requests and heartbeats race', async () => {
    const requests = Array.from({ length: 12 }, (_unused, index) =>
      index % 2 === 0
        ? runJob('production', 'backup')
        : runJob('production', 'backup', { agentId: agents.db1.agentId }),
    );
    const beats = Array.from({ length: 12 }, (_unused, index) =>
      heartbeat(index % 2 === 0 ? agents.db1 : agents.db2),
    );
    const [answers, delivered] = await Promise.all([Promise.all(requests), Promise.all(beats)]);
    // Whatever was queued after the racing heartbeats comes with the next ones (at most 10 each).
    const last = await Promise.all([heartbeat(agents.db1), heartbeat(agents.db2)]);
    last.push(await heartbeat(agents.db1));
    const queued = answers.flatMap((answer) => {
      expect(answer.status).toBe(202);
      return (answer.body.requests as AgentCommandReceipt[]).map((request) => request.requestId);
    });
    expect(queued).toHaveLength(18);
    const received = [...delivered.flat(), ...last.flat()].map((command) =>
      command.type === 'run' ? command.requestId : 'reconcile',
    );
    expect([...received].sort()).toEqual([...queued].sort());
    expect(await heartbeat(agents.db1)).toEqual([]);
    expect(await pendingCounts()).toMatchObject({
      [agents.db1.agentId]: 0,
      [agents.db2.agentId]: 0,
    });
  });
});
