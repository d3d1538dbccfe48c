import { apiRoutes } from '@cronfleet/core/api';
import { and, eq, isNull } from 'drizzle-orm';
import type { Express } from 'express';
import { agents } from '../db/schema.js';
import { dashboardUrlOf } from '../env.js';
import { writeInventory } from './inventoryWriter.js';
import { GroupCommit } from '../db/groupCommit.js';
import { enrollAgent } from './agentEnrollment.js';
import { recordHeartbeatWithWork } from './heartbeatHandover.js';
import { recordQuietHeartbeats, type HeartbeatReport } from './heartbeatWriter.js';
import type { ApiError } from '../http/apiError.js';
import { agentRevoked, type AgentPrincipal } from '../http/authenticate.js';
import type { Database } from '../db/database.js';
import type { AppContext } from '../http/appContext.js';
import { mountLeanRoute, mountRoute } from '../http/mountRoute.js';

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
 * (the agent's job instances written in one transaction: inventoryWriter.ts).
 */
export function registerAgentProtocolRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(app, context, apiRoutes.enroll, async ({ principal, body, request }) =>
    enrollAgent(context, principal, body, request),
  );

  // Nearly always no command waits: then the heartbeat joins the others in flight in one UPDATE,
  // as cheap as before commands existed (the pending count is a column of the row it updates).
  const quietHeartbeats = new GroupCommit((heartbeats: readonly HeartbeatReport[]) =>
    recordQuietHeartbeats(context.database, heartbeats, context.now()),
  );

  mountLeanRoute(app, context, apiRoutes.heartbeat, async ({ principal, body }) => {
    const interval = await quietHeartbeats.submit({ agent: principal, request: body });
    if (interval !== null) return { heartbeatIntervalSeconds: interval, commands: [] };
    // Commands wait, a run the agent no longer reports is to be marked lost, or the agent was
    // revoked meanwhile: the report, the runs and the hand-over commit together, durably.
    return recordHeartbeatWithWork(db, {
      agent: principal,
      request: body,
      now: context.now(),
      maxCommands: context.config.maxCommandsPerHeartbeat,
      revoked: (tx) => revokedMeanwhile(tx, principal),
    });
  });

  mountRoute(app, context, apiRoutes.putInventory, async ({ principal, body }) => {
    const now = context.now();
    const warnings = await db.transaction(async (tx) => {
      // Locks the agent's row: two inventories of one agent apply one after the other, and a
      // revocation meanwhile stops this one.
      const [agent] = await tx
        .select({ id: agents.id, name: agents.name })
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
      return writeInventory(
        tx,
        { dashboardUrl: dashboardUrlOf(context.config) },
        { organizationId: principal.organizationId, agentId: agent.id, agentName: agent.name },
        body,
        now,
      );
    });
    // Unmanaged entries are counted, not stored: there is no table for them yet.
    return { jobCount: body.jobs.length, unmanagedCount: body.unmanaged.length, warnings };
  });
}
