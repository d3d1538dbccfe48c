import {
  apiRoutes,
  type EnrollmentTokenStatus,
  type EnrollmentTokenSummary,
} from '@cronfleet/core/api';
import { and, desc, eq, sql, type SQL } from 'drizzle-orm';
import type { Express } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { agents, enrollmentTokens } from '../db/schema.js';
import { conflict, notFound } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import { displayPrefix, generateToken, hashToken } from '../http/credentials.js';
import { mountRoute } from '../http/mountRoute.js';
import { decodeCursor, encodeCursor } from './keysetCursor.js';

type EnrollmentTokenRow = typeof enrollmentTokens.$inferSelect;

/** Why a token may no longer enroll, in this order: revoked, expired, used up; else active. */
export function enrollmentTokenStatus(
  row: Pick<EnrollmentTokenRow, 'revokedAt' | 'expiresAt' | 'maxUses' | 'uses'>,
  now: Date,
): EnrollmentTokenStatus {
  if (row.revokedAt !== null) return 'revoked';
  if (row.expiresAt !== null && row.expiresAt <= now) return 'expired';
  if (row.maxUses !== null && row.uses >= row.maxUses) return 'used_up';
  return 'active';
}

/** The same rule as {@link enrollmentTokenStatus}, as a WHERE condition. */
function statusCondition(status: EnrollmentTokenStatus, now: Date): SQL {
  const at = sql`${now.toISOString()}::timestamptz`;
  const notRevoked = sql`${enrollmentTokens.revokedAt} is null`;
  const expired = sql`(${enrollmentTokens.expiresAt} is not null and ${enrollmentTokens.expiresAt} <= ${at})`;
  const usedUp = sql`(${enrollmentTokens.maxUses} is not null and ${enrollmentTokens.uses} >= ${enrollmentTokens.maxUses})`;
  switch (status) {
    case 'revoked':
      return sql`${enrollmentTokens.revokedAt} is not null`;
    case 'expired':
      return sql`(${notRevoked} and ${expired})`;
    case 'used_up':
      return sql`(${notRevoked} and not ${expired} and ${usedUp})`;
    case 'active':
      return sql`(${notRevoked} and not ${expired} and not ${usedUp})`;
  }
}

export function toEnrollmentTokenSummary(
  row: EnrollmentTokenRow,
  now: Date,
): EnrollmentTokenSummary {
  return {
    id: row.id,
    description: row.description,
    tokenPrefix: row.tokenPrefix,
    labels: row.labels,
    maxUses: row.maxUses,
    uses: row.uses,
    expiresAt: row.expiresAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
    status: enrollmentTokenStatus(row, now),
    createdAt: row.createdAt.toISOString(),
    replacesAgentId: row.replacesAgentId,
  };
}

/**
 * An operator may replace an agent of the organization that is not revoked: 404 for another
 * organization's (as for one that never existed), 409 for a revoked one (it stays revoked).
 */
async function checkReplaceable(
  tx: Pick<Database, 'select'>,
  organizationId: string,
  agentId: string,
): Promise<void> {
  const [agent] = await tx
    .select({ name: agents.name, revokedAt: agents.revokedAt })
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId)));
  if (agent === undefined) throw notFound('agent (replacesAgentId)');
  if (agent.revokedAt !== null) {
    throw conflict(
      `replacesAgentId: agent ${agent.name} was revoked, and a revoked agent stays revoked; create an enrollment token without replacesAgentId to enroll the host as a new agent`,
    );
  }
}

const createdAtMicros = sql<string>`(extract(epoch from ${enrollmentTokens.createdAt}) * 1000000)::bigint::text`;

