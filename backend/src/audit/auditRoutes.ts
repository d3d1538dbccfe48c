import { apiRoutes, type AuditEntry, type ListAuditQuery } from '@cronfleet/core/api';
import { and, desc, eq, gte, lt, sql, type SQL } from 'drizzle-orm';
import type { Express } from 'express';
import { auditLog } from '../db/schema.js';
import type { AppContext } from '../http/appContext.js';
import { mountRoute } from '../http/mountRoute.js';
import { decodeAuditCursor, encodeAuditCursor } from './auditCursor.js';

const createdAtMicros = sql<string>`(extract(epoch from ${auditLog.createdAt}) * 1000000)::bigint::text`;

/** The conditions of a query's filters (the organization's own entries only). */
function filtersOf(organizationId: string, query: ListAuditQuery): SQL[] {
  const conditions: SQL[] = [eq(auditLog.organizationId, organizationId)];
  if (query.actor !== undefined) conditions.push(eq(auditLog.actorId, query.actor));
  if (query.actorType !== undefined) conditions.push(eq(auditLog.actorType, query.actorType));
  if (query.action !== undefined) {
    conditions.push(
      query.action.endsWith('.*')
        ? sql`starts_with(${auditLog.action}, ${query.action.slice(0, -1)})`
        : eq(auditLog.action, query.action),
    );
  }
  if (query.targetType !== undefined) conditions.push(eq(auditLog.targetType, query.targetType));
  if (query.targetId !== undefined) conditions.push(eq(auditLog.targetId, query.targetId));
  if (query.from !== undefined) conditions.push(gte(auditLog.createdAt, new Date(query.from)));
  if (query.to !== undefined) conditions.push(lt(auditLog.createdAt, new Date(query.to)));
  if (query.cursor !== undefined) {
    const after = decodeAuditCursor(query.cursor);
    conditions.push(
      sql`(${auditLog.createdAt}, ${auditLog.id}) < (timestamptz 'epoch' + ${after.createdAtMicros}::bigint * interval '1 microsecond', ${after.id}::bigint)`,
    );
  }
  return conditions;
}

/**
 * `GET /api/v1/audit`: the organization's audit log for its admins, newest first, in keyset
 * pages of (created_at, id), filtered by actor, actor type, action (exact, or a prefix ending in
 * `.*`), target and time. A filter value the contract refuses, or a cursor this server did not
 * issue, is a 400 that names the parameter.
 */
export function registerAuditRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(app, context, apiRoutes.listAudit, async ({ principal, query }) => {
    const rows = await db
      .select({ entry: auditLog, createdAtMicros })
      .from(auditLog)
      .where(and(...filtersOf(principal.organizationId, query)))
      .orderBy(desc(auditLog.createdAt), desc(auditLog.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    const items: AuditEntry[] = page.map(({ entry }) => ({
      id: entry.id,
      createdAt: entry.createdAt.toISOString(),
      actorType: entry.actorType,
      actorId: entry.actorId,
      action: entry.action,
      targetType: entry.targetType,
      targetId: entry.targetId,
      details: entry.details,
      ip: entry.ip,
      userAgent: entry.userAgent,
    }));
    return {
      items,
      nextCursor:
        rows.length > query.limit && last !== undefined
          ? encodeAuditCursor({ createdAtMicros: last.createdAtMicros, id: last.entry.id })
          : null,
    };
  });
}
