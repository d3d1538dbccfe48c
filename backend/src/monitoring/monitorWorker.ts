import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { queryRows } from '../db/database.js';
import { dashboardUrlOf } from '../env.js';
import type { AppContext } from '../http/appContext.js';
import { startPeriodicTask, type PeriodicTask } from '../workers/periodicTask.js';
import {
  openIncident,
  realertIncident,
  resolveIncident,
  systemActor,
  updateIncident,
  type IncidentSubject,
  type LifecycleContext,
} from './incidentLifecycle.js';
import {
  judgeInstance,
  type FinishedStatus,
  type InstanceFacts,
  type JobHealth,
  type JobIncidentKind,
  type RunOutcome,
  type Transition,
} from './instanceVerdict.js';
import { describeFacts } from './incidentWording.js';

/**
 * The monitoring worker (docs/monitoring.md): every pass it
 * 1. advances its clock, noticing when the backend itself was down;
 * 2. opens an agent_offline incident for each agent silent for 3 heartbeat intervals (counted
 *    from the later of its last heartbeat and the backend's restart), and resolves those whose
 *    agent is back, moving its instances' judgement past the time it was away;
 * 3. marks due the instances with a new failure, or a run past maxRuntime;
 * 4. judges the due job instances (next_check_at ≤ now), a batch per transaction, the rows locked
 *    with SKIP LOCKED so replicas share the work and never judge one instance twice;
 * 5. re-alerts the open incidents whose monitoring.realertEvery has come round.
 * Every state change is compare-and-set, so N replicas make each transition once.
 */

export interface MonitorPassOptions {
  now: Date;
  /** Instances judged per transaction. */
  batchSize?: number;
  /** Stop judging after this many batches in one pass (the next pass goes on). */
  maxBatches?: number;
}

export interface MonitorPassResult {
  judged: number;
  opened: number;
  resolved: number;
  realerted: number;
  agentsOffline: number;
  agentsBack: number;
}

/** The worker's timing: the defaults serve production; tests shorten them. */
export interface MonitorTiming {
  /** A pass every this often. */
  intervalMs: number;
  /** A gap between passes longer than this: the backend (every replica) was down. */
  outageMs: number;
  /** How soon an instance with a problem is looked at again (a success may have ended it). */
  pollMs: number;
  /**
   * How soon an instance whose due fires wait for its agent's watermark is looked at again: the
   * agent heartbeats just after each fire time + grace of its jobs, so this is about one pass.
   */
  watermarkWaitMs: number;
  /** How soon an instance that nothing will change is looked at again. */
  idleMs: number;
  /** Agent heartbeats missed before it is offline. */
  offlineAfterIntervals: number;
  /** Fires judged per instance and look. */
  fireLimit: number;
}

export const defaultMonitorTiming: MonitorTiming = {
  intervalMs: 5_000,
  outageMs: 120_000,
  pollMs: 15_000,
  watermarkWaitMs: 5_000,
  idleMs: 3_600_000,
  offlineAfterIntervals: 3,
  fireLimit: 100,
};

const failureScanOverlapMs = 60_000;

const epochMs = (column: SQL) => sql`(extract(epoch from ${column}) * 1000)::float8`;
const at = (date: Date) => sql`${date.toISOString()}::timestamptz`;

interface DueRow {
  organization_id: string;
  agent_id: string;
  agent_name: string;
  namespace: string;
  name: string;
  schedule: string;
  timezone: string | null;
  suspended: boolean;
  grace_seconds: number;
  max_runtime_seconds: number | null;
  alert_after: number;
  recover_after: number;
  retry_limit: number;
  realert_every_seconds: number | null;
  notify: string[];
  labels: Record<string, string>;
  health: JobHealth;
  judged_through_ms: number;
  watermark_ms: number | null;
  agent_unavailable: boolean;
  ever_ran: boolean;
  overrun_since_ms: number | null;
  open_incidents: Record<string, { id: string; occurrences: number }>;
  manually_resolved_ms: number | null;
  runs_changed: boolean;
}

interface StartRow {
  i: number;
  scheduled_ms: number | null;
  started_ms: number;
}

