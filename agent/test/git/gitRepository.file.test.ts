import { spawn } from 'node:child_process';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { GitRepository, type GitSourceOptions } from '../../src/git/gitRepository.js';
import { GitSyncError } from '../../src/git/gitSyncError.js';
import { currentHolder } from '../../src/git/repositoryLock.js';
import { git, makeTempDir, readWorkTree, removeDir, ServedRepository } from './gitFixtures.js';

let tempDir: string;
let served: ServedRepository;
let stateDir: string;
let checkoutDir: string;

beforeEach(async () => {
  tempDir = await makeTempDir('git-file');
  served = await ServedRepository.create(path.join(tempDir, 'server'));
  stateDir = path.join(tempDir, 'state');
  checkoutDir = path.join(stateDir, 'repository');
});

afterEach(async () => {
  await removeDir(tempDir);
});

function repository(overrides: Partial<GitSourceOptions> = {}): GitRepository {
  return new GitRepository({
    url: served.fileUrl,
    ref: { kind: 'branch', name: 'main' },
    checkoutDir,
    environment: process.env,
    // Deadlines only against a git that hangs: well past a slow fetch on a busy machine.
    timeoutMs: 50_000,
    stallTimeoutMs: 40_000,
    ...overrides,
  });
}

async function syncError(promise: Promise<unknown>): Promise<GitSyncError> {
  const error = await promise.then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(error).toBeInstanceOf(GitSyncError);
  return error as GitSyncError;
}

/** The state directory's entries; after a sync only the checkout and the git HOME remain. */
async function stateEntries(): Promise<string[]> {
  return (await readdir(stateDir)).sort();
}

