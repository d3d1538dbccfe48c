import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAgent, seedOrganization } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

describe('backend HTTP app', () => {
  let app: TestApp;
  /** Bodies are read only once the caller is known: these requests come from an agent. */
  let agentHeaders: Record<string, string>;
  beforeAll(async () => {
    app = await startTestApp();
    const { token } = await seedAgent(app.database, await seedOrganization(app.database));
    agentHeaders = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
  });
  afterAll(() => app.close());

  it('answers the health probe', async () => {
    const response = await fetch(`${app.baseUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('answers an unknown API route with the JSON error shape', async () => {
    const response = await fetch(`${app.baseUrl}/api/v1/nothing-here?x=1`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: 'not_found', message: 'No route for GET /api/v1/nothing-here' },
    });
  });

  it('answers malformed JSON with a 400 that says so', async () => {
    const response = await fetch(`${app.baseUrl}/api/v1/check-ins`, {
      method: 'POST',
      headers: agentHeaders,
      body: '{"checkIns": [',
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('validation_failed');
    expect(body.error.message).toMatch(/^the request body is not valid JSON/);
  });

  it('answers an oversized body with a 413', async () => {
    const response = await fetch(`${app.baseUrl}/api/v1/check-ins`, {
      method: 'POST',
      headers: agentHeaders,
      body: JSON.stringify({ filler: 'x'.repeat(9 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe(
      'payload_too_large',
    );
  });
});
