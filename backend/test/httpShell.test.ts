import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createServer } from '../src/createApp.js';
import { loadBackendConfig, type BackendConfig } from '../src/env.js';
import type { AppContext } from '../src/http/appContext.js';
import { loginRateLimit } from '../src/http/rateLimits.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

vi.setConfig({ hookTimeout: 60_000, testTimeout: 60_000 });

interface ServedApp {
  baseUrl: string;
  database: TestDatabase;
  /** Every JSON log line the app wrote. */
  logLines: Record<string, unknown>[];
  close(): Promise<void>;
}

/** The real app on a fresh database, its log captured (a plain pino, as main.ts builds it). */
async function serveApp(overrides: Partial<BackendConfig> = {}): Promise<ServedApp> {
  const database = await createTestDatabase();
  const logLines: Record<string, unknown>[] = [];
  const logger = pino(
    { level: 'debug' },
    { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
  );
  const context: AppContext = {
    database,
    config: { ...loadBackendConfig({}), frontendDir: '/nonexistent', ...overrides },
    logger,
    now: () => new Date(),
    validateResponses: true,
  };
  const server: Server = createServer(context).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    database,
    logLines,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
    },
  };
}

/** The access-log line of the request with this id (written when the response finished). */
async function accessLogLine(
  app: ServedApp,
  requestId: string,
): Promise<Record<string, unknown> | undefined> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const line = app.logLines.find(
      (entry) =>
        (entry.req as { id?: string } | undefined)?.id === requestId && entry.res !== undefined,
    );
    if (line !== undefined) return line;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return undefined;
}

