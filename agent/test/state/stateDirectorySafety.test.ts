import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import {
  chmod,
  chown,
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
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CheckInSpool } from '../../src/spool/checkInSpool.js';
import { AgentStateStore } from '../../src/state/agentStateStore.js';
import { installedJob, jobSpec, REVISION } from '../run/runFixtures.js';
import type { RunSpec } from '../../src/state/runSpec.js';

/**
 * The state directory's safety with real files, modes, symbolic links and processes: a link
 * planted at each place the agent reads or writes (pointing outside the state directory) is
 * refused with a message naming it, and its target is never written, nor read and used; run
 * specs are 0600; a folder above the state directory that another user owns stops every command.
 * The wrapper runs as the BUILT executable, as cron starts it (`npm test` builds first).
 */

const agentBin = fileURLToPath(new URL('../../bin/cronfleet-agent.js', import.meta.url));
const isRoot = process.getuid?.() === 0;

let root: string;
let outside: string;
/** A file outside every state directory that a followed link would reveal or overwrite. */
let secretFile: string;
const secret = 'outside the state directory\n';

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-state-safety-'));
  outside = path.join(root, 'outside');
  await mkdir(outside);
  secretFile = path.join(outside, 'secret.txt');
  await writeFile(secretFile, secret);
});
afterAll(() => rm(root, { recursive: true, force: true }));

let counter = 0;

/** A fresh state directory with `spec` installed, as the reconciler leaves it. */
async function installed(spec: RunSpec): Promise<AgentStateStore> {
  counter += 1;
  const store = new AgentStateStore(path.join(root, `state-${counter}`));
  await store.ensureDirectory();
  await store.writeRunSpec(spec);
  await store.writeInventory({
    version: 1,
    scheduler: 'crontab',
    jobs: { [spec.id]: installedJob(spec) },
  });
  return store;
}

interface Ran {
  code: number | null;
  stderr: string;
}

function runWrapper(stateDir: string, id: string): Promise<Ran> {
  const child = spawn(process.execPath, [agentBin, 'run', '--now', '--state-dir', stateDir, id], {
    env: { PATH: process.env.PATH, HOME: root },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stderr })));
}

function runCommand(args: string[], stateDir: string): Ran {
  const result = spawnSync(process.execPath, [agentBin, ...args, '--state-dir', stateDir], {
    env: { PATH: process.env.PATH, HOME: root },
    encoding: 'utf8',
  });
  return { code: result.status, stderr: result.stderr };
}

const linkMessage = (link: string) =>
  `${link} is a symbolic link; the agent never follows a link inside its state directory, so that nothing it writes or reads can be redirected. Remove the link (rm ${link}); the agent recreates what it needs`;

/** What must never change: the secret file's content, and the outside folder's listing. */
async function expectOutsideUntouched(): Promise<void> {
  expect(await readFile(secretFile, 'utf8')).toBe(secret);
  expect((await readdir(outside)).filter((name) => !name.startsWith('planted-')).sort()).toEqual([
    'secret.txt',
  ]);
}

/** A job that would leave a marker if a planted spec were used. */
function plantedSpec(name: string, marker: string): RunSpec {
  return jobSpec(name, { command: `touch ${marker}` });
}

