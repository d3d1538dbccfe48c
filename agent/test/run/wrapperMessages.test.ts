import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobSpec, TestState } from './runFixtures.js';
import { runSpecFile, singleRunSpecKey } from '../../src/state/runSpecPath.js';

/**
 * What the run wrapper says when it cannot run a job, through the BUILT executable (what cron
 * starts; `npm test` builds first): once through the bundled fast path (`run --state-dir DIR
 * NS/NAME`, dist/fast/) and once through the full CLI (`run NS/NAME` with CRONFLEET_STATE_DIR,
 * dist/main.js). cron mails whatever the wrapper prints, so every message says what is wrong and
 * how to fix it, with no stack and no system error text. A start at an instant that is not a fire
 * time is silent under cron and explained on a terminal, a real pseudo-terminal from util-linux
 * `script`.
 */

const agentBin = fileURLToPath(new URL('../../bin/cronfleet-agent.js', import.meta.url));
const bundle = fileURLToPath(new URL('../../dist/fast/runFastPath.js', import.meta.url));
const isRoot = process.getuid?.() === 0;
const hasScript = spawnSync('script', ['--version']).status === 0;

interface Ran {
  code: number | null;
  stderr: string;
  stdout: string;
}

type Path = 'bundled fast path' | 'full CLI';
const paths: Path[] = ['bundled fast path', 'full CLI'];

/** The argv and environment of `run` through one of the two paths. */
function invocation(via: Path, stateDir: string, id: string) {
  return via === 'bundled fast path'
    ? { args: [agentBin, 'run', '--state-dir', stateDir, id], env: {} }
    : { args: [agentBin, 'run', id], env: { CRONFLEET_STATE_DIR: stateDir } };
}

function runBin(
  via: Path,
  stateDir: string,
  id: string,
  options: { uid?: number; gid?: number; home?: string } = {},
): Promise<Ran> {
  const { args, env } = invocation(via, stateDir, id);
  const child = spawn(process.execPath, args, {
    env: { PATH: process.env.PATH, HOME: options.home ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
    uid: options.uid,
    gid: options.gid,
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  return new Promise((resolve) => child.once('close', (code) => resolve({ code, stdout, stderr })));
}

/** The same under a pseudo-terminal: `script` gives the command a tty and copies it to stdout. */
function runBinOnTerminal(via: Path, stateDir: string, id: string): Ran {
  const { args, env } = invocation(via, stateDir, id);
  const quote = (word: string) => `'${word.replaceAll("'", `'\\''`)}'`;
  const result = spawnSync(
    'script',
    ['-qfec', [process.execPath, ...args].map(quote).join(' '), '/dev/null'],
    { env: { PATH: process.env.PATH, HOME: os.tmpdir(), TERM: 'dumb', ...env }, encoding: 'utf8' },
  );
  return { code: result.status, stdout: result.stdout.replaceAll('\r\n', '\n'), stderr: '' };
}

/** One line, a sentence of the wrapper's, nothing internal. */
function expectCleanMessage(text: string): void {
  expect(text).toMatch(/^cronfleet-agent run: [^\n]+\n$/);
  expect(text).not.toMatch(/\n\s+at |Error:|ENOENT|EACCES|ELOOP|Dynamic require|undefined/);
}

let state: TestState;
beforeAll(async () => {
  if (!existsSync(bundle)) {
    throw new Error(`${bundle} is missing: build first (npm run build -w core -w agent)`);
  }
  state = await TestState.create('messages');
  // A native superset (every minute) of a schedule that never comes: every start is skipped.
  await state.install(
    jobSpec('never', {
      schedule: '0 0 31 2 *',
      native: { expression: '* * * * *', timezone: 'UTC', exact: false },
      command: `touch ${path.join(state.root, 'never-ran')}`,
    }),
    jobSpec('damaged'),
  );
});
afterAll(() => state.remove());

describe.each(paths)('the built wrapper, %s', (via) => {
  it('an unknown job: exit 2, says how to see what is installed', async () => {
    const ran = await runBin(via, state.stateDir, 'nope/nope');
    expect(ran.code).toBe(2);
    expectCleanMessage(ran.stderr);
    expect(ran.stderr).toBe(
      `cronfleet-agent run: job nope/nope is not installed by the agent of ${state.stateDir}: its inventory does not list it. See what is installed with: cronfleet-agent status --state-dir ${state.stateDir}; a scheduler entry left over from a removed job can be deleted\n`,
    );
    expect(ran.stdout).toBe('');
  });

  it('a missing state directory: exit 2, says which and how to install', async () => {
    const missing = path.join(state.root, 'no-such-state');
    const ran = await runBin(via, missing, 'nope/nope');
    expect(ran.code).toBe(2);
    expectCleanMessage(ran.stderr);
    expect(ran.stderr).toBe(
      `cronfleet-agent run: the state directory ${missing} does not exist, so no job is installed there. Check the --state-dir of the scheduler entry that started this run; if it is right, install the jobs with: cronfleet-agent sync --once --state-dir ${missing}\n`,
    );
    expect(existsSync(missing)).toBe(false); // run never creates it
  });

  it('a damaged run spec (not JSON, then the wrong shape): exit 2, names the file and the fix', async () => {
    const file = state.store.specFile('test', 'damaged', jobSpec('damaged').revision);
    await writeFile(file, '{"version": 1, "id": ');
    let ran = await runBin(via, state.stateDir, 'test/damaged');
    expect(ran.code).toBe(2);
    expectCleanMessage(ran.stderr);
    expect(ran.stderr).toBe(
      `cronfleet-agent run: the run spec of test/damaged cannot be used: ${file} is not valid JSON. Restore it from a backup, or reinstall this agent's jobs, which writes every run spec again: cronfleet-agent uninstall --state-dir ${state.stateDir} && cronfleet-agent sync --once --state-dir ${state.stateDir}\n`,
    );
    await writeFile(
      file,
      JSON.stringify({ version: 1, specs: { damaged: { ...jobSpec('damaged'), command: 42 } } }),
    );
    ran = await runBin(via, state.stateDir, 'test/damaged');
    expect(ran.code).toBe(2);
    expectCleanMessage(ran.stderr);
    expect(ran.stderr).toContain(
      `${file} does not have the expected shape (specs.damaged.command: `,
    );
    expect(ran.stderr).toContain(`reinstall this agent's jobs, which writes every run spec again`);
  });

  it('a start that is not a fire time: silent with exit 0 under cron, no run', async () => {
    const ran = await runBin(via, state.stateDir, 'test/never');
    expect(ran).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(existsSync(path.join(state.root, 'never-ran'))).toBe(false);
  });

  it.skipIf(!hasScript)('a start that is not a fire time, on a terminal: says why', () => {
    const ran = runBinOnTerminal(via, state.stateDir, 'test/never');
    expect(ran.code).toBe(0);
    expectCleanMessage(ran.stdout);
    expect(ran.stdout).toMatch(
      /^cronfleet-agent run: test\/never did not run: native fire \S+ \("\* \* \* \* \*" in UTC\) is not a fire time of "0 0 31 2 \*" in UTC; the job's next fire time is none within 100 years\. Under cron this start is silent \(exit 0\); to run the job now anyway: cronfleet-agent run --now --state-dir /,
    );
    expect(existsSync(path.join(state.root, 'never-ran'))).toBe(false);
  });
});

