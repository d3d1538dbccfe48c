import { describe, expect, it } from 'vitest';
import type { AgentPrincipal, UserPrincipal } from './authenticate.js';
import { CredentialCache } from './credentialCache.js';

const agent = (agentId: string): AgentPrincipal => ({
  kind: 'agent',
  organizationId: 'org',
  agentId,
  agentName: `name-${agentId}`,
});

const user = (userId: string): UserPrincipal => ({
  kind: 'user',
  organizationId: 'org',
  userId,
  role: 'viewer',
  permissions: new Set(['read']),
  via: 'api_token',
  credentialId: `token-of-${userId}`,
});

const cached = (principal: AgentPrincipal | UserPrincipal) => ({ principal, touchedAt: 0 });

describe('CredentialCache', () => {
  it('answers from the cache until the entry expires', () => {
    let now = 1_000;
    const cache = new CredentialCache({ ttlMs: 100, clock: () => now });
    cache.set('hash-a', cached(agent('a')), cache.generation);
    expect(cache.get('hash-a', 'agent')?.principal).toEqual(agent('a'));
    now += 99;
    expect(cache.get('hash-a', 'agent')?.principal.agentId).toBe('a');
    now += 1;
    expect(cache.get('hash-a', 'agent')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it("never keeps an entry past its credential's own expiry", () => {
    let now = 1_000;
    const cache = new CredentialCache({ ttlMs: 60_000, clock: () => now });
    cache.set('hash-u', cached(user('u')), cache.generation, 1_050);
    now = 1_049;
    expect(cache.get('hash-u', 'user')?.principal.userId).toBe('u');
    now = 1_050;
    expect(cache.get('hash-u', 'user')).toBeUndefined();
  });

  it('answers only for the kind asked for', () => {
    const cache = new CredentialCache();
    cache.set('hash-a', cached(agent('a')), cache.generation);
    cache.set('hash-u', cached(user('u')), cache.generation);
    expect(cache.get('hash-a', 'user')).toBeUndefined();
    expect(cache.get('hash-u', 'agent')).toBeUndefined();
    expect(cache.get('hash-u', 'user')?.principal.userId).toBe('u');
  });

  it('evicts every credential of an agent or a user and nothing else', () => {
    const cache = new CredentialCache();
    cache.set('old-token-of-a', cached(agent('a')), cache.generation);
    cache.set('new-token-of-a', cached(agent('a')), cache.generation);
    cache.set('token-of-b', cached(agent('b')), cache.generation);
    cache.set('session-of-u', cached(user('u')), cache.generation);
    cache.set('token-of-u', cached(user('u')), cache.generation);
    cache.set('token-of-v', cached(user('v')), cache.generation);
    cache.evict('a');
    cache.evict('u');
    expect(cache.get('old-token-of-a', 'agent')).toBeUndefined();
    expect(cache.get('new-token-of-a', 'agent')).toBeUndefined();
    expect(cache.get('session-of-u', 'user')).toBeUndefined();
    expect(cache.get('token-of-u', 'user')).toBeUndefined();
    expect(cache.get('token-of-b', 'agent')?.principal.agentId).toBe('b');
    expect(cache.get('token-of-v', 'user')?.principal.userId).toBe('v');
  });

  it('drops a lookup that raced with an eviction', () => {
    const cache = new CredentialCache();
    // A request reads the agent while another revokes it: the read began before the eviction.
    const generation = cache.generation;
    cache.evict('a');
    cache.set('token-of-a', cached(agent('a')), generation);
    expect(cache.get('token-of-a', 'agent')).toBeUndefined();
    // A lookup that began after it is cached.
    cache.set('token-of-a', cached(agent('a')), cache.generation);
    expect(cache.get('token-of-a', 'agent')?.principal.agentId).toBe('a');
    cache.clear();
    expect(cache.get('token-of-a', 'agent')).toBeUndefined();
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = new CredentialCache({ maxEntries: 2 });
    for (const id of ['a', 'b', 'c']) cache.set(`token-${id}`, cached(agent(id)), cache.generation);
    expect(cache.size).toBe(2);
    expect(cache.get('token-a', 'agent')).toBeUndefined();
    expect(cache.get('token-c', 'agent')?.principal.agentId).toBe('c');
  });
});