describe('nothing inside the state directory follows a symbolic link', () => {
  it('a run spec that is a link: refused, the linked spec never used', async () => {
    const spec = jobSpec('spec-link', { command: 'true' });
    const store = await installed(spec);
    const marker = path.join(root, 'marker-spec-link');
    const planted = path.join(outside, 'planted-spec.json');
    await writeFile(planted, JSON.stringify(plantedSpec('spec-link', marker)));
    const file = store.specFile('test', 'spec-link', REVISION);
    await rm(file);
    await symlink(planted, file);
    const ran = await runWrapper(store.stateDir, 'test/spec-link');
    expect(ran).toEqual({ code: 2, stderr: `cronfleet-agent run: ${linkMessage(file)}\n` });
    expect(existsSync(marker)).toBe(false);
    await expect(store.readRunSpec('test', 'spec-link', REVISION)).rejects.toThrow(
      linkMessage(file),
    );
    await expectOutsideUntouched();
  });

  it('a namespace folder of specs that is a link: refused, and never written through', async () => {
    const spec = jobSpec('dir-link');
    const store = await installed(spec);
    const marker = path.join(root, 'marker-dir-link');
    const plantedDir = path.join(outside, 'planted-specs');
    await mkdir(path.join(plantedDir, 'dir-link'), { recursive: true });
    await writeFile(
      path.join(plantedDir, 'dir-link', `${REVISION}.json`),
      JSON.stringify(plantedSpec('dir-link', marker)),
    );
    const link = path.join(store.specsDir, 'test');
    await rm(link, { recursive: true });
    await symlink(plantedDir, link);
    const ran = await runWrapper(store.stateDir, 'test/dir-link');
    expect(ran).toEqual({ code: 2, stderr: `cronfleet-agent run: ${linkMessage(link)}\n` });
    expect(existsSync(marker)).toBe(false);
    // The reconciler's write of a new revision does not go through it either.
    const next = { ...spec, revision: 'b'.repeat(40) };
    await expect(store.writeRunSpec(next)).rejects.toThrow(linkMessage(link));
    expect(await readdir(path.join(plantedDir, 'dir-link'))).toEqual([`${REVISION}.json`]);
    await expectOutsideUntouched();
  });

  it('an inventory that is a link: refused by the wrapper and by status, never replaced in place', async () => {
    const spec = jobSpec('inventory-link');
    const store = await installed(spec);
    const marker = path.join(root, 'marker-inventory');
    const evil = plantedSpec('inventory-link', marker);
    await store.writeRunSpec({ ...evil, revision: 'c'.repeat(40) });
    const planted = path.join(outside, 'planted-inventory.json');
    const plantedInventory = JSON.stringify({
      version: 1,
      scheduler: 'crontab',
      jobs: { [evil.id]: installedJob({ ...evil, revision: 'c'.repeat(40) }) },
    });
    await writeFile(planted, plantedInventory);
    await rm(store.inventoryFile);
    await symlink(planted, store.inventoryFile);
    const ran = await runWrapper(store.stateDir, 'test/inventory-link');
    expect(ran).toEqual({
      code: 2,
      stderr: `cronfleet-agent run: ${linkMessage(store.inventoryFile)}\n`,
    });
    expect(existsSync(marker)).toBe(false);
    const status = runCommand(['status'], store.stateDir);
    expect(status).toEqual({
      code: 2,
      stderr: `cronfleet-agent status: ${linkMessage(store.inventoryFile)}\n`,
    });
    // A write replaces the link itself (rename), never the file it points at.
    await store.writeInventory({ version: 1, scheduler: 'crontab', jobs: {} });
    expect(await readFile(planted, 'utf8')).toBe(plantedInventory);
    await expectOutsideUntouched();
  });

  it('a log folder that is a link: the job runs, its output is not logged there', async () => {
    const store = await installed(jobSpec('log-link', { command: 'echo output' }));
    const link = path.join(store.stateDir, 'logs');
    await symlink(outside, link);
    const ran = await runWrapper(store.stateDir, 'test/log-link');
    expect(ran).toEqual({
      code: 0,
      stderr: `cronfleet-agent run: ${linkMessage(link)}. This run's output is not logged\n`,
    });
    await expectOutsideUntouched();
  });

  it('a job log folder or a log file that is a link: never written', async () => {
    const store = await installed(jobSpec('log-file', { command: 'echo output' }));
    await mkdir(path.join(store.stateDir, 'logs', 'test'), { recursive: true });
    const link = path.join(store.stateDir, 'logs', 'test', 'log-file');
    await symlink(outside, link);
    const ran = await runWrapper(store.stateDir, 'test/log-file');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toBe(
      `cronfleet-agent run: ${linkMessage(link)}. This run's output is not logged\n`,
    );
    // A link among the logs is neither measured nor removed by the retention.
    await rm(link);
    await mkdir(link);
    await symlink(secretFile, path.join(link, 'old.log'));
    expect((await runWrapper(store.stateDir, 'test/log-file')).code).toBe(0);
    expect(existsSync(path.join(link, 'old.log'))).toBe(true);
    await expectOutsideUntouched();
  });

  it('a spool folder or segment that is a link: the job runs, no check-in goes there', async () => {
    const store = await installed(jobSpec('spool-link'));
    const segments = path.join(store.stateDir, 'spool', 'segments');
    await mkdir(path.dirname(segments), { recursive: true, mode: 0o700 });
    await symlink(outside, segments);
    const ran = await runWrapper(store.stateDir, 'test/spool-link');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain(`cannot record the check-in`);
    expect(ran.stderr).toContain(linkMessage(segments));
    expect(ran.stderr).not.toMatch(/\n\s+at /);
    await expectOutsideUntouched();

    // A segment planted as a link to a file: never appended to, never read.
    await rm(segments);
    await mkdir(segments, { mode: 0o700 });
    const segment = path.join(segments, '000000000001.log');
    await symlink(secretFile, segment);
    const spool = new CheckInSpool({ directory: path.dirname(segments) });
    const again = await runWrapper(store.stateDir, 'test/spool-link');
    expect(again.code).toBe(0);
    expect(again.stderr).toContain('cannot record the check-in');
    await expect(spool.pendingCheckIns()).rejects.toThrow(linkMessage(segment));
    await expectOutsideUntouched();
  });

  it('a lock folder or a lock file that is a link: the run stops with exit 1, nothing written', async () => {
    const store = await installed(
      jobSpec('lock-link', { concurrencyPolicy: 'Forbid', command: 'true' }),
    );
    const locks = path.join(store.stateDir, 'locks');
    await symlink(outside, locks);
    const ran = await runWrapper(store.stateDir, 'test/lock-link');
    expect(ran.code).toBe(1);
    expect(ran.stderr).toBe(
      `cronfleet-agent run: test/lock-link: cannot take the concurrency lock (Forbid) ${path.join(locks, 'test', 'lock-link.lock')}: ${linkMessage(locks)}\n`,
    );
    await rm(locks);
    await mkdir(path.join(locks, 'test'), { recursive: true, mode: 0o700 });
    const lockFile = path.join(locks, 'test', 'lock-link.lock');
    await symlink(secretFile, lockFile);
    const second = await runWrapper(store.stateDir, 'test/lock-link');
    expect(second.code).toBe(1);
    expect(second.stderr).toContain(linkMessage(lockFile));
    await expectOutsideUntouched();
  });
});

