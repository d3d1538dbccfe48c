import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../src/createApp.js';

describe('backend HTTP app', () => {
  let server: Server;
  let baseUrl: string;

  beforeAll(async () => {
    server = createApp({ logger: pino({ level: 'silent' }) }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers the health probe', async () => {
    const response = await fetch(`${baseUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok' });
    expect(response.headers.get('x-powered-by')).toBeNull();
  });

  it('answers an unknown route with the JSON error shape', async () => {
    const response = await fetch(`${baseUrl}/api/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({
      error: { code: 'not_found', message: 'No route for GET /api/v1/nothing-here' },
    });
  });
});

describe('backend serving the dashboard build', () => {
  let server: Server;
  let baseUrl: string;
  let frontendDir: string;

  beforeAll(async () => {
    frontendDir = await mkdtemp(path.join(tmpdir(), 'cronfleet-frontend-'));
    await writeFile(
      path.join(frontendDir, 'index.html'),
      '<!doctype html><title>Cronfleet</title>',
    );
    server = createApp({ logger: pino({ level: 'silent' }), frontendDir }).listen(0, '127.0.0.1');
    await once(server, 'listening');
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(frontendDir, { recursive: true, force: true });
  });

  it('serves index.html at / and for client-side routes, but not under /api', async () => {
    for (const route of ['/', '/runs/production/nightly-db-backup']) {
      const response = await fetch(`${baseUrl}${route}`);
      expect(response.status).toBe(200);
      expect(await response.text()).toContain('<title>Cronfleet</title>');
    }
    expect((await fetch(`${baseUrl}/api/v1/unknown`)).status).toBe(404);
  });
});
