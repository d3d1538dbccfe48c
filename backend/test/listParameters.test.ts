import { randomUUID } from 'node:crypto';
import { apiExamples, apiRoutes, type ApiRouteDefinition } from '@cronfleet/core/api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { call, type Answer } from './agentTestCalls.js';
import { seedAgent, seedEnrollmentToken, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 11 §3d: a tampered cursor or an out-of-range date is a 400 that names the parameter, never
 * a 500. `/agents?cursor=…` with a timestamp PostgreSQL cannot hold and `/runs?from=0000-01-01…`
 * used to fail in the database ("timestamp out of range"). A property test sends generated values
 * (strings of any code units, extreme dates, numbers, forged cursors, repeated parameters) in
 * every parameter of every list route and checks that no answer is a 5xx, and that every 400
 * names one of the parameters it was sent.
 */

let app: TestApp;
let adminToken: string;

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

beforeAll(async () => {
  app = await startTestApp();
  const organizationId = await seedOrganization(app.database, 'Lists');
  adminToken = (await seedUser(app.database, organizationId, 'admin')).token;
  await seedEnrollmentToken(app.database, organizationId);
  // Rows in every list, so that cursors and filters have something to page over.
  for (let index = 0; index < 3; index += 1) {
    const agent = await seedAgent(app.database, organizationId);
    const [start, finish] = apiExamples.checkInBatchRequest.checkIns;
    const runId = randomUUID();
    await call(app, 'POST', apiRoutes.sendCheckIns.path, agent.token, {
      checkIns: [
        { ...start, runId },
        { ...finish, runId },
      ],
    });
  }
});

afterAll(async () => {
  await app?.close();
});

function get(path: string, query: [string, string][]): Promise<Answer> {
  const search = new URLSearchParams(query).toString();
  return call(app, 'GET', search === '' ? path : `${path}?${search}`, adminToken);
}

/** Asserts a 400 whose details (or message) name `parameter`. */
function expectNamed(answer: Answer, parameter: string): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(400);
  expect(answer.body.error.code).toBe('validation_failed');
  const paths = ((answer.body.error.details ?? []) as { path: string }[]).map(
    (issue) => issue.path,
  );
  expect(paths, answer.body.error.message).toContain(parameter);
  expect(answer.body.error.message).toContain(parameter);
}

describe('the reported cases', () => {
  it('answers /agents?cursor= with a timestamp PostgreSQL cannot hold with a 400 naming cursor', async () => {
    for (const micros of ['-999999999999999999', '999999999999999999', '-1']) {
      expectNamed(
        await get('/api/v1/agents', [['cursor', base64url([micros, randomUUID()])]]),
        'cursor',
      );
    }
  });

  it('answers /enrollment-tokens?cursor= with a huge timestamp with a 400 naming cursor', async () => {
    const cursor = base64url(['-999999999999999999', randomUUID()]);
    expectNamed(await get('/api/v1/enrollment-tokens', [['cursor', cursor]]), 'cursor');
  });

  it('answers /runs?from=0000-01-01T00:00:00Z and other out-of-range times with a 400 naming the parameter', async () => {
    for (const [parameter, value] of [
      ['from', '0000-01-01T00:00:00Z'],
      ['to', '0000-01-01T00:00:00Z'],
      ['from', '9999-12-31T23:59:59-05:00'],
      ['to', '1969-12-31T23:59:59Z'],
    ] as const) {
      const answer = await get('/api/v1/runs', [[parameter, value]]);
      expectNamed(answer, parameter);
      expect(answer.body.error.message).toMatch(/between 1970/);
    }
  });

  it('answers a runs cursor holding year 0 or +275760 with a 400 naming cursor', async () => {
    for (const time of ['0000-01-01T00:00:00.000Z', '+275760-09-13T00:00:00.000Z']) {
      expectNamed(await get('/api/v1/runs', [['cursor', base64url([time, 1])]]), 'cursor');
    }
  });

  it('still pages with the cursors it issues, and accepts the edges of the range', async () => {
    const first = await get('/api/v1/runs', [['limit', '1']]);
    expect(first.status).toBe(200);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await get('/api/v1/runs', [
      ['limit', '1'],
      ['cursor', first.body.nextCursor as string],
    ]);
    expect(second.status).toBe(200);
    const agents = await get('/api/v1/agents', [['limit', '1']]);
    const more = await get('/api/v1/agents', [['cursor', agents.body.nextCursor as string]]);
    expect(more.status).toBe(200);
    const edges = await get('/api/v1/runs', [
      ['from', '1970-01-01T00:00:00Z'],
      ['to', '9999-12-31T23:59:59Z'],
    ]);
    expect(edges.status).toBe(200);
    expect(edges.body.items).toHaveLength(3);
  });
});

const listRoutes = (Object.values(apiRoutes) as ApiRouteDefinition[]).filter(
  (route): route is ApiRouteDefinition & { query: z.ZodObject } =>
    route.method === 'GET' &&
    route.query !== undefined &&
    !route.path.includes(':') &&
    'shape' in route.query,
);