describe('the reconcile lock', () => {
  it('a reconcile.lock that is a link: sync refuses it by name, never reads or removes its target', async () => {
    const store = await installed(jobSpec('reconcile-link'));
    const link = path.join(store.stateDir, 'reconcile.lock');
    await symlink(secretFile, link);
    const ran = runCommand(['sync', '--once', '--repo', 'file:///nonexistent'], store.stateDir);
    expect(ran.code).toBe(2);
    expect(ran.stderr).toContain(linkMessage(link));
    expect(ran.stderr).not.toMatch(/\n\s+at /);
    await expectOutsideUntouched();
  });
});

describe('live runs', () => {
  it('a live-runs folder that is a link: the job runs, no record is written there', async () => {
    const store = await installed(jobSpec('live-link', { command: 'true' }));
    const link = path.join(store.stateDir, 'live-runs');
    await symlink(outside, link);
    const ran = await runWrapper(store.stateDir, 'test/live-link');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain(linkMessage(link));
    expect(ran.stderr).not.toMatch(/\n\s+at /);
    await expectOutsideUntouched();
  });
});

describe('modes', () => {
  it('writes run specs 0600 and narrows a spec written looser before', async () => {
    const store = await installed(jobSpec('modes', { env: { TOKEN: 'secret' } }));
    const file = store.specFile('test', 'modes', REVISION);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect((await stat(store.stateDir)).mode & 0o777).toBe(0o700);
    expect((await stat(store.inventoryFile)).mode & 0o777).toBe(0o600);
    await chmod(file, 0o644);
    expect((await runWrapper(store.stateDir, 'test/modes')).code).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('every command refuses a state directory that others can write (exit 2)', async () => {
    const store = await installed(jobSpec('open'));
    await chmod(store.stateDir, 0o777);
    const refusal = `refusing to use the state directory ${store.stateDir}: other users can write into it (owner root, mode 0777), so its files may have been changed by someone else. Check its content, then fix it with: chmod 700 ${store.stateDir}`;
    for (const command of ['status', 'uninstall', 'plan']) {
      expect(runCommand([command], store.stateDir)).toEqual({
        code: 2,
        stderr: `cronfleet-agent ${command}: ${refusal}\n`,
      });
    }
    expect(await runWrapper(store.stateDir, 'test/open')).toEqual({
      code: 2,
      stderr: `cronfleet-agent run: ${refusal}\n`,
    });
  });
});

describe.skipIf(!isRoot)(
  'a folder above the state directory owned by another user (root: a throwaway user)',
  () => {
    const user = `cfsafe${process.pid % 100000}`;
    beforeAll(() => {
      execFileSync('useradd', ['--no-create-home', user]);
    });
    afterAll(() => {
      spawnSync('userdel', [user]);
    });

    it('stops sync, status and run with the path, its owner and mode, and the fix', async () => {
      const theirs = path.join(root, 'theirs');
      await mkdir(theirs, { mode: 0o755 });
      const stateDir = path.join(theirs, 'state');
      const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      await chown(theirs, uid, uid);
      const refusal = `refusing to use the state directory ${stateDir}: the folder above it ${theirs} belongs to ${user} (owner ${user}, mode 0755), who could replace the state directory. Fix: chown root ${theirs}, or choose a --state-dir whose every folder belongs to root`;
      const sync = runCommand(['sync', '--once', '--repo', 'file:///nonexistent'], stateDir);
      expect(sync).toEqual({ code: 2, stderr: `cronfleet-agent sync: ${refusal}\n` });
      expect(existsSync(stateDir)).toBe(false); // not created below that folder
      // A command that only reads checks an existing state directory and every folder above it.
      await mkdir(stateDir, { mode: 0o700 });
      for (const command of ['status', 'uninstall']) {
        expect(runCommand([command], stateDir)).toEqual({
          code: 2,
          stderr: `cronfleet-agent ${command}: ${refusal}\n`,
        });
      }
      // The wrapper's fast path checks the state directory alone (one stat: root's, 0700), so it
      // goes on to say that nothing is installed; the folders above are sync's to check.
      const ran = await runWrapper(stateDir, 'test/anything');
      expect(ran.code).toBe(2);
    });
  },
);
