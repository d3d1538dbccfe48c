import type { Role, SessionResponse } from '@cronfleet/core/api';
import { parse as parseCookies } from 'cookie';
import { and, eq, lt } from 'drizzle-orm';
import type { CookieOptions, Request, Response } from 'express';
import type { Database } from '../db/database.js';
import { sessions } from '../db/schema.js';
import type { AppContext } from '../http/appContext.js';
import { credentialsChanged } from '../http/credentialCache.js';
import { rolePermissions, sessionCookieName, type UserPrincipal } from '../http/authenticate.js';
import { generateToken, hashToken } from '../http/credentials.js';

/**
 * Dashboard sessions: a random `cfs_` token in the `cronfleet_session` cookie (httpOnly,
 * SameSite=Lax, Path=/, Secure over https), stored only as its SHA-256 hash with an expiry of
 * CRONFLEET_SESSION_TTL_HOURS.
 */

function cookieOptions(context: AppContext, request: Request): CookieOptions {
  const { cookieSecure } = context.config;
  return {
    httpOnly: true,
    sameSite: 'lax',
    path: '/',
    secure: cookieSecure === 'always' || (cookieSecure === 'auto' && request.secure),
  };
}

/** The session token the request carries in its cookie, if any. */
export function sessionTokenOf(request: Request): string | undefined {
  const header = request.headers.cookie;
  if (header === undefined) return undefined;
  const token = parseCookies(header)[sessionCookieName];
  return token === undefined || token === '' ? undefined : token;
}

export interface StartedSession {
  principal: UserPrincipal;
  expiresAt: Date;
  /** Run after the commit: evicts the replaced session from this replica's credential cache. */
  afterCommit: () => void;
}

/**
 * Creates a session for the user in the organization (in `db`, the caller's transaction), sets
 * its cookie on the response, and drops the session the request came with (no fixation) and the
 * user's expired sessions.
 */
export async function startSession(
  context: AppContext,
  db: Database,
  call: { request: Request; response: Response },
  who: { userId: string; organizationId: string; role: Role },
): Promise<StartedSession> {
  const now = context.now();
  const expiresAt = new Date(now.getTime() + context.config.sessionTtlHours * 3_600_000);
  const previous = sessionTokenOf(call.request);
  let afterCommit = () => {};
  if (previous !== undefined) {
    const [replaced] = await db
      .delete(sessions)
      .where(eq(sessions.tokenHash, hashToken(previous)))
      .returning({ userId: sessions.userId });
    if (replaced !== undefined)
      afterCommit = await credentialsChanged(db, context, replaced.userId);
  }
  await db
    .delete(sessions)
    .where(and(eq(sessions.userId, who.userId), lt(sessions.expiresAt, now)));
  const token = generateToken('session');
  const [row] = await db
    .insert(sessions)
    .values({
      tokenHash: hashToken(token),
      userId: who.userId,
      organizationId: who.organizationId,
      expiresAt,
      lastSeenAt: now,
      ip: call.request.ip ?? null,
      userAgent: call.request.get('user-agent')?.slice(0, 512) ?? null,
    })
    .returning({ id: sessions.id });
  if (row === undefined) throw new Error('the session was not stored');
  call.response.cookie(sessionCookieName, token, {
    ...cookieOptions(context, call.request),
    expires: expiresAt,
  });
  return {
    expiresAt,
    afterCommit,
    principal: {
      kind: 'user',
      organizationId: who.organizationId,
      userId: who.userId,
      role: who.role,
      permissions: new Set(rolePermissions[who.role]),
      via: 'session',
      credentialId: row.id,
    },
  };
}

/** Tells the browser to forget the session cookie. */
export function clearSessionCookie(
  context: AppContext,
  request: Request,
  response: Response,
): void {
  response.clearCookie(sessionCookieName, cookieOptions(context, request));
}

export function sessionResponse(
  user: { id: string; email: string; name: string },
  organization: { id: string; name: string },
  role: Role,
  expiresAt: Date,
): SessionResponse {
  return {
    user: { id: user.id, email: user.email, name: user.name },
    organization: { id: organization.id, name: organization.name },
    role,
    expiresAt: expiresAt.toISOString(),
  };
}