interface OutcomeRow {
  i: number;
  run_id: string;
  status: FinishedStatus;
  attempt: number;
  finished_ms: number;
  tail: string;
  exit_code: number | null;
  reason: string | null;
}

function subjectOf(row: DueRow): IncidentSubject {
  return {
    organizationId: row.organization_id,
    agent: { id: row.agent_id, name: row.agent_name },
    job: {
      namespace: row.namespace,
      name: row.name,
      labels: row.labels,
      notify: row.notify,
      realertEverySeconds: row.realert_every_seconds,
      suspended: row.suspended,
    },
  };
}

/** Step 1: the clock. Answers since when the backend has been up without a gap. */
async function advanceClock(
  db: Database,
  now: Date,
  timing: MonitorTiming,
): Promise<{ upSince: Date; runsScannedThrough: Date }> {
  const [row] = await queryRows<{ up_since_ms: number; scanned_ms: number }>(
    db,
    sql`
    insert into monitor_clock (id, last_pass_at, up_since, runs_scanned_through)
    values (1, ${at(now)}, ${at(now)}, ${at(now)})
    on conflict (id) do update set
      up_since = case when monitor_clock.last_pass_at < ${at(now)} - ${timing.outageMs} * interval '1 millisecond'
        then ${at(now)} else monitor_clock.up_since end,
      last_pass_at = greatest(monitor_clock.last_pass_at, ${at(now)})
    returning ${epochMs(sql`up_since`)} as up_since_ms, ${epochMs(sql`runs_scanned_through`)} as scanned_ms`,
  );
  return { upSince: new Date(row!.up_since_ms), runsScannedThrough: new Date(row!.scanned_ms) };
}

/** Step 2: agents gone silent, and agents back. */
async function judgeAgents(
  db: Database,
  lifecycle: LifecycleContext,
  now: Date,
  upSince: Date,
  timing: MonitorTiming,
  result: MonitorPassResult,
): Promise<void> {
  const silent = await queryRows<{
    id: string;
    organization_id: string;
    name: string;
    interval_seconds: number;
    last_ms: number | null;
  }>(
    db,
    sql`
    select a.id, a.organization_id, a.name, a.heartbeat_interval_seconds as interval_seconds,
      ${epochMs(sql`a.last_heartbeat_at`)} as last_ms
    from agents a
    where a.revoked_at is null
      and greatest(coalesce(a.last_heartbeat_at, a.created_at), ${at(upSince)})
        < ${at(now)} - ${timing.offlineAfterIntervals} * a.heartbeat_interval_seconds * interval '1 second'
      and not exists (select 1 from incidents i where i.agent_id = a.id and i.kind = 'agent_offline'
        and i.resolved_at is null and i.namespace is null)`,
  );
  for (const agent of silent) {
    await db.transaction(async (tx) => {
      const subject: IncidentSubject = {
        organizationId: agent.organization_id,
        agent: { id: agent.id, name: agent.name },
        job: null,
      };
      const opened = await openIncident(
        tx,
        lifecycle,
        subject,
        'agent_offline',
        describeFacts.agentOffline(
          agent.interval_seconds,
          agent.last_ms === null ? null : new Date(agent.last_ms),
        ),
        now,
      );
      if (opened === null) return;
      result.opened += 1;
      result.agentsOffline += 1;
      await tx.execute(sql`
        update job_instances set health = 'unknown', health_since = ${at(now)}
        where agent_id = ${agent.id} and health <> 'unknown'`);
    });
  }

  const back = await queryRows<{
    incident_id: string;
    organization_id: string;
    agent_id: string;
    name: string;
    revoked: boolean;
    last_ms: number | null;
  }>(
    db,
    sql`
    select i.id as incident_id, i.organization_id, a.id as agent_id, a.name,
      a.revoked_at is not null as revoked, ${epochMs(sql`a.last_heartbeat_at`)} as last_ms
    from incidents i join agents a on a.id = i.agent_id
    where i.kind = 'agent_offline' and i.resolved_at is null and i.namespace is null
      and (a.revoked_at is not null or (a.last_heartbeat_at > i.opened_at
        and a.last_heartbeat_at >= ${at(now)} - ${timing.offlineAfterIntervals} * a.heartbeat_interval_seconds * interval '1 second'))`,
  );
  for (const agent of back) {
    await db.transaction(async (tx) => {
      const resolution = agent.revoked
        ? 'the agent was revoked'
        : `the agent sent a heartbeat at ${new Date(agent.last_ms!).toISOString()}`;
      const resolved = await resolveIncident(
        tx,
        lifecycle,
        {
          organizationId: agent.organization_id,
          agent: { id: agent.agent_id, name: agent.name },
          job: null,
        },
        agent.incident_id,
        resolution,
        systemActor,
        now,
      );
      if (!resolved) return;
      result.resolved += 1;
      result.agentsBack += 1;
      // The fires of its time away are covered by the agent's incident: judgement resumes now.
      await tx.execute(sql`
        update job_instances set judged_through = greatest(judged_through, ${at(now)}),
          next_check_at = ${at(now)}
        where agent_id = ${agent.agent_id}`);
    });
  }
}