describe('GitRepository over file://', () => {
  it('clones, then reports an unchanged revision, then follows a new commit', async () => {
    const first = await served.commit({ 'jobs/a.yaml': 'a: 1\n', 'README.md': 'hi\n' });
    const repo = repository();

    const cloned = await repo.sync();
    expect(cloned).toEqual({
      revision: first,
      previousRevision: null,
      changed: true,
      workTree: checkoutDir,
    });
    expect(await readWorkTree(checkoutDir)).toEqual({
      'jobs/a.yaml': 'a: 1\n',
      'README.md': 'hi\n',
    });
    expect(await stateEntries()).toEqual(['.repository.git-home', 'repository']);
    expect(await git(checkoutDir, ['rev-parse', 'HEAD'])).toBe(first);
    // Shallow: only the one commit is present.
    expect(await git(checkoutDir, ['rev-list', '--count', 'HEAD'])).toBe('1');
    // Nothing about the source in .git/config: no remote, no URL.
    expect(await readFile(path.join(checkoutDir, '.git', 'config'), 'utf8')).not.toContain(
      served.barePath,
    );

    const again = await repo.sync();
    expect(again).toEqual({
      revision: first,
      previousRevision: first,
      changed: false,
      workTree: checkoutDir,
    });

    // Local edits are undone by the next sync: the work tree is exactly the revision.
    await writeFile(path.join(checkoutDir, 'jobs/a.yaml'), 'tampered\n');
    await writeFile(path.join(checkoutDir, 'untracked.yaml'), 'x\n');
    const second = await served.commit({ 'jobs/b.yaml': 'b: 2\n', 'README.md': null });
    const updated = await repo.sync();
    expect(updated).toEqual({
      revision: second,
      previousRevision: first,
      changed: true,
      workTree: checkoutDir,
    });
    expect(await readWorkTree(checkoutDir)).toEqual({
      'jobs/a.yaml': 'a: 1\n',
      'jobs/b.yaml': 'b: 2\n',
    });
    expect(await repo.currentRevision()).toBe(second);
    expect(await stateEntries()).toEqual(['.repository.git-home', 'repository']);
  });

  it('without verifyUnchanged, an unchanged revision costs two git commands and leaves the work tree to verifyWorkTree', async () => {
    const sha = await served.commit({ 'jobs/a.yaml': 'a: 1\n' });
    const commands: string[][] = [];
    const logger = pino(
      { level: 'debug' },
      {
        write(line: string) {
          const record = JSON.parse(line) as { msg: string; args?: string[] };
          if (record.msg === 'git command') commands.push(record.args ?? []);
        },
      },
    );
    const repo = repository({ logger });
    await repo.sync(undefined, { verifyUnchanged: false });
    await writeFile(path.join(checkoutDir, 'jobs/a.yaml'), 'tampered\n');
    await writeFile(path.join(checkoutDir, 'planted.yaml'), 'x\n');

    commands.length = 0;
    const again = await repo.sync(undefined, { verifyUnchanged: false });
    expect(again).toMatchObject({ revision: sha, changed: false });
    // HEAD is read from .git's files; FETCH_HEAD names the commit already checked out: the fetch
    // is the one git command.
    expect(commands.map((args) => args[0])).toEqual(['fetch']);
    expect(await readFile(path.join(checkoutDir, 'jobs/a.yaml'), 'utf8')).toBe('tampered\n');

    await repo.verifyWorkTree();
    expect(await readWorkTree(checkoutDir)).toEqual({ 'jobs/a.yaml': 'a: 1\n' });

    // A new commit is checked out and verified whatever the option says.
    await writeFile(path.join(checkoutDir, 'planted.yaml'), 'x\n');
    const next = await served.commit({ 'jobs/b.yaml': 'b: 2\n' });
    expect(await repo.sync(undefined, { verifyUnchanged: false })).toMatchObject({
      revision: next,
      changed: true,
    });
    expect(await readWorkTree(checkoutDir)).toEqual({
      'jobs/a.yaml': 'a: 1\n',
      'jobs/b.yaml': 'b: 2\n',
    });
  });

  it('follows a force-push that rewrites history', async () => {
    await served.commit({ 'a.yaml': '1\n' });
    const before = await served.commit({ 'a.yaml': '2\n' });
    const repo = repository();
    expect((await repo.sync()).revision).toBe(before);

    const rewritten = await served.commit({ 'z.yaml': 'new root\n' }, { parent: null });
    const result = await repo.sync();
    expect(result).toEqual({
      revision: rewritten,
      previousRevision: before,
      changed: true,
      workTree: checkoutDir,
    });
    expect(await readWorkTree(checkoutDir)).toEqual({ 'z.yaml': 'new root\n' });
  });

  it('checks out a lightweight tag, an annotated tag that moves, and a pinned commit', async () => {
    const one = await served.commit({ 'v.txt': 'one\n' });
    const two = await served.commit({ 'v.txt': 'two\n' });
    await served.commit({ 'v.txt': 'three\n' });
    await served.tag('light', one);
    await served.tag('v1', two, { annotated: true });

    const light = repository({ ref: { kind: 'tag', name: 'light' } });
    expect((await light.sync()).revision).toBe(one);
    expect(await readWorkTree(checkoutDir)).toEqual({ 'v.txt': 'one\n' });

    // Another ref for the same checkout: a fresh clone replaces it.
    const annotated = repository({ ref: { kind: 'tag', name: 'refs/tags/v1' } });
    expect(await annotated.sync()).toEqual({
      revision: two,
      previousRevision: one,
      changed: true,
      workTree: checkoutDir,
    });
    await served.tag('v1', one, { annotated: true });
    expect((await annotated.sync()).revision).toBe(one);

    // A commit that is no branch tip (protocol v2 serves it by SHA).
    const pinned = repository({ ref: { kind: 'commit', name: two.toUpperCase() } });
    expect((await pinned.sync()).revision).toBe(two);
    expect(await readWorkTree(checkoutDir)).toEqual({ 'v.txt': 'two\n' });
    const unchanged = await pinned.sync();
    expect(unchanged.changed).toBe(false);
    expect(unchanged.revision).toBe(two);
  });

  it('reports a commit that exists nowhere on the server as stalled', async () => {
    await served.commit({ 'a.txt': 'a\n' });
    const missing = 'f'.repeat(40);
    const error = await syncError(repository({ ref: { kind: 'commit', name: missing } }).sync());
    expect(error.kind).toBe('stalled');
    expect(error.reason).toBe('unknown-ref');
    expect(error.message).toContain(`commit ${missing} is not in any branch or tag of`);
    await expect(stat(checkoutDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails an unknown branch as stalled, leaving no checkout and no temporary directory', async () => {
    await served.commit({ 'a.txt': 'a\n' });
    const error = await syncError(repository({ ref: { kind: 'branch', name: 'nope' } }).sync());
    expect(error.kind).toBe('stalled');
    expect(error.reason).toBe('unknown-ref');
    expect(error.message).toBe(
      `cloning branch "nope" of ${served.fileUrl} into ${checkoutDir} failed at "git fetch": ` +
        'check that the ref exists on the server (git ls-remote <url>) or fix the configured ' +
        "branch, tag or commit. git said: fatal: couldn't find remote ref refs/heads/nope",
    );
    expect(await stateEntries()).toEqual(['.repository.git-home']);
  });

  it('keeps the previous checkout intact when the branch, the ref or the repository goes away', async () => {
    const sha = await served.commit({ 'keep.txt': 'keep\n' });
    await served.commit({ 'other.txt': 'o\n' }, { branch: 'feature' });
    const feature = repository({ ref: { kind: 'branch', name: 'feature' } });
    const main = repository();
    expect((await main.sync()).revision).toBe(sha);

    // Reconfigured to a branch that does not exist: the re-clone fails, the checkout stays.
    const wrong = repository({ ref: { kind: 'branch', name: 'does-not-exist' } });
    expect((await syncError(wrong.sync())).reason).toBe('unknown-ref');
    expect(await main.currentRevision()).toBe(sha);
    expect(await readWorkTree(checkoutDir)).toEqual({ 'keep.txt': 'keep\n' });

    // The branch is deleted upstream.
    const featureSha = (await feature.sync()).revision;
    await served.deleteBranch('feature');
    const deleted = await syncError(feature.sync());
    expect(deleted.kind).toBe('stalled');
    expect(deleted.reason).toBe('unknown-ref');
    expect(await feature.currentRevision()).toBe(featureSha);

    // The repository itself is deleted.
    await rm(served.barePath, { recursive: true, force: true });
    const gone = await syncError(feature.sync());
    expect(gone.kind).toBe('stalled');
    expect(gone.reason).toBe('repository-not-found');
    expect(gone.message).toContain(
      `fetching branch "feature" of ${served.fileUrl} failed at "git fetch": check the repository URL`,
    );
    expect(await feature.currentRevision()).toBe(featureSha);
    expect(await stateEntries()).toEqual(['.repository.git-home', 'repository']);
  });

  it('cleans leftovers of a crash and re-clones a damaged checkout', async () => {
    const sha = await served.commit({ 'a.txt': 'a\n' });
    const repo = repository();
    await repo.sync();

    await mkdir(path.join(stateDir, '.repository.tmp-deadbeef', '.git'), { recursive: true });
    await mkdir(path.join(stateDir, '.repository.old-deadbeef'), { recursive: true });
    // Damage the object store: HEAD's commit is gone.
    await rm(path.join(checkoutDir, '.git', 'objects'), { recursive: true });
    await mkdir(path.join(checkoutDir, '.git', 'objects'));
    expect(await repo.currentRevision()).toBeNull();

    expect(await repo.sync()).toEqual({
      revision: sha,
      previousRevision: null,
      changed: true,
      workTree: checkoutDir,
    });
    expect(await readWorkTree(checkoutDir)).toEqual({ 'a.txt': 'a\n' });
    expect(await stateEntries()).toEqual(['.repository.git-home', 'repository']);
  });

  it('never acts on an enclosing repository, and re-clones past a stale index.lock', async () => {
    const sha = await served.commit({ 'a.txt': 'a\n' });
    // The state directory is itself a git work tree with a committed file.
    await mkdir(stateDir, { recursive: true });
    await git(stateDir, ['init', '--quiet']);
    await writeFile(path.join(stateDir, 'outer.txt'), 'outer\n');
    await git(stateDir, ['add', 'outer.txt']);
    await git(stateDir, ['commit', '--quiet', '-m', 'outer']);
    const outerHead = await git(stateDir, ['rev-parse', 'HEAD']);
    const repo = repository();
    await repo.sync();

    // Without HEAD, checkout/.git is no repository; git must not walk up to the outer one.
    await rm(path.join(checkoutDir, '.git', 'HEAD'));
    expect(await repo.currentRevision()).toBeNull();
    expect(await repo.sync()).toEqual({
      revision: sha,
      previousRevision: null,
      changed: true,
      workTree: checkoutDir,
    });
    expect(await readFile(path.join(stateDir, 'outer.txt'), 'utf8')).toBe('outer\n');
    expect(await git(stateDir, ['rev-parse', 'HEAD'])).toBe(outerHead);

    // A crashed git left index.lock: the reset to a new revision fails, a fresh clone does not.
    await writeFile(path.join(checkoutDir, '.git', 'index.lock'), '');
    const next = await served.commit({ 'a.txt': 'b\n' });
    expect(await repo.sync()).toEqual({
      revision: next,
      previousRevision: sha,
      changed: true,
      workTree: checkoutDir,
    });
    expect(await readWorkTree(checkoutDir)).toEqual({ 'a.txt': 'b\n' });
  });

  it('refuses to replace a directory it did not create', async () => {
    await served.commit({ 'a.txt': 'a\n' });
    await mkdir(checkoutDir, { recursive: true });
    await writeFile(path.join(checkoutDir, 'precious.txt'), 'mine\n');
    const error = await syncError(repository().sync());
    expect(error.kind).toBe('stalled');
    expect(error.reason).toBe('checkout-not-owned');
    expect(error.message).toContain(`refusing to replace ${checkoutDir}`);
    expect(await readWorkTree(checkoutDir)).toEqual({ 'precious.txt': 'mine\n' });
  });

  it('serialises concurrent syncs of one checkout', async () => {
    const sha = await served.commit({ 'a.txt': 'a\n' });
    const lines: Array<{ msg: string }> = [];
    const logger = pino(
      { level: 'debug' },
      { write: (line: string) => void lines.push(JSON.parse(line) as { msg: string }) },
    );
    const repoA = repository({ logger });
    const repoB = repository({ logger });
    const results = await Promise.all([repoA.sync(), repoB.sync(), repoA.sync(), repoB.sync()]);

    expect(results.map((result) => result.revision)).toEqual([sha, sha, sha, sha]);
    expect(results.filter((result) => result.previousRevision === null)).toHaveLength(1);
    expect(results.filter((result) => result.changed)).toHaveLength(1);
    const marks = lines
      .map((line) => line.msg)
      .filter((msg) => msg === 'git sync started' || msg === 'git sync finished');
    expect(marks).toEqual(
      Array.from({ length: 4 }, () => ['git sync started', 'git sync finished']).flat(),
    );
  });

  it('takes over a lock left by a dead process and waits for a live holder', async () => {
    const sha = await served.commit({ 'a.txt': 'a\n' });
    await mkdir(stateDir, { recursive: true });
    const lockFile = path.join(stateDir, '.repository.lock');

    const dead = spawn('true');
    await new Promise((resolve) => dead.on('exit', resolve));
    await writeFile(lockFile, JSON.stringify({ ...currentHolder(), pid: dead.pid }));
    expect((await repository().sync()).revision).toBe(sha);
    await expect(stat(lockFile)).rejects.toMatchObject({ code: 'ENOENT' });

    const sleeper = spawn('sleep', ['30']);
    try {
      const holder = { ...currentHolder(), pid: sleeper.pid, startTime: undefined };
      await writeFile(lockFile, JSON.stringify(holder));
      const timedOut = await syncError(repository({ lockTimeoutMs: 300 }).sync());
      expect(timedOut.kind).toBe('transient');
      expect(timedOut.reason).toBe('lock-timeout');
      expect(timedOut.message).toContain(`held by pid ${sleeper.pid}`);

      let settled = false;
      const waiting = repository()
        .sync()
        .finally(() => (settled = true));
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(settled).toBe(false);
      sleeper.kill('SIGKILL');
      await new Promise((resolve) => sleeper.on('exit', resolve));
      expect((await waiting).revision).toBe(sha);
    } finally {
      sleeper.kill('SIGKILL');
    }
  });

  it('stops at once when the caller aborts', async () => {
    await served.commit({ 'a.txt': 'a\n' });
    const controller = new AbortController();
    controller.abort();
    const error = await syncError(repository().sync(controller.signal));
    expect(error.kind).toBe('transient');
    expect(error.reason).toBe('aborted');
    expect(await stateEntries()).toEqual([]);
  });

  it('rejects invalid options with a stalled error that repeats no credential', () => {
    const cases: Array<[Partial<GitSourceOptions>, string]> = [
      [
        { url: 'https://user:hunter2@example.com/repo.git' },
        'invalid git source: the repository URL https://example.com/repo.git carries credentials',
      ],
      [{ url: 'ext::sh -c evil' }, 'uses remote-helper syntax'],
      [{ url: 'relative/path' }, 'is neither a URL nor an absolute path'],
      [{ ref: { kind: 'commit', name: 'abc1234' } }, 'is abbreviated'],
      [{ ref: { kind: 'branch', name: 'main:evil' } }, 'branch name "main:evil" is invalid'],
      [{ checkoutDir: 'relative' }, 'must be an absolute path'],
      [{ url: 'git@example.com:org/repo.git' }, 'an SSH URL needs SSH credentials'],
    ];
    for (const [overrides, expected] of cases) {
      let caught: unknown;
      try {
        repository(overrides);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(GitSyncError);
      const error = caught as GitSyncError;
      expect(error.reason).toBe('invalid-options');
      expect(error.kind).toBe('stalled');
      expect(error.message).toContain(expected);
      expect(error.message).not.toContain('hunter2');
    }
  });
});
