import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { pino, type Logger } from 'pino';
import { runBootstrapCommand } from './auth/bootstrapCommand.js';
import { installationHasUsers } from './auth/bootstrapInstallation.js';
import { listenForCredentialChanges } from './http/credentialCache.js';
import { createServer } from './createApp.js';
import { createLogger } from './http/requestLogging.js';
import { runOrganizationCommand } from './organizations/organizationCommand.js';
import { startMonitorWorker } from './monitoring/monitorWorker.js';
import { startNotificationDeliveryWorker } from './notifications/deliveryWorker.js';
import { startLostRunWorker } from './workers/lostRunWorker.js';
import { startRetentionWorker } from './workers/retentionWorker.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { MigrationError, migrateDatabase } from './db/migrateDatabase.js';
import { ConfigError, loadBackendConfig, type BackendConfig } from './env.js';

const usage = `Usage: cronfleet-backend <command>

Commands:
  serve     migrate the database, then serve the API and the dashboard
  migrate   apply pending database migrations and exit
  bootstrap --org NAME --email EMAIL [--name NAME] --password-stdin
            create the first organization and its admin (only while no user exists)
  org create --name NAME --admin-email EMAIL [--admin-name NAME] --password-stdin
            create an organization with that admin (a new account, or an existing one)

Configuration comes from the environment (PORT, DATABASE_URL or CRONFLEET_DATA_DIR, …);
see docs/operations.md.`;

async function openMigratedDatabase(
  config: BackendConfig,
  logger: Logger,
): Promise<DatabaseHandle> {
  const database = await openDatabase({
    databaseUrl: config.databaseUrl,
    dataDir: config.dataDir,
    poolSize: config.databasePoolSize,
    logger,
  });
  try {
    const outcome = await migrateDatabase(database);
    logger.info({ ...outcome, driver: database.driver }, 'database migrations');
    return database;
  } catch (error) {
    await database.close();
    throw error;
  }
}

async function serve(config: BackendConfig, logger: Logger): Promise<void> {
  const database = await openMigratedDatabase(config, logger);
  const context = {
    database,
    config,
    logger,
    now: () => new Date(),
    validateResponses: false,
  };
  const server = createServer(context);
  // Other replicas' agent revocations evict this replica's cached agent credentials.
  const stopListening = await listenForCredentialChanges(context);
  // Background workers: safe on every replica at once (SKIP LOCKED); CRONFLEET_WORKERS=false
  // keeps them off this process.
  const workers = config.workers
    ? [
        startRetentionWorker(context),
        startLostRunWorker(context),
        startMonitorWorker(context),
        startNotificationDeliveryWorker(context),
      ]
    : [];
  server.listen(config.port, config.host);
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host}:${port}`;
  logger.info({ url, driver: database.driver }, 'cronfleet backend listening');
  process.stdout.write(
    `Cronfleet backend listening on ${url} (dashboard: /, API: /api/v1, health: /healthz)\n` +
      (database.driver === 'pglite' ? `Embedded database in ${config.dataDir}\n` : ''),
  );
  if (!(await installationHasUsers(database.db))) {
    process.stdout.write(
      `No users yet. Create the first organization and admin with:\n` +
        `  curl -sS -X POST ${url}/api/v1/auth/bootstrap -H 'content-type: application/json' \\\n` +
        `    -d '{"organizationName":"Acme","email":"admin@example.com","password":"at least 12 characters"}'\n` +
        `or, with this server stopped (or on PostgreSQL), run:\n` +
        `  cronfleet-backend bootstrap --org NAME --email EMAIL --password-stdin\n`,
    );
  }
  let stopping = false;
  const stop = () => {
    if (stopping) return;
    stopping = true;
    logger.info('stopping');
    server.close(() => {
      void Promise.all(workers.map((worker) => worker.stop()))
        .then(() => stopListening())
        .then(() => database.close())
        .finally(() => process.exit(0));
    });
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (
    command !== 'serve' &&
    command !== 'migrate' &&
    command !== 'bootstrap' &&
    command !== 'org'
  ) {
    process.stderr.write(
      `${command === undefined ? 'Missing command' : `Unknown command "${command}"`}\n${usage}\n`,
    );
    return 2;
  }
  const config = loadBackendConfig();
  if (command === 'bootstrap') {
    // Only warnings and errors, on stderr: stdout says what was created.
    const quiet = pino({ level: 'warn' }, pino.destination(2));
    return runBootstrapCommand(argv.slice(1), () => openMigratedDatabase(config, quiet), {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
    });
  }
  if (command === 'org') {
    const quiet = pino({ level: 'warn' }, pino.destination(2));
    return runOrganizationCommand(argv.slice(1), () => openMigratedDatabase(config, quiet), {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
    });
  }
  const logger = createLogger({ level: config.logLevel });
  if (command === 'migrate') {
    const database = await openMigratedDatabase(config, logger);
    await database.close();
    return 0;
  }
  await serve(config, logger);
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    const known = error instanceof ConfigError || error instanceof MigrationError;
    process.stderr.write(
      `${known ? (error as Error).message : String((error as Error)?.stack ?? error)}\n`,
    );
    process.exitCode = known ? 2 : 1;
  },
);
