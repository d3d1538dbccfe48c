import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createServer } from '../../src/createApp.js';
import { openDatabase } from '../../src/db/database.js';
import { loadBackendConfig, type BackendConfig } from '../../src/env.js';
import type { AppContext } from '../../src/http/appContext.js';
import { createTestDatabase, type TestDatabase } from '../testDatabase.js';
import { loopbackOnly } from './notificationFixtures.js';

/**
 * The real app for the notification tests, like testApp.ts, with what these tests need besides:
 * every log line kept (to look for secrets in), a clock the test moves, a secrets key of its
 * own (never a key file in the working directory), loopback allowed for the local receivers,
 * and a second replica on the same PostgreSQL database.
 */
export interface NotificationTestApp {
  baseUrl: string;
  database: TestDatabase;
  context: AppContext;
  logLines: string[];
  setNow(now: Date | undefined): void;
  close(): Promise<void>;
}

export const testSecretsKey = randomBytes(32).toString('base64');

export async function startNotificationTestApp(
  options: { database?: TestDatabase; config?: Partial<BackendConfig> } = {},
): Promise<NotificationTestApp> {
  const database = options.database ?? (await createTestDatabase());
  const logLines: string[] = [];
  let fixedNow: Date | undefined;
  const context: AppContext = {
    database,
    config: {
      ...loadBackendConfig({}),
      frontendDir: '/nonexistent',
      secretsKey: testSecretsKey,
      notificationAllowedNetworks: loopbackOnly,
      ...options.config,
    },
    logger: pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }),
    now: () => fixedNow ?? new Date(),
    validateResponses: true,
  };
  const server: Server = createServer(context).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    database,
    context,
    logLines,
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

/** Another replica: its own app, pool and clock on the PostgreSQL database of `primary`. */
export async function startNotificationReplica(
  primary: NotificationTestApp,
): Promise<NotificationTestApp> {
  const url = primary.database.url;
  if (url === undefined) throw new Error('replicas need PostgreSQL (set DATABASE_URL)');
  const handle = await openDatabase({ databaseUrl: url, dataDir: 'memory://' });
  return startNotificationTestApp({ database: { ...handle, url } });
}