/** Enrollment tokens: create (shown once, stored hashed), list (never the token), revoke. */
export function registerEnrollmentTokenRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(
    app,
    context,
    apiRoutes.createEnrollmentToken,
    async ({ principal, body, request }) => {
      const now = context.now();
      const token = generateToken('enrollment');
      const expiresAt =
        body.expiresInHours === undefined
          ? null
          : new Date(now.getTime() + Math.round(body.expiresInHours * 3_600_000));
      return db.transaction(async (tx) => {
        if (body.replacesAgentId !== undefined) {
          await checkReplaceable(tx, principal.organizationId, body.replacesAgentId);
        }
        const [row] = await tx
          .insert(enrollmentTokens)
          .values({
            organizationId: principal.organizationId,
            createdByUserId: principal.userId,
            description: body.description,
            tokenHash: hashToken(token),
            tokenPrefix: displayPrefix(token),
            labels: body.labels,
            // A replace is one reinstalled host: one use.
            maxUses: body.replacesAgentId === undefined ? (body.maxUses ?? null) : 1,
            replacesAgentId: body.replacesAgentId ?? null,
            expiresAt,
            createdAt: now,
          })
          .returning();
        if (row === undefined) throw new Error('the enrollment token was not inserted');
        await recordAudit(
          tx,
          { principal, organizationId: principal.organizationId, request },
          {
            action: 'enrollment_token.create',
            targetType: 'enrollment_token',
            targetId: row.id,
            details: {
              description: row.description,
              tokenPrefix: row.tokenPrefix,
              labels: row.labels,
              maxUses: row.maxUses,
              expiresAt: row.expiresAt?.toISOString() ?? null,
              ...(row.replacesAgentId === null ? {} : { replacesAgentId: row.replacesAgentId }),
            },
          },
        );
        return { ...toEnrollmentTokenSummary(row, now), token };
      });
    },
  );

  mountRoute(app, context, apiRoutes.listEnrollmentTokens, async ({ principal, query }) => {
    const now = context.now();
    const conditions: SQL[] = [eq(enrollmentTokens.organizationId, principal.organizationId)];
    if (query.status !== undefined) conditions.push(statusCondition(query.status, now));
    if (query.cursor !== undefined) {
      const after = decodeCursor(query.cursor);
      conditions.push(
        sql`(${enrollmentTokens.createdAt}, ${enrollmentTokens.id}) < (timestamptz 'epoch' + ${after.createdAtMicros}::bigint * interval '1 microsecond', ${after.id}::uuid)`,
      );
    }
    const rows = await db
      .select({ token: enrollmentTokens, createdAtMicros })
      .from(enrollmentTokens)
      .where(and(...conditions))
      .orderBy(desc(enrollmentTokens.createdAt), desc(enrollmentTokens.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => toEnrollmentTokenSummary(row.token, now)),
      nextCursor:
        rows.length > query.limit && last !== undefined
          ? encodeCursor({ createdAtMicros: last.createdAtMicros, id: last.token.id })
          : null,
    };
  });

  mountRoute(
    app,
    context,
    apiRoutes.revokeEnrollmentToken,
    async ({ principal, params, request }) => {
      const now = context.now();
      return db.transaction(async (tx) => {
        const scoped = and(
          eq(enrollmentTokens.id, params.enrollmentTokenId),
          eq(enrollmentTokens.organizationId, principal.organizationId),
        );
        const [revoked] = await tx
          .update(enrollmentTokens)
          .set({ revokedAt: now })
          .where(and(scoped, sql`${enrollmentTokens.revokedAt} is null`))
          .returning();
        if (revoked !== undefined) {
          await recordAudit(
            tx,
            { principal, organizationId: principal.organizationId, request },
            {
              action: 'enrollment_token.revoke',
              targetType: 'enrollment_token',
              targetId: revoked.id,
              details: { tokenPrefix: revoked.tokenPrefix, uses: revoked.uses },
            },
          );
          return toEnrollmentTokenSummary(revoked, now);
        }
        // Already revoked (the call is idempotent), or not this organization's: a 404.
        const [existing] = await tx.select().from(enrollmentTokens).where(scoped).limit(1);
        if (existing === undefined) throw notFound('enrollment token');
        return toEnrollmentTokenSummary(existing, now);
      });
    },
  );
}
