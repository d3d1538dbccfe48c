import {
  MAX_INVENTORY_WARNINGS,
  type InventoryJob,
  type InventoryRequest,
  type InventoryWarning,
} from '@cronfleet/core/api';
import { and, eq, inArray, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { queryRows } from '../db/database.js';
import { jobInstances, notificationChannels } from '../db/schema.js';
import {
  resolveIncident,
  systemActor,
  type LifecycleContext,
} from '../monitoring/incidentLifecycle.js';

/** Rows per INSERT: about 25 parameters each stays far below PostgreSQL's 65,535. */
const inventoryInsertChunk = 1000;

/**
 * Writes an agent's inventory in the caller's transaction (the agent's row locked): the reported
 * instances are upserted, the others deleted and their open incidents resolved. The monitoring
 * state of an instance (health, what was judged, when to look next) survives an inventory; a
 * change of its schedule, zone or suspension restarts its judgement from now, so fires of the old
 * schedule are never judged against the new one. Answers the warnings about the jobs: a
 * monitoring.notify name that no channel of the organization has.
 */
export async function writeInventory(
  tx: Database,
  lifecycle: LifecycleContext,
  agent: { organizationId: string; agentId: string; agentName: string },
  request: InventoryRequest,
  now: Date,
): Promise<InventoryWarning[]> {
  const known = await knownChannelNames(tx, agent.organizationId, request.jobs);
  const warnings: InventoryWarning[] = [];
  const rows = request.jobs.map((job: InventoryJob) => {
    const unknown = job.monitoring.notify.filter((name) => !known.has(name));
    const jobWarnings = unknown.map(
      (name) =>
        `monitoring.notify names "${name}", which is no notification channel of this organization; ` +
        (unknown.length === job.monitoring.notify.length
          ? "its incidents go to the organization's default channels"
          : 'its incidents go to the other channels named'),
    );
    for (const message of jobWarnings) {
      if (warnings.length < MAX_INVENTORY_WARNINGS) {
        warnings.push({ namespace: job.namespace, name: job.name, message });
      }
    }
    return {
      organizationId: agent.organizationId,
      agentId: agent.agentId,
      namespace: job.namespace,
      name: job.name,
      schedule: job.schedule,
      timezone: job.timezone,
      commandDigest: job.commandDigest,
      sourcePath: job.sourcePath,
      revision: job.revision,
      suspended: job.suspended,
      concurrencyPolicy: job.concurrencyPolicy,
      scheduler: job.scheduler,
      graceSeconds: job.monitoring.graceSeconds,
      maxRuntimeSeconds: job.monitoring.maxRuntimeSeconds,
      alertAfter: job.monitoring.alertAfter,
      recoverAfter: job.monitoring.recoverAfter,
      realertEverySeconds: job.monitoring.realertEverySeconds,
      notify: job.monitoring.notify,
      retryLimit: job.monitoring.retryLimit,
      labels: job.labels,
      warnings: jobWarnings,
      lastSeenAt: now,
      firstSeenAt: now,
      healthSince: now,
      judgedThrough: now,
      nextCheckAt: now,
    };
  });

  const excluded = (column: string) => sql.raw(`excluded.${column}`);
  const changedTiming = sql`(job_instances.schedule is distinct from excluded.schedule
    or job_instances.timezone is distinct from excluded.timezone
    or (job_instances.suspended and not excluded.suspended))`;
  const changedMonitoring = sql`(${changedTiming}
    or job_instances.suspended is distinct from excluded.suspended
    or job_instances.grace_seconds is distinct from excluded.grace_seconds
    or job_instances.max_runtime_seconds is distinct from excluded.max_runtime_seconds
    or job_instances.alert_after is distinct from excluded.alert_after
    or job_instances.recover_after is distinct from excluded.recover_after
    or job_instances.retry_limit is distinct from excluded.retry_limit)`;
  for (let start = 0; start < rows.length; start += inventoryInsertChunk) {
    await tx
      .insert(jobInstances)
      .values(rows.slice(start, start + inventoryInsertChunk))
      .onConflictDoUpdate({
        target: [jobInstances.agentId, jobInstances.namespace, jobInstances.name],
        set: {
          schedule: excluded('schedule'),
          timezone: excluded('timezone'),
          commandDigest: excluded('command_digest'),
          sourcePath: excluded('source_path'),
          revision: excluded('revision'),
          suspended: excluded('suspended'),
          concurrencyPolicy: excluded('concurrency_policy'),
          scheduler: excluded('scheduler'),
          graceSeconds: excluded('grace_seconds'),
          maxRuntimeSeconds: excluded('max_runtime_seconds'),
          alertAfter: excluded('alert_after'),
          recoverAfter: excluded('recover_after'),
          realertEverySeconds: excluded('realert_every_seconds'),
          notify: excluded('notify'),
          retryLimit: excluded('retry_limit'),
          labels: excluded('labels'),
          warnings: excluded('warnings'),
          lastSeenAt: excluded('last_seen_at'),
          judgedThrough: sql`case when ${changedTiming}
            then greatest(job_instances.judged_through, excluded.judged_through)
            else job_instances.judged_through end`,
          nextCheckAt: sql`case when ${changedMonitoring}
            then least(job_instances.next_check_at, excluded.next_check_at)
            else job_instances.next_check_at end`,
        },
      });
  }

  // The instances the agent no longer has: gone, and their open incidents resolved.
  const reported = JSON.stringify(
    request.jobs.map((job) => ({ namespace: job.namespace, name: job.name })),
  );
  const removed = await queryRows<{
    namespace: string;
    name: string;
    labels: Record<string, string>;
    notify: string[];
    realert_every_seconds: number | null;
    suspended: boolean;
  }>(
    tx,
    sql`
    delete from job_instances j
    where j.agent_id = ${agent.agentId} and j.organization_id = ${agent.organizationId}
      and not exists (select 1 from jsonb_to_recordset(${reported}::jsonb) as r(namespace text, name text)
        where r.namespace = j.namespace and r.name = j.name)
    returning j.namespace, j.name, j.labels, j.notify, j.realert_every_seconds, j.suspended`,
  );
  if (removed.length > 0) {
    const open = await queryRows<{ id: string; namespace: string; name: string }>(
      tx,
      sql`select i.id, i.namespace, i.name from incidents i
        where i.agent_id = ${agent.agentId} and i.resolved_at is null and i.namespace is not null
          and exists (select 1 from jsonb_to_recordset(${JSON.stringify(removed)}::jsonb)
            as r(namespace text, name text) where r.namespace = i.namespace and r.name = i.name)`,
    );
    const byJob = new Map(removed.map((job) => [`${job.namespace}/${job.name}`, job]));
    for (const incident of open) {
      const job = byJob.get(`${incident.namespace}/${incident.name}`)!;
      await resolveIncident(
        tx,
        lifecycle,
        {
          organizationId: agent.organizationId,
          agent: { id: agent.agentId, name: agent.agentName },
          job: {
            namespace: job.namespace,
            name: job.name,
            labels: job.labels,
            notify: job.notify,
            realertEverySeconds: job.realert_every_seconds,
            suspended: job.suspended,
          },
        },
        incident.id,
        'the job is no longer installed on this agent',
        systemActor,
        now,
      );
    }
  }
  return warnings;
}

async function knownChannelNames(
  tx: Database,
  organizationId: string,
  jobs: readonly InventoryJob[],
): Promise<Set<string>> {
  const named = [...new Set(jobs.flatMap((job) => job.monitoring.notify))];
  if (named.length === 0) return new Set();
  const rows = await tx
    .select({ name: notificationChannels.name })
    .from(notificationChannels)
    .where(
      and(
        eq(notificationChannels.organizationId, organizationId),
        inArray(notificationChannels.name, named),
      ),
    );
  return new Set(rows.map((row) => row.name));
}
