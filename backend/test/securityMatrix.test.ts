import { randomBytes, randomUUID } from 'node:crypto';
import {
  apiExamples,
  apiRoutes,
  buildRoutePath,
  routePathParamNames,
  type ApiRoute,
  type ApiRouteName,
  type CheckIn,
  type InventoryRequest,
  type Permission,
} from '@cronfleet/core/api';
import { eq, sql } from 'drizzle-orm';
import type { z } from 'zod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashPassword } from '../src/auth/passwordHash.js';
import { incidentEvents, incidents, memberships, users } from '../src/db/schema.js';
import { call, enrollBody, type Answer } from './agentTestCalls.js';
import { seedAgent, seedEnrollmentToken, seedOrganization, seedUser } from './seed.js';
import { startTestApp, type TestApp } from './testApp.js';
import { publicTables } from './testDatabase.js';

/**
 * Issue 3 §3: every route of the route table, called by every kind of caller — no credentials,
 * an expired token, the wrong kind of token, a revoked agent, a viewer, an operator, an admin of
 * the organization (A) and an admin and agent of another organization (B) — answers 401, 403,
 * 404 or success as the route's auth and permission say, and never shows B anything of A.
 *
 * Everything A owns carries "alpha" in its names, so a leak shows up as that word (or an id of
 * A) in an answer to B.
 */

type CallerName =
  | 'anonymous'
  | 'expiredAdminA'
  | 'revokedAgentA'
  | 'enrollmentA'
  | 'agentA'
  | 'viewerA'
  | 'operatorA'
  | 'adminA'
  | 'adminB'
  | 'agentB'
  /** A user of both organizations (A's viewer, B's admin), with an API token of B. */
  | 'dualB';

const callerNames: CallerName[] = [
  'anonymous',
  'expiredAdminA',
  'revokedAgentA',
  'enrollmentA',
  'agentA',
  'viewerA',
  'operatorA',
  'adminA',
  'adminB',
  'agentB',
  'dualB',
];

/** Callers of the routes without credentials (bootstrap, login): few, as both are rate limited. */
const unauthenticatedRouteCallers: CallerName[] = ['anonymous', 'adminA', 'agentA', 'adminB'];

interface Fixture {
  organizationA: string;
  organizationB: string;
  tokens: Record<Exclude<CallerName, 'anonymous'>, string>;
  adminA: string;
  viewerA: string;
  operatorA: string;
  expiredAdminA: string;
  emailsA: string[];
  agentA: string;
  revokedAgentA: string;
  runA: string;
  enrollmentTokenA: string;
  apiEnrollmentTokenA: string;
  apiTokenA: string;
  channelA: string;
  spareChannelA: string;
  incidentA: string;
  silenceA: string;
  dualB: string;
  dualEmail: string;
  /** Everything of A that must never appear in an answer to B. */
  secretsOfA: string[];
}

const fixture = {} as Fixture;

const revocationReason = 'alpha host decommissioned OPS-77';
const matrixSigningSecret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const alphaSigningSecret = 'whsec_YWxwaGEgc2lnbmluZyBzZWNyZXQgb2YgdGhlIG1hdHJpeA==';
const dualPassword = 'correct horse battery staple';
const namespaceA = 'alpha-ns';
const jobA = 'alpha-nightly';
const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

function inventoryOf(namespace: string, name: string): InventoryRequest {
  const [job] = apiExamples.inventoryRequest.jobs;
  if (job === undefined) throw new Error('the inventory example has no job');
  return { revision, jobs: [{ ...job, namespace, name }], unmanaged: [] };
}

function checkInsOf(runId: string, namespace: string, name: string, output: string): CheckIn[] {
  const [start, finish] = apiExamples.checkInBatchRequest.checkIns;
  if (start?.kind !== 'start' || finish?.kind !== 'finish') {
    throw new Error('the check-in example must be a start and a finish');
  }
  return [
    { ...start, runId, namespace, name },
    { ...finish, runId, namespace, name, outputHead: output, outputTail: output },
  ];
}

let emailCounter = 0;
const uniqueEmail = () => `matrix-${(emailCounter += 1)}-${randomUUID().slice(0, 8)}@example.net`;

interface RouteSample {
  /** Path parameters: A's resources. */
  params?: () => Record<string, string>;
  query?: Record<string, string>;
  body?: (caller: CallerName) => unknown;
  /** What this sample request needs when more than the route's permission (e.g. someone else's token). */
  permission?: Permission;
  /** Changes A for good when it succeeds: only refused callers get it in the matrix. */
  destructive?: boolean;
  /** Only a session may call it: every API token gets a 403. */
  sessionOnly?: boolean;
}

