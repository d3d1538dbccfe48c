import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enrollmentRateLimit } from '../src/agents/enrollmentRateLimit.js';
import { call, enrollBody } from './agentTestCalls.js';
import { seedEnrollmentToken, seedOrganization } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

vi.setConfig({ hookTimeout: 60_000, testTimeout: 60_000 });

let app: TestApp;
beforeAll(async () => {
  app = await startTestApp();
});
afterAll(() => app.close());

describe('enrollment rate limit', () => {
  it('answers 429 in the JSON error shape once an address exceeds the limit', async () => {
    const organizationId = await seedOrganization(app.database);
    const { token } = await seedEnrollmentToken(app.database, organizationId);
    // Failed attempts count too: the limit guards against floods and guessing alike.
    for (let attempt = 0; attempt < enrollmentRateLimit.limit - 1; attempt += 1) {
      const answer = await call(app, 'POST', '/api/v1/agents/enroll', 'cfe_wrong', enrollBody());
      expect(answer.status).toBe(401);
    }
    const last = await call(app, 'POST', '/api/v1/agents/enroll', token, enrollBody());
    expect(last.status).toBe(201);

    const limited = await call(app, 'POST', '/api/v1/agents/enroll', token, enrollBody());
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.body.error.message).toMatch(/too many enrollment attempts.*wait \d+ s/);
    expect(limited.headers.get('ratelimit-policy')).toContain(`${enrollmentRateLimit.limit}`);

    // Other routes are not limited by it.
    const heartbeat = await call(app, 'POST', '/api/v1/agents/heartbeat', 'cfa_x', {});
    expect(heartbeat.status).toBe(401);
  });
});
