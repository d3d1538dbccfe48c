import { RunStatus, type JobHealth, type StatsResponse } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { agentStatusCondition } from '../agents/agentStatus.js';
import type { DatabaseHandle } from '../db/database.js';
import { agents } from '../db/schema.js';
import { healthByRank, healthRank, shownInstanceHealthRank } from '../monitoring/jobHealthView.js';
import type { IncidentKind } from '../notifications/notification.js';

const hourMs = 60 * 60 * 1000;

interface AgentCountsRow {
  online: number | string;
  offline: number | string;
  revoked: number | string;
}

interface JobHealthRow {
  healthy: number | string;
  failing: number | string;
  running: number | string;
  never_run: number | string;
}

interface HourRow {
  hour: number | string;
  status: RunStatus;
  runs: number | string;
}

/** The 24 hour buckets ending with the current hour, oldest first, each zero-filled. */
export function emptyHourBuckets(now: Date): StatsResponse['runsPerHour'] {
  const currentHour = Math.floor(now.getTime() / hourMs) * hourMs;
  return Array.from({ length: 24 }, (_, index) => ({
    hourStart: new Date(currentHour - (23 - index) * hourMs).toISOString(),
    counts: Object.fromEntries(RunStatus.options.map((status) => [status, 0])) as Record<
      RunStatus,
      number
    >,
  }));
}

/**
 * The overview of one organization: agents by status, jobs by the outcome of their last run that
 * was not skipped and by their health as a whole (the monitoring worker's), open incidents by
 * kind, runs by status per hour over the last 24 hours.
 */
export async function summarizeStats(
  database: DatabaseHandle,
  organizationId: string,
  now: Date,
): Promise<StatsResponse> {
  const nowText = now.toISOString();
  // The rule of the agents list (agents/agentStatus.ts), so both pages agree.
  const [agentCounts] = await database.rows<AgentCountsRow>(sql`
    select
      (count(*) filter (where ${agentStatusCondition('online', now)}))::int as online,
      (count(*) filter (where ${agentStatusCondition('offline', now)}))::int as offline,
      (count(*) filter (where ${agentStatusCondition('revoked', now)}))::int as revoked
    from ${agents}
    where ${agents.organizationId} = ${organizationId}`);

  const [jobHealth] = await database.rows<JobHealthRow>(sql`
    with jobs as (
      select distinct ji.namespace, ji.name
      from job_instances ji join agents a on a.id = ji.agent_id
      where ji.organization_id = ${organizationId} and a.organization_id = ${organizationId}
        and a.revoked_at is null
    )
    select
      (count(*) filter (where last.status = 'succeeded'))::int as healthy,
      (count(*) filter (where last.status in ('failed', 'timed_out', 'lost')))::int as failing,
      (count(*) filter (where last.status = 'running'))::int as running,
      (count(*) filter (where last.status is null))::int as never_run
    from jobs j
    left join lateral (
      select r.status from runs r
      where r.organization_id = ${organizationId} and r.namespace = j.namespace and r.name = j.name
        and r.status <> 'skipped'
      order by r.started_at desc nulls last, r.id desc nulls last
      limit 1
    ) last on true`);

  const healthRows = await database.rows<{ rank: number; jobs: number }>(sql`
    select rank, count(*)::int as jobs from (
      select max(${shownInstanceHealthRank()}) as rank
      from job_instances ji join agents a on a.id = ji.agent_id
      where ji.organization_id = ${organizationId} and a.organization_id = ${organizationId}
        and a.revoked_at is null
      group by ji.namespace, ji.name) ranked
    group by rank`);
  const jobsByHealth = Object.fromEntries(
    Object.keys(healthRank).map((health) => [health, 0]),
  ) as Record<JobHealth, number>;
  for (const row of healthRows) jobsByHealth[healthByRank[Number(row.rank)]!] += Number(row.jobs);

  const incidentRows = await database.rows<{ kind: IncidentKind; open: number }>(sql`
    select kind, count(*)::int as open from incidents
    where organization_id = ${organizationId} and resolved_at is null
    group by kind`);
  const openIncidents = { missed: 0, failing: 0, overrun: 0, agent_offline: 0, total: 0 };
  for (const row of incidentRows) {
    openIncidents[row.kind] += Number(row.open);
    openIncidents.total += Number(row.open);
  }

  const buckets = emptyHourBuckets(now);
  const firstHour = buckets[0]?.hourStart ?? nowText;
  const firstHourMs = Date.parse(firstHour);
  const hourRows = await database.rows<HourRow>(sql`
    select floor(extract(epoch from started_at) / 3600)::bigint as hour, status, count(*)::int as runs
    from runs
    where organization_id = ${organizationId}
      and started_at >= ${firstHour}::timestamptz
      and started_at < ${new Date(firstHourMs + 24 * hourMs).toISOString()}::timestamptz
    group by 1, 2`);
  for (const row of hourRows) {
    const index = Math.round((Number(row.hour) * hourMs - firstHourMs) / hourMs);
    const bucket = buckets[index];
    if (bucket !== undefined) bucket.counts[row.status] += Number(row.runs);
  }

  const online = Number(agentCounts?.online ?? 0);
  const offline = Number(agentCounts?.offline ?? 0);
  const revoked = Number(agentCounts?.revoked ?? 0);
  const healthy = Number(jobHealth?.healthy ?? 0);
  const failing = Number(jobHealth?.failing ?? 0);
  const running = Number(jobHealth?.running ?? 0);
  const neverRun = Number(jobHealth?.never_run ?? 0);
  return {
    generatedAt: nowText,
    agents: { online, offline, revoked, total: online + offline + revoked },
    jobs: { healthy, failing, running, neverRun, total: healthy + failing + running + neverRun },
    jobsByHealth,
    openIncidents,
    runsPerHour: buckets,
  };
}
