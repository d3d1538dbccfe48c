import { execFileSync } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkedOutCommit } from './checkedOutCommit.js';

function git(dir: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.email=t@cronfleet.invalid', '-c', 'user.name=t', '-c', 'gc.auto=0', ...args],
    { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir } },
  ).trim();
}

describe('checkedOutCommit', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-head-'));
    git(dir, 'init', '-q', '--initial-branch=cronfleet');
    await writeFile(path.join(dir, 'a.txt'), 'a\n');
    git(dir, 'add', 'a.txt');
    git(dir, 'commit', '-q', '-m', 'one');
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('reads a loose branch ref and a loose commit, as git rev-parse does', async () => {
    expect(await checkedOutCommit(dir)).toBe(git(dir, 'rev-parse', 'HEAD'));
  });

  it('finds a commit in a pack index, on a branch or a detached HEAD', async () => {
    const head = git(dir, 'rev-parse', 'HEAD');
    git(dir, 'repack', '-a', '-d', '-q');
    git(dir, 'prune-packed');
    expect(await checkedOutCommit(dir)).toBe(head);
    git(dir, 'checkout', '-q', '--detach');
    expect(await checkedOutCommit(dir)).toBe(head);
  });

  it('leaves git to decide when it cannot tell for certain', async () => {
    // A packed ref.
    git(dir, 'pack-refs', '--all');
    expect(await checkedOutCommit(dir)).toBeUndefined();
    // HEAD names a tree, not a commit.
    await writeFile(path.join(dir, '.git', 'HEAD'), `${git(dir, 'rev-parse', 'HEAD^{tree}')}\n`);
    expect(await checkedOutCommit(dir)).toBeUndefined();
    // The commit is gone from the object store; no HEAD at all.
    await writeFile(path.join(dir, '.git', 'HEAD'), `${'0'.repeat(40)}\n`);
    expect(await checkedOutCommit(dir)).toBeUndefined();
    await rm(path.join(dir, '.git', 'HEAD'));
    expect(await checkedOutCommit(dir)).toBeUndefined();
  });
});
