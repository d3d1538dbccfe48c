import { apiExamples, type HeartbeatRequest } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordQuietHeartbeats } from '../src/agents/heartbeatWriter.js';
import { seedAgent, seedOrganization } from './seed.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

function heartbeat(version: string, repository: HeartbeatRequest['repository']): HeartbeatRequest {
  return { ...apiExamples.heartbeatRequest, version, repository };
}

describe('recordQuietHeartbeats (one UPDATE for the heartbeats in flight)', () => {
  let database: TestDatabase;
  let organizationId: string;
  let otherOrganizationId: string;
  beforeAll(async () => {
    database = await createTestDatabase();
    organizationId = await seedOrganization(database);
    otherOrganizationId = await seedOrganization(database);
  });
  afterAll(() => database.close());

  async function agentRow(agentId: string) {
    const [row] = await database.rows<{
      version: string;
      repository_url: string | null;
      repository_branch: string | null;
      last_heartbeat_at: unknown;
      conditions: unknown;
    }>(
      sql`select version, repository_url, repository_branch, last_heartbeat_at, conditions from agents where id = ${agentId}`,
    );
    return row;
  }

  it('records each agent, the later of two heartbeats of one agent, and answers every caller', async () => {
    const a = await seedAgent(database, organizationId);
    const b = await seedAgent(database, organizationId);
    await database.rows(
      sql`update agents set heartbeat_interval_seconds = 45 where id = ${b.agentId}`,
    );
    const now = new Date('2026-11-22T10:00:00.000Z');
    const answers = await recordQuietHeartbeats(
      database,
      [
        { agent: { organizationId, agentId: a.agentId }, request: heartbeat('1.0.0', null) },
        {
          agent: { organizationId, agentId: b.agentId },
          request: heartbeat('2.0.0', { url: 'https://git.example.com/ops.git', branch: 'main' }),
        },
        { agent: { organizationId, agentId: a.agentId }, request: heartbeat('1.0.1', null) },
      ],
      now,
    );
    expect(answers).toEqual([30, 45, 30]);
    expect(await agentRow(a.agentId)).toMatchObject({
      version: '1.0.1',
      repository_url: null,
      repository_branch: null,
      conditions: apiExamples.heartbeatRequest.conditions,
    });
    expect(await agentRow(b.agentId)).toMatchObject({
      version: '2.0.0',
      repository_url: 'https://git.example.com/ops.git',
      repository_branch: 'main',
    });
    expect(new Date(String((await agentRow(a.agentId))?.last_heartbeat_at)).toISOString()).toBe(
      now.toISOString(),
    );
  });

  it('leaves out (null) agents with commands waiting, revoked agents and other organizations', async () => {
    const quiet = await seedAgent(database, organizationId);
    const busy = await seedAgent(database, organizationId);
    await database.rows(
      sql`update agents set pending_command_count = 1 where id = ${busy.agentId}`,
    );
    const revoked = await seedAgent(database, organizationId, { revokedReason: 'stolen' });
    const foreign = await seedAgent(database, otherOrganizationId);
    const answers = await recordQuietHeartbeats(
      database,
      [quiet, busy, revoked]
        .map(({ agentId }) => ({
          agent: { organizationId, agentId },
          request: heartbeat('9.9.9', null),
        }))
        .concat([
          // A principal of one organization can never touch another organization's agent.
          {
            agent: { organizationId, agentId: foreign.agentId },
            request: heartbeat('9.9.9', null),
          },
        ]),
      new Date(),
    );
    expect(answers).toEqual([30, null, null, null]);
    for (const untouched of [busy, revoked, foreign]) {
      expect(await agentRow(untouched.agentId)).toMatchObject({
        version: '0.1.0',
        last_heartbeat_at: null,
      });
    }
  });
});
