import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import http, { type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { apiExamples, apiRoutes, type CheckInStart } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi, type MockInstance } from 'vitest';
import { createApp, createServer } from '../src/createApp.js';
import { loadBackendConfig } from '../src/env.js';
import type { AppContext } from '../src/http/appContext.js';
import { leanRoutesOf, type LeanRoutes } from '../src/http/leanRoutes.js';
import { seedAgent, seedOrganization } from './seed.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

vi.setConfig({ hookTimeout: 60_000, testTimeout: 60_000 });

/**
 * The lean lane (src/http/leanRoutes.ts) must change how fast the agents' hot routes are served,
 * never what they answer. One app, two servers on it: the backend's own (lane first) and plain
 * Express. Every case goes to both and must get the same answer; the lane must have taken it.
 */

let database: TestDatabase;
let lane: Server;
let expressOnly: Server;
let taken: MockInstance<LeanRoutes['take']>;
/** What the lane answered, since the last mockClear, for each request: taken or not. */
const laneTook = () => taken.mock.results.map((result) => result.value);
const logLines: Record<string, unknown>[] = [];
let agentToken: string;
let agentId: string;
let revokedToken: string;

const urlOf = (server: Server) => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

async function listen(server: Server): Promise<Server> {
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

beforeAll(async () => {
  database = await createTestDatabase();
  const context: AppContext = {
    database,
    config: { ...loadBackendConfig({}), frontendDir: '/nonexistent' },
    logger: pino(
      { level: 'info' },
      { write: (line: string) => void logLines.push(JSON.parse(line) as Record<string, unknown>) },
    ),
    now: () => new Date(),
    validateResponses: true,
  };
  const app = createApp(context);
  taken = vi.spyOn(leanRoutesOf(app), 'take');
  lane = await listen(createServer(context, app));
  expressOnly = await listen(http.createServer(app));
  const organizationId = await seedOrganization(database, 'Lane Inc');
  const agent = await seedAgent(database, organizationId, { name: 'lane-1' });
  agentToken = agent.token;
  agentId = agent.agentId;
  const revoked = await seedAgent(database, organizationId, { name: 'lane-revoked' });
  revokedToken = revoked.token;
  await database.db.execute(
    sql`update agents set revoked_at = now(), revoked_reason = 'host retired' where id = ${revoked.agentId}`,
  );
});

afterAll(async () => {
  for (const server of [lane, expressOnly]) {
    server?.closeAllConnections();
    server?.close();
  }
  await database?.close();
});

interface Sent {
  path: string;
  token?: string;
  body: string | Buffer;
  headers?: Record<string, string>;
}

interface Answer {
  status: number;
  /** Names of the response headers, less those that vary per response. */
  headerNames: string[];
  contentType: string | null;
  body: unknown;
}

async function send(server: Server, sent: Sent): Promise<Answer> {
  const response = await fetch(`${urlOf(server)}${sent.path}`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      ...(sent.token === undefined ? {} : { authorization: `Bearer ${sent.token}` }),
      ...sent.headers,
    },
    body: sent.body,
  });
  const text = await response.text();
  const varying = new Set(['date', 'etag', 'content-length', 'connection', 'keep-alive']);
  return {
    status: response.status,
    headerNames: [...response.headers.keys()].filter((name) => !varying.has(name)).sort(),
    contentType: response.headers.get('content-type'),
    body: JSON.parse(text) as unknown,
  };
}

/** The answer through the lane, checking the lane took it, and through Express alone. */
async function sendBoth(sent: (server: 'lane' | 'express') => Sent): Promise<[Answer, Answer]> {
  taken.mockClear();
  const viaLane = await send(lane, sent('lane'));
  expect(laneTook()).toEqual([true]);
  taken.mockClear();
  const viaExpress = await send(expressOnly, sent('express'));
  expect(taken).not.toHaveBeenCalled();
  return [viaLane, viaExpress];
}

