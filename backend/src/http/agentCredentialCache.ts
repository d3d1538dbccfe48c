import { sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import type { AppContext } from './appContext.js';
import type { AgentPrincipal } from './authenticate.js';

/**
 * Agent calls (check-ins, heartbeats, inventory) are the backend's hot path, and each used to
 * start with a database lookup of the agent token. This cache keeps the principal of a token for
 * a while, and stays exact where it matters:
 *
 * - Whatever changes an agent's credentials (revoke, rename, re-enrollment with a new token)
 *   calls {@link agentCredentialsChanged} in its transaction: after the commit this replica
 *   evicts the agent at once, so "revocation takes effect on the next call" holds exactly on
 *   the replica that revoked, and a `NOTIFY` delivered at commit makes every other replica evict
 *   it within milliseconds.
 * - A lookup that raced with an eviction (read before the commit, answered after) is not cached:
 *   every eviction bumps a generation, and a result is stored only if none happened meanwhile.
 * - A replica whose notification connection dropped clears the cache when it listens again
 *   (notifications sent meanwhile are lost); entries also expire after `ttlMs` regardless.
 */
export const agentCredentialsChannel = 'cronfleet_agent_credentials';

interface Entry {
  principal: AgentPrincipal;
  expiresAt: number;
}

export class AgentCredentialCache {
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

  get(tokenHash: string): AgentPrincipal | undefined {
    const entry = this.entries.get(tokenHash);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= this.clock()) {
      this.entries.delete(tokenHash);
      return undefined;
    }
    return entry.principal;
  }

  set(tokenHash: string, principal: AgentPrincipal, generation: number): void {
    if (generation !== this.generationCounter) return;
    if (this.entries.size >= this.maxEntries) {
      // Maps iterate in insertion order: drop the oldest entry.
      const oldest = this.entries.keys().next();
      if (oldest.done !== true) this.entries.delete(oldest.value);
    }
    this.entries.set(tokenHash, { principal, expiresAt: this.clock() + this.ttlMs });
  }

  evictAgent(agentId: string): void {
    this.generationCounter += 1;
    for (const [tokenHash, entry] of this.entries) {
      if (entry.principal.agentId === agentId) this.entries.delete(tokenHash);
    }
  }

  clear(): void {
    this.generationCounter += 1;
    this.entries.clear();
  }
}

const caches = new WeakMap<AppContext, AgentCredentialCache>();

/** The cache of an application (one per AppContext). */
export function agentCredentialCacheOf(context: AppContext): AgentCredentialCache {
  let cache = caches.get(context);
  if (cache === undefined) {
    cache = new AgentCredentialCache();
    caches.set(context, cache);
  }
  return cache;
}

/**
 * Call inside the transaction that revokes, renames or re-enrolls an agent: the NOTIFY is sent
 * by PostgreSQL when (and only if) the transaction commits. Returns the eviction to run after
 * the commit on this replica.
 */
export async function agentCredentialsChanged(
  tx: Pick<Database, 'execute'>,
  context: AppContext,
  agentId: string,
): Promise<() => void> {
  await tx.execute(sql`select pg_notify(${agentCredentialsChannel}, ${agentId})`);
  return () => agentCredentialCacheOf(context).evictAgent(agentId);
}

/**
 * Subscribes this replica to the other replicas' credential changes (PostgreSQL only: embedded
 * PGlite serves one process, which evicts locally). Resolves once listening; the returned
 * function stops it.
 */
export async function listenForAgentCredentialChanges(
  context: AppContext,
): Promise<() => Promise<void>> {
  const cache = agentCredentialCacheOf(context);
  if (context.database.listen === undefined) return async () => {};
  return context.database.listen(
    agentCredentialsChannel,
    (agentId) => cache.evictAgent(agentId),
    () => cache.clear(),
  );
}
