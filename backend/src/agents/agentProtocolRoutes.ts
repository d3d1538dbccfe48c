import { apiRoutes, type InventoryJob } from '@cronfleet/core/api';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Express } from 'express';
import { credentialsChanged } from '../http/credentialCache.js';
import { recordAudit } from '../audit/recordAudit.js';
import { agents, enrollmentTokens, jobInstances } from '../db/schema.js';
import { GroupCommit } from '../db/groupCommit.js';
import { takePendingCommands } from './agentCommandQueue.js';
import {
  heartbeatColumns,
  recordQuietHeartbeats,
  type HeartbeatReport,
} from './heartbeatWriter.js';
import { type ApiError, unauthorized } from '../http/apiError.js';
import { agentRevoked, type AgentPrincipal } from '../http/authenticate.js';
import type { Database } from '../db/database.js';
import type { AppContext } from '../http/appContext.js';
import { generateToken, hashToken } from '../http/credentials.js';
import { mountLeanRoute, mountRoute } from '../http/mountRoute.js';

/** Rows per INSERT of an inventory: 16 parameters each stays far below PostgreSQL's 65,535. */
const inventoryInsertChunk = 1000;

/**
 * The agent was authenticated, then revoked before its statement ran: the same 401 as the next
 * call will get, reason included (the agent logs it and stops applying).
 */
async function revokedMeanwhile(
  db: Pick<Database, 'select'>,
  principal: AgentPrincipal,
): Promise<ApiError> {
  const [row] = await db
    .select({ revokedReason: agents.revokedReason })
    .from(agents)
    .where(
      and(eq(agents.id, principal.agentId), eq(agents.organizationId, principal.organizationId)),
    );
  return agentRevoked(row?.revokedReason ?? null);
}

/**
 * The agent protocol: enroll (enrollment token → agent id and agent token), heartbeat (one
 * UPDATE … RETURNING, plus the hand-over of queued commands when there are some) and inventory
 * (the agent's job instances replaced in one transaction).
 */
