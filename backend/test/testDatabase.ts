import { randomBytes } from 'node:crypto';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { migrateDatabase } from '../src/db/migrateDatabase.js';

/**
 * A fresh, migrated database for one test file: a new database on the PostgreSQL server of
 * DATABASE_URL when it is set (CI sets it), else an in-memory PGlite. `close()` drops it.
 */
export interface TestDatabase extends DatabaseHandle {
  /** The URL of the test database (PostgreSQL only). */
  readonly url: string | undefined;
}

export const testDatabaseUrl = process.env.DATABASE_URL;

export async function createTestDatabase(
  options: { migrate?: boolean } = {},
): Promise<TestDatabase> {
  const migrate = options.migrate ?? true;
  if (testDatabaseUrl === undefined || testDatabaseUrl === '') {
    const handle = await openDatabase({ dataDir: 'memory://' });
    if (migrate) await migrateDatabase(handle);
    return { ...handle, url: undefined };
  }
  const name = `cronfleet_test_${randomBytes(6).toString('hex')}`;
  const admin = postgres(testDatabaseUrl, { max: 1, onnotice: () => {} });
  await admin.unsafe(`create database ${name}`);
  const url = new URL(testDatabaseUrl);
  url.pathname = `/${name}`;
  const handle = await openDatabase({ databaseUrl: url.toString(), dataDir: 'memory://' });
  if (migrate) await migrateDatabase(handle);
  return {
    ...handle,
    url: url.toString(),
    close: async () => {
      await handle.close();
      await admin.unsafe(`drop database if exists ${name} with (force)`);
      await admin.end({ timeout: 5 });
    },
  };
}

/** Table names of the public schema, for tests that read every table. */
export async function publicTables(database: DatabaseHandle): Promise<string[]> {
  const rows = await database.rows<{ table_name: string }>(
    sql`select table_name from information_schema.tables where table_schema = 'public' order by table_name`,
  );
  return rows.map((row) => row.table_name);
}
