import { apiRoutes, type ApiTokenSummary, type PermissionName } from '@cronfleet/core/api';
import { and, desc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { Express } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { apiTokens, users } from '../db/schema.js';
import { forbidden, notFound, unauthorized } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import { credentialsChanged } from '../http/credentialCache.js';
import { rolePermissions, type UserPrincipal } from '../http/authenticate.js';
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
  parentTokenId: apiTokens.parentTokenId,
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
  parentTokenId: string | null;
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
    parentTokenId: row.parentTokenId,
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
 *
 * A token created with an API token never outlives it: its expiry is at most the parent's (a
 * longer or absent expiresInDays is capped, and the answer shows the expiry it got), and revoking
 * the parent revokes it, and the tokens it created, in the same transaction.
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
    const requestedExpiry =
      body.expiresInDays === undefined
        ? null
        : new Date(now.getTime() + body.expiresInDays * dayMs);
    const scopes = (['read', 'write', 'admin'] as const).filter((scope) =>
      body.scopes.includes(scope),
    );
    const summary = await db.transaction(async (tx) => {
      const parent =
        principal.via === 'api_token' ? await lockLiveParent(tx, principal, now) : undefined;
      const expiresAt = earliestExpiry(requestedExpiry, parent?.expiresAt ?? null);
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
          parentTokenId: parent?.id ?? null,
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
            parentTokenId: parent?.id ?? null,
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
      // The tokens this one created (and theirs) go with it: run after the update above, which
      // waited for any creation that held this token's row, so this statement sees its child.
      const children = await revokeDescendants(tx, principal.organizationId, row.id, revokedAt);
      evict = await credentialsChanged(tx, context, row.userId);
      await recordAudit(
        tx,
        { principal, organizationId: principal.organizationId, request },
        {
          action: 'api_token.revoke',
          targetType: 'api_token',
          targetId: row.id,
          details: {
            name: row.name,
            ownerUserId: row.userId,
            tokenPrefix: row.tokenPrefix,
            ...(children.length > 0 ? { childTokensRevoked: children } : {}),
          },
        },
      );
      return toSummary({ ...row, revokedAt });
    });
    evict?.();
    return summary;
  });
}

/** The earlier of two expiries, null meaning never. */
function earliestExpiry(requested: Date | null, parent: Date | null): Date | null {
  if (requested === null) return parent;
  if (parent === null) return requested;
  return requested <= parent ? requested : parent;
}

/**
 * The API token a token-authenticated caller is using, locked against revocation until the
 * caller's transaction ends (FOR SHARE conflicts with the revocation's update), so a token
 * being created by it is either seen by that revocation or refused here. A 401 when it was
 * revoked or expired since the caller was authenticated.
 */
async function lockLiveParent(
  tx: Database,
  principal: UserPrincipal,
  now: Date,
): Promise<{ id: string; expiresAt: Date | null }> {
  const [parent] = await tx
    .select({ id: apiTokens.id, expiresAt: apiTokens.expiresAt, revokedAt: apiTokens.revokedAt })
    .from(apiTokens)
    .where(
      and(
        eq(apiTokens.id, principal.credentialId),
        eq(apiTokens.organizationId, principal.organizationId),
      ),
    )
    .for('share');
  if (parent === undefined || parent.revokedAt !== null) {
    throw unauthorized('this API token was revoked; create a new one');
  }
  if (parent.expiresAt !== null && parent.expiresAt <= now) {
    throw unauthorized(
      `this API token expired at ${parent.expiresAt.toISOString()}; create a new one`,
    );
  }
  return { id: parent.id, expiresAt: parent.expiresAt };
}

/**
 * Revokes the tokens created by a token, and theirs, that are not revoked yet; answers their
 * ids. They all belong to the same user as the token (a token creates tokens for its owner).
 */
async function revokeDescendants(
  tx: Database,
  organizationId: string,
  tokenId: string,
  revokedAt: Date,
): Promise<string[]> {
  const rows = await tx.execute<{ id: string }>(sql`
    with recursive descendants as (
      select id from api_tokens where parent_token_id = ${tokenId}::uuid
      union
      select child.id from api_tokens child join descendants on child.parent_token_id = descendants.id
    )
    update api_tokens set revoked_at = ${revokedAt.toISOString()}::timestamptz
    where id in (select id from descendants)
      and organization_id = ${organizationId}::uuid
      and revoked_at is null
    returning id`);
  const list = Array.isArray(rows) ? rows : (rows as { rows: { id: string }[] }).rows;
  return list.map((row) => row.id);
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
