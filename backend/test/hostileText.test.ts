import { randomUUID } from 'node:crypto';
import { apiExamples, apiRoutes, type ApiRouteDefinition } from '@cronfleet/core/api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { z } from 'zod';
import { storableText, storableValues } from '../src/http/storableText.js';
import { call, enrollBody } from './agentTestCalls.js';
import { seedAgent, seedEnrollmentToken, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';

/**
 * Issue 11 §3c: a NUL or a lone surrogate never causes a 500. PostgreSQL stores neither (text
 * refuses NUL, jsonb refuses the escapes \u0000 and \ud800), so a heartbeat whose manifest error
 * quoted a time zone "UTC\u0000x" failed with a 500 on every tick, and so did a check-in whose
 * output held "\ud800". Every string of a request is now stored with U+FFFD in their place.
 *
 * The fuzz part sends hostile strings in every string field of every agent route (enroll,
 * heartbeat, inventory, check-ins), through the lean lane and through Express, and asserts that
 * no answer is a 5xx and that the agent and its runs can still be read afterwards.
 */

let app: TestApp;
let organizationId: string;
let adminToken: string;
let agentToken: string;
let agentId: string;
let enrollmentToken: string;

beforeAll(async () => {
  app = await startTestApp();
  organizationId = await seedOrganization(app.database, 'Hostile Text');
  adminToken = (await seedUser(app.database, organizationId, 'admin')).token;
  ({ agentId, token: agentToken } = await seedAgent(app.database, organizationId));
  ({ token: enrollmentToken } = await seedEnrollmentToken(app.database, organizationId));
});

afterAll(async () => {
  await app?.close();
});

/** A heartbeat body whose manifest error and condition quote `text`. */
function heartbeatQuoting(text: string) {
  const [error] = apiExamples.heartbeatRequest.errors;
  return {
    ...apiExamples.heartbeatRequest,
    runningRunIds: [],
    errors: [{ ...error, path: 'spec.timezone', message: `unknown time zone "${text}"` }],
    conditions: apiExamples.heartbeatRequest.conditions.map((condition) => ({
      ...condition,
      message: `production/backup.yaml: unknown time zone "${text}"`,
    })),
  };
}

/** A start and a finish of a new run whose output and reason hold `text`. */
function checkInsHolding(text: string, runId = randomUUID()) {
  const [start, finish] = apiExamples.checkInBatchRequest.checkIns;
  return {
    checkIns: [
      { ...start, runId, startedAt: new Date().toISOString() },
      {
        ...finish,
        runId,
        finishedAt: new Date().toISOString(),
        outputHead: `head ${text} head`,
        outputTail: `tail ${text} tail`,
        reason: `reason ${text}`,
      },
    ],
  };
}

/** POST through the lean lane (the agents' plain form) or through Express (a query string). */
function lanes(path: string): { lane: string; path: string }[] {
  return [
    { lane: 'lean lane', path },
    { lane: 'Express', path: `${path}?via=express` },
  ];
}

describe('the reported cases', () => {
  for (const { lane, path } of lanes(apiRoutes.heartbeat.path)) {
    it(`records a heartbeat whose manifest error quotes the time zone "UTC\\u0000x" (${lane}), again and again`, async () => {
      for (let tick = 0; tick < 3; tick += 1) {
        const answer = await call(app, 'POST', path, agentToken, heartbeatQuoting('UTC\u0000x'));
        expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      }
      const agent = await call(app, 'GET', `/api/v1/agents/${agentId}`, adminToken);
      expect(agent.status).toBe(200);
      expect(agent.body.status).toBe('online');
      expect(agent.body.errors[0].message).toBe('unknown time zone "UTC\uFFFDx"');
      expect(agent.body.conditions[0].message).toContain('"UTC\uFFFDx"');
    });
  }

  for (const { lane, path } of lanes(apiRoutes.sendCheckIns.path)) {
    it(`records a check-in whose output holds "\\ud800" (${lane}), with U+FFFD in its place`, async () => {
      const runId = randomUUID();
      const answer = await call(app, 'POST', path, agentToken, checkInsHolding('\ud800', runId));
      expect(answer.status, JSON.stringify(answer.body)).toBe(200);
      expect(answer.body).toEqual({ accepted: 2, duplicates: 0 });
      const run = await call(app, 'GET', `/api/v1/runs/${runId}`, adminToken);
      expect(run.status).toBe(200);
      expect(run.body.outputHead).toBe('head \uFFFD head');
      expect(run.body.outputTail).toBe('tail \uFFFD tail');
      expect(run.body.reason).toBe('reason \uFFFD');
    });
  }

  it('keeps a valid surrogate pair (an emoji) and replaces only the lone halves', async () => {
    const runId = randomUUID();
    const text = '🙂 \udc00 \ud83d x 🙂\ud83d';
    const answer = await call(app, 'POST', apiRoutes.sendCheckIns.path, agentToken, {
      ...checkInsHolding(text, runId),
    });
    expect(answer.status).toBe(200);
    const run = await call(app, 'GET', `/api/v1/runs/${runId}`, adminToken);
    expect(run.body.outputTail).toBe('tail 🙂 \uFFFD \uFFFD x 🙂\uFFFD tail');
    // A search for the text as stored finds it.
    const found = await call(
      app,
      'GET',
      `/api/v1/runs?q=${encodeURIComponent('\uFFFD x 🙂')}`,
      adminToken,
    );
    expect(found.status).toBe(200);
    expect(found.body.items.map((item: { runId: string }) => item.runId)).toContain(runId);
  });

  it('still refuses a NUL with a 400 where a field forbids control characters', async () => {
    const answer = await call(app, 'POST', apiRoutes.enroll.path, enrollmentToken, {
      ...enrollBody(),
      hostname: 'db-1\u0000.internal',
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toContainEqual({
      path: 'hostname',
      message: expect.stringMatching(/control characters/),
    });
  });
});

describe('storableText', () => {
  it('replaces NUL and lone surrogates, and nothing else', () => {
    expect(storableText('a\u0000b')).toBe('a\uFFFDb');
    expect(storableText('\ud800')).toBe('\uFFFD');
    expect(storableText('\udfff\ud800')).toBe('\uFFFD\uFFFD');
    expect(storableText('\ud83d\ude42')).toBe('🙂');
    expect(storableText('plain ✓ 日本')).toBe('plain ✓ 日本');
  });

  it('always answers well-formed text without NUL, and keeps well-formed text as it is (property)', () => {
    const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
    const text = fc
      .array(fc.oneof(codeUnit, fc.constantFrom('\u0000', '\ud800', '\udc00', '🙂')))
      .map((units) => units.join(''));
    fc.assert(
      fc.property(text, (input) => {
        const output = storableText(input);
        expect(output).not.toContain('\u0000');
        expect(Buffer.from(output, 'utf8').toString('utf8')).toBe(output);
        expect(output.length).toBe(input.length);
        // eslint-disable-next-line no-control-regex -- a NUL is what this looks for
        if (!/[\u0000\ud800-\udfff]/.test(input)) expect(output).toBe(input);
      }),
      { seed: 113, numRuns: 500 },
    );
  });

  it('reaches strings at any depth, keys included', () => {
    const value = { 'k\u0000': ['\ud800', { deep: 'x\u0000' }], n: 1, b: true, z: null };
    expect(storableValues(value)).toEqual({
      'k\uFFFD': ['\uFFFD', { deep: 'x\uFFFD' }],
      n: 1,
      b: true,
      z: null,
    });
  });
});

// ---------------------------------------------------------------------------------------------
// Fuzz: hostile strings in every string field of every agent route.

type Path = (string | number)[];

/** Every string (and enum) field of a schema, arrays written `[]`, with record keys as `{key}`. */
function stringFieldsOf(schema: z.ZodType, prefix = ''): string[] {
  const def = (schema as unknown as { _zod: { def: Record<string, unknown> } })._zod.def;
  const child = (key: string) => (prefix === '' ? key : `${prefix}.${key}`);
  switch (def.type) {
    case 'string':
    case 'enum':
    case 'literal':
      return [prefix];
    case 'object':
      return Object.entries(def.shape as Record<string, z.ZodType>).flatMap(([key, value]) =>
        stringFieldsOf(value, child(key)),
      );
    case 'array':
      return stringFieldsOf(def.element as z.ZodType, `${prefix}[]`);
    case 'optional':
    case 'nullable':
    case 'default':
    case 'readonly':
    case 'nonoptional':
      return stringFieldsOf(def.innerType as z.ZodType, prefix);
    case 'pipe':
      return stringFieldsOf(def.in as z.ZodType, prefix);
    case 'union':
      return [
        ...new Set(
          (def.options as z.ZodType[]).flatMap((option) => stringFieldsOf(option, prefix)),
        ),
      ];
    case 'record':
      return [
        ...stringFieldsOf(def.keyType as z.ZodType, child('{key}')),
        ...stringFieldsOf(def.valueType as z.ZodType, child('{value}')),
      ];
    default:
      return [];
  }
}

/** Every string leaf of a sample body, with its path, and each record key of `labels`. */
function stringLeavesOf(value: unknown, path: Path = []): Path[] {
  if (typeof value === 'string') return [path];
  if (Array.isArray(value))
    return value.flatMap((item, index) => stringLeavesOf(item, [...path, index]));
  if (typeof value === 'object' && value !== null) {
    return Object.entries(value).flatMap(([key, item]) => stringLeavesOf(item, [...path, key]));
  }
  return [];
}

/** The schema's name of a sample path: indices become `[]`, label keys and values `{key}`/`{value}`. */
function fieldName(path: Path): string {
  let name = '';
  path.forEach((part, index) => {
    if (typeof part === 'number') name += '[]';
    else if (path[index - 1] === 'labels') name += '.{value}';
    else name += name === '' ? part : `.${part}`;
  });
  return name;
}

function withValue(body: unknown, path: Path, value: string): unknown {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let target: Record<string | number, unknown> = copy;
  for (const part of path.slice(0, -1)) {
    target[part] ??= {};
    target = target[part] as Record<string | number, unknown>;
  }
  target[path.at(-1) as string | number] = value;
  return copy;
}

/** The label-key fields of a schema (`labels.{key}`, `jobs[].labels.{key}`). */
function labelKeyFieldsOf(schema: z.ZodType): string[] {
  return stringFieldsOf(schema).filter((field) => field.endsWith('labels.{key}'));
}

/** The sample path of the labels object a label-key field names: `jobs[].labels.{key}` → jobs.0.labels. */
function labelsPathOf(field: string): Path {
  return field
    .replace(/\.\{key\}$/, '')
    .split('.')
    .flatMap((part) => (part.endsWith('[]') ? [part.slice(0, -2), 0] : [part]));
}

/** A body with a label whose key is `key`, in the labels object at `path`. */
function withLabelKey(body: unknown, path: Path, key: string): unknown {
  const copy = structuredClone(body) as Record<string | number, unknown>;
  let target: Record<string | number, unknown> = copy;
  for (const part of path.slice(0, -1)) target = target[part] as Record<string | number, unknown>;
  const last = path.at(-1) as string | number;
  target[last] = { ...(target[last] as Record<string, string> | undefined), [key]: 'x' };
  return copy;
}

const hostileStrings = [
  'UTC\u0000x',
  '\u0000',
  '\ud800',
  '\udfff',
  'a\ud83db',
  '\ud83d\ude42\ud800',
  '\u202e\u0000\u2028',
  '\\u0000',
  '%00',
  "'; drop table agents; --",
  '\uffff\ufffe',
  'x'.repeat(70_000),
];

/** Each agent route's body with every optional string field present. */
const fullBodies: Record<string, () => unknown> = {
  enroll: () => enrollBody({ labels: { role: 'db' } }),
  heartbeat: () => ({ ...apiExamples.heartbeatRequest, runningRunIds: [randomUUID()] }),
  putInventory: () => apiExamples.inventoryRequest,
  sendCheckIns: () => {
    const batch = checkInsHolding('output');
    // A finish killed by a signal: its signal is a string too.
    Object.assign(batch.checkIns[1] ?? {}, { exitCode: null, signal: 'SIGTERM', status: 'failed' });
    return batch;
  },
};

/** Fields a full body leaves out, each tested by setting it. */
const setSeparately: Record<string, string[]> = {
  enroll: ['currentAgentToken'],
};

const agentRoutes = (Object.values(apiRoutes) as ApiRouteDefinition[]).filter(
  (route) => route.auth === 'agent' || route.auth === 'enrollment',
);

function tokenOf(route: ApiRouteDefinition): string {
  return route.auth === 'enrollment' ? enrollmentToken : agentToken;
}

describe('hostile strings in every string field of every agent route', () => {
  it('covers every agent route', () => {
    expect(agentRoutes.map((route) => route.name).sort()).toEqual(Object.keys(fullBodies).sort());
  });

  for (const route of agentRoutes) {
    it(`${route.name}: a full body reaches every string field of its schema`, () => {
      const schemaFields = stringFieldsOf(route.body as z.ZodType).sort();
      const sampleFields = new Set(
        stringLeavesOf(fullBodies[route.name]?.()).map((path) => fieldName(path)),
      );
      // Label keys are sent by withLabelKey.
      for (const field of labelKeyFieldsOf(route.body as z.ZodType)) sampleFields.add(field);
      const missing = schemaFields.filter((field) => !sampleFields.has(field));
      expect(missing).toEqual(setSeparately[route.name] ?? []);
    });

    it(`${route.name}: never answers 5xx, through either lane`, async () => {
      const full = fullBodies[route.name];
      if (full === undefined) throw new Error(`no full body for ${route.name}`);
      const baseline = await call(app, route.method, route.path, tokenOf(route), full());
      expect(baseline.status, JSON.stringify(baseline.body)).toBeLessThan(300);

      const cases: { field: string; body: () => unknown }[] = [];
      for (const path of stringLeavesOf(full())) {
        for (const text of hostileStrings) {
          cases.push({ field: fieldName(path), body: () => withValue(full(), path, text) });
        }
      }
      for (const field of setSeparately[route.name] ?? []) {
        for (const text of hostileStrings) {
          cases.push({ field, body: () => withValue(full(), [field], text) });
        }
      }
      for (const field of labelKeyFieldsOf(route.body as z.ZodType)) {
        for (const text of hostileStrings) {
          cases.push({ field, body: () => withLabelKey(full(), labelsPathOf(field), text) });
        }
      }
      let index = 0;
      for (const testCase of cases) {
        // Alternate the lanes: the lean lane serves a plain POST, Express one with a query.
        const path = index % 2 === 0 ? route.path : `${route.path}?via=express`;
        index += 1;
        const answer = await call(app, route.method, path, tokenOf(route), testCase.body());
        expect(
          answer.status,
          `${route.name} ${testCase.field}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`,
        ).toBeLessThan(500);
      }
    });

    it(`${route.name}: never answers 5xx for generated strings in generated fields (fast-check, seeded)`, async () => {
      const full = fullBodies[route.name];
      if (full === undefined) throw new Error(`no full body for ${route.name}`);
      const paths = stringLeavesOf(full());
      const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));
      const text = fc
        .array(fc.oneof(codeUnit, fc.constantFrom('\u0000', '\ud800', '\udc00', '🙂', 'UTC')), {
          maxLength: 40,
        })
        .map((units) => units.join(''));
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...paths),
          text,
          fc.boolean(),
          async (path, value, express) => {
            const answer = await call(
              app,
              route.method,
              express ? `${route.path}?via=express` : route.path,
              tokenOf(route),
              withValue(full(), path, value),
            );
            expect(
              answer.status,
              `${route.name} ${fieldName(path)}=${JSON.stringify(value)}: ${JSON.stringify(answer.body).slice(0, 300)}`,
            ).toBeLessThan(500);
          },
        ),
        { seed: 311, numRuns: 40 },
      );
    });
  }

  it('afterwards, the agent, its runs and the agents list still read', async () => {
    expect((await call(app, 'GET', `/api/v1/agents/${agentId}`, adminToken)).status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/agents?limit=200', adminToken)).status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/runs?limit=200', adminToken)).status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/jobs', adminToken)).status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/stats', adminToken)).status).toBe(200);
    const heartbeat = await call(app, 'POST', apiRoutes.heartbeat.path, agentToken, {
      ...apiExamples.heartbeatRequest,
      runningRunIds: [],
    });
    expect(heartbeat.status).toBe(200);
  });
});
