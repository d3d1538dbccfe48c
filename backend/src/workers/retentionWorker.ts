import { sql, type SQL } from 'drizzle-orm';
import type { DatabaseHandle } from '../db/database.js';
import type { AppContext } from '../http/appContext.js';
import { startPeriodicTask, type PeriodicTask } from './periodicTask.js';

const dayMs = 24 * 60 * 60 * 1000;

/** Rows deleted per statement: short transactions, short locks. */
export const retentionBatchSize = 1000;

/**
 * Deletes one batch of runs recorded before `cutoff` (by created_at, which is indexed) and
 * answers how many. The rows are picked with FOR UPDATE SKIP LOCKED, so replicas running this at
 * the same moment delete disjoint batches and never wait on each other.
 */
export async function deleteExpiredRunBatch(
  database: DatabaseHandle,
  cutoff: Date,
  batchSize = retentionBatchSize,
): Promise<number> {
  const rows = await database.rows<{ id: number | string }>(sql`
    delete from runs
    where id in (
      select id from runs
      where created_at < ${cutoff.toISOString()}::timestamptz
      order by created_at
      limit ${batchSize}
      for update skip locked
    )
    returning id`);
  return rows.length;
}

/**
 * Deletes every run recorded more than `retentionDays` before `now`, batch after batch, until
 * a batch comes back short (or `shouldStop` says so). Answers the number deleted.
 */
export async function deleteExpiredRuns(
  database: DatabaseHandle,
  options: { now: Date; retentionDays: number; batchSize?: number; shouldStop?: () => boolean },
): Promise<number> {
  const cutoff = new Date(options.now.getTime() - options.retentionDays * dayMs);
  const batchSize = options.batchSize ?? retentionBatchSize;
  let total = 0;
  for (;;) {
    const deleted = await deleteExpiredRunBatch(database, cutoff, batchSize);
    total += deleted;
    if (deleted < batchSize || options.shouldStop?.() === true) return total;
  }
}

/**
 * Deletes, batch after batch (SKIP LOCKED, like the runs), the rows of `table` whose id the
 * query `expired` selects (ordered, at most `limit`), and answers how many.
 */
async function deleteInBatches(
  database: DatabaseHandle,
  table: 'agent_commands' | 'incidents' | 'notification_deliveries',
  expired: (limit: number) => SQL,
  batchSize: number,
): Promise<number> {
  let total = 0;
  for (;;) {
    const rows = await database.rows<{ id: string }>(sql`
      delete from ${sql.identifier(table)}
      where id in (${expired(batchSize)} for update skip locked)
      returning id`);
    total += rows.length;
    if (rows.length < batchSize) return total;
  }
}

/**
 * Deletes the reconcile-now and run-now requests queued before `cutoff`, in batches like the
 * runs (SKIP LOCKED), and answers how many. They are history once delivered or expired; the
 * audit log keeps who asked for what.
 */
export async function deleteExpiredAgentCommands(
  database: DatabaseHandle,
  cutoff: Date,
  batchSize = retentionBatchSize,
): Promise<number> {
  return deleteInBatches(
    database,
    'agent_commands',
    (limit) => sql`select id from agent_commands
      where created_at < ${cutoff.toISOString()}::timestamptz order by created_at limit ${limit}`,
    batchSize,
  );
}

/**
 * Deletes the incidents resolved before `cutoff` (their timeline and notifications go with them)
 * and the notifications delivered or given up before it (a channel's test messages among them),
 * in batches like the runs; open incidents and pending deliveries are never deleted. The audit
 * log keeps who acknowledged and resolved what.
 */
export async function deleteExpiredMonitoringHistory(
  database: DatabaseHandle,
  cutoff: Date,
  batchSize = retentionBatchSize,
): Promise<number> {
  const before = sql`${cutoff.toISOString()}::timestamptz`;
  const incidents = await deleteInBatches(
    database,
    'incidents',
    (limit) => sql`select id from incidents
      where resolved_at < ${before} order by resolved_at limit ${limit}`,
    batchSize,
  );
  const deliveries = await deleteInBatches(
    database,
    'notification_deliveries',
    (limit) => sql`select id from notification_deliveries
      where status <> 'pending' and created_at < ${before} order by created_at limit ${limit}`,
    batchSize,
  );
  return incidents + deliveries;
}

export interface RetentionWorkerOptions {
  /** Time between passes; default one hour. */
  intervalMs?: number;
  /** Rows per DELETE; default 1,000. */
  batchSize?: number;
  /** Delay of the first pass; default a random part of the first tenth of the interval. */
  initialDelayMs?: number;
}

/**
 * Deletes runs older than `config.runRetentionDays` (by when they were recorded), agent commands
 * queued as long ago, and incidents resolved and notifications sent as long ago, every
 * `intervalMs`, in batches. Safe on every replica at once
 * (SKIP LOCKED). `runOnce()` runs a pass now and answers how many runs it deleted; `stop()` ends
 * the schedule after the current batch.
 */
export function startRetentionWorker(
  context: AppContext,
  options: RetentionWorkerOptions = {},
): PeriodicTask<number> {
  let stopping = false;
  const task = startPeriodicTask({
    name: 'retention',
    intervalMs: options.intervalMs ?? 60 * 60 * 1000,
    ...(options.initialDelayMs === undefined ? {} : { initialDelayMs: options.initialDelayMs }),
    logger: context.logger,
    run: async () => {
      const deleted = await deleteExpiredRuns(context.database, {
        now: context.now(),
        retentionDays: context.config.runRetentionDays,
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
        shouldStop: () => stopping,
      });
      const commandsDeleted = stopping
        ? 0
        : await deleteExpiredAgentCommands(
            context.database,
            new Date(context.now().getTime() - context.config.runRetentionDays * dayMs),
            options.batchSize,
          );
      const monitoringDeleted = stopping
        ? 0
        : await deleteExpiredMonitoringHistory(
            context.database,
            new Date(context.now().getTime() - context.config.runRetentionDays * dayMs),
            options.batchSize,
          );
      if (deleted > 0 || commandsDeleted > 0 || monitoringDeleted > 0) {
        context.logger.info(
          {
            worker: 'retention',
            deleted,
            commandsDeleted,
            monitoringDeleted,
            retentionDays: context.config.runRetentionDays,
          },
          'deleted expired runs',
        );
      }
      return deleted;
    },
  });
  return {
    runOnce: () => task.runOnce(),
    stop: async () => {
      stopping = true;
      await task.stop();
    },
  };
}