/** Step 3: instances with a new failure, or a run past maxRuntime, are due now. */
async function markChangedInstancesDue(
  db: Database,
  now: Date,
  runsScannedThrough: Date,
): Promise<void> {
  const from = new Date(runsScannedThrough.getTime() - failureScanOverlapMs);
  await db.execute(sql`
    update job_instances j set next_check_at = least(j.next_check_at, ${at(now)}), runs_changed = true
    from (select distinct organization_id, agent_id, namespace, name from runs
      where status in ('failed', 'timed_out', 'lost')
        and updated_at > ${at(from)} and updated_at <= ${at(now)}) f
    where j.agent_id = f.agent_id and j.namespace = f.namespace and j.name = f.name
      and j.organization_id = f.organization_id
      and (j.next_check_at > ${at(now)} or not j.runs_changed)`);
  await db.execute(sql`
    update monitor_clock set runs_scanned_through = greatest(runs_scanned_through, ${at(now)})
    where id = 1`);
  await db.execute(sql`
    update job_instances j set next_check_at = ${at(now)}
    from runs r
    where r.status = 'running' and r.agent_id = j.agent_id and r.namespace = j.namespace
      and r.name = j.name and r.organization_id = j.organization_id
      and j.max_runtime_seconds is not null and not j.suspended
      and r.started_at < ${at(now)} - j.max_runtime_seconds * interval '1 second'
      and j.next_check_at > ${at(now)}
      and not exists (select 1 from incidents i where i.agent_id = j.agent_id
        and i.namespace = j.namespace and i.name = j.name and i.kind = 'overrun'
        and i.resolved_at is null)`);
}

