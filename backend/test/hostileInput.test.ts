import { request as httpRequest } from 'node:http';
import { apiExamples, apiRoutes } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedAgent, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';
import { publicTables } from './testDatabase.js';

/**
 * Issue 3 §3: malformed, oversized and wrongly typed JSON get a 400 or 413 in the JSON error
 * shape with a message that says what is wrong (and, for a body that parses, each issue's path
 * and message); nothing is stored.
 */

let app: TestApp;
let adminToken: string;
let agentToken: string;
let agentId: string;

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read bodies field by field
  body: any;
}

/** Sends `rawBody` exactly as given (no JSON.stringify), with the given content type. */
async function sendRaw(
  method: string,
  path: string,
  token: string,
  rawBody: string | Buffer | undefined,
  contentType = 'application/json',
): Promise<Answer> {
  const response = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(rawBody === undefined ? {} : { 'content-type': contentType }),
    },
    ...(rawBody === undefined ? {} : { body: rawBody }),
  });
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = text;
  }
  return { status: response.status, body };
}

/** fetch refuses a GET with a body; node:http does not. */
function getWithBody(path: string, token: string, rawBody: string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const outgoing = httpRequest(
      `${app.baseUrl}${path}`,
      {
        method: 'GET',
        headers: {
          authorization: `Bearer ${token}`,
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(rawBody),
        },
      },
      (incoming) => {
        const chunks: Buffer[] = [];
        incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
        incoming.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          resolve({ status: incoming.statusCode ?? 0, body: JSON.parse(text) });
        });
        incoming.on('error', reject);
      },
    );
    outgoing.on('error', reject);
    outgoing.end(rawBody);
  });
}

function expectErrorShape(answer: Answer, status: number, code: string): void {
  expect(answer.status, JSON.stringify(answer.body).slice(0, 500)).toBe(status);
  expect(answer.body).toEqual({
    error: expect.objectContaining({ code, message: expect.any(String) }),
  });
  expect(answer.body.error.message.length).toBeGreaterThan(10);
}

/** The issues of a 400, as `path: message` lines. */
function issuesOf(answer: Answer): { path: string; message: string }[] {
  expectErrorShape(answer, 400, 'validation_failed');
  const details = answer.body.error.details as { path: string; message: string }[];
  expect(Array.isArray(details), JSON.stringify(answer.body)).toBe(true);
  for (const issue of details) {
    expect(issue).toEqual({ path: expect.any(String), message: expect.any(String) });
    expect(issue.message).not.toBe('');
  }
  return details;
}

async function rowCounts(): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (const table of await publicTables(app.database)) {
    const [row] = await app.database.rows<{ count: number }>(
      sql`select count(*)::int as count from ${sql.identifier(table)}`,
    );
    counts[table] = row?.count ?? -1;
  }
  return counts;
}

async function agentAsStored(): Promise<unknown> {
  const answer = await sendRaw('GET', `/api/v1/agents/${agentId}`, adminToken, undefined);
  expect(answer.status).toBe(200);
  return answer.body;
}

let countsBefore: Record<string, number>;
let agentBefore: unknown;

beforeAll(async () => {
  app = await startTestApp();
  const organizationId = await seedOrganization(app.database, 'Hostile Inc');
  adminToken = (await seedUser(app.database, organizationId, 'admin')).token;
  const agent = await seedAgent(app.database, organizationId, { name: 'target-1' });
  agentToken = agent.token;
  agentId = agent.agentId;
  countsBefore = await rowCounts();
  agentBefore = await agentAsStored();
});

afterAll(async () => {
  await app?.close();
});

describe('malformed JSON', () => {
  for (const [what, raw] of [
    ['a truncated object', '{"checkIns": ['],
    ['single quotes', "{'checkIns': []}"],
    ['a trailing comma', '{"checkIns": [],}'],
    ['a bare word', 'undefined'],
    ['NaN', '{"checkIns": NaN}'],
    ['a JSON string at the top', '"checkIns"'],
    ['a JSON null at the top', 'null'],
    ['invalid UTF-8', Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])],
  ] as const) {
    it(`answers ${what} with a 400 validation_failed that says the body is not valid JSON`, async () => {
      const answer = await sendRaw('POST', apiRoutes.sendCheckIns.path, agentToken, raw);
      expectErrorShape(answer, 400, 'validation_failed');
    });
  }

  it('names the parse problem in the message', async () => {
    const answer = await sendRaw('POST', apiRoutes.sendCheckIns.path, agentToken, '{"a": ');
    expect(answer.body.error.message).toMatch(/not valid JSON/);
  });
});