/** One sample request per route; a route missing here fails to compile and fails the first test. */
const samples: { [Name in ApiRouteName]: RouteSample } = {
  enroll: { body: () => enrollBody() },
  heartbeat: { body: () => apiExamples.heartbeatRequest },
  putInventory: {
    body: (caller) =>
      caller === 'agentB' ? inventoryOf('beta-ns', 'beta-job') : inventoryOf(namespaceA, jobA),
  },
  sendCheckIns: {
    body: (caller) => ({
      checkIns:
        caller === 'agentB'
          ? checkInsOf(randomUUID(), 'beta-ns', 'beta-job', 'beta output')
          : checkInsOf(fixture.runA, namespaceA, jobA, 'alpha backup written'),
    }),
  },
  listRuns: { query: { limit: '50' } },
  getRun: { params: () => ({ runId: fixture.runA }) },
  listAgents: { query: { limit: '50' } },
  bootstrap: { body: () => apiExamples.bootstrapRequest },
  login: { body: () => ({ email: fixture.emailsA[0], password: 'not the password at all' }) },
  logout: {},
  me: {},
  createApiToken: { body: () => ({ name: 'matrix token', scopes: ['read'] }) },
  listApiTokens: { query: { includeRevoked: 'true' } },
  revokeApiToken: {
    params: () => ({ tokenId: fixture.apiTokenA }),
    // The token is A's admin's: revoking someone else's token needs admin.
    permission: 'admin',
    destructive: true,
  },
  listUsers: {},
  addUser: {
    body: () => ({ ...apiExamples.addUserRequest, email: uniqueEmail(), role: 'viewer' }),
  },
  changeUserRole: {
    params: () => ({ userId: fixture.viewerA }),
    body: () => ({ role: 'viewer' }),
  },
  removeUser: { params: () => ({ userId: fixture.viewerA }), destructive: true },
  createEnrollmentToken: { body: () => apiExamples.createEnrollmentTokenRequest },
  listEnrollmentTokens: { query: { limit: '50' } },
  revokeEnrollmentToken: {
    params: () => ({ enrollmentTokenId: fixture.apiEnrollmentTokenA }),
    destructive: true,
  },
  getAgent: { params: () => ({ agentId: fixture.agentA }) },
  updateAgent: {
    params: () => ({ agentId: fixture.agentA }),
    body: () => ({ labels: { team: 'alpha' } }),
  },
  revokeAgent: {
    params: () => ({ agentId: fixture.agentA }),
    body: () => apiExamples.revokeAgentRequest,
    destructive: true,
  },
  reconcileAgent: { params: () => ({ agentId: fixture.agentA }) },
  runJob: { params: () => ({ namespace: namespaceA, name: jobA }), body: () => ({}) },
  listJobs: {},
  getJob: { params: () => ({ namespace: namespaceA, name: jobA }) },
  getStats: {},
  listOrganizations: {},
  // The matrix runs with CRONFLEET_ORGANIZATION_CREATORS=any-user: a token needs the admin scope.
  createOrganization: { body: () => ({ name: 'Matrix Org' }), permission: 'admin' },
  renameOrganization: {
    params: () => ({ organizationId: fixture.organizationA }),
    // A's own name: the rename succeeds and changes nothing.
    body: () => ({ name: 'Alpha Org' }),
  },
  switchOrganization: {
    body: () => ({ organizationId: fixture.organizationA }),
    sessionOnly: true,
  },
  listAudit: { query: { limit: '50' } },
  listNotificationChannels: {},
  createNotificationChannel: {
    body: (caller) => ({
      name: `matrix-${caller.toLowerCase()}`,
      kind: 'webhook',
      config: { url: 'http://127.0.0.1:9/hook', signingSecret: matrixSigningSecret },
    }),
  },
  updateNotificationChannel: {
    params: () => ({ channelId: fixture.channelA }),
    body: () => ({ isDefault: true }),
  },
  // A channel of its own, so that A's other channel stays for the filter tests below.
  deleteNotificationChannel: {
    params: () => ({ channelId: fixture.spareChannelA }),
    destructive: true,
  },
  // The receiver is on loopback, which the outbound guard refuses here: a 200 with outcome failed.
  testNotificationChannel: { params: () => ({ channelId: fixture.channelA }) },
  listNotificationDeliveries: {
    params: () => ({ channelId: fixture.channelA }),
    query: { limit: '50' },
  },
  listIncidents: { query: { limit: '50' } },
  getIncident: { params: () => ({ incidentId: fixture.incidentA }) },
  // A's one incident: acknowledged once, resolved once (both left to the last test).
  acknowledgeIncident: { params: () => ({ incidentId: fixture.incidentA }), destructive: true },
  resolveIncident: {
    params: () => ({ incidentId: fixture.incidentA }),
    body: () => ({ comment: 'matrix' }),
    destructive: true,
  },
  listSilences: { query: { limit: '50' } },
  createSilence: {
    body: (caller) => ({
      matchers: { namespace: caller === 'adminB' || caller === 'dualB' ? 'beta-ns' : namespaceA },
      endsAt: new Date(Date.now() + 86_400_000).toISOString(),
      comment: 'matrix maintenance',
    }),
  },
  expireSilence: { params: () => ({ silenceId: fixture.silenceA }), destructive: true },
  // A stream: its answer is read up to its opening lines (see send).
  streamEvents: {},
};

const userCallers = new Set<CallerName>([
  'expiredAdminA',
  'viewerA',
  'operatorA',
  'adminA',
  'adminB',
  'dualB',
]);
const roleOf: Partial<Record<CallerName, readonly Permission[]>> = {
  viewerA: ['read'],
  operatorA: ['read', 'write'],
  adminA: ['read', 'write', 'admin'],
  adminB: ['read', 'write', 'admin'],
  dualB: ['read', 'write', 'admin'],
};

type Expected =
  | { kind: 'status'; status: number; messageContains?: string }
  /** Success, with the route's success status. */
  | { kind: 'success' }
  /** A success that would change A for good: left to the last test. */
  | { kind: 'deferred' };

