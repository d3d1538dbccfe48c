import type { HeartbeatRequest } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../db/database.js';
import type { AgentPrincipal } from '../http/authenticate.js';

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
  };
}

/**
 * Records the heartbeats of agents that have nothing waiting (no queued command, not revoked)
 * with one UPDATE for all of them, and answers each one's heartbeat interval, or null for an
 * agent this statement did not update: it has commands waiting or was revoked, and its heartbeat
 * takes the transactional path.
 *
 * - The rows travel as one JSON parameter (jsonb_to_recordset), so the statement text never
 *   changes and it is prepared once per connection. The agent ids also travel as an array, for
 *   the planner: the function's row estimate (100) would make it scan every agent. Two heartbeats of one agent in one group: the later one is recorded, and both are
 *   answered.
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
  }));
  const agentIds = `{${rows.map((row) => row.agentId).join(',')}}`;
  const updated = await database.preparedRows<{
    id: string;
    heartbeat_interval_seconds: number;
  }>(sql`
    update agents as a set
      conditions = u.conditions,
      errors = u.errors,
      last_applied_revision = u."lastAppliedRevision",
      last_attempted_revision = u."lastAttemptedRevision",
      repository_url = u."repositoryUrl",
      repository_branch = u."repositoryBranch",
      version = u.version,
      last_heartbeat_at = ${now.toISOString()}::timestamptz
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as u("agentId" uuid,
      "organizationId" uuid, conditions jsonb, errors jsonb, "lastAppliedRevision" text,
      "lastAttemptedRevision" text, "repositoryUrl" text, "repositoryBranch" text, version text)
    where a.id = any(${agentIds}::uuid[])
      and a.id = u."agentId"
      and a.organization_id = u."organizationId"
      and a.revoked_at is null
      and a.pending_command_count = 0
      and set_config('synchronous_commit', 'off', true) = 'off'
    returning a.id, a.heartbeat_interval_seconds`);
  const intervals = new Map(updated.map((row) => [row.id, row.heartbeat_interval_seconds]));
  return heartbeats.map((heartbeat) => intervals.get(heartbeat.agent.agentId) ?? null);
}
