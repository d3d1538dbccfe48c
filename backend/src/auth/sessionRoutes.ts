import { apiRoutes, type MeResponse, type PermissionName } from '@cronfleet/core/api';
import { and, asc, eq } from 'drizzle-orm';
import type { Express } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import { memberships, organizations, sessions, users } from '../db/schema.js';
import { ApiError, forbidden, notFound, unauthorized } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import { credentialsChanged } from '../http/credentialCache.js';
import { mountRoute } from '../http/mountRoute.js';
import { loginThrottle } from '../http/loginThrottle.js';
import { loginRateLimit } from '../http/rateLimits.js';
import { bootstrapInstallation } from './bootstrapInstallation.js';
import { prepareDummyPasswordHash, verifyPassword } from './passwordHash.js';
import { clearSessionCookie, sessionResponse, startSession } from './userSessions.js';

/** One message for an unknown e-mail address and a wrong password: never reveal which. */
export const wrongCredentialsMessage = 'wrong e-mail address or password; check both and try again';

/**
 * Bootstrap, login, logout and me. Login and bootstrap are limited twice: failed attempts per
 * client address (over all accounts), and growing delays per account and client address
 * (loginThrottle.ts), which slow password guessing without ever locking the owner out from
 * another address. The counters are in this process's memory (N replicas: N times the limit).
 */
export function registerSessionRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;
  void prepareDummyPasswordHash();
  const limits = (path: string) => {
    app.post(path, loginRateLimit({ logger: context.logger }));
    app.post(path, loginThrottle(context.now));
  };

  limits(apiRoutes.bootstrap.path);
  mountRoute(app, context, apiRoutes.bootstrap, async ({ body, request, response }) => {
    const created = await bootstrapInstallation(db, body, { via: 'api', request });
    context.logger.info(
      { organizationId: created.organization.id, userId: created.user.id },
      'installation bootstrapped: first organization and admin created',
    );
    const session = await db.transaction((tx) =>
      startSession(
        context,
        tx,
        { request, response },
        { userId: created.user.id, organizationId: created.organization.id, role: 'admin' },
      ),
    );
    session.afterCommit();
    return sessionResponse(created.user, created.organization, 'admin', session.expiresAt);
  });

  limits(apiRoutes.login.path);
  mountRoute(app, context, apiRoutes.login, async ({ body, request, response }) => {
    const [user] = await db.select().from(users).where(eq(users.email, body.email)).limit(1);
    const passwordMatches = await verifyPassword(body.password, user?.passwordHash);
    if (user === undefined || !passwordMatches) {
      context.logger.warn({ ip: request.ip }, 'failed sign-in');
      throw unauthorized(wrongCredentialsMessage);
    }
    const joined = await db
      .select({
        organizationId: memberships.organizationId,
        organizationName: organizations.name,
        role: memberships.role,
      })
      .from(memberships)
      .innerJoin(organizations, eq(organizations.id, memberships.organizationId))
      .where(eq(memberships.userId, user.id))
      .orderBy(asc(memberships.createdAt), asc(memberships.organizationId));
    if (joined.length === 0) {
      throw forbidden(
        'your account belongs to no organization any more; ask an admin to add you again',
      );
    }
    const membership =
      body.organizationId === undefined
        ? joined[0]
        : joined.find((row) => row.organizationId === body.organizationId);
    if (membership === undefined) {
      throw forbidden(
        'you are not a member of that organization; leave organizationId out to sign in to your first organization',
      );
    }
    const session = await db.transaction(async (tx) => {
      const started = await startSession(
        context,
        tx,
        { request, response },
        { userId: user.id, organizationId: membership.organizationId, role: membership.role },
      );
      await recordAudit(
        tx,
        { principal: started.principal, organizationId: membership.organizationId, request },
        {
          action: 'session.login',
          targetType: 'user',
          targetId: user.id,
          details: { sessionId: started.principal.credentialId },
        },
      );
      return started;
    });
    session.afterCommit();
    return sessionResponse(
      user,
      { id: membership.organizationId, name: membership.organizationName },
      membership.role,
      session.expiresAt,
    );
  });

  mountRoute(app, context, apiRoutes.logout, async ({ principal, request, response }) => {
    clearSessionCookie(context, request, response);
    if (principal.via !== 'session') return { signedOut: false };
    const evict = await db.transaction(async (tx) => {
      await tx
        .delete(sessions)
        .where(
          and(
            eq(sessions.id, principal.credentialId),
            eq(sessions.organizationId, principal.organizationId),
          ),
        );
      await recordAudit(
        tx,
        { principal, organizationId: principal.organizationId, request },
        {
          action: 'session.logout',
          targetType: 'user',
          targetId: principal.userId,
          details: { sessionId: principal.credentialId },
        },
      );
      // The signed-out session must stop working at once, here and on every replica.
      return credentialsChanged(tx, context, principal.userId);
    });
    evict();
    return { signedOut: true };
  });

  mountRoute(app, context, apiRoutes.me, async ({ principal }): Promise<MeResponse> => {
    const [user] = await db
      .select({ id: users.id, email: users.email, name: users.name })
      .from(users)
      .where(eq(users.id, principal.userId))
      .limit(1);
    if (user === undefined) throw notFound('user');
    const joined = await db
      .select({ id: organizations.id, name: organizations.name, role: memberships.role })
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
    const current = joined.find((row) => row.id === principal.organizationId);
    if (current === undefined) {
      throw new ApiError('unauthorized', 'you are no longer a member of this organization');
    }
    const order: PermissionName[] = ['read', 'write', 'admin'];
    return {
      user,
      organization: { id: current.id, name: current.name },
      role: principal.role,
      permissions: order.filter((permission) => principal.permissions.has(permission)),
      via: principal.via,
      organizations: joined,
    };
  });
}
