import { mkdir } from 'node:fs/promises';
import { PGlite } from '@electric-sql/pglite';
import type { SQL } from 'drizzle-orm';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
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
  close(): Promise<void>;
}

export interface DatabaseOptions {
  /** postgres:// URL; absent: embedded PGlite in dataDir. */
  databaseUrl?: string | undefined;
  /** PGlite's directory, or `memory://` for a throw-away in-memory database. */
  dataDir: string;
  poolSize?: number;
}

function rowsOf<Row>(result: unknown): Row[] {
  // postgres.js answers an array of rows; PGlite an object with `rows`.
  if (Array.isArray(result)) return result as Row[];
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}

/**
 * Opens PostgreSQL through postgres.js when a URL is given, else embedded PGlite (one process,
 * data on local disk: for a laptop or a single small installation).
 */
export async function openDatabase(options: DatabaseOptions): Promise<DatabaseHandle> {
  if (options.databaseUrl !== undefined) {
    const client = postgres(options.databaseUrl, {
      max: options.poolSize ?? 10,
      onnotice: () => {},
      connection: { application_name: 'cronfleet-backend' },
    });
    const db = drizzlePostgres(client, { schema }) as unknown as Database;
    return {
      db,
      driver: 'postgres',
      rows: async <Row>(query: SQL) => rowsOf<Row>(await db.execute(query)),
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
    close: () => client.close(),
  };
}