describe('oversized bodies', () => {
  it('answers a body over the 8 MB limit with a 413 payload_too_large', async () => {
    const huge = JSON.stringify({ checkIns: [], padding: 'x'.repeat(9 * 1024 * 1024) });
    const answer = await sendRaw('POST', apiRoutes.sendCheckIns.path, agentToken, huge);
    expectErrorShape(answer, 413, 'payload_too_large');
    expect(answer.body.error.message).toMatch(/8mb/i);
  });

  it('answers a batch over 1,000 check-ins with a 400 that says to split it', async () => {
    const [start] = apiExamples.checkInBatchRequest.checkIns;
    const checkIns = Array.from({ length: 1001 }, () => start);
    const answer = await sendRaw(
      'POST',
      apiRoutes.sendCheckIns.path,
      agentToken,
      JSON.stringify({ checkIns }),
    );
    expect(issuesOf(answer)).toContainEqual({
      path: 'checkIns',
      message: expect.stringMatching(/split the batch/),
    });
  });
});

describe('wrongly typed JSON', () => {
  const cases: {
    what: string;
    method: string;
    path: () => string;
    token: () => string;
    raw: () => string;
    /** Paths every one of which must be listed among the issues. */
    paths: string[];
  }[] = [
    {
      what: 'an array for the body object',
      method: 'POST',
      path: () => apiRoutes.heartbeat.path,
      token: () => agentToken,
      raw: () => '[]',
      paths: ['(root)'],
    },
    {
      what: 'an array for a nested object and a string for a number',
      method: 'POST',
      path: () => apiRoutes.createEnrollmentToken.path,
      token: () => adminToken,
      raw: () => JSON.stringify({ labels: ['role=db'], maxUses: '10', expiresInHours: '24' }),
      paths: ['labels', 'maxUses', 'expiresInHours'],
    },
    {
      what: 'null for required fields',
      method: 'PUT',
      path: () => apiRoutes.putInventory.path,
      token: () => agentToken,
      raw: () => JSON.stringify({ revision: null, jobs: null, unmanaged: null }),
      paths: ['jobs', 'unmanaged'],
    },
    {
      what: 'huge numbers',
      method: 'POST',
      path: () => apiRoutes.createEnrollmentToken.path,
      token: () => adminToken,
      raw: () => '{"maxUses": 1e308, "expiresInHours": 1e400}',
      paths: ['maxUses', 'expiresInHours'],
    },
    {
      what: 'a number beyond 2^53 and a negative duration in a check-in',
      method: 'POST',
      path: () => apiRoutes.sendCheckIns.path,
      token: () => agentToken,
      raw: () => {
        const [, finish] = apiExamples.checkInBatchRequest.checkIns;
        return JSON.stringify({ checkIns: [{ ...finish, durationMs: -1 }] }).replace(
          '"exitCode":0',
          '"exitCode":123456789012345678901234567890',
        );
      },
      paths: ['checkIns[0].durationMs', 'checkIns[0].exitCode'],
    },
    {
      what: 'duplicate keys (the last wins) with a wrong type',
      method: 'POST',
      path: () => `/api/v1/agents/${agentId}/revoke`,
      token: () => adminToken,
      raw: () => '{"reason": "retired", "reason": 42}',
      paths: ['reason'],
    },
    {
      what: 'objects nested 1,000 levels deep',
      method: 'PATCH',
      path: () => `/api/v1/agents/${agentId}`,
      token: () => adminToken,
      raw: () => `{"labels": ${'{"a":'.repeat(1000)}"x"${'}'.repeat(1000)}}`,
      paths: ['labels.a'],
    },
    {
      what: 'arrays nested 1,000 levels deep',
      method: 'POST',
      path: () => apiRoutes.sendCheckIns.path,
      token: () => agentToken,
      raw: () => `{"checkIns": ${'['.repeat(1000)}${']'.repeat(1000)}}`,
      paths: ['checkIns[0]'],
    },
    {
      what: 'several wrong check-ins, each listed',
      method: 'POST',
      path: () => apiRoutes.sendCheckIns.path,
      token: () => agentToken,
      raw: () => {
        const [start, finish] = apiExamples.checkInBatchRequest.checkIns;
        return JSON.stringify({
          checkIns: [
            { ...start, runId: 'not-a-uuid' },
            { ...finish, status: 'exploded' },
            { ...start, attempt: 0, kind: 'start' },
            { kind: 'pause' },
          ],
        });
      },
      paths: ['checkIns[0].runId', 'checkIns[1].status', 'checkIns[2].attempt', 'checkIns[3].kind'],
    },
    {
      what: 'a silence with wrongly typed matchers, times and comment',
      method: 'POST',
      path: () => apiRoutes.createSilence.path,
      token: () => adminToken,
      raw: () =>
        JSON.stringify({
          matchers: { namespace: 7, labels: ['team=dba'], agentId: 'db-1' },
          startsAt: 1714500000,
          endsAt: 'tomorrow',
          comment: ['maintenance'],
        }),
      paths: [
        'matchers.namespace',
        'matchers.labels',
        'matchers.agentId',
        'startsAt',
        'endsAt',
        'comment',
      ],
    },
    {
      what: "an object for a resolved incident's comment",
      method: 'POST',
      path: () => `/api/v1/incidents/${agentId}/resolve`,
      token: () => adminToken,
      raw: () => '{"comment": {"text": "fixed"}, "status": "resolved"}',
      paths: ['comment', '(root)'],
    },
  ];

  for (const testCase of cases) {
    it(`lists each issue's path and message for ${testCase.what}`, async () => {
      const answer = await sendRaw(
        testCase.method,
        testCase.path(),
        testCase.token(),
        testCase.raw(),
      );
      const issues = issuesOf(answer);
      const paths = issues.map((issue) => issue.path);
      for (const path of testCase.paths) {
        expect(paths, JSON.stringify(issues)).toContain(path);
      }
      // The summary in the message names the first issues too.
      expect(answer.body.error.message).toMatch(/^invalid request body: /);
    });
  }

  it('answers objects nested 100,000 levels deep with a 400, not a crash', async () => {
    const raw = `{"labels": ${'{"a":'.repeat(100_000)}"x"${'}'.repeat(100_000)}}`;
    const answer = await sendRaw('PATCH', `/api/v1/agents/${agentId}`, adminToken, raw);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('validation_failed');
    // The server still answers.
    expect((await sendRaw('GET', '/api/v1/auth/me', adminToken, undefined)).status).toBe(200);
  });

  it('ignores __proto__ and constructor keys: no prototype is polluted', async () => {
    const raw = `{"labels": {"__proto__": {"polluted": "yes"}, "constructor": {"prototype": {"polluted": "yes"}}}, "name": "target-1"}`;
    const answer = await sendRaw('PATCH', `/api/v1/agents/${agentId}`, adminToken, raw);
    expect([200, 400]).toContain(answer.status);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    if (answer.status === 200) expect(answer.body.labels).not.toHaveProperty('polluted');
  });
});

