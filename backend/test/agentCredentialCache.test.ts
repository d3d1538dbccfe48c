import { apiExamples } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listenForAgentCredentialChanges } from '../src/http/agentCredentialCache.js';
import { call, enrollBody } from './agentTestCalls.js';
import { seedOrganization, seedUser, type SeededUser } from './seed.js';
import { startTestApp, startTestReplica, type TestApp } from './testApp.js';
import { testDatabaseUrl } from './testDatabase.js';

vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

/**
 * Two replicas on one PostgreSQL: agent credentials cached by one are evicted when the other
 * revokes or re-enrolls the agent (LISTEN/NOTIFY), so a revocation holds on every replica.
 */
describe.skipIf(testDatabaseUrl === undefined || testDatabaseUrl === '')(
  'agent credentials across replicas',
  () => {
    let primary: TestApp;
    let replica: TestApp;
    let operator: SeededUser;
    const stops: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      primary = await startTestApp();
      replica = await startTestReplica(primary);
      stops.push(await listenForAgentCredentialChanges(primary.context));
      stops.push(await listenForAgentCredentialChanges(replica.context));
      operator = await seedUser(
        primary.database,
        await seedOrganization(primary.database),
        'operator',
      );
    });
    afterAll(async () => {
      for (const stop of stops) await stop();
      await replica.close();
      await primary.close();
    });

    async function enrolledAgent(machine: string) {
      const token = (await call(primary, 'POST', '/api/v1/enrollment-tokens', operator.token, {}))
        .body.token as string;
      const enrolled = await call(
        primary,
        'POST',
        '/api/v1/agents/enroll',
        token,
        enrollBody({ machine }),
      );
      expect(enrolled.status).toBe(201);
      return enrolled.body as { agentId: string; agentToken: string };
    }

    const heartbeat = (app: TestApp, token: string) =>
      call(app, 'POST', '/api/v1/agents/heartbeat', token, apiExamples.heartbeatRequest);

    /** Polls the replica until it answers 401 (the NOTIFY arrives after the commit). */
    async function millisecondsUntilRejected(token: string): Promise<number> {
      const started = Date.now();
      for (;;) {
        const answer = await heartbeat(replica, token);
        if (answer.status === 401) return Date.now() - started;
        expect(answer.status).toBe(200);
        if (Date.now() - started > 5_000) throw new Error('the replica still accepts the token');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }

    it('a revocation on one replica reaches the other replica at once', async () => {
      const agent = await enrolledAgent('replicated-1');
      // The replica has the agent's credentials cached.
      expect((await heartbeat(replica, agent.agentToken)).status).toBe(200);
      expect((await heartbeat(replica, agent.agentToken)).status).toBe(200);
      const revoked = await call(
        primary,
        'POST',
        `/api/v1/agents/${agent.agentId}/revoke`,
        operator.token,
        { reason: 'stolen laptop' },
      );
      expect(revoked.status).toBe(200);
      // On the replica that revoked: the very next call.
      expect((await heartbeat(primary, agent.agentToken)).status).toBe(401);
      expect(await millisecondsUntilRejected(agent.agentToken)).toBeLessThan(1_000);
    });

    it('a re-enrollment retires the old token on every replica', async () => {
      const first = await enrolledAgent('replicated-2');
      expect((await heartbeat(replica, first.agentToken)).status).toBe(200);
      const second = await enrolledAgent('replicated-2');
      expect(second.agentId).toBe(first.agentId);
      expect(await millisecondsUntilRejected(first.agentToken)).toBeLessThan(1_000);
      expect((await heartbeat(replica, second.agentToken)).status).toBe(200);
    });
  },
);