describe.skipIf(!isRoot)('the built wrapper as another user (root: a throwaway user)', () => {
  const user = `cfmsg${process.pid % 100000}`;
  let uid: number;
  let gid: number;
  let root: string;
  let stateDir: string;

  beforeAll(async () => {
    execFileSync('useradd', ['--no-create-home', user]);
    uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
    gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
    root = path.join(state.root, 'as-user');
    await mkdir(root, { mode: 0o755 });
    await chmod(state.root, 0o755); // so the user can reach its own state directory
    stateDir = path.join(root, 'state');
    const own = await TestState.create('messages-user');
    await own.install(jobSpec('locked'));
    execFileSync('cp', ['-a', own.stateDir, stateDir]);
    await own.remove();
    execFileSync('chown', ['-R', `${uid}:${gid}`, stateDir]);
    await chown(root, uid, gid);
  });

  afterAll(async () => {
    spawnSync('userdel', [user]);
    await chmod(state.root, 0o700);
  });

  it.each(paths)(
    'an unreadable run spec (chmod 000), %s: exit 2, says whose and how to fix',
    async (via) => {
      const file = runSpecFile(
        stateDir,
        'test',
        singleRunSpecKey('locked', jobSpec('locked').revision),
      );
      const logCount = async () =>
        (await readdir(path.join(stateDir, 'logs', 'test', 'locked')).catch(() => [])).length;
      const logsBefore = await logCount();
      await chmod(file, 0o000);
      const ran = await runBin(via, stateDir, 'test/locked', { uid, gid, home: root });
      expect(ran.code).toBe(2);
      expectCleanMessage(ran.stderr);
      expect(ran.stderr).toBe(
        `cronfleet-agent run: cannot read ${file}: permission denied to ${user} (owner ${user}, mode 0000). Run the agent as the user that owns its state directory, or fix the file with: chown ${user} ${file} && chmod 600 ${file}\n`,
      );
      // Nothing ran: no new log.
      expect(await logCount()).toBe(logsBefore);
      await chmod(file, 0o600);
      const fixed = await runBin(via, stateDir, 'test/locked', { uid, gid, home: root });
      expect(fixed).toMatchObject({ code: 0, stderr: '' });
      expect(await logCount()).toBe(logsBefore + 1);
    },
  );

  it('a state directory that belongs to someone else: refused with the chown to run', async () => {
    const ran = await runBin('bundled fast path', stateDir, 'test/locked');
    expect(ran.code).toBe(2);
    expectCleanMessage(ran.stderr);
    expect(ran.stderr).toBe(
      `cronfleet-agent run: refusing to use the state directory ${stateDir}: it belongs to ${user}, not to root, the user the agent runs as (owner ${user}, mode 0700); that user can change what the agent runs. If its files are this agent's, fix it with: chown -R root ${stateDir} && chmod 700 ${stateDir}\n`,
    );
  });
});