function start(): CheckInStart {
  const [example] = apiExamples.checkInBatchRequest.checkIns;
  return { ...(example as CheckInStart), kind: 'start', runId: randomUUID() };
}

const checkIns = apiRoutes.sendCheckIns.path;
const heartbeat = apiRoutes.heartbeat.path;

describe('the lean lane answers exactly as Express does', () => {
  it('records a check-in, and counts its replay as a duplicate', async () => {
    const runs = { lane: start(), express: start() };
    const body = (server: 'lane' | 'express') => JSON.stringify({ checkIns: [runs[server]] });
    const first = await sendBoth((server) => ({
      path: checkIns,
      token: agentToken,
      body: body(server),
    }));
    expect(first[0]).toEqual(first[1]);
    expect(first[0]).toMatchObject({
      status: apiRoutes.sendCheckIns.successStatus,
      body: { accepted: 1, duplicates: 0 },
    });
    expect(first[0].headerNames).toEqual(
      expect.arrayContaining(['content-security-policy', 'x-content-type-options', 'x-request-id']),
    );
    const replay = await sendBoth((server) => ({
      path: checkIns,
      token: agentToken,
      body: body(server),
    }));
    expect(replay[0]).toEqual(replay[1]);
    expect(replay[0].body).toEqual({ accepted: 0, duplicates: 1 });
  });

  it('answers a heartbeat', async () => {
    const body = JSON.stringify(apiExamples.heartbeatRequest);
    const [viaLane, viaExpress] = await sendBoth(() => ({
      path: heartbeat,
      token: agentToken,
      body,
    }));
    expect(viaLane).toEqual(viaExpress);
    expect(viaLane.status).toBe(200);
  });

  const refused: { what: string; token?: () => string; body: string | Buffer; status: number }[] = [
    { what: 'no token', body: '{"checkIns":[]}', status: 401 },
    {
      what: 'a user token',
      token: () => 'cfp_notanagenttoken',
      body: '{"checkIns":[]}',
      status: 401,
    },
    {
      what: 'an unknown agent token',
      token: () => 'cfa_unknown',
      body: '{"checkIns":[]}',
      status: 401,
    },
    { what: 'a revoked agent', token: () => revokedToken, body: '{"checkIns":[]}', status: 401 },
    { what: 'an empty batch', token: () => agentToken, body: '{"checkIns":[]}', status: 400 },
    {
      what: 'wrongly typed fields',
      token: () => agentToken,
      body: '{"checkIns":[{"kind":7}]}',
      status: 400,
    },
    { what: 'a truncated body', token: () => agentToken, body: '{"checkIns": [', status: 400 },
    { what: 'a trailing comma', token: () => agentToken, body: '{"checkIns": [],}', status: 400 },
    { what: 'no body at all', token: () => agentToken, body: '', status: 400 },
    { what: 'a JSON null', token: () => agentToken, body: 'null', status: 400 },
    {
      what: 'bytes that are not UTF-8',
      token: () => agentToken,
      body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d]),
      status: 400,
    },
  ];
  for (const { what, token, body, status } of refused) {
    it(`refuses ${what} with the same ${status}`, async () => {
      const [viaLane, viaExpress] = await sendBoth(() => ({
        path: checkIns,
        token: token?.(),
        body,
      }));
      expect(viaLane.status).toBe(status);
      if (what !== 'a JSON null') expect(viaLane).toEqual(viaExpress);
      // Express's parser refuses a top-level null before validation, with its own wording.
      else expect(viaLane.body).toMatchObject({ error: { code: 'validation_failed' } });
    });
  }

  it('says why a revoked agent was revoked', async () => {
    const [viaLane] = await sendBoth(() => ({ path: heartbeat, token: revokedToken, body: '{}' }));
    expect(viaLane.body).toMatchObject({
      error: { code: 'unauthorized', message: expect.stringContaining('host retired') },
    });
  });

  it('logs and times lane requests as Express does, with the agent', async () => {
    const body = JSON.stringify({ checkIns: [start()] });
    const requestId = 'lane-log-1';
    await sendBoth(() => ({
      path: checkIns,
      token: agentToken,
      body,
      headers: { 'x-request-id': requestId },
    }));
    const lines = logLines.filter(
      (entry) => (entry.req as { id?: string } | undefined)?.id === requestId,
    );
    expect(lines).toHaveLength(2);
    const [viaLane, viaExpress] = lines;
    for (const line of [viaLane, viaExpress]) {
      expect(line).toMatchObject({
        msg: 'request completed',
        agentId,
        req: { method: 'POST', url: checkIns, headers: { authorization: '[Redacted]' } },
        res: { statusCode: apiRoutes.sendCheckIns.successStatus },
      });
    }
    const metrics = await (await fetch(`${urlOf(lane)}/metrics`)).text();
    const count = new RegExp(
      `cronfleet_http_request_duration_seconds_count\\{[^}]*route="${checkIns}"[^}]*status="${apiRoutes.sendCheckIns.successStatus}"[^}]*\\} (\\d+)`,
    ).exec(metrics);
    expect(Number(count?.[1])).toBeGreaterThanOrEqual(2);
  });
});

