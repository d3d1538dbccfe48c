import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import { sql, type SQL } from 'drizzle-orm';
import { PgDialect, type PgDatabase, type PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { drizzle as drizzlePostgres } from 'drizzle-orm/postgres-js';
import postgres from 'postgres';
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
  if (!options.dataDir.startsWith('memory://')) await mkdir(options.dataDir, { recursive: true });
  const client = new PGlite(options.dataDir);
  await client.waitReady;
  const db = drizzlePglite(client, { schema }) as unknown as Database;
  return {
    db,
    driver: 'pglite',
    rows: async <Row>(query: SQL) => rowsOf<Row>(await db.execute(query)),
    rowsWithin: async <Row>(_timeoutMs: number, query: SQL) => rowsOf<Row>(await db.execute(query)),
    preparedRows: async <Row>(query: SQL) => rowsOf<Row>(await db.execute(query)),
    close: () => client.close(),
  };
}
