import type { AgentStatus } from '@cronfleet/core/api';
import { sql, type SQL } from 'drizzle-orm';
import { agents } from '../db/schema.js';

/**
 * An agent is online when it is not revoked and its last heartbeat arrived less than twice its
 * heartbeat interval plus this slack ago: one lost heartbeat and some clock skew do not flap it.
 */
export const onlineSlackSeconds = 10;

/** How long after its last heartbeat an agent with this interval still counts as online. */
export function onlineWindowMs(heartbeatIntervalSeconds: number): number {
  return (2 * heartbeatIntervalSeconds + onlineSlackSeconds) * 1000;
}

export function agentStatus(
  agent: {
    revokedAt: Date | null;
    lastHeartbeatAt: Date | null;
    heartbeatIntervalSeconds: number;
  },
  now: Date,
): AgentStatus {
  if (agent.revokedAt !== null) return 'revoked';
  if (agent.lastHeartbeatAt === null) return 'offline';
  const age = now.getTime() - agent.lastHeartbeatAt.getTime();
  return age < onlineWindowMs(agent.heartbeatIntervalSeconds) ? 'online' : 'offline';
}

/** The same rule as {@link agentStatus}, as a WHERE condition. */
export function agentStatusCondition(status: AgentStatus, now: Date): SQL {
  if (status === 'revoked') return sql`${agents.revokedAt} is not null`;
  const recent = sql`${agents.lastHeartbeatAt} > ${now.toISOString()}::timestamptz - make_interval(secs => 2 * ${agents.heartbeatIntervalSeconds} + ${onlineSlackSeconds})`;
  return status === 'online'
    ? sql`(${agents.revokedAt} is null and ${recent})`
    : sql`(${agents.revokedAt} is null and (${agents.lastHeartbeatAt} is null or not ${recent}))`;
}
