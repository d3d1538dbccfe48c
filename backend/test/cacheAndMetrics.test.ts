import { randomUUID } from 'node:crypto';
import { apiExamples, apiRoutes } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadBackendConfig } from '../src/env.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 11 §3h: every answer that carries data says `Cache-Control: no-store` (no browser or proxy
 * keeps a copy of runs, agents or errors), and /metrics can require a bearer token
 * (CRONFLEET_METRICS_TOKEN).
 */

const metricsToken = 'scrape-token-0123456789abcdef';

describe('Cache-Control: no-store', () => {
  let app: TestApp;
  let adminToken: string;
  let agentToken: string;
  let agentId: string;

  beforeAll(async () => {
    app = await startTestApp();
    const organizationId = await seedOrganization(app.database, 'Caches');
    adminToken = (await seedUser(app.database, organizationId, 'admin')).token;
    ({ agentId, token: agentToken } = await seedAgent(app.database, organizationId));
  });
  afterAll(() => app?.close());

  async function cacheControlOf(
    method: string,
    path: string,
    token?: string,
    body?: unknown,
  ): Promise<{ status: number; cacheControl: string | null }> {
    const response = await fetch(`${app.baseUrl}${path}`, {
      method,
      headers: {
        ...(token === undefined ? {} : { authorization: `Bearer ${token}` }),
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    await response.arrayBuffer();
    return { status: response.status, cacheControl: response.headers.get('cache-control') };
  }

  it('is sent with reads, writes, errors, probes, metrics and the OpenAPI document, on both lanes', async () => {
    const runId = randomUUID();
    const [start] = apiExamples.checkInBatchRequest.checkIns;
    const heartbeat = { ...apiExamples.heartbeatRequest, runningRunIds: [] };
    const calls: [string, string, string | undefined, unknown, number][] = [
      ['GET', '/api/v1/agents', adminToken, undefined, 200],
      ['GET', `/api/v1/agents/${agentId}`, adminToken, undefined, 200],
      ['GET', '/api/v1/runs', adminToken, undefined, 200],
      ['GET', '/api/v1/jobs', adminToken, undefined, 200],
      ['GET', '/api/v1/stats', adminToken, undefined, 200],
      ['GET', '/api/v1/auth/me', adminToken, undefined, 200],
      ['GET', '/api/v1/tokens', adminToken, undefined, 200],
      ['GET', '/api/v1/openapi.json', undefined, undefined, 200],
      ['POST', apiRoutes.heartbeat.path, agentToken, heartbeat, 200],
      ['POST', `${apiRoutes.heartbeat.path}?lane=express`, agentToken, heartbeat, 200],
      ['POST', apiRoutes.sendCheckIns.path, agentToken, { checkIns: [{ ...start, runId }] }, 200],
      ['GET', '/api/v1/agents', undefined, undefined, 401],
      ['GET', '/api/v1/runs?from=yesterday', adminToken, undefined, 400],
      ['GET', '/api/v1/no-such-route', adminToken, undefined, 404],
      ['POST', apiRoutes.heartbeat.path, 'cfa_unknown', heartbeat, 401],
      ['GET', '/healthz', undefined, undefined, 200],
      ['GET', '/readyz', undefined, undefined, 200],
      ['GET', '/metrics', undefined, undefined, 200],
    ];
    for (const [method, path, token, body, status] of calls) {
      const answer = await cacheControlOf(method, path, token, body);
      expect(answer.status, `${method} ${path}`).toBe(status);
      expect(answer.cacheControl, `${method} ${path}`).toBe('no-store');
    }
  });

  it('leaves /metrics open when no token is configured', async () => {
    const response = await fetch(`${app.baseUrl}/metrics`);
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('cronfleet_http_request_duration_seconds');
  });
});

describe('CRONFLEET_METRICS_TOKEN', () => {
  let app: TestApp;
  beforeAll(async () => {
    app = await startTestApp({ metricsToken });
  });
  afterAll(() => app?.close());

  it('refuses a scrape without the token, or with another, with a 401 that says what to send', async () => {
    for (const authorization of [
      undefined,
      'Bearer wrong-token',
      `Basic ${metricsToken}`,
      `Bearer ${metricsToken}x`,
    ]) {
      const response = await fetch(`${app.baseUrl}/metrics`, {
        headers: authorization === undefined ? {} : { authorization },
      });
      expect(response.status, String(authorization)).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect(response.headers.get('cache-control')).toBe('no-store');
      const body = (await response.json()) as { error: { code: string; message: string } };
      expect(body.error.code).toBe('unauthorized');
      expect(body.error.message).toMatch(/CRONFLEET_METRICS_TOKEN/);
    }
  });

  it('serves the metrics to a scrape with the token', async () => {
    const response = await fetch(`${app.baseUrl}/metrics`, {
      headers: { authorization: `Bearer ${metricsToken}` },
    });
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(text).toContain('cronfleet_agents');
    // Counts only: no organization, agent or job names, no tokens.
    expect(text).not.toMatch(/organization\w*="|agent\w*="|job\w*="|cf[apes]_/);
  });

  it('is checked at start: too short or with spaces is a configuration error', () => {
    expect(() => loadBackendConfig({ CRONFLEET_METRICS_TOKEN: 'short' })).toThrow(ConfigError);
    expect(() =>
      loadBackendConfig({ CRONFLEET_METRICS_TOKEN: 'a token with spaces in it' }),
    ).toThrow(/CRONFLEET_METRICS_TOKEN: must be printable ASCII/);
    expect(loadBackendConfig({ CRONFLEET_METRICS_TOKEN: metricsToken }).metricsToken).toBe(
      metricsToken,
    );
    expect(
      loadBackendConfig({ CRONFLEET_DASHBOARD_ORIGIN: 'https://cron.example.com/dashboard' })
        .dashboardOrigin,
    ).toBe('https://cron.example.com');
  });
});
