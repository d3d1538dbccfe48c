import type { AgentCommand, AgentCommandReceipt } from '@cronfleet/core/api';
import { and, asc, eq, gt, inArray, isNull, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { agentCommands, agents, jobInstances } from '../db/schema.js';
import { ApiError, conflict, notFound } from '../http/apiError.js';
import type { UserPrincipal } from '../http/authenticate.js';

/**
 * The queue of reconcile-now and run-now commands. Every function takes the transaction it
 * works in. Queuing locks the agents' rows and raises their pending_command_count in the same
 * transaction as the insert; the heartbeat takes the commands with the agent's row locked by its
 * own UPDATE. So a command committed before a heartbeat's UPDATE is in that heartbeat's answer,
 * one committed after it waits for the next, and none is handed over twice or skipped.
 */

/** Who asked, as stored with the command (the audit log has the rest). */
function requesterOf(principal: UserPrincipal) {
  return {
    requestedByType: principal.via === 'api_token' ? ('api_token' as const) : ('user' as const),
    requestedById: principal.userId,
  };
}

export interface QueueOptions {
  principal: UserPrincipal;
  now: Date;
  /** How long the command waits for a heartbeat before it is dropped. */
  ttlSeconds: number;
}

const receiptColumns = {
  requestId: agentCommands.id,
  type: agentCommands.type,
  agentId: agentCommands.agentId,
  createdAt: agentCommands.createdAt,
  expiresAt: agentCommands.expiresAt,
};

interface ReceiptRow {
  requestId: string;
  type: 'reconcile' | 'run';
  agentId: string;
  createdAt: Date;
  expiresAt: Date;
}

function toReceipt(row: ReceiptRow, agentName: string): AgentCommandReceipt {
  return {
    requestId: row.requestId,
    type: row.type,
    agentId: row.agentId,
    agentName,
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt.toISOString(),
  };
}

const revokedAgent = (name: string, what: string) =>
  conflict(
    `agent ${name} is revoked, so it cannot ${what}; enroll it again with a new enrollment token first`,
  );

/** Adds one to the pending count of each agent (whose rows the caller has locked). */
async function countQueued(
  tx: Database,
  organizationId: string,
  agentIds: readonly string[],
): Promise<void> {
  await tx
    .update(agents)
    .set({ pendingCommandCount: sql`${agents.pendingCommandCount} + 1` })
    .where(and(inArray(agents.id, [...agentIds]), eq(agents.organizationId, organizationId)));
}

/**
 * Queues a reconcile for one agent of the organization, or answers the reconcile already waiting
 * for it (`created: false`): asking twice before the agent's next heartbeat reconciles once.
 *
 * @throws ApiError 404 for an agent not in the organization, 409 for a revoked agent.
 */
export async function queueReconcile(
  tx: Database,
  agentId: string,
  options: QueueOptions,
): Promise<{ receipt: AgentCommandReceipt; created: boolean }> {
  const { organizationId } = options.principal;
  const [agent] = await tx
    .select({ id: agents.id, name: agents.name, revokedAt: agents.revokedAt })
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId)))
    .for('update');
  if (agent === undefined) throw notFound('agent');
  if (agent.revokedAt !== null) throw revokedAgent(agent.name, 'reconcile');
  const [waiting] = await tx
    .select(receiptColumns)
    .from(agentCommands)
    .where(
      and(
        eq(agentCommands.agentId, agentId),
        eq(agentCommands.organizationId, organizationId),
        eq(agentCommands.type, 'reconcile'),
        isNull(agentCommands.deliveredAt),
        gt(agentCommands.expiresAt, options.now),
      ),
    )
    .orderBy(asc(agentCommands.createdAt))
    .limit(1);
  if (waiting !== undefined) return { receipt: toReceipt(waiting, agent.name), created: false };
  const [queued] = await tx
    .insert(agentCommands)
    .values({
      organizationId,
      agentId,
      type: 'reconcile',
      ...requesterOf(options.principal),
      createdAt: options.now,
      expiresAt: new Date(options.now.getTime() + options.ttlSeconds * 1000),
    })
    .returning(receiptColumns);
  if (queued === undefined) throw new Error('the reconcile command was not inserted');
  await countQueued(tx, organizationId, [agentId]);
  return { receipt: toReceipt(queued, agent.name), created: true };
}

export interface JobRunTarget {
  namespace: string;
  name: string;
  /** Only this agent; default: every agent that has applied the job and is not revoked. */
  agentId?: string | undefined;
}

/**
 * Queues one run of a job per target agent: the agents of the organization whose inventory holds
 * the job instance (or the one asked for). Answers one receipt per agent, ordered by agent name.
 * A suspended job instance may still be run by hand, as `kubectl create job --from` allows.
 *
 * @throws ApiError 404 when no agent (or not the agent asked for) has applied the job, 409 when
 * the agent asked for, or every agent that has the job, is revoked.
 */
