import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../db/database.js';
import type { AppContext } from '../http/appContext.js';
import { notifyRowsExpression } from '../events/liveEventChannel.js';
import { durationText } from '../monitoring/incidentWording.js';
import { startPeriodicTask, type PeriodicTask } from './periodicTask.js';

/** Runs marked per statement: short transactions, short locks. */
export const lostRunBatchSize = 1000;

export interface LostRunOptions {
  now: Date;
  /** For runs whose job instance sets no maxRuntime (or is no longer in any inventory). */
  defaultMaxRuntimeSeconds: number;
  batchSize?: number;
}

/**
 * Marks one batch of runs `lost` and answers how many: runs still `running` whose job instance's
 * monitoring.maxRuntimeSeconds (else `defaultMaxRuntimeSeconds`) has passed since they started,
 * and whose agent has gone silent (no heartbeat for 3 of its intervals), because their finish
 * will never come (the wrapper was killed, the host died, the spool was lost). An agent that
 * heartbeats lists the runs it still has running, and those it no longer lists are marked lost at
 * once (see markVanishedRuns): a run it lists is alive however long it takes, and the monitoring
 * worker reports it as overrunning. finished_at becomes the moment they were declared lost;
 * duration_ms stays null, since how long they really ran is unknown; the reason says which limit
 * passed ("no finish within maxRuntime 3h").
 *
 * finish_received stays false, so a finish that arrives later still wins: the run becomes
 * succeeded or failed with its real end, as if it had never been lost (a start replayed later is
 * a duplicate and changes nothing).
 *
 * The rows are picked with FOR UPDATE SKIP LOCKED: replicas running this at once mark disjoint
 * batches, and a run whose check-in is being written right now is left for the next pass. The
 * scan reads the partial index runs_running_idx, so it costs what the running runs cost.
 */
export async function markLostRunBatch(
  database: DatabaseHandle,
  options: LostRunOptions,
): Promise<number> {
  const nowText = options.now.toISOString();
  const defaultReason = `no finish within ${durationText(options.defaultMaxRuntimeSeconds * 1000)} (the job sets no maxRuntime, or is no longer in its agent's inventory)`;
  const [row] = await database.rows<{ marked: number }>(sql`
    with lost as (
    update runs set status = 'lost', finished_at = ${nowText}::timestamptz,
      updated_at = ${nowText}::timestamptz,
      reason = overdue.reason
    from (
      select r.id, case when j.max_runtime_seconds is null then ${defaultReason}::text
        else 'no finish within maxRuntime ' || case
          when j.max_runtime_seconds % 3600 = 0 then (j.max_runtime_seconds / 3600) || 'h'
          when j.max_runtime_seconds % 60 = 0 then (j.max_runtime_seconds / 60) || 'm'
          else j.max_runtime_seconds || 's' end
        end as reason
      from runs r
      join agents a on a.id = r.agent_id
      left join job_instances j on j.agent_id = r.agent_id and j.namespace = r.namespace
        and j.name = r.name and j.organization_id = r.organization_id
      where r.status = 'running'
        and (a.last_heartbeat_at is null or a.last_heartbeat_at < ${nowText}::timestamptz
          - 3 * a.heartbeat_interval_seconds * interval '1 second')
        and r.started_at + coalesce(j.max_runtime_seconds, ${options.defaultMaxRuntimeSeconds})
          * interval '1 second' < ${nowText}::timestamptz
      order by r.started_at
      limit ${options.batchSize ?? lostRunBatchSize}
      for update of r skip locked
    ) as overdue
    where runs.id = overdue.id and runs.status = 'running'
    returning runs.organization_id, runs.run_id)
    -- The dashboard's live events: one NOTIFY per chunk of runs marked, in this statement.
    select (select count(*)::int from lost) as marked,
      ${notifyRowsExpression('run', sql`lost`, sql`organization_id`, sql`run_id`)} as notified`);
  return Number(row?.marked ?? 0);
}

/**
 * Marks every overdue running run lost, batch after batch, until a batch comes back short (or
 * `shouldStop` says so). Answers the number marked.
 */
export async function markLostRuns(
  database: DatabaseHandle,
  options: LostRunOptions & { shouldStop?: () => boolean },
): Promise<number> {
  const batchSize = options.batchSize ?? lostRunBatchSize;
  let total = 0;
  for (;;) {
    const marked = await markLostRunBatch(database, { ...options, batchSize });
    total += marked;
    if (marked < batchSize || options.shouldStop?.() === true) return total;
  }
}

export interface LostRunWorkerOptions {
  /** Time between passes; default one minute. */
  intervalMs?: number;
  batchSize?: number;
  /** Delay of the first pass; default a random part of the first tenth of the interval. */
  initialDelayMs?: number;
}

/**
 * Marks overdue running runs lost every `intervalMs` (see markLostRunBatch), with
 * `config.lostRunAfterHours` for jobs without a maxRuntime. Safe on every replica at once (SKIP
 * LOCKED). `runOnce()` runs a pass now and answers how many runs it marked; `stop()` ends the
 * schedule after the current batch.
 */
export function startLostRunWorker(
  context: AppContext,
  options: LostRunWorkerOptions = {},
): PeriodicTask<number> {
  let stopping = false;
  const task = startPeriodicTask({
    name: 'lost-runs',
    intervalMs: options.intervalMs ?? 60_000,
    ...(options.initialDelayMs === undefined ? {} : { initialDelayMs: options.initialDelayMs }),
    logger: context.logger,
    run: async () => {
      const marked = await markLostRuns(context.database, {
        now: context.now(),
        defaultMaxRuntimeSeconds: context.config.lostRunAfterHours * 3600,
        ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
        shouldStop: () => stopping,
      });
      if (marked > 0) {
        context.logger.info({ worker: 'lost-runs', marked }, 'marked overdue running runs lost');
      }
      return marked;
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
