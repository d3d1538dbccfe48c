import { apiRoutes, type AgentDetail } from '@cronfleet/core/api';
import { and, asc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { Express } from 'express';
import { credentialsChanged } from '../http/credentialCache.js';
import { publishAgentChange } from '../events/liveEventChannel.js';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { agents } from '../db/schema.js';
import { notFound } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import { mountRoute } from '../http/mountRoute.js';
import { agentLabelConditions, agentTextCondition } from './agentListFilters.js';
import { agentStatusCondition } from './agentStatus.js';
import {
  agentDetailColumns,
  agentListColumns,
  agentViewerOf,
  toAgent,
  toAgentDetail,
  type AgentViewer,
} from './agentViews.js';
import { decodeCursor, encodeCursor } from './keysetCursor.js';

const createdAtMicros = sql<string>`(extract(epoch from ${agents.createdAt}) * 1000000)::bigint::text`;

/** One agent of the organization with everything `show` answers, or a 404. */
async function loadAgentDetail(
  db: Database,
  organizationId: string,
  agentId: string,
  now: Date,
  viewer: AgentViewer,
): Promise<AgentDetail> {
  const [row] = await db
    .select(agentDetailColumns)
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId)))
    .limit(1);
  // Another organization's agent is as absent as one that never existed.
  if (row === undefined) throw notFound('agent');
  return toAgentDetail(row, now, viewer);
}

/** Agent administration: list with filters, show, rename and relabel, revoke. */
export function registerAgentManagementRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(app, context, apiRoutes.listAgents, async ({ principal, query }) => {
    const now = context.now();
    const conditions: SQL[] = [eq(agents.organizationId, principal.organizationId)];
    if (query.status !== undefined) conditions.push(agentStatusCondition(query.status, now));
    if (query.label !== undefined) conditions.push(...agentLabelConditions(query.label));
    if (query.q !== undefined) conditions.push(agentTextCondition(query.q));
    if (query.cursor !== undefined) {
      // Oldest first, so agents enrolled while a client pages through land after its cursor.
      const after = decodeCursor(query.cursor);
      conditions.push(
        sql`(${agents.createdAt}, ${agents.id}) > (timestamptz 'epoch' + ${after.createdAtMicros}::bigint * interval '1 microsecond', ${after.id}::uuid)`,
      );
    }
    const rows = await db
      .select({ ...agentListColumns, createdAtMicros })
      .from(agents)
      .where(and(...conditions))
      .orderBy(asc(agents.createdAt), asc(agents.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => toAgent(row, now, agentViewerOf(principal))),
      nextCursor:
        rows.length > query.limit && last !== undefined
          ? encodeCursor({ createdAtMicros: last.createdAtMicros, id: last.id })
          : null,
    };
  });

  mountRoute(app, context, apiRoutes.getAgent, async ({ principal, params }) =>
    loadAgentDetail(
      db,
      principal.organizationId,
      params.agentId,
      context.now(),
      agentViewerOf(principal),
    ),
  );

  mountRoute(app, context, apiRoutes.updateAgent, async ({ principal, params, body, request }) => {
    const now = context.now();
    let evict: (() => void) | undefined;
    const detail = await db.transaction(async (tx) => {
      const scoped = and(
        eq(agents.id, params.agentId),
        eq(agents.organizationId, principal.organizationId),
      );
      const [before] = await tx
        .select({ name: agents.name, labels: agents.labels })
        .from(agents)
        .where(scoped)
        .for('update');
      if (before === undefined) throw notFound('agent');
      await tx
        .update(agents)
        .set({
          ...(body.name === undefined ? {} : { name: body.name }),
          ...(body.labels === undefined ? {} : { labels: body.labels }),
          updatedAt: now,
        })
        .where(scoped);
      // The agent principal carries its name: cached principals must see the new one.
      if (body.name !== undefined) evict = await credentialsChanged(tx, context, params.agentId);
      const details: Record<string, unknown> = {};
      if (body.name !== undefined) details.name = { from: before.name, to: body.name };
      if (body.labels !== undefined) details.labels = { from: before.labels, to: body.labels };
      await recordAudit(
        tx,
        { principal, organizationId: principal.organizationId, request },
        {
          action: 'agent.update',
          targetType: 'agent',
          targetId: params.agentId,
          details,
        },
      );
      return loadAgentDetail(
        tx,
        principal.organizationId,
        params.agentId,
        now,
        agentViewerOf(principal),
      );
    });
    evict?.();
    return detail;
  });

  mountRoute(app, context, apiRoutes.revokeAgent, async ({ principal, params, body, request }) => {
    const now = context.now();
    let evict: (() => void) | undefined;
    const detail = await db.transaction(async (tx) => {
      const [revoked] = await tx
        .update(agents)
        .set({ revokedAt: now, revokedReason: body.reason, updatedAt: now })
        .where(
          and(
            eq(agents.id, params.agentId),
            eq(agents.organizationId, principal.organizationId),
            isNull(agents.revokedAt),
          ),
        )
        .returning({ id: agents.id, name: agents.name });
      // Revoking a revoked agent keeps the first revocation and its reason.
      if (revoked !== undefined) {
        evict = await credentialsChanged(tx, context, revoked.id);
        await publishAgentChange(tx, principal.organizationId, revoked.id);
        await recordAudit(
          tx,
          { principal, organizationId: principal.organizationId, request },
          {
            action: 'agent.revoke',
            targetType: 'agent',
            targetId: revoked.id,
            details: { name: revoked.name, reason: body.reason },
          },
        );
      }
      return loadAgentDetail(
        tx,
        principal.organizationId,
        params.agentId,
        now,
        agentViewerOf(principal),
      );
    });
    evict?.();
    return detail;
  });
}