function expectedOutcome(route: ApiRoute, sample: RouteSample, caller: CallerName): Expected {
  const unauthorized: Expected = { kind: 'status', status: 401 };
  switch (route.auth) {
    case 'none':
      return route.name === 'bootstrap'
        ? { kind: 'status', status: 409 }
        : { kind: 'status', status: 401 };
    case 'enrollment':
      return caller === 'enrollmentA' ? { kind: 'success' } : unauthorized;
    case 'agent':
      if (caller === 'agentA' || caller === 'agentB') return { kind: 'success' };
      if (caller === 'revokedAgentA') {
        return { kind: 'status', status: 401, messageContains: revocationReason };
      }
      return unauthorized;
    case 'user': {
      if (!userCallers.has(caller) || caller === 'expiredAdminA') return unauthorized;
      const needed = sample.permission ?? route.permission ?? 'admin';
      const granted = roleOf[caller] ?? [];
      // Every caller here uses an API token: it belongs to one organization and never switches.
      if (sample.sessionOnly === true) return { kind: 'status', status: 403 };
      if (caller === 'adminB' || caller === 'dualB') {
        // Another organization's resource is unknown, whatever the permission.
        return route.path.includes(':') ? { kind: 'status', status: 404 } : { kind: 'success' };
      }
      // The route's own permission is checked before the resource is read.
      if (!granted.includes(route.permission ?? 'admin')) return { kind: 'status', status: 403 };
      if (!granted.includes(needed)) return { kind: 'status', status: 403 };
      return sample.destructive === true ? { kind: 'deferred' } : { kind: 'success' };
    }
  }
}

let app: TestApp;

function tokenOf(caller: CallerName): string | undefined {
  return caller === 'anonymous' ? undefined : fixture.tokens[caller];
}

async function send(
  route: ApiRoute,
  caller: CallerName,
  sample: RouteSample = samples[route.name],
  overrides: { params?: Record<string, string>; query?: Record<string, string> } = {},
): Promise<Answer> {
  const params = overrides.params ?? sample.params?.() ?? {};
  const query = new URLSearchParams(overrides.query ?? sample.query ?? {}).toString();
  const path = buildRoutePath(route.path, params) + (query === '' ? '' : `?${query}`);
  if ('responseContentType' in route && route.responseContentType === 'text/event-stream') {
    return openStream(path, tokenOf(caller));
  }
  return call(app, route.method, path, tokenOf(caller), sample.body?.(caller));
}

/**
 * A stream never ends: its answer is the status, and for a 200 the opening lines (the stream
 * stays open otherwise); a refusal is read whole, as JSON.
 */
async function openStream(path: string, token: string | undefined): Promise<Answer> {
  const controller = new AbortController();
  const response = await fetch(`${app.baseUrl}${path}`, {
    headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    signal: controller.signal,
  });
  if (response.status !== 200) {
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? undefined : JSON.parse(text),
    };
  }
  const reader = response.body!.getReader();
  const { value } = await reader.read();
  controller.abort();
  return {
    status: response.status,
    headers: response.headers,
    body: { opening: new TextDecoder().decode(value) },
  };
}

/** `sent`: values the caller sent itself, which a 404 may name back. */
function expectNoDataOfA(answer: Answer, what: string, sent: string[] = []): void {
  const text = JSON.stringify(answer.body ?? null).toLowerCase();
  for (const secret of fixture.secretsOfA.filter((value) => !sent.includes(value))) {
    expect(text.includes(secret.toLowerCase()), `${what} shows "${secret}" of A`).toBe(false);
  }
  // What the caller sent (a job's namespace and name) may be named back; nothing else of A.
  const unsent = sent.reduce((rest, value) => rest.replaceAll(value.toLowerCase(), ''), text);
  expect(unsent.includes('alpha'), `${what} shows something of A ("alpha")`).toBe(false);
}

async function okAs(caller: CallerName, method: string, path: string, body?: unknown) {
  const answer = await call(app, method, path, tokenOf(caller), body);
  if (answer.status >= 300) {
    throw new Error(
      `${method} ${path} as ${caller}: ${answer.status} ${JSON.stringify(answer.body)}`,
    );
  }
  return answer.body as Record<string, unknown>;
}

/** A's state that no refused call may change. */
async function snapshotOfA() {
  const [users, agents, tokens, enrollmentTokens, run, incident, silences] = await Promise.all([
    okAs('adminA', 'GET', '/api/v1/users'),
    okAs('adminA', 'GET', `/api/v1/agents/${fixture.agentA}`),
    okAs('adminA', 'GET', '/api/v1/tokens?all=true&includeRevoked=true'),
    okAs('adminA', 'GET', '/api/v1/enrollment-tokens?limit=200'),
    okAs('adminA', 'GET', `/api/v1/runs/${fixture.runA}`),
    okAs('adminA', 'GET', `/api/v1/incidents/${fixture.incidentA}`),
    okAs('adminA', 'GET', '/api/v1/silences?limit=200'),
  ]);
  const stripVolatile = (value: Record<string, unknown>) =>
    JSON.parse(
      JSON.stringify(value, (key, field: unknown) =>
        key === 'lastUsedAt' || key === 'status' || key === 'lastHeartbeatAt' || key === 'uses'
          ? undefined
          : field,
      ),
    ) as unknown;
  return {
    // Calls that succeed (addUser, createEnrollmentToken) add rows: compare the ones of the setup.
    users: (users.items as { id: string; role: string }[])
      .filter((user) => [fixture.adminA, fixture.operatorA, fixture.viewerA].includes(user.id))
      .map((user) => `${user.id}:${user.role}`)
      .sort(),
    agent: stripVolatile({ ...agents, updatedAt: undefined, labels: undefined }),
    tokens: (tokens.items as { id: string; revokedAt: string | null }[])
      .filter((token) => token.id === fixture.apiTokenA)
      .map((token) => token.revokedAt),
    enrollmentTokens: (enrollmentTokens.items as { id: string; revokedAt: string | null }[])
      .filter((token) => [fixture.enrollmentTokenA, fixture.apiEnrollmentTokenA].includes(token.id))
      .map((token) => `${token.id}:${token.revokedAt}`)
      .sort(),
    run,
    incident,
    silence: (silences.items as { id: string }[]).filter((item) => item.id === fixture.silenceA),
  };
}

