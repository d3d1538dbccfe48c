import type {
  JobHealth,
  JobInstanceHealth,
  JobSchedule,
  JobSummary,
  ListJobsQuery,
  ListJobsResponse,
  RunStatus,
} from '@cronfleet/core/api';
import { describeCron, nextFireTime } from '@cronfleet/core/cron';
import { sql, type SQL } from 'drizzle-orm';
import { z } from 'zod';
import type { DatabaseHandle } from '../db/database.js';
import { parseLabelSelector } from '../agents/agentListFilters.js';
import { containsPattern } from '../db/likePattern.js';
import { decodeCursor, encodeCursor } from '../http/opaqueCursor.js';
import {
  healthRank,
  shownInstanceHealth,
  shownInstanceHealthRank,
  worstHealth,
} from '../monitoring/jobHealthView.js';

const dayMs = 24 * 60 * 60 * 1000;

interface InstanceRow {
  namespace: string;
  name: string;
  schedule: string;
  timezone: string | null;
  suspended: boolean;
  agent_id: string;
  agent_name: string;
  health: JobHealth;
  health_since: Date | string;
  warnings: string[];
  labels: Record<string, string>;
}

interface JobRunRow {
  namespace: string;
  name: string;
  run_id: string | null;
  agent_id: string | null;
  status: RunStatus | null;
  started_at: Date | string | null;
  finished_at: Date | string | null;
  duration_ms: number | null;
  runs_7d: number | string;
  succeeded_7d: number | string;
  ended_7d: number | string;
  p50_ms: number | string | null;
  p95_ms: number | string | null;
  recent_runs: { runId: string; status: RunStatus; startedAt: string }[];
}

const isoOrNull = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();
/** Percentiles are interpolated; shown in whole milliseconds. */
const millisecondsOrNull = (value: number | string | null): number | null =>
  value === null ? null : Math.round(Number(value));

/** Described in words; the expression itself if the evaluator cannot read it. */
function describeSchedule(schedule: string): string {
  try {
    return describeCron(schedule);
  } catch {
    return schedule;
  }
}

/**
 * The next fire time strictly after `now`; null for @reboot or an expression or zone the
 * evaluator rejects. A null time zone means the agent's own zone, which the backend does not
 * know: UTC is assumed.
 */
function nextRun(schedule: string, timezone: string | null, now: Date): Date | null {
  try {
    return nextFireTime(schedule, { after: now, timezone: timezone ?? 'UTC' });
  } catch {
    return null;
  }
}

/** One job, by namespace and name (the job detail route reads its summary through listJobs). */
/** The position after the last job of a page: its namespace and name. */
const JobPosition = z.tuple([z.string().min(1), z.string().min(1)]);

export interface JobIdentity {
  namespace: string;
  name: string;
}

/** The job instances of agents that are not revoked, filtered as the query says. */
function instanceFilter(organizationId: string, query: ListJobsQuery, only?: JobIdentity): SQL {
  const conditions = [
    sql`ji.organization_id = ${organizationId}`,
    sql`a.organization_id = ${organizationId}`,
    sql`a.revoked_at is null`,
  ];
  if (only !== undefined) {
    conditions.push(sql`ji.namespace = ${only.namespace}`, sql`ji.name = ${only.name}`);
  }
  if (query.namespace !== undefined) conditions.push(sql`ji.namespace = ${query.namespace}`);
  if (query.q !== undefined) {
    conditions.push(
      sql`(ji.namespace || '/' || ji.name) ilike ${containsPattern(query.q)} escape '\\'`,
    );
  }
  for (const selector of query.label ?? []) {
    conditions.push(sql`ji.labels @> ${JSON.stringify(parseLabelSelector(selector))}::jsonb`);
  }
  return sql.join(conditions, sql` and `);
}

/**
 * The jobs view: one row per namespace/name over the organization's job instances (of agents
 * not revoked), with the schedules they report, the next expected run, the last run, over the
 * runs started in the last 7 days the success rate and the p50/p95 duration, and its health as a
 * whole and per instance (as the monitoring worker last judged it). `only`: that one job.
 * A page at a time, in namespace/name order (keyset: the cursor holds the last namespace and
 * name), so the run figures are computed for the page's jobs only, whatever the fleet's size.
 */
