import type { HeartbeatRequest, HeartbeatResponse } from '@cronfleet/core/api';
import { agentStatus } from './agentStatus.js';
import { notifyRowsExpression, publishAgentChange } from '../events/liveEventChannel.js';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { agents } from '../db/schema.js';
import type { ApiError } from '../http/apiError.js';
import type { AgentPrincipal } from '../http/authenticate.js';
import { takePendingCommands } from './agentCommandQueue.js';
import { heartbeatColumns, vanishedRunCondition } from './heartbeatWriter.js';

/** The reason of a run marked lost because its agent's heartbeat no longer lists it. */
export const vanishedRunReason =
  'the agent stopped reporting this run as running: its wrapper ended without a finish check-in (it was killed, or the host restarted)';

export interface HeartbeatHandoverOptions {
  agent: Pick<AgentPrincipal, 'organizationId' | 'agentId'>;
  request: HeartbeatRequest;
  now: Date;
  /** The most commands to hand over (config.maxCommandsPerHeartbeat). */
  maxCommands: number;
  /** The 401 for an agent revoked since it was authenticated. */
  revoked: (tx: Database) => Promise<ApiError>;
}

/**
 * A heartbeat that has work besides its report (the quiet path of recordQuietHeartbeats did not
 * take it), in one transaction with the agent's row locked:
 *
 * 1. the agent's running runs that its `runningRunIds` no longer lists, and that are old enough
 *    to be judged (vanishedRunCondition), become `lost` with the reason; finish_received stays
 *    false, so a finish still in the agent's spool replaces `lost` when it arrives;
 * 2. the report is recorded;
 * 3. unless the agent said `acceptsCommands: false`, its oldest `maxCommands` commands are handed
 *    over and its pending count becomes the number still waiting.
 *
 * A heartbeat that fails changes nothing: no run is marked and the commands stay queued. The
 * agent's row is locked FOR NO KEY UPDATE, which check-ins (their foreign key takes KEY SHARE)
 * do not wait for, so a check-in being written while the heartbeat waits for its run row never
 * deadlocks with it.
 */
export async function recordHeartbeatWithWork(
  db: Database,
  options: HeartbeatHandoverOptions,
): Promise<HeartbeatResponse> {
  const { agent, request, now } = options;
  return db.transaction(async (tx) => {
    const ofAgent = and(
      eq(agents.id, agent.agentId),
      eq(agents.organizationId, agent.organizationId),
      isNull(agents.revokedAt),
    );
    const [previous] = await tx
      .select({
        lastHeartbeatAt: agents.lastHeartbeatAt,
        heartbeatIntervalSeconds: agents.heartbeatIntervalSeconds,
        conditions: agents.conditions,
      })
      .from(agents)
      .where(ofAgent)
      .for('no key update');
    if (previous === undefined) throw await options.revoked(tx);
    if (request.runningRunIds !== undefined && previous.lastHeartbeatAt !== null) {
      const reported = `{${request.runningRunIds.join(',')}}`;
      await tx.execute(sql`
        with lost as (
        update runs as r set status = 'lost', finished_at = ${now.toISOString()}::timestamptz,
          updated_at = ${now.toISOString()}::timestamptz, reason = ${vanishedRunReason}
        where r.agent_id = ${agent.agentId}::uuid
          and r.organization_id = ${agent.organizationId}::uuid
          and r.status = 'running'
          and ${vanishedRunCondition(
            sql`${previous.lastHeartbeatAt.toISOString()}::timestamptz`,
            now,
            sql`${previous.heartbeatIntervalSeconds}`,
          )}
          and r.run_id <> all(${reported}::uuid[])
        returning r.organization_id, r.run_id)
        select ${notifyRowsExpression('run', sql`lost`, sql`organization_id`, sql`run_id`)}`);
    }
    const takesCommands = request.acceptsCommands !== false;
    const handover = takesCommands
      ? await takePendingCommands(tx, agent, now, options.maxCommands)
      : undefined;
    await tx
      .update(agents)
      .set({
        ...heartbeatColumns(request),
        lastHeartbeatAt: now,
        ...(handover === undefined ? {} : { pendingCommandCount: handover.waiting }),
      })
      .where(ofAgent);
    // Back online, or its conditions changed: the dashboard's live events hear of it.
    if (
      agentStatus({ ...previous, revokedAt: null }, now) !== 'online' ||
      JSON.stringify(previous.conditions) !== JSON.stringify(request.conditions)
    ) {
      await publishAgentChange(tx, agent.organizationId, agent.agentId);
    }
    return {
      heartbeatIntervalSeconds: previous.heartbeatIntervalSeconds,
      commands: handover?.commands ?? [],
    };
  });
}
