import { apiExamples, apiRoutes } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sessionCookieName } from '../src/http/authenticate.js';
import { hashToken } from '../src/http/credentials.js';
import { enrollBody } from './agentTestCalls.js';
import { startTestApp, type TestApp } from './testApp.js';
import { publicTables } from './testDatabase.js';

/**
 * Issue 3 §3: the database holds no plaintext token or password. Users (with known passwords),
 * sessions, API tokens, enrollment tokens and agents are made through the API; then every column
 * of every table is read back as text.
 */

let app: TestApp;

const adminPassword = 'Tr0ub4dor & correct horse battery staple';
const operatorPassword = 'an operator passphrase of several words';
const wrongPassword = 'a wrong guess that must leave no trace';

/** Every secret the API handed out or received. */
const secrets: { what: string; value: string }[] = [];
/** Tokens whose SHA-256 must be stored. */
const issuedTokens: string[] = [];

interface Answer {
  status: number;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests read bodies field by field
  body: any;
  sessionCookie: string | undefined;
}

async function request(
  method: string,
  path: string,
  credentials: { token?: string; session?: string },
  body?: unknown,
): Promise<Answer> {
  const headers: Record<string, string> = {};
  if (credentials.token !== undefined) headers.authorization = `Bearer ${credentials.token}`;
  if (credentials.session !== undefined) {
    headers.cookie = `${sessionCookieName}=${credentials.session}`;
    // What the dashboard's scripts send: a write signed in by the cookie needs it (or its Origin).
    headers['x-requested-with'] = 'XMLHttpRequest';
  }
  if (body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(`${app.baseUrl}${path}`, {
    method,
    headers,
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  const cookie = response.headers
    .getSetCookie()
    .find((header) => header.startsWith(`${sessionCookieName}=`));
  const value = cookie?.slice(sessionCookieName.length + 1).split(';')[0];
  return {
    status: response.status,
    body: text === '' ? undefined : JSON.parse(text),
    sessionCookie: value === undefined || value === '' ? undefined : decodeURIComponent(value),
  };
}

function expectStatus(answer: Answer, status: number): void {
  expect(answer.status, JSON.stringify(answer.body)).toBe(status);
}

/** Every row of every table of the public schema, each as the JSON text PostgreSQL makes of it. */
async function everyRowAsText(): Promise<Map<string, string[]>> {
  const dump = new Map<string, string[]>();
  for (const table of await publicTables(app.database)) {
    const rows = await app.database.rows<{ row: string }>(
      sql`select row_to_json(t)::text as row from ${sql.identifier(table)} t`,
    );
    dump.set(
      table,
      rows.map((row) => row.row),
    );
  }
  return dump;
}

beforeAll(async () => {
  app = await startTestApp();

  const bootstrap = await request(
    'POST',
    apiRoutes.bootstrap.path,
    {},
    {
      ...apiExamples.bootstrapRequest,
      email: 'root@example.com',
      password: adminPassword,
    },
  );
  expectStatus(bootstrap, 201);
  const adminSession = bootstrap.sessionCookie;
  if (adminSession === undefined) throw new Error('bootstrap set no session cookie');
  secrets.push({ what: 'admin password', value: adminPassword });
  secrets.push({ what: 'bootstrap session', value: adminSession });
  issuedTokens.push(adminSession);

  const added = await request(
    'POST',
    apiRoutes.addUser.path,
    { session: adminSession },
    {
      email: 'operator@example.com',
      name: 'Operator',
      role: 'operator',
      password: operatorPassword,
    },
  );
  expectStatus(added, 201);
  secrets.push({ what: 'operator password', value: operatorPassword });

  const login = await request(
    'POST',
    apiRoutes.login.path,
    {},
    {
      email: 'operator@example.com',
      password: operatorPassword,
    },
  );
  expectStatus(login, 200);
  const operatorSession = login.sessionCookie;
  if (operatorSession === undefined) throw new Error('login set no session cookie');
  secrets.push({ what: 'operator session', value: operatorSession });
  issuedTokens.push(operatorSession);

  const failed = await request(
    'POST',
    apiRoutes.login.path,
    {},
    {
      email: 'operator@example.com',
      password: wrongPassword,
    },
  );
  expectStatus(failed, 401);
  secrets.push({ what: 'a wrong password tried at login', value: wrongPassword });

  for (const [session, scopes] of [
    [adminSession, ['read', 'write', 'admin']],
    [operatorSession, ['read']],
  ] as const) {
    const created = await request(
      'POST',
      apiRoutes.createApiToken.path,
      { session },
      {
        name: 'ci',
        scopes,
      },
    );
    expectStatus(created, 201);
    secrets.push({ what: 'API token', value: created.body.token });
    issuedTokens.push(created.body.token);
  }
  const apiToken = secrets.at(-2)?.value ?? '';

  const enrollment = await request(
    'POST',
    apiRoutes.createEnrollmentToken.path,
    { token: apiToken },
    apiExamples.createEnrollmentTokenRequest,
  );
  expectStatus(enrollment, 201);
  secrets.push({ what: 'enrollment token', value: enrollment.body.token });
  issuedTokens.push(enrollment.body.token);

  const enrolled = await request(
    'POST',
    apiRoutes.enroll.path,
    { token: enrollment.body.token },
    enrollBody(),
  );
  expectStatus(enrolled, 201);
  secrets.push({ what: 'agent token', value: enrolled.body.agentToken });
  issuedTokens.push(enrolled.body.agentToken);
  const heartbeat = await request(
    'POST',
    apiRoutes.heartbeat.path,
    { token: enrolled.body.agentToken },
    apiExamples.heartbeatRequest,
  );
  expectStatus(heartbeat, 200);

  // A session that ended still leaves its row (or none): neither may hold the token.
  const second = await request(
    'POST',
    apiRoutes.login.path,
    {},
    {
      email: 'root@example.com',
      password: adminPassword,
    },
  );
  expectStatus(second, 200);
  if (second.sessionCookie === undefined) throw new Error('login set no session cookie');
  secrets.push({ what: 'ended session', value: second.sessionCookie });
  expectStatus(
    await request('POST', apiRoutes.logout.path, { session: second.sessionCookie }),
    200,
  );
});

afterAll(async () => {
  await app?.close();
});

describe('secrets at rest', () => {
  it('made every kind of secret through the API', () => {
    expect(secrets.map((secret) => secret.what)).toEqual([
      'admin password',
      'bootstrap session',
      'operator password',
      'operator session',
      'a wrong password tried at login',
      'API token',
      'API token',
      'enrollment token',
      'agent token',
      'ended session',
    ]);
  });

  it('holds no plaintext token or password in any column of any table (audit log included)', async () => {
    const dump = await everyRowAsText();
    expect([...dump.keys()]).toEqual(
      expect.arrayContaining([
        'users',
        'sessions',
        'api_tokens',
        'enrollment_tokens',
        'agents',
        'audit_log',
      ]),
    );
    expect(dump.get('audit_log')?.length).toBeGreaterThan(0);
    for (const [table, rows] of dump) {
      const text = rows.join('\n');
      for (const secret of secrets) {
        expect(text.includes(secret.value), `${table} holds the ${secret.what}`).toBe(false);
        // Without its kind prefix (cfp_, cfa_, cfe_, cfs_) too, and in its JSON-escaped form.
        const body = secret.value.replace(/^cf[apes]_/, '');
        expect(text.includes(body), `${table} holds the body of the ${secret.what}`).toBe(false);
        expect(text.includes(JSON.stringify(secret.value).slice(1, -1))).toBe(false);
      }
    }
  });

  it('stores tokens as 64-hex SHA-256 and passwords as scrypt hashes', async () => {
    const columns = await app.database.rows<{ table_name: string; column_name: string }>(sql`
      select table_name, column_name from information_schema.columns
      where table_schema = 'public'
        and (column_name like '%token%' or column_name like '%password%' or column_name like '%secret%')
      order by table_name, column_name`);
    const storedHashes: string[] = [];
    const checked: string[] = [];
    for (const { table_name: table, column_name: column } of columns) {
      if (column.endsWith('_id') || column === 'token_prefix') continue;
      const values = (
        await app.database.rows<{ value: string | null }>(
          sql`select ${sql.identifier(column)}::text as value from ${sql.identifier(table)}`,
        )
      ).map((row) => row.value);
      checked.push(`${table}.${column}`);
      for (const value of values) {
        if (column === 'token_hash') {
          expect(value, `${table}.${column}`).toMatch(/^[0-9a-f]{64}$/);
          storedHashes.push(value ?? '');
        } else if (column === 'password_hash') {
          expect(value, `${table}.${column}`).toMatch(/^scrypt\$/);
        } else {
          throw new Error(
            `${table}.${column} looks like it holds a secret; store it hashed and add a check here`,
          );
        }
      }
    }
    expect(checked).toEqual(
      expect.arrayContaining([
        'agents.token_hash',
        'api_tokens.token_hash',
        'enrollment_tokens.token_hash',
        'sessions.token_hash',
        'users.password_hash',
      ]),
    );
    for (const token of issuedTokens) expect(storedHashes).toContain(hashToken(token));
  });

  it('keeps only a short prefix of each token for display', async () => {
    const prefixes = await app.database.rows<{ prefix: string }>(sql`
      select token_prefix as prefix from api_tokens
      union all select token_prefix from enrollment_tokens`);
    expect(prefixes.length).toBeGreaterThanOrEqual(3);
    for (const { prefix } of prefixes) expect(prefix.length).toBeLessThanOrEqual(12);
  });
});