let snapshotBefore: Awaited<ReturnType<typeof snapshotOfA>>;

beforeAll(async () => {
  app = await startTestApp({
    organizationCreators: 'any-user',
    // Channel secrets are sealed with this key, not one generated into a data directory.
    secretsKey: randomBytes(32).toString('base64'),
  });
  const { database } = app;
  fixture.organizationA = await seedOrganization(database, 'Alpha Org');
  fixture.organizationB = await seedOrganization(database, 'Beta Org');
  const adminA = await seedUser(database, fixture.organizationA, 'admin');
  const operatorA = await seedUser(database, fixture.organizationA, 'operator');
  const viewerA = await seedUser(database, fixture.organizationA, 'viewer');
  const expiredAdminA = await seedUser(database, fixture.organizationA, 'admin', {
    expiresAt: new Date(Date.now() - 60_000),
  });
  const agentA = await seedAgent(database, fixture.organizationA, { name: 'alpha-db-1' });
  const revokedAgentA = await seedAgent(database, fixture.organizationA, {
    name: 'alpha-retired',
    revokedReason: revocationReason,
  });
  const enrollmentA = await seedEnrollmentToken(database, fixture.organizationA, {
    labels: { site: 'alpha' },
  });
  const adminB = await seedUser(database, fixture.organizationB, 'admin');
  const agentB = await seedAgent(database, fixture.organizationB, { name: 'beta-db-1' });
  // A's viewer too, with a password, so that a session of theirs can switch (see below).
  const dualB = await seedUser(database, fixture.organizationB, 'admin');
  await database.db
    .update(users)
    .set({ passwordHash: await hashPassword(dualPassword) })
    .where(eq(users.id, dualB.userId));
  await database.db
    .insert(memberships)
    .values({ organizationId: fixture.organizationA, userId: dualB.userId, role: 'viewer' });
  fixture.tokens = {
    expiredAdminA: expiredAdminA.token,
    revokedAgentA: revokedAgentA.token,
    enrollmentA: enrollmentA.token,
    agentA: agentA.token,
    viewerA: viewerA.token,
    operatorA: operatorA.token,
    adminA: adminA.token,
    adminB: adminB.token,
    agentB: agentB.token,
    dualB: dualB.token,
  };
  Object.assign(fixture, {
    adminA: adminA.userId,
    viewerA: viewerA.userId,
    operatorA: operatorA.userId,
    expiredAdminA: expiredAdminA.userId,
    emailsA: [adminA.email, operatorA.email, viewerA.email, expiredAdminA.email],
    dualB: dualB.userId,
    dualEmail: dualB.email,
    agentA: agentA.agentId,
    revokedAgentA: revokedAgentA.agentId,
    enrollmentTokenA: enrollmentA.enrollmentTokenId,
    runA: randomUUID(),
  });

  // A's resources, made through the API.
  await okAs('agentA', 'PUT', apiRoutes.putInventory.path, inventoryOf(namespaceA, jobA));
  await okAs('agentA', 'POST', apiRoutes.sendCheckIns.path, {
    checkIns: checkInsOf(fixture.runA, namespaceA, jobA, 'alpha backup written'),
  });
  await okAs('agentA', 'POST', apiRoutes.heartbeat.path, apiExamples.heartbeatRequest);
  const apiToken = await okAs('adminA', 'POST', apiRoutes.createApiToken.path, {
    name: 'alpha-ci-token',
    scopes: ['read'],
  });
  fixture.apiTokenA = (apiToken.apiToken as { id: string }).id;
  const enrollmentToken = await okAs('adminA', 'POST', apiRoutes.createEnrollmentToken.path, {
    description: 'alpha enrollment',
    labels: { site: 'alpha' },
  });
  fixture.apiEnrollmentTokenA = enrollmentToken.id as string;
  const channel = await okAs('adminA', 'POST', apiRoutes.createNotificationChannel.path, {
    name: 'alpha-pager',
    kind: 'webhook',
    config: { url: 'http://127.0.0.1:9/alpha-hook', signingSecret: alphaSigningSecret },
  });
  fixture.channelA = channel.id as string;
  const spareChannel = await okAs('adminA', 'POST', apiRoutes.createNotificationChannel.path, {
    name: 'alpha-spare',
    kind: 'slack',
    config: { webhookUrl: 'https://hooks.slack.com/services/TALPHA/BALPHA/alphasecret' },
  });
  fixture.spareChannelA = spareChannel.id as string;
  // An open incident of A's job, as the monitoring worker writes one (its worker is not running
  // here), and a silence of A's namespace made through the API.
  const openedAt = new Date(Date.now() - 60_000);
  const [incident] = await database.db
    .insert(incidents)
    .values({
      organizationId: fixture.organizationA,
      kind: 'missed',
      agentId: agentA.agentId,
      namespace: namespaceA,
      name: jobA,
      openedAt,
      updatedAt: openedAt,
      expected: 'alpha backup every night',
      happened: 'no run started for the alpha fire',
    })
    .returning();
  fixture.incidentA = incident!.id;
  await database.db.insert(incidentEvents).values({
    incidentId: fixture.incidentA,
    at: openedAt,
    type: 'opened',
    actorType: 'system',
    message: 'no run started for the alpha fire',
  });
  const silence = await okAs('operatorA', 'POST', apiRoutes.createSilence.path, {
    matchers: { namespace: namespaceA, labels: { team: 'alpha' } },
    endsAt: new Date(Date.now() + 7 * 86_400_000).toISOString(),
    comment: 'alpha maintenance window',
  });
  fixture.silenceA = silence.id as string;

  fixture.secretsOfA = [
    fixture.organizationA,
    adminA.userId,
    operatorA.userId,
    viewerA.userId,
    expiredAdminA.userId,
    ...fixture.emailsA,
    agentA.agentId,
    revokedAgentA.agentId,
    fixture.runA,
    fixture.enrollmentTokenA,
    fixture.apiEnrollmentTokenA,
    fixture.apiTokenA,
    fixture.channelA,
    fixture.spareChannelA,
    fixture.incidentA,
    fixture.silenceA,
    'TALPHA/BALPHA/alphasecret',
    alphaSigningSecret,
    (apiToken.apiToken as { tokenPrefix: string }).tokenPrefix,
    enrollmentToken.tokenPrefix as string,
    apiToken.token as string,
    enrollmentToken.token as string,
    ...Object.values(fixture.tokens),
    namespaceA,
    jobA,
    'Alpha Org',
  ];
  snapshotBefore = await snapshotOfA();
});