/** Step 4, one batch: answers how many instances it judged (0: none was due). */
async function judgeDueBatch(
  tx: Database,
  lifecycle: LifecycleContext,
  now: Date,
  timing: MonitorTiming,
  batchSize: number,
  result: MonitorPassResult,
): Promise<number> {
  const due = await queryRows<DueRow>(
    tx,
    sql`
    select j.organization_id, j.agent_id, a.name as agent_name, j.namespace, j.name, j.schedule,
      j.timezone, j.suspended, j.grace_seconds, j.max_runtime_seconds, j.alert_after,
      j.recover_after, j.retry_limit, j.realert_every_seconds, j.notify, j.labels, j.health,
      j.runs_changed,
      ${epochMs(sql`j.judged_through`)} as judged_through_ms,
      ${epochMs(sql`a.delivered_through`)} as watermark_ms,
      (a.revoked_at is not null or exists (select 1 from incidents o where o.agent_id = a.id
        and o.kind = 'agent_offline' and o.resolved_at is null and o.namespace is null))
        as agent_unavailable,
      (j.health <> 'new' or exists (select 1 from runs r where r.organization_id = j.organization_id
        and r.namespace = j.namespace and r.name = j.name and r.agent_id = j.agent_id)) as ever_ran,
      (select ${epochMs(sql`min(r.started_at)`)} from runs r where r.agent_id = j.agent_id
        and r.status = 'running' and r.namespace = j.namespace and r.name = j.name
        and j.max_runtime_seconds is not null
        and r.started_at < ${at(now)} - j.max_runtime_seconds * interval '1 second') as overrun_since_ms,
      (select coalesce(jsonb_object_agg(i.kind, jsonb_build_object('id', i.id, 'occurrences', i.occurrences)), '{}'::jsonb)
        from incidents i where i.agent_id = j.agent_id and i.namespace = j.namespace
        and i.name = j.name and i.resolved_at is null) as open_incidents,
      (select ${epochMs(sql`max(i.resolved_at)`)} from incidents i where i.organization_id = j.organization_id
        and i.namespace = j.namespace and i.name = j.name and i.agent_id = j.agent_id
        and i.kind in ('failing', 'overrun')
        and i.resolved_by_type is not null) as manually_resolved_ms
    from job_instances j join agents a on a.id = j.agent_id
    where j.next_check_at <= ${at(now)}
    order by j.next_check_at
    limit ${batchSize}
    for update of j skip locked`,
  );
  if (due.length === 0) return 0;

  // Run history is read only where it can change a verdict: a run failed since the last look,
  // or a failing incident is open (a success may end it).
  const needOutcomes = (row: DueRow) => row.runs_changed || 'failing' in row.open_incidents;
  const keys = JSON.stringify(
    due.map((row, i) => ({
      i,
      organization_id: row.organization_id,
      agent_id: row.agent_id,
      namespace: row.namespace,
      name: row.name,
      after_ms: row.judged_through_ms,
      k: needOutcomes(row) ? Math.max(row.alert_after, row.recover_after) : 0,
      retry_limit: row.retry_limit,
    })),
  );
  const keyColumns = sql`jsonb_to_recordset(${keys}::jsonb) as d(i int, organization_id uuid,
    agent_id uuid, namespace text, name text, after_ms float8, k int, retry_limit int)`;
  const starts = await queryRows<StartRow>(
    tx,
    sql`
    select d.i, ${epochMs(sql`r.scheduled_at`)} as scheduled_ms, ${epochMs(sql`r.started_at`)} as started_ms
    from ${keyColumns}
    join runs r on r.organization_id = d.organization_id and r.namespace = d.namespace
      and r.name = d.name and r.agent_id = d.agent_id
    where r.trigger <> 'manual'
      and r.started_at > to_timestamp(d.after_ms / 1000) - interval '1 minute'
      and (r.scheduled_at > to_timestamp(d.after_ms / 1000)
        or (r.scheduled_at is null and r.started_at > to_timestamp(d.after_ms / 1000)))`,
  );
  const outcomes = await queryRows<OutcomeRow>(
    tx,
    sql`
    select d.i, o.run_id, o.status, o.attempt, o.finished_ms, o.tail, o.exit_code, o.reason
    from ${keyColumns}
    cross join lateral (
      select r.run_id, r.status, r.attempt, ${epochMs(sql`r.finished_at`)} as finished_ms,
        right(r.output_tail, 4096) as tail, r.exit_code, r.reason
      from runs r
      where r.organization_id = d.organization_id and r.namespace = d.namespace
        and r.name = d.name and r.agent_id = d.agent_id
        and r.status in ('succeeded', 'failed', 'timed_out', 'lost')
        -- The runs that count (instanceVerdict.countedOutcomes): not an attempt a retry follows.
        and (r.status in ('succeeded', 'lost') or r.attempt > d.retry_limit)
      order by r.started_at desc, r.id desc
      limit d.k) o
    where d.k > 0
    order by d.i`,
  );
  const startsOf = new Map<number, StartRow[]>();
  for (const start of starts) startsOf.set(start.i, [...(startsOf.get(start.i) ?? []), start]);
  const outcomesOf = new Map<number, RunOutcome[]>();
  for (const row of outcomes) {
    const list = outcomesOf.get(row.i) ?? [];
    list.push({
      runId: row.run_id,
      status: row.status,
      attempt: row.attempt,
      finishedAt: new Date(row.finished_ms),
      outputTail: row.tail,
      exitCode: row.exit_code,
      reason: row.reason,
    });
    outcomesOf.set(row.i, list);
  }

  const updates: { i: number; health: JobHealth; judged_ms: number; next_ms: number }[] = [];
  for (const [i, row] of due.entries()) {
    const facts: InstanceFacts = {
      schedule: row.schedule,
      timezone: row.timezone ?? 'UTC',
      graceMs: row.grace_seconds * 1000,
      maxRuntimeMs: row.max_runtime_seconds === null ? null : row.max_runtime_seconds * 1000,
      alertAfter: row.alert_after,
      recoverAfter: row.recover_after,
      retryLimit: row.retry_limit,
      suspended: row.suspended,
      agentUnavailable: row.agent_unavailable,
      health: row.health,
      judgedThrough: new Date(row.judged_through_ms),
      watermark: row.watermark_ms === null ? null : new Date(row.watermark_ms),
      starts: (startsOf.get(i) ?? []).map((start) => ({
        scheduledAt: start.scheduled_ms === null ? null : new Date(start.scheduled_ms),
        startedAt: new Date(start.started_ms),
      })),
      outcomes: outcomesOf.get(i) ?? [],
      outcomesRead: needOutcomes(row),
      overrunSince: row.overrun_since_ms === null ? null : new Date(row.overrun_since_ms),
      everRan: row.ever_ran,
      manuallyResolvedAt:
        row.manually_resolved_ms === null ? null : new Date(row.manually_resolved_ms),
      open: new Set(Object.keys(row.open_incidents) as JobIncidentKind[]),
    };
    const verdict = judgeInstance(facts, {
      now,
      pollMs: timing.pollMs,
      watermarkWaitMs: timing.watermarkWaitMs,
      idleMs: timing.idleMs,
      fireLimit: timing.fireLimit,
    });
    for (const transition of verdict.transitions) {
      await applyTransition(tx, lifecycle, row, facts, transition, now, result);
    }
    updates.push({
      i,
      health: verdict.health,
      judged_ms: verdict.judgedThrough.getTime(),
      next_ms: verdict.nextCheckAt.getTime(),
    });
  }
  const rows = JSON.stringify(
    updates.map((update) => ({
      agent_id: due[update.i]!.agent_id,
      namespace: due[update.i]!.namespace,
      name: due[update.i]!.name,
      health: update.health,
      judged_ms: update.judged_ms,
      next_ms: update.next_ms,
    })),
  );
  await tx.execute(sql`
    update job_instances j set
      health = u.health::job_health,
      health_since = case when j.health = u.health::job_health then j.health_since else ${at(now)} end,
      judged_through = to_timestamp(u.judged_ms / 1000),
      next_check_at = to_timestamp(u.next_ms / 1000),
      runs_changed = false
    from jsonb_to_recordset(${rows}::jsonb) as u(agent_id uuid, namespace text, name text,
      health text, judged_ms float8, next_ms float8)
    where j.agent_id = u.agent_id and j.namespace = u.namespace and j.name = u.name`);
  result.judged += due.length;
  return due.length;
}

