import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { enrollmentRateLimitDefaults } from '../src/http/rateLimits.js';
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
    // Successful enrollments never count: a fleet behind one address can enroll at once.
    for (let agent = 0; agent < enrollmentRateLimitDefaults.limit + 5; agent += 1) {
      const enrolled = await call(app, 'POST', '/api/v1/agents/enroll', token, enrollBody());
      expect(enrolled.status).toBe(201);
    }
    // Failed attempts (token guessing) do.
    for (let attempt = 0; attempt < enrollmentRateLimitDefaults.limit; attempt += 1) {
      const answer = await call(app, 'POST', '/api/v1/agents/enroll', 'cfe_wrong', enrollBody());
      expect(answer.status).toBe(401);
    }
    const limited = await call(app, 'POST', '/api/v1/agents/enroll', token, enrollBody());
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('rate_limited');
    expect(limited.body.error.message).toMatch(/too many failed enrollment attempts.*try again/);
    expect(limited.headers.get('ratelimit-policy')).toContain(
      `${enrollmentRateLimitDefaults.limit}`,
    );

    // Other routes are not limited by it.
    const heartbeat = await call(app, 'POST', '/api/v1/agents/heartbeat', 'cfa_x', {});
    expect(heartbeat.status).toBe(401);
  });
});
