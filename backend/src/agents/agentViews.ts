import type {
  Agent,
  AgentDetail,
  AgentPlatform,
  Condition,
  ManifestErrorReport,
} from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import { agents, jobInstances } from '../db/schema.js';
import type { UserPrincipal } from '../http/authenticate.js';
import { agentStatus } from './agentStatus.js';

/**
 * Machine ids (hashed) are shown to callers who may change agents (the write permission:
 * operators and admins, with an API token that has the write scope), not to viewers: together
 * with a host name they are a stable fingerprint of a host that a read-only user has no use for.
 */
export interface AgentViewer {
  seesMachineIds: boolean;
}

export function agentViewerOf(principal: UserPrincipal): AgentViewer {
  return { seesMachineIds: principal.permissions.has('write') };
}

/** The columns the agents list reads (never the token hash). */
export const agentListColumns = {
  id: agents.id,
  machineId: agents.machineId,
  name: agents.name,
  hostname: agents.hostname,
  platform: agents.platform,
  arch: agents.arch,
  version: agents.version,
  labels: agents.labels,
  heartbeatIntervalSeconds: agents.heartbeatIntervalSeconds,
  lastHeartbeatAt: agents.lastHeartbeatAt,
  deliveredThrough: agents.deliveredThrough,
  conditions: agents.conditions,
  lastAppliedRevision: agents.lastAppliedRevision,
  lastAttemptedRevision: agents.lastAttemptedRevision,
  repositoryUrl: agents.repositoryUrl,
  repositoryBranch: agents.repositoryBranch,
  revokedAt: agents.revokedAt,
  createdAt: agents.createdAt,
};

/** What `show` reads besides: one query, the job instance count as a subquery. */
export const agentDetailColumns = {
  ...agentListColumns,
  errors: agents.errors,
  enrollmentTokenId: agents.enrollmentTokenId,
  revokedReason: agents.revokedReason,
  updatedAt: agents.updatedAt,
  jobInstanceCount: sql<number>`(select count(*)::int from ${jobInstances} where ${jobInstances.agentId} = ${agents.id})`,
};

type AgentListRow = { [Key in keyof typeof agentListColumns]: (typeof agents.$inferSelect)[Key] };
type AgentDetailRow = AgentListRow &
  Pick<
    typeof agents.$inferSelect,
    'errors' | 'enrollmentTokenId' | 'revokedReason' | 'updatedAt'
  > & { jobInstanceCount: number | string };

export function toAgent(row: AgentListRow, now: Date, viewer: AgentViewer): Agent {
  return {
    id: row.id,
    name: row.name,
    hostname: row.hostname,
    platform: row.platform as AgentPlatform,
    arch: row.arch,
    version: row.version,
    labels: row.labels,
    status: agentStatus(row, now),
    lastHeartbeatAt: row.lastHeartbeatAt?.toISOString() ?? null,
    deliveredThrough: row.deliveredThrough?.toISOString() ?? null,
    conditions: row.conditions as Condition[],
    lastAppliedRevision: row.lastAppliedRevision,
    lastAttemptedRevision: row.lastAttemptedRevision,
    repository:
      row.repositoryUrl === null
        ? null
        : { url: row.repositoryUrl, branch: row.repositoryBranch ?? '' },
    createdAt: row.createdAt.toISOString(),
    ...(viewer.seesMachineIds ? { machineId: row.machineId } : {}),
  };
}

export function toAgentDetail(row: AgentDetailRow, now: Date, viewer: AgentViewer): AgentDetail {
  return {
    ...toAgent(row, now, viewer),
    heartbeatIntervalSeconds: row.heartbeatIntervalSeconds,
    errors: row.errors as ManifestErrorReport[],
    jobInstanceCount: Number(row.jobInstanceCount),
    enrollmentTokenId: row.enrollmentTokenId,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    revokedReason: row.revokedReason,
    updatedAt: row.updatedAt.toISOString(),
  };
}