describe('content type and method', () => {
  it('answers a JSON body sent as text/plain with a 400 that says a body is expected', async () => {
    const answer = await sendRaw(
      'POST',
      `/api/v1/agents/${agentId}/revoke`,
      adminToken,
      JSON.stringify(apiExamples.revokeAgentRequest),
      'text/plain',
    );
    expect(issuesOf(answer).map((issue) => issue.path)).toEqual(['(root)']);
    expect(answer.body.error.message).toMatch(
      /send the request body as JSON with the header Content-Type: application\/json \(got text\/plain/,
    );
  });

  it('answers a form-encoded body with a 400', async () => {
    const answer = await sendRaw(
      'POST',
      `/api/v1/agents/${agentId}/revoke`,
      adminToken,
      'reason=retired',
      'application/x-www-form-urlencoded',
    );
    expectErrorShape(answer, 400, 'validation_failed');
  });

  it('answers no body at all with a 400', async () => {
    const answer = await sendRaw('POST', `/api/v1/agents/${agentId}/revoke`, adminToken, undefined);
    expectErrorShape(answer, 400, 'validation_failed');
  });

  it('ignores a JSON body on a GET, and refuses a malformed one with a 400', async () => {
    const plain = await sendRaw('GET', '/api/v1/agents', adminToken, undefined);
    const withBody = await getWithBody('/api/v1/agents', adminToken, '{"status":"revoked"}');
    expect(withBody.status).toBe(200);
    expect(withBody.body).toEqual(plain.body);
    const malformed = await getWithBody('/api/v1/agents', adminToken, '{"status":');
    expectErrorShape(malformed, 400, 'validation_failed');
  });
});

describe('afterwards', () => {
  it('stored nothing: every table holds the rows it held, the agent is unchanged', async () => {
    expect(await rowCounts()).toEqual(countsBefore);
    expect(await agentAsStored()).toEqual(agentBefore);
    const heartbeat = await sendRaw(
      'POST',
      apiRoutes.heartbeat.path,
      agentToken,
      JSON.stringify(apiExamples.heartbeatRequest),
    );
    expect(heartbeat.status).toBe(200);
  });
});