async function applyTransition(
  tx: Database,
  lifecycle: LifecycleContext,
  row: DueRow,
  facts: InstanceFacts,
  transition: Transition,
  now: Date,
  result: MonitorPassResult,
): Promise<void> {
  const subject = subjectOf(row);
  const open = row.open_incidents[transition.kind];
  switch (transition.change) {
    case 'open': {
      const wording = describeFacts.forTransition(transition, facts);
      if ((await openIncident(tx, lifecycle, subject, transition.kind, wording, now)) !== null) {
        result.opened += 1;
      }
      return;
    }
    case 'update': {
      if (open === undefined) return;
      // Missed fires add up; a failure streak is counted whole each time.
      const wording = describeFacts.forTransition(
        transition,
        facts,
        transition.kind === 'missed' ? open.occurrences : 0,
      );
      if (transition.kind === 'failing' && wording.occurrences <= open.occurrences) return;
      await updateIncident(tx, open.id, wording, now);
      return;
    }
    case 'resolve': {
      if (open === undefined) return;
      if (
        await resolveIncident(tx, lifecycle, subject, open.id, transition.because, systemActor, now)
      ) {
        result.resolved += 1;
      }
      return;
    }
  }
}

/** Step 5: re-alerts. */
async function realertDue(
  db: Database,
  lifecycle: LifecycleContext,
  now: Date,
  result: MonitorPassResult,
): Promise<void> {
  const due = await db.transaction(async (tx) =>
    queryRows<{ id: string }>(
      tx,
      sql`select id from incidents where resolved_at is null and next_realert_at <= ${at(now)}
        order by next_realert_at limit 500`,
    ),
  );
  for (const { id } of due) {
    await db.transaction(async (tx) => {
      const [incident] = await queryRows<{
        id: string;
        organization_id: string;
        agent_id: string;
        agent_name: string;
        namespace: string | null;
        name: string | null;
        labels: Record<string, string> | null;
        notify: string[] | null;
        realert_every_seconds: number | null;
        suspended: boolean | null;
      }>(
        tx,
        sql`select i.id, i.organization_id, i.agent_id, a.name as agent_name, i.namespace, i.name,
            j.labels, j.notify, j.realert_every_seconds, j.suspended
          from incidents i join agents a on a.id = i.agent_id
          left join job_instances j on j.agent_id = i.agent_id and j.namespace = i.namespace
            and j.name = i.name
          where i.id = ${id} and i.resolved_at is null and i.next_realert_at <= ${at(now)}
          for update of i skip locked`,
      );
      if (incident === undefined) return;
      const [row] = await tx.query.incidents.findMany({
        where: (table, { eq }) => eq(table.id, id),
      });
      if (row === undefined) return;
      const subject: IncidentSubject = {
        organizationId: incident.organization_id,
        agent: { id: incident.agent_id, name: incident.agent_name },
        job:
          incident.namespace === null || incident.name === null
            ? null
            : {
                namespace: incident.namespace,
                name: incident.name,
                labels: incident.labels ?? {},
                notify: incident.notify ?? [],
                realertEverySeconds: incident.realert_every_seconds,
                suspended: incident.suspended ?? false,
              },
      };
      if (await realertIncident(tx, lifecycle, subject, row, now)) result.realerted += 1;
    });
  }
}

