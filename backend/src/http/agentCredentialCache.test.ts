import { describe, expect, it } from 'vitest';
import type { AgentPrincipal } from './authenticate.js';
import { AgentCredentialCache } from './agentCredentialCache.js';

const principal = (agentId: string): AgentPrincipal => ({
  kind: 'agent',
  organizationId: 'org',
  agentId,
  agentName: `name-${agentId}`,
});

describe('AgentCredentialCache', () => {
  it('answers from the cache until the entry expires', () => {
    let now = 1_000;
    const cache = new AgentCredentialCache({ ttlMs: 100, clock: () => now });
    cache.set('hash-a', principal('a'), cache.generation);
    expect(cache.get('hash-a')).toEqual(principal('a'));
    now += 99;
    expect(cache.get('hash-a')?.agentId).toBe('a');
    now += 1;
    expect(cache.get('hash-a')).toBeUndefined();
    expect(cache.size).toBe(0);
  });

  it('evicts every token of an agent and nothing else', () => {
    const cache = new AgentCredentialCache();
    cache.set('old-token-of-a', principal('a'), cache.generation);
    cache.set('new-token-of-a', principal('a'), cache.generation);
    cache.set('token-of-b', principal('b'), cache.generation);
    cache.evictAgent('a');
    expect(cache.get('old-token-of-a')).toBeUndefined();
    expect(cache.get('new-token-of-a')).toBeUndefined();
    expect(cache.get('token-of-b')?.agentId).toBe('b');
  });

  it('drops a lookup that raced with an eviction', () => {
    const cache = new AgentCredentialCache();
    // A request reads the agent while another revokes it: the read began before the eviction.
    const generation = cache.generation;
    cache.evictAgent('a');
    cache.set('token-of-a', principal('a'), generation);
    expect(cache.get('token-of-a')).toBeUndefined();
    // A lookup that began after it is cached.
    cache.set('token-of-a', principal('a'), cache.generation);
    expect(cache.get('token-of-a')?.agentId).toBe('a');
    cache.clear();
    expect(cache.get('token-of-a')).toBeUndefined();
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = new AgentCredentialCache({ maxEntries: 2 });
    for (const id of ['a', 'b', 'c']) cache.set(`token-${id}`, principal(id), cache.generation);
    expect(cache.size).toBe(2);
    expect(cache.get('token-a')).toBeUndefined();
    expect(cache.get('token-c')?.agentId).toBe('c');
  });
});
