import { describe, expect, it } from 'vitest';

import { describeGitRef, gitRefKey, normalizeGitRef, targetRefspec } from './gitRef.js';

const SHA = '0123456789abcdef0123456789abcdef01234567';

describe('normalizeGitRef', () => {
  it('accepts branch, tag and full commit names, removing ref prefixes and lower-casing SHAs', () => {
    expect(normalizeGitRef({ kind: 'branch', name: 'release/2024.1' })).toEqual({
      kind: 'branch',
      name: 'release/2024.1',
    });
    expect(normalizeGitRef({ kind: 'branch', name: 'refs/heads/main' })).toEqual({
      kind: 'branch',
      name: 'main',
    });
    expect(normalizeGitRef({ kind: 'tag', name: 'refs/tags/v1.2.3' })).toEqual({
      kind: 'tag',
      name: 'v1.2.3',
    });
    expect(normalizeGitRef({ kind: 'commit', name: SHA.toUpperCase() })).toEqual({
      kind: 'commit',
      name: SHA,
    });
    expect(normalizeGitRef({ kind: 'commit', name: 'a'.repeat(64) }).name).toBe('a'.repeat(64));
  });

  it.each([
    [{ kind: 'branch', name: '' }, 'it is empty'],
    [{ kind: 'branch', name: 'a:b' }, 'contains a space'],
    [{ kind: 'branch', name: 'refs/heads/*' }, 'contains a space'],
    [{ kind: 'branch', name: 'two words' }, 'contains a space'],
    [{ kind: 'branch', name: '-delete' }, 'starts with "-"'],
    [{ kind: 'tag', name: 'a..b' }, 'contains ".."'],
    [{ kind: 'tag', name: 'v1@{0}' }, 'contains ".."'],
    [{ kind: 'tag', name: 'v1/' }, 'starts or ends with "/"'],
    [{ kind: 'tag', name: 'x/.hidden' }, 'starts with "." or ends with ".lock"'],
    [{ kind: 'tag', name: 'v1.lock' }, 'starts with "." or ends with ".lock"'],
    [{ kind: 'commit', name: 'abc1234' }, 'is abbreviated; give the full 40-character SHA'],
    [{ kind: 'commit', name: 'main' }, 'is not a commit SHA'],
  ] as const)('rejects %j', (ref, message) => {
    expect(() => normalizeGitRef(ref)).toThrow(message);
  });
});

describe('targetRefspec', () => {
  it('fetches into refs/cronfleet/target with force, whatever the ref kind', () => {
    expect(targetRefspec({ kind: 'branch', name: 'main' })).toBe(
      '+refs/heads/main:refs/cronfleet/target',
    );
    expect(targetRefspec({ kind: 'tag', name: 'v1' })).toBe('+refs/tags/v1:refs/cronfleet/target');
    expect(targetRefspec({ kind: 'commit', name: SHA })).toBe(`+${SHA}:refs/cronfleet/target`);
    expect(gitRefKey({ kind: 'tag', name: 'v1' })).toBe('tag:v1');
    expect(describeGitRef({ kind: 'branch', name: 'main' })).toBe('branch "main"');
  });
});