afterAll(async () => {
  await app?.close();
});

describe('security matrix', () => {
  it('has a sample request for every route of the route table', () => {
    expect(Object.keys(samples).sort()).toEqual(Object.keys(apiRoutes).sort());
  });

  const deferred: { route: ApiRoute; caller: CallerName }[] = [];

  for (const route of Object.values(apiRoutes) as ApiRoute[]) {
    describe(`${route.name} (${route.method} ${route.path}, auth ${route.auth}${'permission' in route ? `, ${route.permission}` : ''})`, () => {
      const callers = route.auth === 'none' ? unauthenticatedRouteCallers : callerNames;
      for (const caller of callers) {
        const sample = samples[route.name];
        const expected = expectedOutcome(route, sample, caller);
        if (expected.kind === 'deferred') {
          deferred.push({ route, caller });
          continue;
        }
        const title =
          expected.kind === 'success'
            ? `${caller} → ${route.successStatus}`
            : `${caller} → ${expected.status}`;
        it(title, async () => {
          const answer = await send(route, caller);
          const shown = `${route.name} as ${caller}: ${answer.status} ${JSON.stringify(answer.body)}`;
          if (expected.kind === 'success') {
            expect(answer.status, shown).toBe(route.successStatus);
          } else {
            expect(answer.status, shown).toBe(expected.status);
            expect(answer.body?.error?.code, shown).toEqual(expect.any(String));
            expect(answer.body?.error?.message, shown).toEqual(expect.any(String));
            if (expected.messageContains !== undefined) {
              expect(answer.body.error.message).toContain(expected.messageContains);
            }
          }
          if (caller === 'adminB' || caller === 'agentB' || caller === 'dualB') {
            const sent = Object.values(sample.params?.() ?? {});
            expectNoDataOfA(answer, `${route.name} as ${caller}`, sent);
          }
        });
      }
    });
  }

  it('lets only the routes of this list be left for the end', () => {
    expect(deferred.map(({ route, caller }) => `${route.name}:${caller}`).sort()).toEqual([
      'acknowledgeIncident:adminA',
      'acknowledgeIncident:operatorA',
      'deleteNotificationChannel:adminA',
      'expireSilence:adminA',
      'expireSilence:operatorA',
      'removeUser:adminA',
      'resolveIncident:adminA',
      'resolveIncident:operatorA',
      'revokeAgent:adminA',
      'revokeAgent:operatorA',
      'revokeApiToken:adminA',
      'revokeEnrollmentToken:adminA',
      'revokeEnrollmentToken:operatorA',
    ]);
  });

  it("shows B none of A's tokens, even when B's admin asks for A's user or everyone's", async () => {
    const queries: Record<string, string>[] = [
      { all: 'true', includeRevoked: 'true' },
      { userId: fixture.viewerA, includeRevoked: 'true' },
      { userId: fixture.adminA },
    ];
    for (const query of queries) {
      const answer = await send(apiRoutes.listApiTokens, 'adminB', samples.listApiTokens, {
        query,
      });
      expect(answer.status).toBe(200);
      expectNoDataOfA(answer, `listApiTokens ${JSON.stringify(query)} as adminB`);
    }
  });

  it("filters B's lists by A's agent, job and namespace to nothing", async () => {
    const queries: [ApiRoute, Record<string, string>][] = [
      [apiRoutes.listRuns, { agentId: fixture.agentA }],
      [apiRoutes.listRuns, { job: `${namespaceA}/${jobA}` }],
      [apiRoutes.listRuns, { namespace: namespaceA }],
      [apiRoutes.listRuns, { q: 'alpha backup' }],
      [apiRoutes.listJobs, { namespace: namespaceA }],
      [apiRoutes.listJobs, { q: 'alpha' }],
      [apiRoutes.listAgents, { q: 'alpha' }],
      [apiRoutes.listAgents, { label: 'team=alpha' }],
      [apiRoutes.listIncidents, { agent: fixture.agentA }],
      [apiRoutes.listIncidents, { namespace: namespaceA, job: jobA }],
    ];
    for (const [route, query] of queries) {
      const answer = await send(route, 'adminB', samples[route.name], { query });
      expect(answer.status).toBe(200);
      expect(answer.body.items).toEqual([]);
    }
    // The same filters as A find A's rows: the filters work, B just has none.
    const asA = await send(apiRoutes.listRuns, 'adminA', samples.listRuns, {
      query: { q: 'alpha backup' },
    });
    expect(asA.body.items.map((run: { runId: string }) => run.runId)).toEqual([fixture.runA]);
    const incidentsOfA = await send(apiRoutes.listIncidents, 'viewerA', samples.listIncidents, {
      query: { namespace: namespaceA, job: jobA },
    });
    expect(incidentsOfA.body.items.map((item: { id: string }) => item.id)).toEqual([
      fixture.incidentA,
    ]);
  });

  it("counts only B's agents in B's stats", async () => {
    const stats = await okAs('adminB', 'GET', apiRoutes.getStats.path);
    expect(stats.agents).toMatchObject({ total: 1, revoked: 0 });
    expect(stats.jobs).toMatchObject({ total: 1 });
  });

  it("lets B take over none of A's agents: neither a replace token nor A's agent token as proof", async () => {
    const replace = await call(
      app,
      'POST',
      apiRoutes.createEnrollmentToken.path,
      fixture.tokens.adminB,
      { replacesAgentId: fixture.agentA },
    );
    expect(replace.status).toBe(404);
    expectNoDataOfA(replace, 'createEnrollmentToken replacesAgentId as adminB', [fixture.agentA]);
    const enrollmentB = await seedEnrollmentToken(app.database, fixture.organizationB);
    for (const proof of [fixture.tokens.agentA, fixture.tokens.revokedAgentA]) {
      const answer = await call(
        app,
        'POST',
        apiRoutes.enroll.path,
        enrollmentB.token,
        enrollBody({ currentAgentToken: proof }),
      );
      expect(answer.status).toBe(409);
      expectNoDataOfA(answer, 'enroll with currentAgentToken of A as enrollment B');
    }
    const stillA = await call(
      app,
      'POST',
      apiRoutes.heartbeat.path,
      fixture.tokens.agentA,
      apiExamples.heartbeatRequest,
    );
    expect(stillA.status, JSON.stringify(stillA.body)).toBe(200);
  });

  it('changed nothing of A through the refused calls: its agent, users, tokens and run', async () => {
    expect(await snapshotOfA()).toEqual(snapshotBefore);
    const heartbeat = await send(apiRoutes.heartbeat, 'agentA');
    expect(heartbeat.status).toBe(200);
    const users = await okAs('adminA', 'GET', '/api/v1/users');
    expect((users.items as { id: string }[]).map((user) => user.id)).toEqual(
      expect.arrayContaining([fixture.adminA, fixture.operatorA, fixture.viewerA]),
    );
    const tokenStillWorks = await call(app, 'GET', '/api/v1/auth/me', fixture.tokens.viewerA);
    expect(tokenStillWorks.status).toBe(200);
  });

  it('lets the callers allowed to revoke and remove do so last, in their organization only', async () => {
    const revokeEnrollment = await send(apiRoutes.revokeEnrollmentToken, 'operatorA');
    expect(revokeEnrollment.status).toBe(200);
    expect(revokeEnrollment.body.status).toBe('revoked');
    expect((await send(apiRoutes.revokeEnrollmentToken, 'adminA')).status).toBe(200);

    const revokeToken = await send(apiRoutes.revokeApiToken, 'adminA');
    expect(revokeToken.status).toBe(200);
    expect(revokeToken.body.revokedAt).toEqual(expect.any(String));

    const removeViewer = await send(apiRoutes.removeUser, 'adminA');
    expect(removeViewer.status).toBe(200);
    expect((await call(app, 'GET', '/api/v1/auth/me', fixture.tokens.viewerA)).status).toBe(401);
    // Removed once: the second call finds no such member.
    expect((await send(apiRoutes.removeUser, 'adminA')).status).toBe(404);

    const revoke = await send(apiRoutes.revokeAgent, 'operatorA');
    expect(revoke.status).toBe(200);
    expect((await send(apiRoutes.revokeAgent, 'adminA')).body.revokedReason).toBe(
      apiExamples.revokeAgentRequest.reason,
    );
    const refused = await send(apiRoutes.heartbeat, 'agentA');
    expect(refused.status).toBe(401);
    expect(refused.body.error.message).toContain(apiExamples.revokeAgentRequest.reason);

    // An incident is acknowledged once and resolved once; a silence expires once.
    const acknowledged = await send(apiRoutes.acknowledgeIncident, 'operatorA');
    expect(acknowledged.status, JSON.stringify(acknowledged.body)).toBe(200);
    expect(acknowledged.body.acknowledgedBy.id).toBe(fixture.operatorA);
    expect((await send(apiRoutes.acknowledgeIncident, 'adminA')).status).toBe(409);
    const resolved = await send(apiRoutes.resolveIncident, 'operatorA');
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    expect(resolved.body.status).toBe('resolved');
    expect((await send(apiRoutes.resolveIncident, 'adminA')).status).toBe(409);
    const expired = await send(apiRoutes.expireSilence, 'operatorA');
    expect(expired.status, JSON.stringify(expired.body)).toBe(200);
    expect(expired.body.status).toBe('expired');
    expect((await send(apiRoutes.expireSilence, 'adminA')).status).toBe(409);

    const deleteChannel = await send(apiRoutes.deleteNotificationChannel, 'adminA');
    expect(deleteChannel.status).toBe(200);
    expect(deleteChannel.body.name).toBe('alpha-spare');
    expect(JSON.stringify(deleteChannel.body)).not.toContain('alphasecret');
    expect((await send(apiRoutes.deleteNotificationChannel, 'adminA')).status).toBe(404);

    // B is untouched: its agent still reports, its admin still works.
    expect((await send(apiRoutes.heartbeat, 'agentB')).status).toBe(200);
    expect((await send(apiRoutes.me, 'adminB')).status).toBe(200);
  });
});