export async function listJobs(
  database: DatabaseHandle,
  organizationId: string,
  query: ListJobsQuery,
  now: Date,
  only?: JobIdentity,
): Promise<ListJobsResponse> {
  const filter = instanceFilter(organizationId, query, only);
  // The page: the jobs that match (health as a whole is the worst of its instances'), in
  // namespace/name order after the cursor, and how many match in all.
  const after = query.cursor === undefined ? undefined : decodeCursor(query.cursor, JobPosition);
  const matching = sql`
    select ji.namespace, ji.name, count(*) over () as total
    from job_instances ji join agents a on a.id = ji.agent_id
    where ${filter}
    group by ji.namespace, ji.name
    ${query.health === undefined ? sql`` : sql`having max(${shownInstanceHealthRank()}) = ${healthRank[query.health]}`}`;
  const pageRows = await database.rows<{ namespace: string; name: string; total: number }>(sql`
    select namespace, name, total from (${matching}) matching
    ${after === undefined ? sql`` : sql`where (namespace, name) > (${after[0]}, ${after[1]})`}
    order by namespace, name
    limit ${query.limit + 1}`);
  const page = pageRows.slice(0, query.limit);
  const last = page.at(-1);
  const nextCursor =
    pageRows.length > query.limit && last !== undefined
      ? encodeCursor([last.namespace, last.name])
      : null;
  let total = Number(pageRows[0]?.total ?? 0);
  if (pageRows.length === 0 && after !== undefined) {
    const [counted] = await database.rows<{ total: number }>(
      sql`select count(*)::int as total from (${matching}) matching`,
    );
    total = Number(counted?.total ?? 0);
  }
  if (page.length === 0) return { items: [], nextCursor: null, total };
  const pageJobs = JSON.stringify(page.map(({ namespace, name }) => ({ namespace, name })));

  const instances = await database.rows<InstanceRow>(sql`
    select ji.namespace, ji.name, ji.schedule, ji.timezone, ji.suspended, ji.agent_id,
      a.name as agent_name, ${shownInstanceHealth()} as health, ji.health_since, ji.warnings,
      ji.labels
    from job_instances ji join agents a on a.id = ji.agent_id
      join jsonb_to_recordset(${pageJobs}::jsonb) as page(namespace text, name text)
        on page.namespace = ji.namespace and page.name = ji.name
    where ${filter}
    order by ji.namespace, ji.name, a.name`);

  const since = new Date(now.getTime() - 7 * dayMs).toISOString();
  const runRows = await database.rows<JobRunRow>(sql`
    select j.namespace, j.name,
      last.run_id, last.agent_id, last.status, last.started_at, last.finished_at, last.duration_ms,
      week.runs_7d, week.succeeded_7d, week.ended_7d, week.p50_ms, week.p95_ms,
      recent.runs as recent_runs
    from jsonb_to_recordset(${pageJobs}::jsonb) as j(namespace text, name text)
    left join lateral (
      select coalesce(jsonb_agg(jsonb_build_object('runId', r.run_id, 'status', r.status,
          'startedAt', r.started_at) order by r.started_at desc, r.id desc), '[]'::jsonb) as runs
      from (
        -- nulls last, as runs_org_job_started_idx is built (no value is null): the index then
        -- gives the 20 newest runs instead of a sort of all of the job's runs.
        select r.run_id, r.status, r.started_at, r.id from runs r
        where r.organization_id = ${organizationId} and r.namespace = j.namespace and r.name = j.name
        order by r.started_at desc nulls last, r.id desc nulls last
        limit 20
      ) r
    ) recent on true
    left join lateral (
      select r.run_id, r.agent_id, r.status, r.started_at, r.finished_at, r.duration_ms
      from runs r
      where r.organization_id = ${organizationId} and r.namespace = j.namespace and r.name = j.name
      order by r.started_at desc nulls last, r.id desc nulls last
      limit 1
    ) last on true
    left join lateral (
      select
        count(*)::int as runs_7d,
        (count(*) filter (where r.status = 'succeeded'))::int as succeeded_7d,
        (count(*) filter (where r.status in ('succeeded', 'failed', 'timed_out', 'lost')))::int as ended_7d,
        percentile_cont(0.5) within group (order by r.duration_ms)
          filter (where r.status in ('succeeded', 'failed', 'timed_out') and r.duration_ms is not null) as p50_ms,
        percentile_cont(0.95) within group (order by r.duration_ms)
          filter (where r.status in ('succeeded', 'failed', 'timed_out') and r.duration_ms is not null) as p95_ms
      from runs r
      where r.organization_id = ${organizationId} and r.namespace = j.namespace and r.name = j.name
        and r.started_at >= ${since}::timestamptz
    ) week on true`);
  const runsByJob = new Map(runRows.map((row) => [`${row.namespace}/${row.name}`, row]));

  const byJob = new Map<string, InstanceRow[]>();
  for (const instance of instances) {
    const key = `${instance.namespace}/${instance.name}`;
    const group = byJob.get(key);
    if (group === undefined) byJob.set(key, [instance]);
    else group.push(instance);
  }

  const items: JobSummary[] = [];
  for (const [key, group] of byJob) {
    const first = group[0] as InstanceRow;
    const schedules = new Map<string, JobSchedule>();
    let next: Date | null = null;
    let suspendedInstances = 0;
    for (const instance of group) {
      const scheduleKey = `${instance.schedule}\u0000${instance.timezone ?? ''}`;
      const known = schedules.get(scheduleKey);
      if (known === undefined) {
        schedules.set(scheduleKey, {
          schedule: instance.schedule,
          description: describeSchedule(instance.schedule),
          timezone: instance.timezone,
          instances: 1,
        });
      } else known.instances += 1;
      if (instance.suspended) {
        suspendedInstances += 1;
        continue;
      }
      const fire = nextRun(instance.schedule, instance.timezone, now);
      if (fire !== null && (next === null || fire < next)) next = fire;
    }
    const instanceHealth: JobInstanceHealth[] = group.map((instance) => ({
      agentId: instance.agent_id,
      agentName: instance.agent_name,
      health: instance.health,
      healthSince: new Date(instance.health_since).toISOString(),
      warnings: instance.warnings,
    }));
    const health = worstHealth(instanceHealth.map((instance) => instance.health));
    const distinct = [...schedules.values()];
    const agreed = distinct.length === 1 ? (distinct[0] as JobSchedule) : null;
    const run = runsByJob.get(key);
    const ended = Number(run?.ended_7d ?? 0);
    items.push({
      namespace: first.namespace,
      name: first.name,
      schedule: agreed?.schedule ?? null,
      scheduleDescription: agreed?.description ?? null,
      schedules: distinct,
      nextRunAt: next?.toISOString() ?? null,
      lastRun:
        run?.run_id == null || run.agent_id === null || run.status === null
          ? null
          : {
              runId: run.run_id,
              agentId: run.agent_id,
              status: run.status,
              startedAt: isoOrNull(run.started_at),
              finishedAt: isoOrNull(run.finished_at),
              durationMs: run.duration_ms === null ? null : Number(run.duration_ms),
            },
      runs7d: Number(run?.runs_7d ?? 0),
      successRate7d: ended === 0 ? null : Number(run?.succeeded_7d ?? 0) / ended,
      p50DurationMs7d: millisecondsOrNull(run?.p50_ms ?? null),
      p95DurationMs7d: millisecondsOrNull(run?.p95_ms ?? null),
      instances: group.length,
      suspendedInstances,
      suspended: suspendedInstances === group.length,
      health,
      instanceHealth,
      labels: first.labels,
      recentRuns: (run?.recent_runs ?? []).map((recent) => ({
        runId: recent.runId,
        status: recent.status,
        startedAt: new Date(recent.startedAt).toISOString(),
      })),
    });
  }
  return { items, nextCursor, total };
}
