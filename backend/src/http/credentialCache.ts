import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import type { AppContext } from './appContext.js';
import type { AgentPrincipal, UserPrincipal } from './authenticate.js';

/**
 * Every authenticated call used to start with a database lookup of its credential: the agent
 * token on each check-in and heartbeat, the API token or session on each dashboard and CLI call.
 * This cache keeps the principal of a verified credential for a while, and stays exact where it
 * matters:
 *
 * - Whatever changes a credential or what it may do (revoking an agent, an API token; renaming
 *   or re-enrolling an agent; changing a member's role, removing a member; signing out) calls
 *   {@link credentialsChanged} in its transaction with the agent's or the user's id, its
 *   subject. After the commit this replica evicts the subject at once, so "takes effect on the
 *   next call" holds exactly on the replica that made the change, and a `NOTIFY` delivered at
 *   commit makes every other replica evict it within milliseconds.
 * - A lookup that raced with an eviction (read before the commit, answered after) is not cached:
 *   every eviction bumps a generation, and a result is stored only if none happened meanwhile.
 * - An entry never outlives its credential's own expiry, so an expired API token or session is
 *   refused with the same message as without the cache.
 * - A replica whose notification connection dropped clears the cache when it listens again
 *   (notifications sent meanwhile are lost); entries also expire after `ttlMs` regardless.
 */
export const credentialsChannel = 'cronfleet_credentials';

export type CachedPrincipal = AgentPrincipal | UserPrincipal;

/** The id whose changes evict a principal: its agent's, or its user's. */
export function subjectOf(principal: CachedPrincipal): string {
  return principal.kind === 'agent' ? principal.agentId : principal.userId;
}

export interface CachedCredential<Principal extends CachedPrincipal = CachedPrincipal> {
  principal: Principal;
  /**
   * When this replica last recorded the credential's use, epoch ms: API tokens and sessions
   * write it back once a minute; agents record theirs with heartbeats, and leave it at 0.
   */
  touchedAt: number;
}

interface Entry extends CachedCredential {
  subject: string;
  expiresAt: number;
}

export class CredentialCache {
  private readonly entries = new Map<string, Entry>();
  private generationCounter = 0;
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(options: { ttlMs?: number; maxEntries?: number; clock?: () => number } = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxEntries = options.maxEntries ?? 100_000;
    this.clock = options.clock ?? Date.now;
  }

  /** Read before a lookup; pass it to {@link set} so a raced result is dropped. */
  get generation(): number {
    return this.generationCounter;
  }

  get size(): number {
    return this.entries.size;
  }

  /** The cached credential of a token hash, of the wanted kind, if any and not expired. */
  get(tokenHash: string, kind: 'agent'): CachedCredential<AgentPrincipal> | undefined;
  get(tokenHash: string, kind: 'user'): CachedCredential<UserPrincipal> | undefined;
  get(tokenHash: string, kind: CachedPrincipal['kind']): CachedCredential | undefined {
    const entry = this.entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.clock()) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return entry.principal.kind === kind ? entry : undefined;
  }

  /**
   * Caches a verified credential, unless an eviction happened since `generation` was read.
   * `credentialExpiresAt` (epoch ms) is the credential's own expiry, if it has one.
   */
  set(
    tokenHash: string,
    credential: CachedCredential,
    generation: number,
    credentialExpiresAt?: number,
  ): void {
    if (generation !== this.generationCounter) return;
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    const expiresAt = Math.min(this.clock() + this.ttlMs, credentialExpiresAt ?? Infinity);
    this.entries.set(tokenHash, {
      ...credential,
      subject: subjectOf(credential.principal),
      expiresAt,
    });
  }

  /** Forgets every credential of an agent or a user. */
  evict(subject: string): void {
    this.generationCounter += 1;
    for (const [tokenHash, entry] of this.entries) {
      if (entry.subject === subject) this.entries.delete(tokenHash);
    }
  }

  clear(): void {
    this.generationCounter += 1;
    this.entries.clear();
  }
}

const caches = new WeakMap<AppContext, CredentialCache>();

/** The cache of an application (one per AppContext). */
export function credentialCacheOf(context: AppContext): CredentialCache {
  let cache = caches.get(context);
  if (cache === undefined) {
    cache = new CredentialCache({ clock: () => context.now().getTime() });
    caches.set(context, cache);
  }
  return cache;
}

/**
 * Call inside the transaction that changes an agent's or a user's credentials or role, with the
 * agent's or the user's id: the NOTIFY is sent by PostgreSQL when (and only if) the transaction
 * commits. Returns the eviction to run after the commit on this replica.
 */
export async function credentialsChanged(
  tx: Pick<Database, 'execute'>,
  context: AppContext,
  subject: string,
): Promise<() => void> {
  await tx.execute(sql`select pg_notify(${credentialsChannel}, ${subject})`);
  return () => credentialCacheOf(context).evict(subject);
}

/**
 * Subscribes this replica to the other replicas' credential changes (PostgreSQL only: embedded
 * PGlite serves one process, which evicts locally). Resolves once listening; the returned
 * function stops it.
 */
export async function listenForCredentialChanges(
  context: AppContext,
): Promise<() => Promise<void>> {
  const cache = credentialCacheOf(context);
  if (context.database.listen === undefined) return async () => {};
  return context.database.listen(
    credentialsChannel,
    (subject) => cache.evict(subject),
    () => cache.clear(),
  );
}