/** Injection attempts in every filter parameter of every GET route with a query. */
describe('filter parameters', () => {
  const payloads = [
    "' OR '1'='1",
    '%',
    '_',
    '\\',
    '"; drop table runs; --',
    "' UNION SELECT token_hash FROM api_tokens --",
    '$where',
    'x'.repeat(10_240),
    'Ünïcödé ✓ 日本語 🙂',
    '\u202e\u0000',
  ];
  const queryRoutes = (Object.values(apiRoutes) as ApiRoute[]).filter(
    (route): route is ApiRoute & { query: z.ZodObject } =>
      route.method === 'GET' && 'query' in route && route.query !== undefined,
  );

  it('covers the list routes', () => {
    expect(queryRoutes.map((route) => route.name).sort()).toEqual([
      'listAgents',
      'listApiTokens',
      'listAudit',
      'listEnrollmentTokens',
      'listIncidents',
      'listJobs',
      'listNotificationDeliveries',
      'listRuns',
      'listSilences',
    ]);
  });

  for (const route of queryRoutes) {
    const parameters = Object.keys(route.query.shape);
    it(`${route.name}: ${parameters.join(', ')} answer 200 with nothing or a 400, never a 500 or another organization's rows`, async () => {
      const tablesBefore = await publicTables(app.database);
      const [{ count: runsBefore } = { count: -1 }] = await app.database.rows<{ count: number }>(
        sql`select count(*)::int as count from runs`,
      );
      for (const parameter of parameters) {
        for (const payload of payloads) {
          for (const caller of ['adminA', 'adminB'] as const) {
            const answer = await send(route, caller, samples[route.name], {
              query: { [parameter]: payload },
            });
            const shown = `${route.name}?${parameter}=${payload.slice(0, 40)} as ${caller}: ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
            expect([200, 400], shown).toContain(answer.status);
            if (answer.status === 400) {
              expect(answer.body.error.code, shown).toBe('validation_failed');
              expect(answer.body.error.message, shown).toEqual(expect.any(String));
            } else {
              // No filter value of these matches anything: a LIKE wildcard or a quote that
              // widened the query would show rows here.
              expect(answer.body.items, shown).toEqual([]);
            }
            if (caller === 'adminB') expectNoDataOfA(answer, shown);
          }
        }
      }
      expect(await publicTables(app.database)).toEqual(tablesBefore);
      const [{ count: runsAfter } = { count: -2 }] = await app.database.rows<{ count: number }>(
        sql`select count(*)::int as count from runs`,
      );
      expect(runsAfter).toBe(runsBefore);
    });
  }

  it('answers a repeated parameter and an operator-looking key without a 500', async () => {
    for (const path of [
      '/api/v1/runs?q=a&q=b',
      '/api/v1/runs?status[$ne]=running',
      '/api/v1/agents?q[]=x',
      '/api/v1/jobs?namespace=a&namespace=b',
      '/api/v1/tokens?all[]=true',
    ]) {
      const answer = await call(app, 'GET', path, fixture.tokens.adminB);
      expect([200, 400], `${path}: ${answer.status}`).toContain(answer.status);
      expectNoDataOfA(answer, path);
    }
  });

  it('rejects a path parameter that is not a UUID with a 400, never a 500', async () => {
    for (const value of ["1' OR '1'='1", '%', '%00', '\u0000', 'x'.repeat(2000)]) {
      for (const name of routePathParamNames(apiRoutes.getRun.path)) {
        const answer = await call(
          app,
          'GET',
          buildRoutePath(apiRoutes.getRun.path, { [name]: value }),
          fixture.tokens.adminB,
        );
        expect(answer.status).toBe(400);
        expect(answer.body.error.code).toBe('validation_failed');
      }
    }
  });
});

/**
 * A user of both organizations (A's viewer, B's admin): a session acts in its active
 * organization only, with the role it has there, and switches; the user's API token of B never
 * reaches A, whatever the route.
 */
describe('a user who belongs to two organizations', () => {
  /** A call with the session cookie; writes say they come from a script, as the dashboard's do. */
  async function asSession(cookie: string, method: string, path: string, body?: unknown) {
    const response = await fetch(`${app.baseUrl}${path}`, {
      method,
      headers: {
        cookie,
        'x-cronfleet-client': 'security-matrix',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text === '' ? undefined : JSON.parse(text),
    } as Answer;
  }

  it('acts in the active organization only, with its role there, and switches', async () => {
    const login = await call(app, 'POST', apiRoutes.login.path, undefined, {
      email: fixture.dualEmail,
      password: dualPassword,
      organizationId: fixture.organizationB,
    });
    expect(login.status, JSON.stringify(login.body)).toBe(200);
    const cookie = (login.headers.getSetCookie()[0] ?? '').split(';')[0] ?? '';

    // In B: A's rows are unknown, A cannot be renamed from here, B's audit shows nothing of A.
    expect((await asSession(cookie, 'GET', `/api/v1/agents/${fixture.agentA}`)).status).toBe(404);
    expect((await asSession(cookie, 'GET', `/api/v1/runs/${fixture.runA}`)).status).toBe(404);
    for (const path of ['/api/v1/agents', '/api/v1/runs', '/api/v1/jobs', '/api/v1/audit']) {
      const answer = await asSession(cookie, 'GET', path);
      expect(answer.status, path).toBe(200);
      expectNoDataOfA(answer, `${path} as the two-organization user in B`);
    }
    const rename = await asSession(
      cookie,
      'PATCH',
      `/api/v1/organizations/${fixture.organizationA}`,
      { name: 'Renamed from B' },
    );
    expect(rename.status).toBe(403);
    // A session lists both memberships; the active one is B.
    const organizations = await asSession(cookie, 'GET', apiRoutes.listOrganizations.path);
    expect(
      (organizations.body.items as { id: string; role: string; active: boolean }[]).map(
        (item) => `${item.id}:${item.role}:${item.active}`,
      ),
    ).toEqual(
      expect.arrayContaining([
        `${fixture.organizationA}:viewer:false`,
        `${fixture.organizationB}:admin:true`,
      ]),
    );

    // Switched to A: A's viewer, nothing more.
    const switched = await asSession(cookie, 'PUT', apiRoutes.switchOrganization.path, {
      organizationId: fixture.organizationA,
    });
    expect(switched.status, JSON.stringify(switched.body)).toBe(200);
    expect(switched.body.role).toBe('viewer');
    expect((await asSession(cookie, 'GET', `/api/v1/agents/${fixture.agentA}`)).status).toBe(200);
    for (const [method, path, body] of [
      ['GET', '/api/v1/users', undefined],
      ['GET', '/api/v1/audit', undefined],
      ['PATCH', `/api/v1/organizations/${fixture.organizationA}`, { name: 'Viewer was here' }],
      ['POST', '/api/v1/enrollment-tokens', apiExamples.createEnrollmentTokenRequest],
      ['POST', '/api/v1/tokens', { name: 'escalate', scopes: ['read', 'admin'] }],
    ] as const) {
      const answer = await asSession(cookie, method, path, body);
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(403);
    }

    // The same user's API token of B still acts in B only, and shows B only.
    const me = await call(app, 'GET', apiRoutes.me.path, fixture.tokens.dualB);
    expect(me.body.organization.id).toBe(fixture.organizationB);
    expect(me.body.organizations.map((item: { id: string }) => item.id)).toEqual([
      fixture.organizationB,
    ]);
    expectNoDataOfA(me, "me with the two-organization user's token of B");
    const listed = await call(app, 'GET', apiRoutes.listOrganizations.path, fixture.tokens.dualB);
    expectNoDataOfA(listed, 'listOrganizations with the token of B');
    expect(
      (await call(app, 'GET', `/api/v1/agents/${fixture.agentA}`, fixture.tokens.dualB)).status,
    ).toBe(404);

    // Back to B, at once (the credential cache included): A's agent is unknown again.
    const back = await asSession(cookie, 'PUT', apiRoutes.switchOrganization.path, {
      organizationId: fixture.organizationB,
    });
    expect(back.body.role).toBe('admin');
    expect((await asSession(cookie, 'GET', `/api/v1/agents/${fixture.agentA}`)).status).toBe(404);
    // A still has its name.
    const stillA = await okAs('adminA', 'GET', apiRoutes.me.path);
    expect(stillA.organization).toEqual({ id: fixture.organizationA, name: 'Alpha Org' });
  });
});

/** Last: from here on B holds a run with the same run id as A's (its own run). */
describe('run ids shared by two organizations', () => {
  it("never lets B's agent alter A's run by sending check-ins with its run id", async () => {
    const before = await okAs('adminA', 'GET', `/api/v1/runs/${fixture.runA}`);
    const [start, finish] = checkInsOf(fixture.runA, 'beta-ns', 'beta-job', 'beta overwrote this');
    const answer = await okAs('agentB', 'POST', apiRoutes.sendCheckIns.path, {
      checkIns: [
        { ...start, attempt: 3, trigger: 'manual' },
        { ...finish, status: 'failed', exitCode: 9, durationMs: 1 },
      ],
    });
    expect(answer).toEqual({ accepted: 2, duplicates: 0 });
    expect(await okAs('adminA', 'GET', `/api/v1/runs/${fixture.runA}`)).toEqual(before);
    const runsOfA = await okAs('adminA', 'GET', `/api/v1/runs?limit=200`);
    for (const run of runsOfA.items as { agentId: string; runId: string }[]) {
      expect([fixture.agentA]).toContain(run.agentId);
    }
  });
});
