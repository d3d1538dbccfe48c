import type { IncomingMessage } from 'node:http';
import type { Permission, RouteAuth } from '@cronfleet/core/api';
import { parse as parseCookies } from 'cookie';
import { and, eq, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { agents, apiTokens, enrollmentTokens, memberships, sessions } from '../db/schema.js';
import { type ApiError, forbidden, unauthorized } from './apiError.js';
import { credentialCacheOf } from './credentialCache.js';
import type { AppContext } from './appContext.js';
import { hashToken, kindOfToken } from './credentials.js';

export const sessionCookieName = 'cronfleet_session';

export type Role = 'admin' | 'operator' | 'viewer';

/** What each role may do; an API token acts with its scopes intersected with these. */
export const rolePermissions: Record<Role, readonly Permission[]> = {
  admin: ['read', 'write', 'admin'],
  operator: ['read', 'write'],
  viewer: ['read'],
};

export interface UserPrincipal {
  kind: 'user';
  organizationId: string;
  userId: string;
  role: Role;
  permissions: ReadonlySet<Permission>;
  via: 'session' | 'api_token';
  /** The session or API token used. */
  credentialId: string;
}

export interface AgentPrincipal {
  kind: 'agent';
  organizationId: string;
  agentId: string;
  agentName: string;
}

export interface EnrollmentPrincipal {
  kind: 'enrollment';
  organizationId: string;
  enrollmentTokenId: string;
  labels: Record<string, string>;
}

export type Principal = UserPrincipal | AgentPrincipal | EnrollmentPrincipal;

/** What authentication reads of a request: its headers only. */
type RequestHeaders = Pick<IncomingMessage, 'headers'>;

function bearerToken(request: RequestHeaders): string | undefined {
  const header = request.headers.authorization;
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (match === null) throw unauthorized('the Authorization header must be "Bearer <token>"');
  return match[1];
}

/** How often a credential's use is written back (API tokens' last_used_at, sessions' last_seen_at). */
const touchIntervalMs = 60_000;

/**
 * A user credential from the cache, its use recorded at most once a minute per replica, or
 * undefined when it is not cached.
 */
async function cachedUser(
  context: AppContext,
  tokenHash: string,
  touch: (credentialId: string, now: Date) => Promise<unknown>,
): Promise<UserPrincipal | undefined> {
  const cached = credentialCacheOf(context).get(tokenHash, 'user');
  if (cached === undefined) return undefined;
  const now = context.now();
  if (now.getTime() - cached.touchedAt > touchIntervalMs) {
    cached.touchedAt = now.getTime();
    await touch(cached.principal.credentialId, now);
  }
  return cached.principal;
}

/** Records a use older than the interval; answers when the use was last recorded (epoch ms). */
async function touchedSince(
  touch: (credentialId: string, now: Date) => Promise<unknown>,
  credentialId: string,
  recordedAt: Date | null,
  now: Date,
): Promise<number> {
  const recorded = recordedAt?.getTime() ?? -Infinity;
  if (now.getTime() - recorded <= touchIntervalMs) return recorded;
  await touch(credentialId, now);
  return now.getTime();
}

function touchApiToken(context: AppContext) {
  return (id: string, now: Date) =>
    context.database.db.update(apiTokens).set({ lastUsedAt: now }).where(eq(apiTokens.id, id));
}

function touchSession(context: AppContext) {
  return (id: string, now: Date) =>
    context.database.db.update(sessions).set({ lastSeenAt: now }).where(eq(sessions.id, id));
}

async function userFromApiToken(context: AppContext, token: string): Promise<UserPrincipal> {
  const tokenHash = hashToken(token);
  const cached = await cachedUser(context, tokenHash, touchApiToken(context));
  if (cached !== undefined) return cached;
  const cache = credentialCacheOf(context);
  const generation = cache.generation;
  const [row] = await context.database.db
    .select({
      id: apiTokens.id,
      organizationId: apiTokens.organizationId,
      userId: apiTokens.userId,
      scopes: apiTokens.scopes,
      expiresAt: apiTokens.expiresAt,
      revokedAt: apiTokens.revokedAt,
      lastUsedAt: apiTokens.lastUsedAt,
      role: memberships.role,
    })
    .from(apiTokens)
    .innerJoin(
      memberships,
      and(
        eq(memberships.organizationId, apiTokens.organizationId),
        eq(memberships.userId, apiTokens.userId),
      ),
    )
    .where(eq(apiTokens.tokenHash, tokenHash))
    .limit(1);
  if (row === undefined) throw unauthorized('unknown API token; create a new one');
  const now = context.now();
  if (row.revokedAt !== null) throw unauthorized('this API token was revoked; create a new one');
  if (row.expiresAt !== null && row.expiresAt <= now) {
    throw unauthorized(
      `this API token expired at ${row.expiresAt.toISOString()}; create a new one`,
    );
  }
  const touchedAt = await touchedSince(touchApiToken(context), row.id, row.lastUsedAt, now);
  const granted = rolePermissions[row.role];
  const principal: UserPrincipal = {
    kind: 'user',
    organizationId: row.organizationId,
    userId: row.userId,
    role: row.role,
    permissions: new Set(granted.filter((permission) => row.scopes.includes(permission))),
    via: 'api_token',
    credentialId: row.id,
  };
  cache.set(tokenHash, { principal, touchedAt }, generation, row.expiresAt?.getTime());
  return principal;
}

async function userFromSession(context: AppContext, token: string): Promise<UserPrincipal> {
  const tokenHash = hashToken(token);
  const cached = await cachedUser(context, tokenHash, touchSession(context));
  if (cached !== undefined) return cached;
  const cache = credentialCacheOf(context);
  const generation = cache.generation;
  const [row] = await context.database.db
    .select({
      id: sessions.id,
      organizationId: sessions.organizationId,
      userId: sessions.userId,
      expiresAt: sessions.expiresAt,
      lastSeenAt: sessions.lastSeenAt,
      role: memberships.role,
    })
    .from(sessions)
    .innerJoin(
      memberships,
      and(
        eq(memberships.organizationId, sessions.organizationId),
        eq(memberships.userId, sessions.userId),
      ),
    )
    .where(eq(sessions.tokenHash, tokenHash))
    .limit(1);
  const now = context.now();
  if (row === undefined || row.expiresAt <= now) {
    throw unauthorized('your session has ended; sign in again');
  }
  const touchedAt = await touchedSince(touchSession(context), row.id, row.lastSeenAt, now);
  const principal: UserPrincipal = {
    kind: 'user',
    organizationId: row.organizationId,
    userId: row.userId,
    role: row.role,
    permissions: new Set(rolePermissions[row.role]),
    via: 'session',
    credentialId: row.id,
  };
  cache.set(tokenHash, { principal, touchedAt }, generation, row.expiresAt.getTime());
  return principal;
}

/**
 * The agent-token lookup runs on every agent call (heartbeats, check-ins): a prepared statement
 * per database skips rebuilding the query each time.
 */
const agentByTokenHash = new WeakMap<Database, ReturnType<typeof prepareAgentByTokenHash>>();

function prepareAgentByTokenHash(db: Database) {
  return db
    .select({
      id: agents.id,
      organizationId: agents.organizationId,
      name: agents.name,
      revokedAt: agents.revokedAt,
      revokedReason: agents.revokedReason,
    })
    .from(agents)
    .where(eq(agents.tokenHash, sql.placeholder('tokenHash')))
    .limit(1)
    .prepare('cronfleet_agent_by_token_hash');
}

/**
 * The 401 of a revoked agent. The agent reads the reason back out of this message
 * (agent/src/control/agentLink.ts, revocationReason): keep the two in step.
 */
export function agentRevoked(reason: string | null): ApiError {
  return unauthorized(
    `this agent was revoked${reason ? `: ${reason}` : ''}; enroll it again with a new enrollment token`,
  );
}

async function agentFromToken(context: AppContext, token: string): Promise<AgentPrincipal> {
  const tokenHash = hashToken(token);
  const cache = credentialCacheOf(context);
  const cached = cache.get(tokenHash, 'agent');
  if (cached !== undefined) return cached.principal;
  const generation = cache.generation;
  const { db } = context.database;
  let query = agentByTokenHash.get(db);
  if (query === undefined) {
    query = prepareAgentByTokenHash(db);
    agentByTokenHash.set(db, query);
  }
  const [row] = await query.execute({ tokenHash });
  if (row === undefined) throw unauthorized('unknown agent token; enroll the agent again');
  if (row.revokedAt !== null) {
    throw agentRevoked(row.revokedReason);
  }
  const principal: AgentPrincipal = {
    kind: 'agent',
    organizationId: row.organizationId,
    agentId: row.id,
    agentName: row.name,
  };
  cache.set(tokenHash, { principal, touchedAt: 0 }, generation);
  return principal;
}

async function enrollmentFromToken(
  context: AppContext,
  token: string,
): Promise<EnrollmentPrincipal> {
  const [row] = await context.database.db
    .select()
    .from(enrollmentTokens)
    .where(eq(enrollmentTokens.tokenHash, hashToken(token)))
    .limit(1);
  const fix = 'ask an operator for a new enrollment token';
  if (row === undefined) throw unauthorized(`unknown enrollment token; ${fix}`);
  if (row.revokedAt !== null) throw unauthorized(`this enrollment token was revoked; ${fix}`);
  if (row.expiresAt !== null && row.expiresAt <= context.now()) {
    throw unauthorized(`this enrollment token expired at ${row.expiresAt.toISOString()}; ${fix}`);
  }
  if (row.maxUses !== null && row.uses >= row.maxUses) {
    throw unauthorized(`this enrollment token was used ${row.uses} times, its limit; ${fix}`);
  }
  return {
    kind: 'enrollment',
    organizationId: row.organizationId,
    enrollmentTokenId: row.id,
    labels: row.labels,
  };
}

const expectedToken: Record<Exclude<RouteAuth, 'none'>, string> = {
  user: 'a session cookie or a personal API token (cfp_…)',
  agent: 'an agent token (cfa_…)',
  enrollment: 'an enrollment token (cfe_…)',
};

/**
 * Who is calling, for a route that takes `auth`, or a 401 that says what was expected. The kind
 * of a bearer token is read from its prefix, so an agent token never passes as a user's.
 */
export async function authenticate(
  context: AppContext,
  request: RequestHeaders,
  auth: Exclude<RouteAuth, 'none'>,
): Promise<Principal> {
  const token = bearerToken(request);
  const wanted = expectedToken[auth];
  if (token === undefined) {
    const cookie = request.headers.cookie;
    const session = cookie === undefined ? undefined : parseCookies(cookie)[sessionCookieName];
    if (auth === 'user' && session !== undefined && session !== '') {
      return userFromSession(context, session);
    }
    throw unauthorized(`authentication required: this route takes ${wanted}`);
  }
  const kind = kindOfToken(token);
  if (auth === 'user' && kind === 'personal') return userFromApiToken(context, token);
  if (auth === 'agent' && kind === 'agent') return agentFromToken(context, token);
  if (auth === 'enrollment' && kind === 'enrollment') return enrollmentFromToken(context, token);
  throw unauthorized(`wrong kind of token: this route takes ${wanted}`);
}

/** A 403 unless the user may do what `permission` covers. */
export function requirePermission(principal: UserPrincipal, permission: Permission): void {
  if (principal.permissions.has(permission)) return;
  const byToken =
    principal.via === 'api_token' && rolePermissions[principal.role].includes(permission)
      ? ' (your role allows it, but this API token lacks the scope)'
      : '';
  throw forbidden(
    `this needs the ${permission} permission; your role is ${principal.role}${byToken}`,
  );
}
