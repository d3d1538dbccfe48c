import { readFile } from 'node:fs/promises';
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

describe('what counts (issue 11 §3i)', () => {
  // An app of its own, trusting one proxy hop: the address above is limited already.
  let proxied: TestApp;
  beforeAll(async () => {
    proxied = await startTestApp({ trustProxy: 1 });
  });
  afterAll(() => proxied?.close());

  it('counts only refused enrollment tokens: enrollments refused for their body (400) never limit an address', async () => {
    const organizationId = await seedOrganization(proxied.database, 'Bodies');
    const { token } = await seedEnrollmentToken(proxied.database, organizationId);
    const headers = { 'x-forwarded-for': '203.0.113.50' };
    for (let attempt = 0; attempt < enrollmentRateLimitDefaults.limit + 5; attempt += 1) {
      const refused = await fetch(`${proxied.baseUrl}/api/v1/agents/enroll`, {
        method: 'POST',
        headers: {
          ...headers,
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ ...enrollBody(), name: '-not a name-' }),
      });
      expect(refused.status).toBe(400);
    }
    const enrolled = await fetch(`${proxied.baseUrl}/api/v1/agents/enroll`, {
      method: 'POST',
      headers: { ...headers, authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(enrollBody()),
    });
    expect(enrolled.status).toBe(201);
  });

  it('is documented as coded: docs/api.md and docs/operations.md state its numbers', async () => {
    const minutes = enrollmentRateLimitDefaults.windowMs / 60_000;
    for (const document of ['api.md', 'operations.md']) {
      const text = (
        await readFile(new URL(`../../docs/${document}`, import.meta.url), 'utf8')
      ).replace(/\s+/g, ' ');
      expect(text, document).toContain(
        `at most ${enrollmentRateLimitDefaults.limit} refused enrollments`,
      );
      expect(text, document).toMatch(new RegExp(`refused enrollments[^.]*in ${minutes} minutes`));
      expect(text, document).not.toMatch(/60 a minute/);
    }
  });
});