const codeUnits = fc
  .array(
    fc.oneof(
      fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit)),
      fc.constantFrom('\u0000', '\ud800', '%', '_', '\\', "'", '=', '.', '*', '-'),
    ),
    { maxLength: 30 },
  )
  .map((units) => units.join(''));

const extremeTimes = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00Z',
    '0001-01-01T00:00:00Z',
    '1969-12-31T23:59:59.999Z',
    '1970-01-01T00:00:00Z',
    '9999-12-31T23:59:59Z',
    '9999-12-31T23:59:59-14:00',
    '+275760-09-13T00:00:00.000Z',
    '-000001-01-01T00:00:00Z',
    '2024-02-30T00:00:00Z',
    '2024-01-01T24:00:00Z',
  ),
  fc
    .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
    .map((date) => date.toISOString()),
);

const numbers = fc.oneof(
  fc.integer().map(String),
  fc.double().map(String),
  fc.constantFrom('1e308', '-0', 'NaN', 'Infinity', '99999999999999999999', '0x10', ' 5 '),
);

const cursorParts = fc.oneof(
  fc.bigInt({ min: -(10n ** 19n), max: 10n ** 19n }).map(String),
  extremeTimes,
  fc.integer(),
  fc.double(),
  fc.uuid(),
  fc.constant(null),
  codeUnits,
);

/** Times as toISOString writes them, as a cursor this server issues would hold them. */
const canonicalTimes = fc.oneof(
  fc.constantFrom(
    '0000-01-01T00:00:00.000Z',
    '+275760-09-13T00:00:00.000Z',
    '-271821-04-20T00:00:00.000Z',
    '1969-12-31T23:59:59.999Z',
  ),
  fc
    .date({ min: new Date(-8.64e15), max: new Date(8.64e15), noInvalidDate: true })
    .map((date) => date.toISOString()),
);

/**
 * Cursors: the shapes this server issues with extreme values in them (a creation time in
 * microseconds beside a UUID, a run's time beside its id), forged JSON of any shape, and text
 * that is not base64 at all.
 */
const forgedCursors = fc.oneof(
  {
    weight: 3,
    arbitrary: fc
      .tuple(
        fc.oneof(
          fc.bigInt({ min: -(10n ** 18n) + 1n, max: 10n ** 18n - 1n }).map(String),
          fc.constantFrom('-999999999999999999', '999999999999999999', '-1', '0'),
        ),
        fc.uuid(),
      )
      .map(base64url),
  },
  { weight: 3, arbitrary: fc.tuple(canonicalTimes, fc.integer({ min: 1 })).map(base64url) },
  { weight: 1, arbitrary: fc.tuple(cursorParts, cursorParts).map(base64url) },
  { weight: 1, arbitrary: fc.array(cursorParts, { maxLength: 4 }).map(base64url) },
  { weight: 1, arbitrary: fc.jsonValue().map(base64url) },
  { weight: 1, arbitrary: codeUnits },
  { weight: 1, arbitrary: fc.string({ minLength: 400, maxLength: 600 }) },
);

const values = fc.oneof(codeUnits, extremeTimes, numbers, forgedCursors, fc.uuid());

/** Values for one parameter: mostly of the kind it takes (times, cursors), sometimes anything. */
function valuesFor(parameter: string): fc.Arbitrary<string> {
  if (parameter === 'cursor') {
    return fc.oneof({ arbitrary: forgedCursors, weight: 4 }, { arbitrary: values, weight: 1 });
  }
  if (parameter === 'from' || parameter === 'to') {
    return fc.oneof({ arbitrary: extremeTimes, weight: 4 }, { arbitrary: values, weight: 1 });
  }
  return values;
}

describe('every parameter of every list route (property, seeded)', () => {
  it('covers the list routes', () => {
    expect(listRoutes.length).toBeGreaterThanOrEqual(5);
    expect(listRoutes.map((route) => route.name)).toEqual(
      expect.arrayContaining([
        'listRuns',
        'listAgents',
        'listEnrollmentTokens',
        'listJobs',
        'listApiTokens',
      ]),
    );
  });

  for (const route of listRoutes) {
    const parameters = Object.keys(route.query.shape);
    it(`${route.name} (${parameters.join(', ')}): no input gives a 5xx; each 400 names a parameter sent`, async () => {
      const pair = fc
        .constantFrom(...parameters, 'unknown')
        .chain((name) => fc.tuple(fc.constant(name), valuesFor(name)));
      const query = fc.array(pair, { minLength: 1, maxLength: 4 });
      await fc.assert(
        fc.asyncProperty(query, async (pairs) => {
          const answer = await get(route.path, pairs);
          const shown = `${route.name}?${new URLSearchParams(pairs).toString().slice(0, 300)}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
          expect(answer.status, shown).toBeLessThan(500);
          expect([200, 400], shown).toContain(answer.status);
          if (answer.status === 400) {
            const sent = new Set(pairs.map(([name]) => name));
            const named = ((answer.body.error.details ?? []) as { path: string }[]).map(
              (issue) => issue.path.split(/[.[]/)[0] ?? '',
            );
            expect(
              named.some((name) => sent.has(name)),
              shown,
            ).toBe(true);
          }
        }),
        { seed: 1103, numRuns: 120 },
      );
    });
  }
});
