import { apiRoutes, type OrganizationUser, type Role } from '@cronfleet/core/api';
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Express } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { memberships, sessions, users } from '../db/schema.js';
import { badRequest, conflict, notFound } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import { credentialsChanged } from '../http/credentialCache.js';
import { mountRoute } from '../http/mountRoute.js';
import { deleteMemberApiTokens } from './apiTokenRoutes.js';
import { hashPassword } from './passwordHash.js';

const memberColumns = {
  id: users.id,
  email: users.email,
  name: users.name,
  role: memberships.role,
  joinedAt: memberships.createdAt,
};

function toOrganizationUser(row: {
  id: string;
  email: string;
  name: string;
  role: Role;
  joinedAt: Date;
}): OrganizationUser {
  return { ...row, joinedAt: row.joinedAt.toISOString() };
}

/**
 * Serialises changes to one organization's memberships (for the rest of the transaction), so
 * that two admins demoting or removing each other at once cannot leave it without an admin.
 */
async function lockMemberships(tx: Database, organizationId: string): Promise<void> {
  await tx.execute(
    sql`select pg_advisory_xact_lock(hashtextextended(${`cronfleet:memberships:${organizationId}`}, 0))`,
  );
}

async function findMember(db: Database, organizationId: string, userId: string) {
  const [row] = await db
    .select(memberColumns)
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.userId, userId)))
    .limit(1);
  return row;
}

async function countAdmins(db: Database, organizationId: string): Promise<number> {
  const rows = await db
    .select({ userId: memberships.userId })
    .from(memberships)
    .where(and(eq(memberships.organizationId, organizationId), eq(memberships.role, 'admin')));
  return rows.length;
}

const lastAdminHelp = 'an organization needs at least one admin: make another member admin first';

/**
 * The members of the caller's organization: list, add (creating the account for a new e-mail
 * address), change a role, remove. Admin permission only (viewers change nothing; operators do
 * not manage users). A user of another organization is a 404. The last admin can be neither
 * demoted nor removed.
 */
