import type { HeartbeatRequest } from '@cronfleet/core/api';
import { sql, type SQL } from 'drizzle-orm';
import type { DatabaseHandle } from '../db/database.js';
import { notifyRowsExpression } from '../events/liveEventChannel.js';
import type { AgentPrincipal } from '../http/authenticate.js';
import { onlineSlackSeconds } from './agentStatus.js';

/** What a heartbeat records on its agent's row. */
export interface HeartbeatReport {
  agent: Pick<AgentPrincipal, 'organizationId' | 'agentId'>;
  request: HeartbeatRequest;
}

/** The agent row's columns a heartbeat sets (but the time), by their drizzle names. */
export function heartbeatColumns(request: HeartbeatRequest) {
  return {
    conditions: request.conditions,
    errors: request.errors,
    lastAppliedRevision: request.lastAppliedRevision,
    lastAttemptedRevision: request.lastAttemptedRevision,
    // The contract rejects URLs that carry credentials.
    repositoryUrl: request.repository?.url ?? null,
    repositoryBranch: request.repository?.branch ?? null,
    version: request.version,
    // Kept when a heartbeat carries none (a restarted agent before its first drain).
    ...(request.deliveredThrough === undefined
      ? {}
      : { deliveredThrough: new Date(request.deliveredThrough) }),
  };
}

/**
 * Whether a running run `r` is old enough to be judged by a heartbeat that does not list it:
 * recorded no later than the agent's previous heartbeat arrived (`previousHeartbeatAt`), and
 * more than one heartbeat interval ago.
 *
 * Why both: an agent sends its heartbeats one after the other, so a heartbeat that arrives after
 * another one that arrived after the run's first check-in was built after that check-in was sent,
 * when the agent knew the run; a heartbeat built before the run began and delivered late (a slow
 * network, a retry) never judges it. The interval is a margin for a heartbeat that overtook
 * another in flight, and for the clocks of several replicas. A run killed at once is still judged
 * within two heartbeat intervals of its start, one killed later by the next heartbeat.
 */
export function vanishedRunCondition(previousHeartbeatAt: SQL, now: Date, intervalSeconds: SQL) {
  return sql`r.created_at <= ${previousHeartbeatAt}
    and r.created_at < ${now.toISOString()}::timestamptz - (${intervalSeconds})::int * interval '1 second'`;
}

/**
 * Records the heartbeats of agents that have nothing waiting with one UPDATE for all of them, and
 * answers each one's heartbeat interval, or null for an agent this statement did not update: its
 * heartbeat takes the transactional path. Nothing waits when the agent is not revoked, has no
 * queued command (or said it takes none now: `acceptsCommands: false`), and has no running run
 * that its heartbeat's `runningRunIds` no longer lists (see vanishedRunCondition). That last
 * check reads the partial index runs_agent_running_idx: for an agent with no running run it is
 * one probe of an empty range.
 *
 * - The rows travel as one JSON parameter (jsonb_to_recordset), so the statement text never
 *   changes and it is prepared once per connection. The agent ids also travel as an array, for
 *   the planner: the function's row estimate (100) would make it scan every agent. Two heartbeats of one agent in one group: the later one is recorded, and both are
 *   answered.
 * - An agent that comes back online or whose conditions changed (its row as it was, `prior`, tells)
 *   is NOTIFYed to the dashboard's live events in the same statement: one notification per 90
 *   such agents, none in the usual case where nothing changed.
 * - The commit does not wait for the WAL flush (synchronous_commit off, for this transaction
 *   only): a heartbeat only reports state that the next one replaces, so losing the last fraction
 *   of a second of them in a database crash is harmless, and not waiting for fsync makes it many
 *   times cheaper.
 */
export async function recordQuietHeartbeats(
  database: DatabaseHandle,
  heartbeats: readonly HeartbeatReport[],
  now: Date,
): Promise<(number | null)[]> {
  const latest = new Map<string, HeartbeatReport>();
  for (const heartbeat of heartbeats) latest.set(heartbeat.agent.agentId, heartbeat);
  const rows = [...latest.values()].map(({ agent, request }) => ({
    agentId: agent.agentId,
    organizationId: agent.organizationId,
    ...heartbeatColumns(request),
    // Absent (an agent that does not track its runs) travels as null: nothing is judged.
    runningRunIds: request.runningRunIds,
    acceptsCommands: request.acceptsCommands ?? true,
  }));
  const agentIds = `{${rows.map((row) => row.agentId).join(',')}}`;
  const updated = await database.preparedRows<{
    id: string;
    heartbeat_interval_seconds: number;
  }>(sql`
    with written as (
    update agents as a set
      conditions = u.conditions,
      errors = u.errors,
      last_applied_revision = u."lastAppliedRevision",
      last_attempted_revision = u."lastAttemptedRevision",
      repository_url = u."repositoryUrl",
      repository_branch = u."repositoryBranch",
      version = u.version,
      delivered_through = coalesce(u."deliveredThrough", a.delivered_through),
      last_heartbeat_at = ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as u("agentId" uuid,
      "organizationId" uuid, conditions jsonb, errors jsonb, "lastAppliedRevision" text,
      "lastAttemptedRevision" text, "repositoryUrl" text, "repositoryBranch" text, version text,
      "deliveredThrough" timestamptz, "runningRunIds" uuid[], "acceptsCommands" boolean),
      agents as prior
    where a.id = any(${agentIds}::uuid[])
      and a.id = u."agentId"
      and prior.id = a.id
      and a.organization_id = u."organizationId"
      and a.revoked_at is null
      and (a.pending_command_count = 0 or not u."acceptsCommands")
      and (u."runningRunIds" is null or not exists (
        select 1 from runs r
        where r.agent_id = a.id and r.status = 'running'
          and ${vanishedRunCondition(sql`a.last_heartbeat_at`, now, sql`a.heartbeat_interval_seconds`)}
          and r.run_id <> all(u."runningRunIds")))
      and set_config('synchronous_commit', 'off', true) = 'off'
    returning a.id, a.organization_id, a.heartbeat_interval_seconds,
      (prior.conditions is distinct from u.conditions
        or prior.last_heartbeat_at is null
        or prior.last_heartbeat_at <= ${now.toISOString()}::timestamptz
          - make_interval(secs => 2 * prior.heartbeat_interval_seconds + ${onlineSlackSeconds})
      ) as changed)
    select w.id, w.heartbeat_interval_seconds,
      ${notifyRowsExpression('agent', sql`written`, sql`organization_id`, sql`id`, sql`changed`)} as notified
    from written w`);
  const intervals = new Map(updated.map((row) => [row.id, row.heartbeat_interval_seconds]));
  return heartbeats.map((heartbeat) => intervals.get(heartbeat.agent.agentId) ?? null);
}
