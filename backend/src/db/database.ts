import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
import type { Logger } from 'pino';
import { createDataDirectory, describeRepairs, secureDataDirectory } from './dataDirectoryModes.js';
import * as schema from './schema.js';

/** The drizzle database, whichever driver is behind it. */
export type Database = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface DatabaseHandle {
  readonly db: Database;
  readonly driver: 'postgres' | 'pglite';
  /** Runs raw SQL and returns its rows, whatever the driver. */
  rows<Row>(query: SQL): Promise<Row[]>;
  /**
   * Like {@link rows}, as a named prepared statement on PostgreSQL: each connection parses it once
   * and, after a few runs, plans it once. For the hot statements (check-ins, heartbeats), whose
   * text never changes; drizzle sends everything else unprepared. PGlite runs it like `rows`.
   */
  preparedRows<Row>(query: SQL): Promise<Row[]>;
  /**
   * Like {@link rows}, in a transaction whose statements PostgreSQL cancels after `timeoutMs`
   * (SQLSTATE 57014, see {@link isStatementTimeout}). PGlite has no timer to cancel with: there it
   * runs like `rows`.
   */
  rowsWithin<Row>(timeoutMs: number, query: SQL): Promise<Row[]>;
  /**
   * LISTEN on a channel (PostgreSQL only): `onMessage` gets each NOTIFY payload, `onListen` runs
   * each time the subscription is (re)established, since notifications sent while disconnected
   * are lost. Resolves once listening, with a function that stops it.
   */
  listen?(
    channel: string,
    onMessage: (payload: string) => void,
    onListen: () => void,
  ): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; absent: embedded PGlite in dataDir. */
  databaseUrl?: string | undefined;
  /** PGlite's directory, or `memory://` for a throw-away in-memory database. */
  dataDir: string;
  poolSize?: number;
  /** Where a repair of the data directory's modes is reported (embedded PGlite). */
  logger?: Pick<Logger, 'warn' | 'info'> | undefined;
}

/**
 * Makes PGlite's data directory private before it opens (see dataDirectoryModes.ts). A directory
 * that others could enter (a loosened mode, or one made by a version before this check) is
 * reported as a warning: its files were exposed until now.
 */
async function openPrivateDataDirectory(options: DatabaseOptions): Promise<void> {
  const { dataDir, logger } = options;
  await createDataDirectory(dataDir);
  const repairs = await secureDataDirectory(dataDir);
  if (repairs.length === 0) return;
  const top = repairs.find((repair) => repair.path === dataDir);
  const details = {
    dataDir,
    repaired: repairs.length,
    examples: describeRepairs(repairs),
  };
  if (top !== undefined && (top.from & 0o077) !== 0) {
    logger?.warn(
      details,
      `the embedded database's data directory was open to other users (mode ${top.from.toString(8).padStart(4, '0')}); repaired: directories 0700, files 0600. Check who could read it, and change passwords and tokens if others could`,
    );
  } else {
    // Files PGlite created while it last ran, inside a directory nobody else could enter.
    logger?.info(details, "the embedded database's file modes were repaired (files 0600)");
  }
}

/**
 * Whether PostgreSQL cancelled a statement for running past its statement_timeout (drizzle wraps
 * the driver's error: its `cause` carries the SQLSTATE).
 */
export function isStatementTimeout(error: unknown): boolean {
  let cause = error;
  for (let depth = 0; depth < 5 && typeof cause === 'object' && cause !== null; depth += 1) {
    if ((cause as { code?: unknown }).code === '57014') return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

/** Runs raw SQL on a database or a transaction and returns its rows, whatever the driver. */
export async function queryRows<Row>(executor: Database, query: SQL): Promise<Row[]> {
  return rowsOf<Row>(await executor.execute(query));
}

function rowsOf<Row>(result: unknown): Row[] {
  // postgres.js answers an array of rows; PGlite an object with `rows`.
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}

/**
 * postgres.js options for a DATABASE_URL. A libpq-style `?host=/run/postgresql` (a directory) means
 * PostgreSQL's Unix socket in that directory, which postgres.js takes as the `path` option: on a
 * machine that also runs the database, it spares every statement the TCP loopback.
 */
export function postgresConnection(databaseUrl: string): { url: string; path?: string } {
  const url = new URL(databaseUrl);
  const socketDirectory = url.searchParams.get('host');
  if (socketDirectory === null || !socketDirectory.startsWith('/')) return { url: databaseUrl };
  url.searchParams.delete('host');
  const port = url.port === '' ? '5432' : url.port;
  return { url: url.toString(), path: `${socketDirectory.replace(/\/$/, '')}/.s.PGSQL.${port}` };
}

/**
 * Opens PostgreSQL through postgres.js when a URL is given, else embedded PGlite (one process,
 * data on local disk: for a laptop or a single small installation).
 */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl !== undefined) {
    const { url, path } = postgresConnection(options.databaseUrl);
    const client = postgres(url, {
      ...(path === undefined ? {} : { path }),
      max: options.poolSize ?? 10,
      onnotice: () => {},
      connection: { application_name: 'cronfleet-backend' },
    });
    const db = drizzlePostgres(client, { schema }) as unknown as Database;
    const dialect = new PgDialect();
    return {
      db,
      driver: 'postgres',
      rows: async <Row>(query: SQL) => rowsOf<Row>(await db.execute(query)),
      rowsWithin: <Row>(timeoutMs: number, query: SQL) =>
        db.transaction(async (tx) => {
          // SET takes no parameters: the value is a number checked here.
          const milliseconds = Math.max(1, Math.trunc(timeoutMs));
          await tx.execute(sql.raw(`set local statement_timeout = ${milliseconds}`));
          return rowsOf<Row>(await tx.execute(query));
        }),
      preparedRows: async <Row>(query: SQL) => {
        const { sql: text, params } = dialect.sqlToQuery(query);
        return [
          ...(await client.unsafe(text, params as postgres.ParameterOrJSON<never>[], {
            prepare: true,
          })),
        ] as Row[];
      },
      listen: async (channel, onMessage, onListen) => {
        const subscription = await client.listen(channel, onMessage, onListen);
        return () => subscription.unlisten();
      },
      close: () => client.end({ timeout: 5 }),
    };
  }
  const onDisk = !options.dataDir.startsWith('memory://');
  if (onDisk) await openPrivateDataDirectory(options);
  const client = new PGlite(options.dataDir);
  await client.waitReady;
  // The files a new data directory was just created with (0666 by PGlite).
  if (onDisk) await secureDataDirectory(options.dataDir);
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    driver: 'pglite',
    rows: async <Row>(query: SQL) => rowsOf<Row>(await db.execute(query)),
    rowsWithin: async <Row>(_timeoutMs: number, query: SQL) => rowsOf<Row>(await db.execute(query)),
    preparedRows: async <Row>(query: SQL) => rowsOf<Row>(await db.execute(query)),
    close: async () => {
      await client.close();
      // And the files it created while it ran.
      if (onDisk) await secureDataDirectory(options.dataDir);
    },
  };
}