describe('a caller that goes away', () => {
  it('leaves the server serving when the connection drops halfway through a body', async () => {
    const socket = connect((lane.address() as AddressInfo).port, '127.0.0.1');
    await once(socket, 'connect');
    socket.write(
      `POST ${checkIns} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n` +
        `Authorization: Bearer ${agentToken}\r\nContent-Length: 1000\r\n\r\n{"checkIns": [`,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    taken.mockClear();
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const body = JSON.stringify({ checkIns: [start()] });
    const answer = await send(lane, { path: checkIns, token: agentToken, body });
    expect(answer.status).toBe(apiRoutes.sendCheckIns.successStatus);
  });
});

describe('requests the lane leaves to Express', () => {
  const body = () => JSON.stringify({ checkIns: [start()] });
  const ok = apiRoutes.sendCheckIns.successStatus;
  const cases: { what: string; sent: () => Sent; status: number }[] = [
    {
      what: 'a query string',
      sent: () => ({ path: `${checkIns}?source=test`, token: agentToken, body: body() }),
      status: ok,
    },
    {
      what: 'another content type',
      sent: () => ({
        path: checkIns,
        token: agentToken,
        body: body(),
        headers: { 'content-type': 'application/vnd.api+json' },
      }),
      status: 400,
    },
    {
      what: 'a browser origin',
      sent: () => ({
        path: checkIns,
        token: agentToken,
        body: body(),
        headers: { origin: 'https://ops.example.com' },
      }),
      status: ok,
    },
    {
      what: 'a gzip-compressed body',
      sent: () => ({
        path: checkIns,
        token: agentToken,
        body: gzipSync(body()),
        headers: { 'content-encoding': 'gzip' },
      }),
      status: ok,
    },
    {
      what: 'a body over the size limit',
      sent: () => ({
        path: checkIns,
        token: agentToken,
        body: JSON.stringify({ checkIns: [], padding: 'x'.repeat(9 * 1024 * 1024) }),
      }),
      status: 413,
    },
  ];
  for (const { what, sent, status } of cases) {
    it(`serves a call with ${what} through Express`, async () => {
      taken.mockClear();
      const answer = await send(lane, sent());
      expect(laneTook()).toEqual([false]);
      expect(answer.status).toBe(status);
    });
  }

  it('serves a chunked body (no Content-Length) through Express', async () => {
    taken.mockClear();
    const response = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = http.request(`${urlOf(lane)}${checkIns}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${agentToken}` },
      });
      request.once('response', resolve).once('error', reject);
      request.write(body());
      request.end();
    });
    response.resume();
    expect(laneTook()).toEqual([false]);
    expect(response.statusCode).toBe(ok);
  });
});