export function registerAgentProtocolRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(app, context, apiRoutes.enroll, async ({ principal, body, request }) => {
    const now = context.now();
    const agentToken = generateToken('agent');
    let evict: (() => void) | undefined;
    const enrolled = await db.transaction(async (tx) => {
      // Take one use, atomically: under concurrency a token with maxUses N enrolls exactly N
      // agents (the row lock makes the next UPDATE re-check `uses` after this one commits).
      const [token] = await tx
        .update(enrollmentTokens)
        .set({ uses: sql`${enrollmentTokens.uses} + 1` })
        .where(
          and(
            eq(enrollmentTokens.id, principal.enrollmentTokenId),
            eq(enrollmentTokens.organizationId, principal.organizationId),
            isNull(enrollmentTokens.revokedAt),
            sql`(${enrollmentTokens.expiresAt} is null or ${enrollmentTokens.expiresAt} > ${now.toISOString()}::timestamptz)`,
            sql`(${enrollmentTokens.maxUses} is null or ${enrollmentTokens.uses} < ${enrollmentTokens.maxUses})`,
          ),
        )
        .returning({ id: enrollmentTokens.id, labels: enrollmentTokens.labels });
      if (token === undefined) {
        throw unauthorized(
          'this enrollment token can no longer be used: its use limit was reached, or it was revoked or expired meanwhile; ask an operator for a new enrollment token',
        );
      }
      // The token's labels win over the agent's own: whoever issued the token decides them.
      const labels = { ...body.labels, ...token.labels };
      const facts = {
        name: body.name,
        hostname: body.hostname,
        platform: body.platform,
        arch: body.arch,
        version: body.version,
        labels,
        tokenHash: hashToken(agentToken),
        enrollmentTokenId: token.id,
        updatedAt: now,
      };
      // Re-enrolling a machine keeps its agent (same id, history, inventory): the new token
      // replaces the old one, the facts and labels are the ones sent now, and a revocation is
      // lifted, since enrolling took a valid enrollment token.
      const [agent] = await tx
        .insert(agents)
        .values({
          organizationId: principal.organizationId,
          machineId: body.machineId,
          ...facts,
          createdAt: now,
        })
        .onConflictDoUpdate({
          target: [agents.organizationId, agents.machineId],
          set: { ...facts, revokedAt: null, revokedReason: null },
        })
        .returning({
          id: agents.id,
          heartbeatIntervalSeconds: agents.heartbeatIntervalSeconds,
          created: sql<boolean>`(xmax = 0)`,
        });
      if (agent === undefined) throw new Error('the agent was not inserted');
      // Re-enrolling replaces the token: the old one must stop working everywhere.
      if (!agent.created) evict = await credentialsChanged(tx, context, agent.id);
      await recordAudit(
        tx,
        { principal, organizationId: principal.organizationId, request },
        {
          action: agent.created ? 'agent.enroll' : 'agent.reenroll',
          targetType: 'agent',
          targetId: agent.id,
          details: {
            name: body.name,
            hostname: body.hostname,
            enrollmentTokenId: token.id,
            labels,
          },
        },
      );
      return {
        agentId: agent.id,
        agentToken,
        heartbeatIntervalSeconds: agent.heartbeatIntervalSeconds,
      };
    });
    evict?.();
    return enrolled;
  });

  // Nearly always no command waits: then the heartbeat joins the others in flight in one UPDATE,
  // as cheap as before commands existed (the pending count is a column of the row it updates).
  const quietHeartbeats = new GroupCommit((heartbeats: readonly HeartbeatReport[]) =>
    recordQuietHeartbeats(context.database, heartbeats, context.now()),
  );

  mountLeanRoute(app, context, apiRoutes.heartbeat, async ({ principal, body }) => {
    const interval = await quietHeartbeats.submit({ agent: principal, request: body });
    if (interval !== null) return { heartbeatIntervalSeconds: interval, commands: [] };
    const now = context.now();
    const report = { ...heartbeatColumns(body), lastHeartbeatAt: now };
    // Commands wait (or the agent was revoked meanwhile). The report and the hand-over commit
    // together, durably: a heartbeat that fails leaves the commands queued for the next one, and
    // one that commits hands them over exactly once.
    return db.transaction(async (tx) => {
      const [row] = await tx
        .update(agents)
        .set({ ...report, pendingCommandCount: 0 })
        .where(
          and(
            eq(agents.id, principal.agentId),
            eq(agents.organizationId, principal.organizationId),
            isNull(agents.revokedAt),
          ),
        )
        .returning({ heartbeatIntervalSeconds: agents.heartbeatIntervalSeconds });
      if (row === undefined) throw await revokedMeanwhile(tx, principal);
      const commands = await takePendingCommands(tx, principal, now);
      return { heartbeatIntervalSeconds: row.heartbeatIntervalSeconds, commands };
    });
  });

  mountRoute(app, context, apiRoutes.putInventory, async ({ principal, body }) => {
    const now = context.now();
    const rows = body.jobs.map((job: InventoryJob) => ({
      organizationId: principal.organizationId,
      agentId: principal.agentId,
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
      lastSeenAt: now,
    }));
    await db.transaction(async (tx) => {
      // Locks the agent's row: two inventories of one agent apply one after the other, and a
      // revocation meanwhile stops this one.
      const [agent] = await tx
        .select({ id: agents.id })
        .from(agents)
        .where(
          and(
            eq(agents.id, principal.agentId),
            eq(agents.organizationId, principal.organizationId),
            isNull(agents.revokedAt),
          ),
        )
        .for('update');
      if (agent === undefined) throw await revokedMeanwhile(tx, principal);
      await tx
        .delete(jobInstances)
        .where(
          and(
            eq(jobInstances.agentId, principal.agentId),
            eq(jobInstances.organizationId, principal.organizationId),
          ),
        );
      for (let start = 0; start < rows.length; start += inventoryInsertChunk) {
        await tx.insert(jobInstances).values(rows.slice(start, start + inventoryInsertChunk));
      }
    });
    // Unmanaged entries are counted, not stored: there is no table for them yet.
    return { jobCount: rows.length, unmanagedCount: body.unmanaged.length };
  });
}