/** One pass of the worker (all five steps). */
export async function runMonitorPass(
  context: AppContext,
  options: MonitorPassOptions,
  timing: MonitorTiming = defaultMonitorTiming,
): Promise<MonitorPassResult> {
  const { db } = context.database;
  const { now } = options;
  const lifecycle: LifecycleContext = { dashboardUrl: dashboardUrlOf(context.config) };
  const result: MonitorPassResult = {
    judged: 0,
    opened: 0,
    resolved: 0,
    realerted: 0,
    agentsOffline: 0,
    agentsBack: 0,
  };
  const { upSince, runsScannedThrough } = await advanceClock(db, now, timing);
  await judgeAgents(db, lifecycle, now, upSince, timing, result);
  await markChangedInstancesDue(db, now, runsScannedThrough);
  const batchSize = options.batchSize ?? 1000;
  const maxBatches = options.maxBatches ?? 100;
  for (let batch = 0; batch < maxBatches; batch += 1) {
    const judged = await db.transaction((tx) =>
      judgeDueBatch(tx, lifecycle, now, timing, batchSize, result),
    );
    if (judged < batchSize) break;
  }
  await realertDue(db, lifecycle, now, result);
  return result;
}

export function startMonitorWorker(
  context: AppContext,
  timing: MonitorTiming = defaultMonitorTiming,
): PeriodicTask<MonitorPassResult> {
  return startPeriodicTask({
    name: 'monitor',
    intervalMs: timing.intervalMs,
    logger: context.logger,
    run: async () => {
      const result = await runMonitorPass(context, { now: context.now() }, timing);
      if (result.opened + result.resolved + result.realerted > 0) {
        context.logger.info({ worker: 'monitor', ...result }, 'incidents changed');
      }
      return result;
    },
  });
}
