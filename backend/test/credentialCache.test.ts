import { apiExamples } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listenForCredentialChanges } from '../src/http/credentialCache.js';
import { call, enrollBody, type Answer } from './agentTestCalls.js';
import { seedOrganization, seedUser, type SeededUser } from './seed.js';
import { startTestApp, startTestReplica, type TestApp } from './testApp.js';
import { testDatabaseUrl } from './testDatabase.js';

vi.setConfig({ hookTimeout: 60_000, testTimeout: 30_000 });

/**
 * Two replicas on one PostgreSQL: credentials cached by one are evicted when the other revokes
 * them or changes what they may do (LISTEN/NOTIFY), so a revocation holds on every replica.
 */
describe.skipIf(testDatabaseUrl === undefined || testDatabaseUrl === '')(
  'credentials across replicas',
  () => {
    let primary: TestApp;
    let replica: TestApp;
    let organizationId: string;
    let operator: SeededUser;
    let admin: SeededUser;
    const stops: (() => Promise<void>)[] = [];

    beforeAll(async () => {
      primary = await startTestApp();
      replica = await startTestReplica(primary);
      stops.push(await listenForCredentialChanges(primary.context));
      stops.push(await listenForCredentialChanges(replica.context));
      organizationId = await seedOrganization(primary.database);
      operator = await seedUser(primary.database, organizationId, 'operator');
      admin = await seedUser(primary.database, organizationId, 'admin');
    });
    afterAll(async () => {
      for (const stop of stops) await stop();
      await replica.close();
      await primary.close();
    });

    async function enrolledAgent(machine: string, currentAgentToken?: string) {
      const token = (await call(primary, 'POST', '/api/v1/enrollment-tokens', operator.token, {}))
        .body.token as string;
      const enrolled = await call(
        primary,
        'POST',
        '/api/v1/agents/enroll',
        token,
        enrollBody({ machine, ...(currentAgentToken === undefined ? {} : { currentAgentToken }) }),
      );
      expect(enrolled.status).toBe(201);
      return enrolled.body as { agentId: string; agentToken: string };
    }

    const heartbeat = (app: TestApp, token: string) =>
      call(app, 'POST', '/api/v1/agents/heartbeat', token, apiExamples.heartbeatRequest);

    /** Polls the replica until `until` holds of its answer (the NOTIFY arrives after the commit). */
    async function millisecondsUntil(
      ask: () => Promise<Answer>,
      until: (answer: Answer) => boolean,
    ): Promise<number> {
      const started = Date.now();
      for (;;) {
        const answer = await ask();
        if (until(answer)) return Date.now() - started;
        expect(answer.status).toBe(200);
        if (Date.now() - started > 5_000) throw new Error('the replica still has the old answer');
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }

    const millisecondsUntilRejected = (token: string) =>
      millisecondsUntil(
        () => heartbeat(replica, token),
        (answer) => answer.status === 401,
      );

    const me = (app: TestApp, token: string) => call(app, 'GET', '/api/v1/auth/me', token);

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
      const second = await enrolledAgent('replicated-2', first.agentToken);
      expect(second.agentId).toBe(first.agentId);
      expect(await millisecondsUntilRejected(first.agentToken)).toBeLessThan(1_000);
      expect((await heartbeat(replica, second.agentToken)).status).toBe(200);
    });

    it("a member's new role, and a revoked API token, reach the other replica at once", async () => {
      const member = await seedUser(primary.database, organizationId, 'operator');
      // The replica has the member's API token cached.
      expect((await me(replica, member.token)).body.role).toBe('operator');
      expect((await me(replica, member.token)).body.role).toBe('operator');

      const demoted = await call(primary, 'PATCH', `/api/v1/users/${member.userId}`, admin.token, {
        role: 'viewer',
      });
      expect(demoted.status).toBe(200);
      expect((await me(primary, member.token)).body).toMatchObject({ role: 'viewer' });
      const roleDelay = await millisecondsUntil(
        () => me(replica, member.token),
        (answer) => answer.body.role === 'viewer',
      );
      expect(roleDelay).toBeLessThan(1_000);
      expect((await me(replica, member.token)).body.permissions).toEqual(['read']);

      const [token] = (await call(primary, 'GET', '/api/v1/tokens', member.token)).body.items;
      const revoked = await call(primary, 'DELETE', `/api/v1/tokens/${token.id}`, admin.token);
      expect(revoked.status).toBe(200);
      expect((await me(primary, member.token)).status).toBe(401);
      const revokeDelay = await millisecondsUntil(
        () => me(replica, member.token),
        (answer) => answer.status === 401,
      );
      expect(revokeDelay).toBeLessThan(1_000);
    });
  },
);
