import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { readMigrationFiles, type MigrationMeta } from 'drizzle-orm/migrator';
import type { DatabaseHandle } from './database.js';

/** The committed migrations (drizzle-kit's SQL files and journal). */
export const migrationsFolder = fileURLToPath(new URL('../../drizzle', import.meta.url));

/**
 * The advisory lock key that serialises migrations across replicas: `cronfleet:migrations`
 * hashed to a bigint once, written here so every version agrees.
 */
const migrationLockKey = 7_261_830_145_921n;

export class MigrationError extends Error {
  override readonly name = 'MigrationError';
}

export interface MigrationOutcome {
  /** Migrations applied by this call (0 when the database was current). */
  applied: number;
  /** Migrations the database now has. */
  total: number;
}

function loadMigrations(): MigrationMeta[] {
  return readMigrationFiles({ migrationsFolder });
}

/**
 * Applies the pending migrations in one transaction that holds a PostgreSQL advisory lock, so
 * any number of replicas may start at once: one migrates, the others wait and then find nothing
 * to do. A failing migration rolls the transaction back (PostgreSQL DDL is transactional) and
 * throws MigrationError: the caller must not start serving. The bookkeeping table is drizzle's
 * own (drizzle.__drizzle_migrations), so drizzle-kit's tools keep working.
 */
export async function migrateDatabase(handle: DatabaseHandle): Promise<MigrationOutcome> {
  const migrations = loadMigrations();
  try {
    return await handle.db.transaction(async (tx) => {
      await tx.execute(sql`select pg_advisory_xact_lock(${migrationLockKey})`);
      await tx.execute(sql`create schema if not exists drizzle`);
      await tx.execute(
        sql`create table if not exists drizzle.__drizzle_migrations (id serial primary key, hash text not null, created_at bigint)`,
      );
      const lastRows = await tx.execute(
        sql`select max(created_at)::text as last from drizzle.__drizzle_migrations`,
      );
      const last = Number(
        (Array.isArray(lastRows) ? lastRows : (lastRows as { rows: unknown[] }).rows)
          .map((row) => (row as { last: string | null }).last)
          .find((value) => value !== null) ?? 0,
      );
      let applied = 0;
      for (const migration of migrations) {
        if (migration.folderMillis <= last) continue;
        for (const statement of migration.sql) {
          if (statement.trim() !== '') await tx.execute(sql.raw(statement));
        }
        await tx.execute(
          sql`insert into drizzle.__drizzle_migrations (hash, created_at) values (${migration.hash}, ${migration.folderMillis})`,
        );
        applied += 1;
      }
      return { applied, total: migrations.length };
    });
  } catch (error) {
    throw new MigrationError(
      `database migration failed, nothing was changed: ${rootCause(error)}`,
      {
        cause: error,
      },
    );
  }
}

/** The database's own words: drizzle wraps them in "Failed query: <the whole SQL>". */
function rootCause(error: unknown): string {
  let current = error;
  while (current instanceof Error && current.cause instanceof Error) current = current.cause;
  return current instanceof Error ? current.message : String(current);
}

/** Whether every committed migration is applied (for /readyz). */
export async function migrationsAreCurrent(handle: DatabaseHandle): Promise<boolean> {
  const migrations = loadMigrations();
  const newest = migrations.at(-1)?.folderMillis ?? 0;
  try {
    const rows = await handle.rows<{ last: string | null }>(
      sql`select max(created_at)::text as last from drizzle.__drizzle_migrations`,
    );
    return Number(rows[0]?.last ?? 0) >= newest;
  } catch {
    return false;
  }
}
