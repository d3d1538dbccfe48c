import type {
  AgentStatus,
  JobDetail,
  JobFireTime,
  JobHealth,
  JobInstanceDetail,
} from '@cronfleet/core/api';
import { daylightSavingNote, describeCron, nextFireTimes } from '@cronfleet/core/cron';
import { and, desc, eq, isNull, sql } from 'drizzle-orm';
import { agentStatus } from '../agents/agentStatus.js';
import type { DatabaseHandle } from '../db/database.js';
import { agents, incidents } from '../db/schema.js';
import { ApiError } from '../http/apiError.js';
import { shownInstanceHealth } from '../monitoring/jobHealthView.js';
import { incidentViews } from '../monitoring/incidentRoutes.js';
import { listJobs, type JobIdentity } from './listJobs.js';

/** Fire times shown on a job's page. */
export const jobFireTimeCount = 10;

interface InstanceRow {
  agent_id: string;
  agent_name: string;
  revoked_at: Date | string | null;
  last_heartbeat_at: Date | string | null;
  heartbeat_interval_seconds: number;
  schedule: string;
  timezone: string | null;
  suspended: boolean;
  source_path: string;
  revision: string;
  health: JobHealth;
  health_since: Date | string;
  warnings: string[];
  grace_seconds: number;
  max_runtime_seconds: number | null;
  alert_after: number;
  recover_after: number;
  realert_every_seconds: number | null;
  notify: string[];
}

const dateOrNull = (value: Date | string | null) => (value === null ? null : new Date(value));

function describeSchedule(schedule: string): string {
  try {
    return describeCron(schedule);
  } catch {
    return schedule;
  }
}

/**
 * The next `count` fire times over the schedules of the instances not suspended, merged in
 * order. Instances that agree on schedule and zone fire together and count once (with their
 * number); a null zone (the agent's own, unknown here) is taken as UTC, as the jobs list does.
 * @reboot and expressions or zones the evaluator rejects have no fire times.
 */
export function upcomingFireTimes(
  instances: readonly Pick<JobInstanceDetail, 'schedule' | 'timezone' | 'suspended'>[],
  now: Date,
  count = jobFireTimeCount,
): JobFireTime[] {
  const schedules = new Map<
    string,
    { schedule: string; timezone: string | null; instances: number }
  >();
  for (const instance of instances) {
    if (instance.suspended) continue;
    const key = `${instance.schedule}\u0000${instance.timezone ?? ''}`;
    const known = schedules.get(key);
    if (known === undefined) {
      schedules.set(key, {
        schedule: instance.schedule,
        timezone: instance.timezone,
        instances: 1,
      });
    } else known.instances += 1;
  }
  const fires: JobFireTime[] = [];
  for (const { schedule, timezone, instances: number } of schedules.values()) {
    const zone = timezone ?? 'UTC';
    let times: Date[];
    try {
      times = nextFireTimes(schedule, { after: now, timezone: zone, count });
    } catch {
      continue;
    }
    for (const at of times) {
      fires.push({
        at: at.toISOString(),
        schedule,
        timezone,
        instances: number,
        daylightSavingNote: daylightSavingNote(at, zone),
      });
    }
  }
  fires.sort(
    (left, right) => left.at.localeCompare(right.at) || left.schedule.localeCompare(right.schedule),
  );
  return fires.slice(0, count);
}

/**
 * `GET /api/v1/jobs/:namespace/:name`: the job's summary as the jobs list has it, each instance
 * (on agents not revoked) with its agent, schedule, source, health and monitoring settings, the
 * next fire times with daylight-saving notes, and its open incidents, newest first.
 *
 * @throws ApiError 404 when no agent of the organization (not revoked) applied the job.
 */
export async function getJobDetail(
  database: DatabaseHandle,
  organizationId: string,
  job: JobIdentity,
  now: Date,
): Promise<JobDetail> {
  const [summary] = (await listJobs(database, organizationId, { limit: 1 }, now, job)).items;
  if (summary === undefined) {
    throw new ApiError(
      'not_found',
      `job ${job.namespace}/${job.name} not found: no agent of this organization reports it in its inventory (jobs are known only from what agents applied; check the namespace and name, and that an agent targeted by the manifest has reconciled)`,
    );
  }
  const rows = await database.rows<InstanceRow>(sql`
    select ji.agent_id, a.name as agent_name, a.revoked_at, a.last_heartbeat_at,
      a.heartbeat_interval_seconds, ji.schedule, ji.timezone, ji.suspended, ji.source_path,
      ji.revision, ${shownInstanceHealth()} as health, ji.health_since, ji.warnings,
      ji.grace_seconds, ji.max_runtime_seconds, ji.alert_after, ji.recover_after,
      ji.realert_every_seconds, ji.notify
    from job_instances ji join agents a on a.id = ji.agent_id
    where ji.organization_id = ${organizationId} and a.organization_id = ${organizationId}
      and a.revoked_at is null and ji.namespace = ${job.namespace} and ji.name = ${job.name}
    order by a.name, a.id`);
  const instanceDetails = rows.map((row): JobInstanceDetail => ({
    agent: {
      id: row.agent_id,
      name: row.agent_name,
      status: agentStatus(
        {
          revokedAt: dateOrNull(row.revoked_at),
          lastHeartbeatAt: dateOrNull(row.last_heartbeat_at),
          heartbeatIntervalSeconds: row.heartbeat_interval_seconds,
        },
        now,
      ) satisfies AgentStatus,
    },
    schedule: row.schedule,
    scheduleDescription: describeSchedule(row.schedule),
    timezone: row.timezone,
    suspended: row.suspended,
    sourcePath: row.source_path,
    revision: row.revision,
    health: row.health,
    healthSince: new Date(row.health_since).toISOString(),
    warnings: row.warnings,
    monitoring: {
      graceSeconds: row.grace_seconds,
      maxRuntimeSeconds: row.max_runtime_seconds,
      alertAfter: row.alert_after,
      recoverAfter: row.recover_after,
      realertEverySeconds: row.realert_every_seconds,
      notify: row.notify,
    },
  }));
  const open = await database.db
    .select({ incident: incidents, agentName: agents.name })
    .from(incidents)
    .innerJoin(agents, eq(agents.id, incidents.agentId))
    .where(
      and(
        eq(incidents.organizationId, organizationId),
        eq(incidents.namespace, job.namespace),
        eq(incidents.name, job.name),
        isNull(incidents.resolvedAt),
      ),
    )
    .orderBy(desc(incidents.openedAt), desc(incidents.id));
  return {
    ...summary,
    instanceDetails,
    nextFireTimes: upcomingFireTimes(instanceDetails, now),
    openIncidents: await incidentViews(database.db, open),
  };
}
