import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createServer } from '../src/createApp.js';
import { openDatabase } from '../src/db/database.js';
import { loadBackendConfig, type BackendConfig } from '../src/env.js';
import type { AppContext } from '../src/http/appContext.js';
import { createTestDatabase, type TestDatabase } from './testDatabase.js';

export interface TestApp {
  baseUrl: string;
  database: TestDatabase;
  context: AppContext;
  /** Moves the app's clock (the default is the real time). */
  setNow(now: Date | undefined): void;
  close(): Promise<void>;
}

/**
 * The real app on a fresh database (PostgreSQL when DATABASE_URL is set, else PGlite), listening
 * on an ephemeral port of 127.0.0.1. Responses are validated against their schemas.
 */
export async function startTestApp(overrides: Partial<BackendConfig> = {}): Promise<TestApp> {
  return serveTestApp(await createTestDatabase(), overrides);
}

/**
 * A second replica of `primary`: its own app and connection pool on the same PostgreSQL
 * database, as N stateless replicas behind a load balancer would run. PostgreSQL only.
 */
export async function startTestReplica(primary: TestApp): Promise<TestApp> {
  const url = primary.database.url;
  if (url === undefined) throw new Error('replicas need PostgreSQL (set DATABASE_URL)');
  const handle = await openDatabase({ databaseUrl: url, dataDir: 'memory://' });
  return serveTestApp({ ...handle, url }, {});
}

async function serveTestApp(
  database: TestDatabase,
  overrides: Partial<BackendConfig>,
): Promise<TestApp> {
  let fixedNow: Date | undefined;
  const context: AppContext = {
    database,
    config: { ...loadBackendConfig({}), frontendDir: '/nonexistent', ...overrides },
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    now: () => fixedNow ?? new Date(),
    validateResponses: true,
  };
  const server: Server = createServer(context).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    database,
    context,
    setNow: (now) => {
      fixedNow = now;
    },
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.close();
    },
  };
}