export async function queueJobRun(
  tx: Database,
  target: JobRunTarget,
  options: QueueOptions,
): Promise<AgentCommandReceipt[]> {
  const { organizationId } = options.principal;
  // Locked in id order, so two requests for the same job never wait on each other in a cycle.
  const holders = await tx
    .select({ id: agents.id, name: agents.name, revokedAt: agents.revokedAt })
    .from(jobInstances)
    .innerJoin(
      agents,
      and(eq(agents.id, jobInstances.agentId), eq(agents.organizationId, organizationId)),
    )
    .where(
      and(
        eq(jobInstances.organizationId, organizationId),
        eq(jobInstances.namespace, target.namespace),
        eq(jobInstances.name, target.name),
        ...(target.agentId === undefined ? [] : [eq(jobInstances.agentId, target.agentId)]),
      ),
    )
    .orderBy(asc(agents.id))
    .for('update', { of: agents });
  if (holders.length === 0) throw await noHolder(tx, organizationId, target.agentId);
  const active = holders.filter((agent) => agent.revokedAt === null);
  if (active.length === 0) {
    const [only] = holders;
    throw target.agentId !== undefined && only !== undefined
      ? revokedAgent(only.name, 'run jobs')
      : conflict(
          `every agent that has applied this job is revoked (${holders.map((agent) => agent.name).join(', ')}); enroll one again first`,
        );
  }
  const expiresAt = new Date(options.now.getTime() + options.ttlSeconds * 1000);
  const queued = await tx
    .insert(agentCommands)
    .values(
      active.map((agent) => ({
        organizationId,
        agentId: agent.id,
        type: 'run' as const,
        namespace: target.namespace,
        name: target.name,
        ...requesterOf(options.principal),
        createdAt: options.now,
        expiresAt,
      })),
    )
    .returning(receiptColumns);
  await countQueued(
    tx,
    organizationId,
    active.map((agent) => agent.id),
  );
  const names = new Map(active.map((agent) => [agent.id, agent.name]));
  return queued
    .map((row) => toReceipt(row, names.get(row.agentId) ?? ''))
    .sort(
      (left, right) =>
        left.agentName.localeCompare(right.agentName) || left.agentId.localeCompare(right.agentId),
    );
}

/** The 404 of a run request that found no job instance: says whether the agent exists at all. */
async function noHolder(
  tx: Database,
  organizationId: string,
  agentId: string | undefined,
): Promise<ApiError> {
  // Never names the job: the caller sent it, and another organization's jobs stay unknown.
  if (agentId === undefined) {
    return new ApiError(
      'not_found',
      'no agent of your organization has applied this job; check the namespace and name against GET /api/v1/jobs',
    );
  }
  const [agent] = await tx
    .select({ name: agents.name })
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId)));
  if (agent === undefined) return notFound('agent');
  return new ApiError(
    'not_found',
    `agent ${agent.name} has not applied this job (its inventory does not hold it); leave agentId out to run it on every agent that has`,
  );
}

/**
 * Hands over the agent's oldest `limit` commands that are waiting and not expired (marked
 * delivered, oldest first), and answers them with how many still wait. Call it in the
 * heartbeat's transaction, with the agent's row locked, and store `waiting` as the agent's
 * pending_command_count: if that transaction does not commit, the commands stay queued.
 */
export async function takePendingCommands(
  tx: Database,
  agent: { organizationId: string; agentId: string },
  now: Date,
  limit: number,
): Promise<{ commands: AgentCommand[]; waiting: number }> {
  const pending = and(
    eq(agentCommands.agentId, agent.agentId),
    eq(agentCommands.organizationId, agent.organizationId),
    isNull(agentCommands.deliveredAt),
    gt(agentCommands.expiresAt, now),
  );
  const oldest = tx
    .select({ id: agentCommands.id })
    .from(agentCommands)
    .where(pending)
    .orderBy(asc(agentCommands.createdAt), asc(agentCommands.id))
    .limit(limit);
  const taken = await tx
    .update(agentCommands)
    .set({ deliveredAt: now })
    .where(and(pending, inArray(agentCommands.id, oldest)))
    .returning({
      id: agentCommands.id,
      type: agentCommands.type,
      namespace: agentCommands.namespace,
      name: agentCommands.name,
      createdAt: agentCommands.createdAt,
    });
  const [left] = await tx
    .select({ waiting: sql<number>`count(*)::int` })
    .from(agentCommands)
    .where(pending);
  taken.sort(
    (left, right) =>
      left.createdAt.getTime() - right.createdAt.getTime() || left.id.localeCompare(right.id),
  );
  const commands = taken.map((command): AgentCommand => {
    if (command.type === 'reconcile') return { type: 'reconcile' };
    if (command.namespace === null || command.name === null) {
      throw new Error(`run command ${command.id} has no job`);
    }
    return {
      type: 'run',
      namespace: command.namespace,
      name: command.name,
      requestId: command.id,
    };
  });
  return { commands, waiting: left?.waiting ?? 0 };
}
