import { apiRoutes, type ApiTokenSummary, type PermissionName } from '@cronfleet/core/api';
import { and, desc, eq, isNull, type SQL } from 'drizzle-orm';
import type { Express } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { apiTokens, users } from '../db/schema.js';
import { forbidden, notFound } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import { credentialsChanged } from '../http/credentialCache.js';
import { rolePermissions } from '../http/authenticate.js';
import { displayPrefix, generateToken, hashToken } from '../http/credentials.js';
import { mountRoute } from '../http/mountRoute.js';

const dayMs = 86_400_000;

const summaryColumns = {
  id: apiTokens.id,
  name: apiTokens.name,
  userId: apiTokens.userId,
  userEmail: users.email,
  tokenPrefix: apiTokens.tokenPrefix,
  scopes: apiTokens.scopes,
  createdAt: apiTokens.createdAt,
  expiresAt: apiTokens.expiresAt,
  lastUsedAt: apiTokens.lastUsedAt,
  revokedAt: apiTokens.revokedAt,
};

interface SummaryRow {
  id: string;
  name: string;
  userId: string;
  userEmail: string;
  tokenPrefix: string;
  scopes: string[];
  createdAt: Date;
  expiresAt: Date | null;
  lastUsedAt: Date | null;
  revokedAt: Date | null;
}

function toSummary(row: SummaryRow): ApiTokenSummary {
  return {
    id: row.id,
    name: row.name,
    userId: row.userId,
    userEmail: row.userEmail,
    tokenPrefix: row.tokenPrefix,
    scopes: row.scopes as PermissionName[],
    createdAt: row.createdAt.toISOString(),
    expiresAt: row.expiresAt?.toISOString() ?? null,
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
    revokedAt: row.revokedAt?.toISOString() ?? null,
  };
}

/** The token summaries of the organization that match `where` (never the token or its hash). */
function selectSummaries(db: Database, organizationId: string, where: SQL | undefined) {
  return db
    .select(summaryColumns)
    .from(apiTokens)
    .innerJoin(users, eq(users.id, apiTokens.userId))
    .where(and(eq(apiTokens.organizationId, organizationId), where))
    .orderBy(desc(apiTokens.createdAt), desc(apiTokens.id));
}

/**
 * Personal API tokens. Anyone signed in (viewers too) may create tokens for themselves with at
 * most the permissions they have now (for a token-authenticated caller: that token's effective
 * scopes), list their own and revoke their own; that changes no state of the organization.
 * Admins may list and revoke everyone's tokens in their organization.
 */
export function registerApiTokenRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(app, context, apiRoutes.createApiToken, async ({ principal, body, request }) => {
    const beyond = body.scopes.filter((scope) => !principal.permissions.has(scope));
    if (beyond.length > 0) {
      const byToken =
        principal.via === 'api_token' &&
        beyond.every((scope) => rolePermissions[principal.role].includes(scope))
          ? ' (your role has it, but the API token you are using does not: sign in or use a token with that scope)'
          : '';
      throw forbidden(
        `you cannot grant the ${beyond.join(' and ')} scope${beyond.length > 1 ? 's' : ''}: a token gets at most the permissions you have, and your role is ${principal.role}${byToken}`,
      );
    }
    const now = context.now();
    const token = generateToken('personal');
    const expiresAt =
      body.expiresInDays === undefined
        ? null
        : new Date(now.getTime() + body.expiresInDays * dayMs);
    const scopes = (['read', 'write', 'admin'] as const).filter((scope) =>
      body.scopes.includes(scope),
    );
    const summary = await db.transaction(async (tx) => {
      const [inserted] = await tx
        .insert(apiTokens)
        .values({
          organizationId: principal.organizationId,
          userId: principal.userId,
          name: body.name,
          tokenHash: hashToken(token),
          tokenPrefix: displayPrefix(token),
          scopes,
          expiresAt,
          createdAt: now,
        })
        .returning({ id: apiTokens.id });
      if (inserted === undefined) throw new Error('the API token was not stored');
      await recordAudit(
        tx,
        { principal, organizationId: principal.organizationId, request },
        {
          action: 'api_token.create',
          targetType: 'api_token',
          targetId: inserted.id,
          details: {
            name: body.name,
            scopes,
            expiresAt: expiresAt?.toISOString() ?? null,
            tokenPrefix: displayPrefix(token),
          },
        },
      );
      const [row] = await selectSummaries(
        tx,
        principal.organizationId,
        eq(apiTokens.id, inserted.id),
      );
      if (row === undefined) throw new Error('the API token just stored was not found');
      return toSummary(row);
    });
    return { token, apiToken: summary };
  });

  mountRoute(app, context, apiRoutes.listApiTokens, async ({ principal, query }) => {
    const wantsOthers =
      query.all === 'true' || (query.userId !== undefined && query.userId !== principal.userId);
    if (wantsOthers && !principal.permissions.has('admin')) {
      throw forbidden(
        "only admins may list other people's API tokens; leave out userId and all to list your own",
      );
    }
    const owner =
      query.all === 'true' ? undefined : eq(apiTokens.userId, query.userId ?? principal.userId);
    const live = query.includeRevoked === 'true' ? undefined : isNull(apiTokens.revokedAt);
    const rows = await selectSummaries(db, principal.organizationId, and(owner, live));
    return { items: rows.map(toSummary) };
  });

  mountRoute(app, context, apiRoutes.revokeApiToken, async ({ principal, params, request }) => {
    let evict: (() => void) | undefined;
    const summary = await db.transaction(async (tx) => {
      const [row] = await selectSummaries(
        tx,
        principal.organizationId,
        eq(apiTokens.id, params.tokenId),
      );
      // A token of another organization is as unknown as one that never existed.
      if (row === undefined) throw notFound('API token');
      if (row.userId !== principal.userId && !principal.permissions.has('admin')) {
        throw forbidden("only admins may revoke other people's API tokens");
      }
      if (row.revokedAt !== null) return toSummary(row);
      const revokedAt = context.now();
      await tx
        .update(apiTokens)
        .set({ revokedAt })
        .where(
          and(eq(apiTokens.id, row.id), eq(apiTokens.organizationId, principal.organizationId)),
        );
      evict = await credentialsChanged(tx, context, row.userId);
      await recordAudit(
        tx,
        { principal, organizationId: principal.organizationId, request },
        {
          action: 'api_token.revoke',
          targetType: 'api_token',
          targetId: row.id,
          details: { name: row.name, ownerUserId: row.userId, tokenPrefix: row.tokenPrefix },
        },
      );
      return toSummary({ ...row, revokedAt });
    });
    evict?.();
    return summary;
  });
}

/** Deletes a member's tokens in one organization (when they leave it); answers how many. */
export async function deleteMemberApiTokens(
  db: Database,
  organizationId: string,
  userId: string,
): Promise<number> {
  const deleted = await db
    .delete(apiTokens)
    .where(and(eq(apiTokens.organizationId, organizationId), eq(apiTokens.userId, userId)))
    .returning({ id: apiTokens.id });
  return deleted.length;
}
