import { request as httpRequest } from 'node:http';
import { apiExamples, apiRoutes } from '@cronfleet/core/api';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { maxJsonBodyBytes } from '../src/http/leanRoutes.js';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 11 §3g: the caller is authenticated before its body is read. An 8 MB body to /check-ins
 * without a valid token used to be read and parsed (a 400 or 413 for the body) before the 401;
 * now it is a 401 and the body is never parsed. Routes that take no credentials (sign-in,
 * bootstrap) read at most 64 KB.
 *
 * "Never parsed" is observed directly: the app runs in this process, so JSON.parse is watched for
 * a call with the big body.
 */

let app: TestApp;
let agentToken: string;
let revokedAgentToken: string;
let adminToken: string;

beforeAll(async () => {
  app = await startTestApp();
  const organizationId = await seedOrganization(app.database, 'Bodies');
  agentToken = (await seedAgent(app.database, organizationId)).token;
  revokedAgentToken = (await seedAgent(app.database, organizationId, { revokedReason: 'retired' }))
    .token;
  adminToken = (await seedUser(app.database, organizationId, 'admin')).token;
});

afterAll(async () => {
  await app?.close();
});

afterEach(() => {
  vi.restoreAllMocks();
});

interface Answer {
  status: number;
  body: { error?: { code: string; message: string } };
}

/** Sends `body` with node:http (an exact Content-Length, or chunked when `chunked`). */
function send(
  path: string,
  headers: Record<string, string>,
  body: Buffer,
  chunked = false,
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      `${app.baseUrl}${path}`,
      {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          ...(chunked ? {} : { 'content-length': String(body.length) }),
          ...headers,
        },
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: incoming.statusCode ?? 0, body: JSON.parse(text) as Answer['body'] });
        });
        incoming.on('error', reject);
      },
    );
    // The server may answer before it read everything it was sent.
    outgoing.on('error', (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE' && error.code !== 'ECONNRESET') reject(error);
    });
    if (chunked) {
      for (let offset = 0; offset < body.length; offset += 1024 * 1024) {
        outgoing.write(body.subarray(offset, offset + 1024 * 1024));
      }
      outgoing.end();
    } else {
      outgoing.end(body);
    }
  });
}

/** Not JSON at all, so a parser that read it would answer 400, not 401. */
const notJson = (bytes: number) => Buffer.alloc(bytes, 'x');

/** A JSON body of `bytes` bytes: one check-in and padding. */
function bigJson(bytes: number): Buffer {
  const head = JSON.stringify({ checkIns: apiExamples.checkInBatchRequest.checkIns, padding: '' });
  return Buffer.from(`${head.slice(0, -2)}${'x'.repeat(bytes - head.length)}"}`);
}

/** Watches JSON.parse for a call with a text of at least `bytes` characters. */
function watchBigParses(bytes: number): () => number {
  const parse = vi.spyOn(JSON, 'parse');
  return () =>
    parse.mock.calls.filter(([text]) => typeof text === 'string' && text.length >= bytes).length;
}

describe('an 8 MB body to /check-ins without a valid token', () => {
  const cases: { what: string; headers: () => Record<string, string> }[] = [
    { what: 'no token', headers: () => ({}) },
    { what: 'an unknown agent token', headers: () => ({ authorization: 'Bearer cfa_unknown' }) },
    {
      what: "a revoked agent's token",
      headers: () => ({ authorization: `Bearer ${revokedAgentToken}` }),
    },
    {
      what: "a user's token (wrong kind)",
      headers: () => ({ authorization: `Bearer ${adminToken}` }),
    },
  ];

  for (const testCase of cases) {
    it(`answers 401 without parsing it: ${testCase.what} (lean lane)`, async () => {
      const bigParses = watchBigParses(1024 * 1024);
      // Just under the limit: the lean lane takes it.
      const answer = await send(
        apiRoutes.sendCheckIns.path,
        testCase.headers(),
        bigJson(maxJsonBodyBytes - 1024),
      );
      expect(answer.status, JSON.stringify(answer.body)).toBe(401);
      expect(answer.body.error?.code).toBe('unauthorized');
      expect(bigParses()).toBe(0);
    });
  }

  it('answers 401, not 413, to a body over the limit without a token (Express)', async () => {
    const answer = await send(apiRoutes.sendCheckIns.path, {}, notJson(maxJsonBodyBytes + 1024));
    expect(answer.status).toBe(401);
  });

  it('answers 401 to a chunked 8 MB body without a token (Express), without parsing it', async () => {
    const bigParses = watchBigParses(1024 * 1024);
    const answer = await send(`${apiRoutes.sendCheckIns.path}?x=1`, {}, bigJson(8_000_000), true);
    expect(answer.status).toBe(401);
    expect(bigParses()).toBe(0);
  });

  it('still reads the body of an authenticated agent: a 400 for a body that is not JSON, 413 over the limit', async () => {
    const headers = { authorization: `Bearer ${agentToken}` };
    const bad = await send(apiRoutes.sendCheckIns.path, headers, notJson(1024));
    expect(bad.status).toBe(400);
    expect(bad.body.error?.message).toMatch(/not valid JSON/);
    const huge = await send(apiRoutes.sendCheckIns.path, headers, notJson(maxJsonBodyBytes + 1024));
    expect(huge.status).toBe(413);
    expect(huge.body.error?.message).toMatch(/8mb/);
    const big = await send(apiRoutes.sendCheckIns.path, headers, bigJson(7_000_000));
    expect(big.status).toBe(200);
  });
});

describe('routes without credentials', () => {
  it('read at most 64 KB: a bigger sign-in body is a 413 that says so', async () => {
    const body = Buffer.from(
      JSON.stringify({ email: 'a@example.com', password: 'x'.repeat(100 * 1024) }),
    );
    const answer = await send(apiRoutes.login.path, {}, body);
    expect(answer.status).toBe(413);
    expect(answer.body.error?.code).toBe('payload_too_large');
    expect(answer.body.error?.message).toMatch(
      /64kb limit of a request that carries no credentials/,
    );
    const bootstrap = await send(apiRoutes.bootstrap.path, {}, body);
    expect(bootstrap.status).toBe(413);
  });

  it('still take a sign-in body of normal size', async () => {
    const answer = await send(
      apiRoutes.login.path,
      {},
      Buffer.from(JSON.stringify({ email: 'nobody@example.com', password: 'not a password' })),
    );
    expect(answer.status).toBe(401);
  });
});

describe('authenticated user routes', () => {
  it('check the permission before reading the body: a viewer gets 403 for a body that is not JSON', async () => {
    const organizationId = await seedOrganization(app.database, 'Viewers');
    const viewer = await seedUser(app.database, organizationId, 'viewer');
    const answer = await send(
      apiRoutes.createEnrollmentToken.path,
      { authorization: `Bearer ${viewer.token}` },
      notJson(2 * 1024 * 1024),
    );
    expect(answer.status).toBe(403);
  });
});