export function registerUserRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(app, context, apiRoutes.listUsers, async ({ principal }) => {
    const rows = await db
      .select(memberColumns)
      .from(memberships)
      .innerJoin(users, eq(users.id, memberships.userId))
      .where(eq(memberships.organizationId, principal.organizationId))
      .orderBy(asc(memberships.createdAt), asc(users.email));
    return { items: rows.map(toOrganizationUser) };
  });

  /**
   * Whether the caller may add this existing account to their organization: the caller is an
   * admin of some organization the account belongs to, or the account was a member of this
   * organization before (removed, as the audit log records).
   */
  async function mayAddAccount(
    callerId: string,
    organizationId: string,
    accountId: string,
  ): Promise<boolean> {
    const rows = await context.database.rows<{ allowed: boolean }>(sql`
      select exists (
        select 1 from memberships theirs
        join memberships mine on mine.organization_id = theirs.organization_id
        where theirs.user_id = ${accountId}::uuid
          and mine.user_id = ${callerId}::uuid and mine.role = 'admin'
      ) or exists (
        select 1 from audit_log
        where organization_id = ${organizationId}::uuid and action = 'user.remove'
          and target_type = 'user' and target_id = ${accountId}
      ) as allowed`);
    return rows[0]?.allowed === true;
  }

  mountRoute(app, context, apiRoutes.addUser, async ({ principal, body, request }) => {
    const organizationId = principal.organizationId;
    const [existing] = await db
      .select({ id: users.id })
      .from(users)
      .where(eq(users.email, body.email))
      .limit(1);
    // An existing account joins only when the caller is also an admin of an organization it
    // belongs to, or it was a member here before: an admin elsewhere cannot pull someone's
    // account into their organization (and read its name) without that person's consent.
    // Invitations are not built yet. The answer is the same whether the account does not exist
    // or is not the caller's to add.
    const addable =
      existing !== undefined &&
      (await mayAddAccount(principal.userId, organizationId, existing.id));
    if (!addable && body.password === undefined) {
      throw badRequest(
        `invalid request body: password: ${body.email} has no account that you can add (an existing account joins only when you also administer an organization it belongs to, or it was a member here before); give a password (at least 12 characters) to create a new account`,
        [{ path: 'password', message: 'required to create a new account' }],
      );
    }
    if (existing !== undefined && body.password !== undefined) {
      throw conflict(
        `${body.email} already has an account, with its own password; leave password out to add it to this organization`,
      );
    }
    const passwordHash =
      body.password === undefined ? undefined : await hashPassword(body.password);
    const added = await db.transaction(async (tx) => {
      await lockMemberships(tx, organizationId);
      let userId: string;
      let accountCreated = false;
      if (passwordHash === undefined) {
        const [account] = await tx
          .select({ id: users.id })
          .from(users)
          .where(eq(users.email, body.email))
          .limit(1);
        if (account === undefined) throw notFound(`user ${body.email}`);
        userId = account.id;
      } else {
        const [created] = await tx
          .insert(users)
          .values({ email: body.email, name: body.name ?? '', passwordHash })
          .onConflictDoNothing({ target: users.email })
          .returning({ id: users.id });
        if (created === undefined) {
          throw conflict(
            `${body.email} already has an account, with its own password; leave password out to add it to this organization`,
          );
        }
        userId = created.id;
        accountCreated = true;
      }
      const member = await findMember(tx, organizationId, userId);
      if (member !== undefined) {
        throw conflict(
          `${body.email} is already a member of this organization, as ${member.role}; change the role with PATCH ${apiRoutes.changeUserRole.path.replace(':userId', userId)}`,
        );
      }
      await tx.insert(memberships).values({ organizationId, userId, role: body.role });
      await recordAudit(
        tx,
        { principal, organizationId, request },
        {
          action: 'user.add',
          targetType: 'user',
          targetId: userId,
          details: { email: body.email, role: body.role, accountCreated },
        },
      );
      const row = await findMember(tx, organizationId, userId);
      if (row === undefined) throw new Error('the membership just stored was not found');
      return { ...toOrganizationUser(row), accountCreated };
    });
    return added;
  });

  mountRoute(
    app,
    context,
    apiRoutes.changeUserRole,
    async ({ principal, params, body, request }) => {
      const organizationId = principal.organizationId;
      let evict: (() => void) | undefined;
      const changed = await db.transaction(async (tx) => {
        await lockMemberships(tx, organizationId);
        const member = await findMember(tx, organizationId, params.userId);
        if (member === undefined) throw notFound('user');
        if (member.role === body.role) return toOrganizationUser(member);
        if (member.role === 'admin' && (await countAdmins(tx, organizationId)) <= 1) {
          throw conflict(
            `${member.email} is the last admin and cannot be demoted; ${lastAdminHelp}`,
          );
        }
        await tx
          .update(memberships)
          .set({ role: body.role })
          .where(
            and(eq(memberships.organizationId, organizationId), eq(memberships.userId, member.id)),
          );
        // The member's sessions and tokens act with the new role from their next call.
        evict = await credentialsChanged(tx, context, member.id);
        await recordAudit(
          tx,
          { principal, organizationId, request },
          {
            action: 'user.role.change',
            targetType: 'user',
            targetId: member.id,
            details: { email: member.email, from: member.role, to: body.role },
          },
        );
        return toOrganizationUser({ ...member, role: body.role });
      });
      evict?.();
      return changed;
    },
  );

  mountRoute(app, context, apiRoutes.removeUser, async ({ principal, params, request }) => {
    const organizationId = principal.organizationId;
    let evict: (() => void) | undefined;
    const removed = await db.transaction(async (tx) => {
      await lockMemberships(tx, organizationId);
      const member = await findMember(tx, organizationId, params.userId);
      if (member === undefined) throw notFound('user');
      if (member.role === 'admin' && (await countAdmins(tx, organizationId)) <= 1) {
        throw conflict(`${member.email} is the last admin and cannot be removed; ${lastAdminHelp}`);
      }
      await tx
        .delete(memberships)
        .where(
          and(eq(memberships.organizationId, organizationId), eq(memberships.userId, member.id)),
        );
      const endedSessions = await tx
        .delete(sessions)
        .where(and(eq(sessions.organizationId, organizationId), eq(sessions.userId, member.id)))
        .returning({ id: sessions.id });
      const tokensDeleted = await deleteMemberApiTokens(tx, organizationId, member.id);
      evict = await credentialsChanged(tx, context, member.id);
      await recordAudit(
        tx,
        { principal, organizationId, request },
        {
          action: 'user.remove',
          targetType: 'user',
          targetId: member.id,
          details: {
            email: member.email,
            role: member.role,
            sessionsEnded: endedSessions.length,
            tokensDeleted,
          },
        },
      );
      return { userId: member.id, sessionsEnded: endedSessions.length, tokensDeleted };
    });
    evict?.();
    return removed;
  });
}
