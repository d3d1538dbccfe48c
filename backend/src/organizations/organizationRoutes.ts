import {
  apiRoutes,
  type OrganizationMembership,
  type Role,
  type SessionResponse,
} from '@cronfleet/core/api';
import { and, asc, eq } from 'drizzle-orm';
import type { Express } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { memberships, organizations, sessions, users } from '../db/schema.js';
import { forbidden, notFound, unauthorized } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import type { UserPrincipal } from '../http/authenticate.js';
import { credentialsChanged } from '../http/credentialCache.js';
import { mountRoute } from '../http/mountRoute.js';
import { createOrganization } from './createOrganization.js';

interface MembershipRow {
  id: string;
  name: string;
  role: Role;
  createdAt: Date;
}

function toMembership(row: MembershipRow, activeId: string): OrganizationMembership {
  return {
    id: row.id,
    name: row.name,
    role: row.role,
    createdAt: row.createdAt.toISOString(),
    active: row.id === activeId,
  };
}

const membershipColumns = {
  id: organizations.id,
  name: organizations.name,
  role: memberships.role,
  createdAt: organizations.createdAt,
};

/** The user's membership of one organization, with the organization, if any. */
async function findMembership(
  db: Database,
  userId: string,
  organizationId: string,
): Promise<MembershipRow | undefined> {
  const [row] = await db
    .select(membershipColumns)
    .from(memberships)
    .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
    .where(and(eq(memberships.userId, userId), eq(memberships.organizationId, organizationId)))
    .limit(1);
  return row;
}

/**
 * Why the caller may not create an organization, or undefined when they may. An API token
 * needs the admin scope (a token acts for one organization; creating another is an
 * installation-level act); then CRONFLEET_ORGANIZATION_CREATORS decides: `any-user`, or
 * `bootstrap-admin` (the user the first-run bootstrap created).
 */
async function refusalToCreate(
  context: AppContext,
  principal: UserPrincipal,
): Promise<string | undefined> {
  if (principal.via === 'api_token' && !principal.permissions.has('admin')) {
    return 'an API token needs the admin scope to create an organization; sign in, or use a token with the admin scope';
  }
  if (context.config.organizationCreators === 'any-user') return undefined;
  const [user] = await context.database.db
    .select({ installationAdmin: users.installationAdmin })
    .from(users)
    .where(eq(users.id, principal.userId))
    .limit(1);
  if (user?.installationAdmin === true) return undefined;
  return 'only the installation admin (the user the first-run bootstrap created) may create organizations on this installation; ask them, or ask the operator to set CRONFLEET_ORGANIZATION_CREATORS=any-user or to run cronfleet-backend org create';
}

/**
 * Organizations: list the caller's, create one (the caller becomes its admin), rename the one
 * the caller acts in, and switch a session's active organization. Every other route acts in
 * exactly one organization: the session's active one, or the API token's own.
 */
export function registerOrganizationRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(app, context, apiRoutes.listOrganizations, async ({ principal }) => {
    const rows = await db
      .select(membershipColumns)
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
      .where(
        // An API token belongs to one organization: it shows only that one.
        principal.via === 'api_token'
          ? and(
              eq(memberships.userId, principal.userId),
              eq(memberships.organizationId, principal.organizationId),
            )
          : eq(memberships.userId, principal.userId),
      )
      .orderBy(asc(memberships.createdAt), asc(memberships.organizationId));
    return {
      items: rows.map((row) => toMembership(row, principal.organizationId)),
      canCreate: (await refusalToCreate(context, principal)) === undefined,
    };
  });

  mountRoute(app, context, apiRoutes.createOrganization, async ({ principal, body, request }) => {
    const refusal = await refusalToCreate(context, principal);
    if (refusal !== undefined) throw forbidden(refusal);
    const created = await db.transaction(async (tx) => {
      const [user] = await tx
        .select({ email: users.email })
        .from(users)
        .where(eq(users.id, principal.userId))
        .limit(1);
      if (user === undefined) throw notFound('user');
      return createOrganization(
        tx,
        { name: body.name, adminUserId: principal.userId, adminEmail: user.email },
        { via: 'api', principal, request },
      );
    });
    context.logger.info(
      { organizationId: created.id, userId: principal.userId },
      'organization created',
    );
    return toMembership({ ...created, role: 'admin' }, principal.organizationId);
  });

  mountRoute(
    app,
    context,
    apiRoutes.renameOrganization,
    async ({ principal, params, body, request }) => {
      if (params.organizationId !== principal.organizationId) {
        // A session's member may learn that it exists (and how to get there); an API token knows
        // its own organization only, and anyone else gets what a made-up id gets.
        const elsewhere =
          principal.via === 'session'
            ? await findMembership(db, principal.userId, params.organizationId)
            : undefined;
        if (elsewhere === undefined) throw notFound('organization');
        throw forbidden(
          `you act in another organization now; switch to this one first (PUT ${apiRoutes.switchOrganization.path}), then rename it`,
        );
      }
      const organizationId = principal.organizationId;
      return db.transaction(async (tx) => {
        const current = await findMembership(tx, principal.userId, organizationId);
        if (current === undefined) throw notFound('organization');
        if (current.name === body.name) return toMembership(current, organizationId);
        await tx
          .update(organizations)
          .set({ name: body.name })
          .where(eq(organizations.id, organizationId));
        await recordAudit(
          tx,
          { principal, organizationId, request },
          {
            action: 'organization.rename',
            targetType: 'organization',
            targetId: organizationId,
            details: { from: current.name, to: body.name },
          },
        );
        return toMembership({ ...current, name: body.name }, organizationId);
      });
    },
  );

  mountRoute(
    app,
    context,
    apiRoutes.switchOrganization,
    async ({ principal, body, request }): Promise<SessionResponse> => {
      if (principal.via !== 'session') {
        throw forbidden(
          'an API token belongs to one organization and cannot switch; create a token in the other organization (sign in, switch to it, then POST /api/v1/tokens)',
        );
      }
      let evict: (() => void) | undefined;
      const answer = await db.transaction(async (tx) => {
        const target = await findMembership(tx, principal.userId, body.organizationId);
        if (target === undefined) throw notFound('organization');
        const [session] = await tx
          .select({ expiresAt: sessions.expiresAt })
          .from(sessions)
          .where(
            and(eq(sessions.id, principal.credentialId), eq(sessions.userId, principal.userId)),
          )
          .limit(1);
        const [user] = await tx
          .select({ id: users.id, email: users.email, name: users.name })
          .from(users)
          .where(eq(users.id, principal.userId))
          .limit(1);
        if (session === undefined || user === undefined) {
          throw unauthorized('your session has ended; sign in again');
        }
        if (target.id !== principal.organizationId) {
          await tx
            .update(sessions)
            .set({ organizationId: target.id })
            .where(eq(sessions.id, principal.credentialId));
          // The session acts in the new organization, with its role there, from the next call.
          evict = await credentialsChanged(tx, context, principal.userId);
          await recordAudit(
            tx,
            {
              principal: { ...principal, organizationId: target.id },
              organizationId: target.id,
              request,
            },
            {
              action: 'session.organization.switch',
              targetType: 'organization',
              targetId: target.id,
              details: { sessionId: principal.credentialId, role: target.role },
            },
          );
        }
        return {
          user,
          organization: { id: target.id, name: target.name },
          role: target.role,
          expiresAt: session.expiresAt.toISOString(),
        };
      });
      evict?.();
      return answer;
    },
  );
}