describe('the HTTP shell', () => {
  let app: ServedApp;
  beforeAll(async () => {
    app = await serveApp();
  });
  afterAll(() => app.close());

  it('echoes a caller’s X-Request-Id and generates one otherwise', async () => {
    const supplied = await fetch(`${app.baseUrl}/healthz`, {
      headers: { 'X-Request-Id': 'lb-7f3a.42' },
    });
    expect(supplied.headers.get('x-request-id')).toBe('lb-7f3a.42');

    const generated = await fetch(`${app.baseUrl}/healthz`);
    expect(generated.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);

    // A header that could forge log lines is replaced, not echoed.
    const hostile = await fetch(`${app.baseUrl}/healthz`, {
      headers: { 'X-Request-Id': 'x"}, {"level":60' },
    });
    expect(hostile.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('logs each request with its id, organization and user, credentials redacted', async () => {
    const organizationId = await seedOrganization(app.database);
    const user = await seedUser(app.database, organizationId, 'viewer');
    const response = await fetch(`${app.baseUrl}/api/v1/auth/me`, {
      headers: {
        Authorization: `Bearer ${user.token}`,
        Cookie: 'cronfleet_session=cfs_notarealsessiontokenatall',
        'X-Request-Id': 'req-me-1',
      },
    });
    expect(response.status).toBe(200);
    const line = await accessLogLine(app, 'req-me-1');
    expect(line).toBeDefined();
    expect(line).toMatchObject({
      level: 30,
      organizationId,
      userId: user.userId,
      req: {
        id: 'req-me-1',
        method: 'GET',
        url: '/api/v1/auth/me',
        headers: { authorization: '[Redacted]', cookie: '[Redacted]' },
      },
      res: { statusCode: 200 },
    });
    expect(typeof line?.responseTime).toBe('number');
    const everything = JSON.stringify(app.logLines);
    expect(everything).not.toContain(user.token);
    expect(everything).not.toContain('cfs_notarealsessiontokenatall');
  });

  it('logs the agent of an agent call, even when the call is rejected after authentication', async () => {
    const organizationId = await seedOrganization(app.database, 'Agents Inc');
    const agent = await seedAgent(app.database, organizationId);
    const response = await fetch(`${app.baseUrl}/api/v1/agents/heartbeat`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${agent.token}`,
        'Content-Type': 'application/json',
        'X-Request-Id': 'req-heartbeat-1',
      },
      body: JSON.stringify({ conditions: 'not a list', token: 'cfa_in_a_body_field' }),
    });
    expect(response.status).toBe(400);
    const line = await accessLogLine(app, 'req-heartbeat-1');
    expect(line).toMatchObject({
      organizationId,
      agentId: agent.agentId,
      res: { statusCode: 400 },
    });
    expect(JSON.stringify(app.logLines)).not.toContain(agent.token);
  });

  it('logs probes at debug, so that they do not flood the log', async () => {
    await fetch(`${app.baseUrl}/readyz`, { headers: { 'X-Request-Id': 'req-probe-1' } });
    expect((await accessLogLine(app, 'req-probe-1'))?.level).toBe(20);
  });

  it('sends the security headers, with a CSP that allows only this origin’s scripts', async () => {
    const response = await fetch(`${app.baseUrl}/healthz`);
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe-inline/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('DENY');
    expect(response.headers.get('strict-transport-security')).toMatch(/max-age=\d+/);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('sends no CORS headers unless origins are configured', async () => {
    const simple = await fetch(`${app.baseUrl}/api/v1/auth/me`, {
      headers: { Origin: 'https://evil.example' },
    });
    expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${app.baseUrl}/api/v1/auth/me`, {
      method: 'OPTIONS',
      headers: { Origin: 'https://evil.example', 'Access-Control-Request-Method': 'GET' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
    expect(preflight.headers.get('access-control-allow-credentials')).toBeNull();
  });

  it('keeps the JSON 404 for unknown API routes, and answers bad bodies without credentials 401 unread', async () => {
    const unknown = await fetch(`${app.baseUrl}/api/v1/nothing-here?x=1`);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({
      error: { code: 'not_found', message: 'No route for GET /api/v1/nothing-here' },
    });
    const malformed = await fetch(`${app.baseUrl}/api/v1/check-ins`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{"checkIns": [',
    });
    // Issue 11 §3g: the caller first. An agent's bad bodies get their 400 and 413 in
    // bodyAfterAuthentication.test.ts.
    expect(malformed.status).toBe(401);
    const oversized = await fetch(`${app.baseUrl}/api/v1/check-ins`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ filler: 'x'.repeat(9 * 1024 * 1024) }),
    });
    expect(oversized.status).toBe(401);
  });
});

describe('CORS for configured origins', () => {
  let app: ServedApp;
  beforeAll(async () => {
    app = await serveApp({
      corsOrigins: ['https://ops.example.com/', 'http://localhost:5173'],
    });
  });
  afterAll(() => app.close());

  it('answers a preflight from a configured origin, with credentials', async () => {
    const preflight = await fetch(`${app.baseUrl}/api/v1/agents`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://ops.example.com',
        'Access-Control-Request-Method': 'PATCH',
        'Access-Control-Request-Headers': 'content-type, authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://ops.example.com');
    expect(preflight.headers.get('access-control-allow-credentials')).toBe('true');
    expect(preflight.headers.get('access-control-allow-methods')).toContain('PATCH');
    expect(preflight.headers.get('access-control-allow-headers')?.toLowerCase()).toContain(
      'authorization',
    );
    expect(preflight.headers.get('access-control-max-age')).toBe('600');
    expect(preflight.headers.get('vary')).toContain('Origin');
  });

  it('allows the actual request from a configured origin and exposes the request id', async () => {
    const response = await fetch(`${app.baseUrl}/api/v1/auth/me`, {
      headers: { Origin: 'http://localhost:5173' },
    });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(response.headers.get('access-control-allow-credentials')).toBe('true');
    expect(response.headers.get('access-control-expose-headers')).toContain('X-Request-Id');
    expect(response.headers.get('vary')).toContain('Origin');
  });

  it('ignores other origins', async () => {
    const response = await fetch(`${app.baseUrl}/api/v1/auth/me`, {
      headers: { Origin: 'https://ops.example.com.evil.example' },
    });
    expect(response.headers.get('access-control-allow-origin')).toBeNull();
    const preflight = await fetch(`${app.baseUrl}/api/v1/auth/me`, {
      method: 'OPTIONS',
      headers: { Origin: 'null', 'Access-Control-Request-Method': 'GET' },
    });
    expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
  });
});

describe('serving the dashboard build', () => {
  let app: ServedApp;
  let frontendDir: string;
  beforeAll(async () => {
    frontendDir = await mkdtemp(path.join(tmpdir(), 'cronfleet-frontend-'));
    await writeFile(
      path.join(frontendDir, 'index.html'),
      '<!doctype html><title>Cronfleet</title><script type="module" src="/assets/app.js"></script>',
    );
    await writeFile(path.join(frontendDir, 'app.css'), 'body { margin: 0 }');
    app = await serveApp({ frontendDir });
  });
  afterAll(async () => {
    await app.close();
    await rm(frontendDir, { recursive: true, force: true });
  });

  it('serves index.html at / and for client-side routes, files as they are, never under /api', async () => {
    for (const route of ['/', '/runs/production/nightly-db-backup']) {
      const response = await fetch(`${app.baseUrl}${route}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      expect(await response.text()).toContain('<title>Cronfleet</title>');
      expect(response.headers.get('content-security-policy')).toContain("script-src 'self'");
    }
    const css = await fetch(`${app.baseUrl}/app.css`);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(await css.text()).toBe('body { margin: 0 }');
    const api = await fetch(`${app.baseUrl}/api/v1/unknown`);
    expect(api.status).toBe(404);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });
});

describe('loginRateLimit', () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    // A bare app around the middleware: the limit itself, apart from any route's logic.
    const bare = express();
    bare.use(express.json());
    bare.post(
      '/login',
      loginRateLimit({ limit: 3, windowMs: 60_000, logger: pino({ level: 'silent' }) }),
      (request, response) => {
        const ok = (request.body as { password?: string }).password === 'right';
        response.status(ok ? 200 : 401).json({ ok });
      },
    );
    server = bare.listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const attempt = (password: string) =>
    fetch(`${baseUrl}/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ password }),
    });

  it('counts failures only, then answers 429 in the JSON error shape with Retry-After', async () => {
    for (let index = 0; index < 5; index += 1) expect((await attempt('right')).status).toBe(200);
    for (let index = 0; index < 3; index += 1) expect((await attempt('wrong')).status).toBe(401);
    const limited = await attempt('right');
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(limited.headers.get('ratelimit-policy')).toBe('3;w=60');
    const body = (await limited.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('rate_limited');
    expect(body.error.message).toMatch(
      /^too many failed sign-in attempts \(3 per 60 seconds\); try again in \d+ seconds$/,
    );
  });
});
