import { sql } from 'drizzle-orm';
import type { RequestHandler } from 'express';
import { migrationsAreCurrent } from '../db/migrateDatabase.js';
import type { AppContext } from '../http/appContext.js';

/** How long /readyz waits for the database before calling it unreachable. */
export const readinessTimeoutMs = 2_000;

export interface ReadinessCheck {
  ok: boolean;
  /** What failed and what to do; present only when ok is false. */
  message?: string;
}

export interface Readiness {
  status: 'ready' | 'not_ready';
  checks: { database: ReadinessCheck; migrations: ReadinessCheck };
}

class ReadinessTimeout extends Error {}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new ReadinessTimeout()), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Whether this replica can serve: the database answers `select 1` within readinessTimeoutMs,
 * and every committed migration is applied (a replica of an older version sees a newer schema as
 * current; a database restored from an old backup is not). The caller gets short messages; the
 * database's own error goes to the log, not to an unauthenticated probe.
 */
export async function checkReadiness(context: AppContext): Promise<Readiness> {
  const { database, logger } = context;
  let databaseCheck: ReadinessCheck = { ok: true };
  try {
    await withTimeout(database.rows(sql`select 1 as one`), readinessTimeoutMs);
  } catch (error) {
    const timedOut = error instanceof ReadinessTimeout;
    if (!timedOut) logger.warn({ err: error }, 'readiness: the database query failed');
    databaseCheck = {
      ok: false,
      message: timedOut
        ? `the database did not answer within ${readinessTimeoutMs} ms`
        : 'the database query failed; the server log has the cause',
    };
  }
  let migrationsCheck: ReadinessCheck;
  if (!databaseCheck.ok) {
    migrationsCheck = { ok: false, message: 'not checked: the database is unreachable' };
  } else {
    const current = await withTimeout(migrationsAreCurrent(database), readinessTimeoutMs).catch(
      () => false,
    );
    migrationsCheck = current
      ? { ok: true }
      : { ok: false, message: 'migrations are pending; run `cronfleet-backend migrate`' };
  }
  return {
    status: databaseCheck.ok && migrationsCheck.ok ? 'ready' : 'not_ready',
    checks: { database: databaseCheck, migrations: migrationsCheck },
  };
}

/** GET /readyz: 200 {status:'ready', checks} or 503 {status:'not_ready', checks}. */
export function readinessHandler(context: AppContext): RequestHandler {
  return async (_request, response) => {
    const readiness = await checkReadiness(context);
    response.setHeader('Cache-Control', 'no-store');
    response.status(readiness.status === 'ready' ? 200 : 503).json(readiness);
  };
}
