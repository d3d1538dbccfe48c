import {
  chmod,
  lstat,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  stat,
  symlink,
  writeFile,
} from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  checkStateDirectoryForRun,
  directoryChain,
  ensureRealDirectories,
  readStateFile,
  secureStateDirectory,
  stateDirectoryRefusal,
} from './stateDirectory.js';

/**
 * The state directory's checks on real folders, modes and symbolic links. Another owner (a
 * throwaway user) is covered by test/state/stateDirectoryOwners.test.ts.
 */

let root: string;
beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-state-dir-'));
});
afterAll(() => rm(root, { recursive: true, force: true }));

const mode = async (file: string) => ((await stat(file)).mode & 0o7777).toString(8);

function collect(): { warn: (message: string) => void; warnings: string[] } {
  const warnings: string[] = [];
  return { warn: (message) => warnings.push(message), warnings };
}

describe('secureStateDirectory', () => {
  it('creates a missing state directory 0700, and only when asked', async () => {
    const stateDir = path.join(root, 'created', 'deeper', 'state');
    const { warn, warnings } = collect();
    expect(secureStateDirectory(stateDir, { create: false, warn })).toBe('missing');
    await expect(stat(stateDir)).rejects.toThrow();
    const previous = process.umask(0o000);
    try {
      expect(secureStateDirectory(stateDir, { create: true, warn })).toBe('ready');
    } finally {
      process.umask(previous);
    }
    expect(await mode(stateDir)).toBe('700');
    expect(warnings).toEqual([]);
  });

  it('repairs a mode that lets others read it, with a warning', async () => {
    const stateDir = path.join(root, 'loose');
    await mkdir(stateDir);
    await chmod(stateDir, 0o755);
    const { warn, warnings } = collect();
    secureStateDirectory(stateDir, { create: true, warn });
    expect(await mode(stateDir)).toBe('700');
    expect(warnings).toEqual([
      `the state directory ${stateDir} had mode 0755, which lets other users read the agent's files (run specs hold env values); repaired to 0700`,
    ]);
    // The wrapper's one-stat check repairs the same way.
    await chmod(stateDir, 0o750);
    const run = collect();
    checkStateDirectoryForRun(stateDir, run.warn);
    expect(await mode(stateDir)).toBe('700');
    expect(run.warnings).toHaveLength(1);
  });

  it('refuses a state directory that others can write, saying how to fix it', async () => {
    const stateDir = path.join(root, 'open');
    await mkdir(stateDir);
    await chmod(stateDir, 0o777);
    const message = `refusing to use the state directory ${stateDir}: other users can write into it (owner root, mode 0777), so its files may have been changed by someone else. Check its content, then fix it with: chmod 700 ${stateDir}`;
    expect(() => secureStateDirectory(stateDir, { create: true, warn: () => {} })).toThrow(message);
    expect(() => checkStateDirectoryForRun(stateDir, () => {})).toThrow(message);
    expect(stateDirectoryRefusal('status', stateDir, () => {})).toBe(message);
    expect(stateDirectoryRefusal('adopt', stateDir, () => {})).toBeUndefined();
    expect(await mode(stateDir)).toBe('777'); // left for a human to look at
  });

  it('refuses a folder above it that others can write, unless it is sticky like /tmp', async () => {
    const shared = path.join(root, 'shared');
    const stateDir = path.join(shared, 'agent', 'state');
    await mkdir(path.dirname(stateDir), { recursive: true });
    await chmod(shared, 0o777);
    const refusal = `refusing to use the state directory ${stateDir}: the folder above it ${shared} is writable by every user (owner root, mode 0777), who could replace the state directory. Fix: chmod go-w ${shared} (or chmod +t ${shared} for a shared folder like /tmp), or choose another --state-dir`;
    // Nothing is created below it either.
    expect(() => secureStateDirectory(stateDir, { create: true, warn: () => {} })).toThrow(refusal);
    await expect(stat(stateDir)).rejects.toThrow();
    await chmod(shared, 0o775);
    expect(() => secureStateDirectory(stateDir, { create: true, warn: () => {} })).toThrow(
      'is writable by its group (owner root, mode 0775)',
    );
    await chmod(shared, 0o1777);
    expect(secureStateDirectory(stateDir, { create: true, warn: () => {} })).toBe('ready');
    // Where the tests themselves live.
    expect((await stat(os.tmpdir())).mode & 0o1000).toBe(0o1000);
  });

  it('follows a symbolic link as the state directory and checks where it leads', async () => {
    const target = path.join(root, 'target-parent', 'state');
    await mkdir(target, { recursive: true, mode: 0o700 });
    const link = path.join(root, 'linked-state');
    await symlink(target, link);
    expect(secureStateDirectory(link, { create: true, warn: () => {} })).toBe('ready');
    await chmod(path.dirname(target), 0o777);
    expect(() => secureStateDirectory(link, { create: true, warn: () => {} })).toThrow(
      `the folder above it ${path.dirname(target)} is writable by every user`,
    );
    await chmod(path.dirname(target), 0o755);
  });

  it('tells the wrapper that a state directory is missing, and how to fix it', async () => {
    const missing = path.join(root, 'nowhere');
    expect(() => checkStateDirectoryForRun(missing, () => {})).toThrow(
      `the state directory ${missing} does not exist, so no job is installed there. Check the --state-dir of the scheduler entry that started this run; if it is right, install the jobs with: cronfleet-agent sync --once --state-dir ${missing}`,
    );
  });
});

describe('inside the state directory', () => {
  it('creates real folders, and refuses a symbolic link or a file among them', async () => {
    const stateDir = path.join(root, 'inside');
    const outside = path.join(root, 'outside');
    await mkdir(stateDir, { mode: 0o700 });
    await mkdir(outside);
    ensureRealDirectories(directoryChain(stateDir, 'logs', 'ns', 'job'));
    expect((await lstat(path.join(stateDir, 'logs', 'ns', 'job'))).isDirectory()).toBe(true);
    expect(await mode(path.join(stateDir, 'logs', 'ns'))).toBe('700');

    await symlink(outside, path.join(stateDir, 'specs'));
    const link = path.join(stateDir, 'specs');
    expect(() => ensureRealDirectories(directoryChain(stateDir, 'specs', 'ns'))).toThrow(
      `${link} is a symbolic link; the agent never follows a link inside its state directory, so that nothing it writes or reads can be redirected. Remove the link (rm ${link}); the agent recreates what it needs`,
    );
    expect(await readdir(outside)).toEqual([]);

    await writeFile(path.join(stateDir, 'locks'), '');
    expect(() => ensureRealDirectories(directoryChain(stateDir, 'locks', 'ns'))).toThrow(
      `${path.join(stateDir, 'locks')} is not a directory`,
    );
  });

  it('reads files without following a link, and narrows a loose run spec to 0600', async () => {
    const stateDir = path.join(root, 'files');
    await mkdir(stateDir, { mode: 0o700 });
    const secret = path.join(root, 'secret.txt');
    await writeFile(secret, 'not for the agent');
    const link = path.join(stateDir, 'inventory.json');
    await symlink(secret, link);
    expect(() => readStateFile(link)).toThrow(`${link} is a symbolic link`);
    expect(readStateFile(path.join(stateDir, 'missing.json'))).toBeUndefined();

    const spec = path.join(stateDir, 'spec.json');
    await writeFile(spec, '{}', { mode: 0o644 });
    expect(readStateFile(spec, 0o600)?.toString()).toBe('{}');
    expect(await mode(spec)).toBe('600');
    expect(await readFile(secret, 'utf8')).toBe('not for the agent');
  });
});
