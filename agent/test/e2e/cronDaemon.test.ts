import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { chmod, chown, mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ListRunsResponse, RunDetail } from '@cronfleet/core/api';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { seedEnrollmentToken, seedOrganization, seedUser } from '../../../backend/test/seed.js';
import { startTestApp, type TestApp } from '../../../backend/test/testApp.js';
import { crontabMarkers } from '../../src/scheduler/crontabDocument.js';
import { makeTempDir, ServedRepository } from '../git/gitFixtures.js';
import {
  describeNeeding,
  executable,
  onLinux,
  preconditionFrom,
  runningAsRoot,
} from '../requireRoot.js';

/**
 * The whole loop with a real cron daemon: a manifest committed to a served repository →
 * `cronfleet-agent enroll` against the real backend (in-process, PGlite or DATABASE_URL, on a
 * real port) → `cronfleet-agent sync --once --scheduler crontab` installs the crontab line → the
 * cron daemon fires the built wrapper (bin/cronfleet-agent.js → dist/) at the minute → the wrapper
 * records into the spool → `sync --once` drains it → the run is visible through the API.
 *
 * Whose crontab: never root's (the developer's or CI's own jobs live there). The agent runs as a
 * throwaway user, spawned with its uid and gid, managing its own crontab without `-u`, with a
 * state directory it owns; cron then starts the wrapper as that same user, so the spool, the
 * locks and the run logs are written by the user that owns them, as in a real non-root install.
 * (The alternative, the agent as root with CRONFLEET_CRONTAB_USER, would leave root-owned files in
 * a state directory the cron-started wrapper must write to.) This needs node, the built agent and
 * its node_modules to be readable by other users; a checkout under a private directory (/root)
 * skips with the path that is not.
 *
 * The cron daemon: the one already running when there is one (two daemons would fire every line
 * twice); else /usr/sbin/cron in the foreground, started here and stopped in afterAll. While it
 * runs (about a minute) it reads every crontab, /etc/crontab and /etc/cron.d, as any cron
 * daemon on the machine would. Needs root (a cron daemon, useradd); CI runs as root.
 *
 * Built code: cron starts bin/cronfleet-agent.js, which loads dist/; `npm test` builds first,
 * `npm run build -w core -w agent` otherwise.
 */

const cronDaemonBinary = '/usr/sbin/cron';
const crontabBinary = '/usr/bin/crontab';
const cronPidFile = '/run/crond.pid';
const cronRebootFile = '/run/crond.reboot';
const agentBin = fileURLToPath(new URL('../../bin/cronfleet-agent.js', import.meta.url));
const agentDist = fileURLToPath(new URL('../../dist/main.js', import.meta.url));
const minute = 60_000;

/** The first path on the way to `file` that a user other than its owner cannot pass or read. */
function blockedForOthers(file: string): string | undefined {
  let real: string;
  try {
    real = realpathSync(file);
  } catch {
    return undefined; // missing: reported by the test itself (not built)
  }
  const parts = real.split(path.sep).filter((part) => part !== '');
  for (let index = 0; index < parts.length; index += 1) {
    const current = path.sep + parts.slice(0, index + 1).join(path.sep);
    const last = index === parts.length - 1;
    const mode = statSync(current).mode;
    const needed = last && !statSync(current).isDirectory() ? 0o004 : 0o001;
    if ((mode & needed) === 0) {
      return `${current} (mode ${(mode & 0o777).toString(8)}) is not ${needed === 0o004 ? 'readable' : 'searchable'} by other users, so a throwaway user cannot run ${file}`;
    }
  }
  return undefined;
}

/**
 * Why a throwaway user could not run the built agent, or undefined. Evaluated at collection
 * time, and only where the other preconditions hold.
 */
function blockedForThrowawayUser(): string | undefined {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return undefined;
  const fromAgent = createRequire(agentBin);
  const needed = [process.execPath, agentBin, agentDist, os.tmpdir()];
  for (const dependency of ['@cronfleet/core/api', 'pino', 'yaml', 'zod', 'simple-git', 'croner']) {
    try {
      needed.push(fromAgent.resolve(dependency));
    } catch {
      // Not resolvable from the built agent: the agent fails with its own message.
    }
  }
  for (const file of needed) {
    const blocked = blockedForOthers(file);
    if (blocked !== undefined) return blocked;
  }
  return undefined;
}

/** Linux for a Vixie/Debian cron daemon; root, as it creates a throwaway user and may start cron. */
const preconditions = [
  onLinux,
  runningAsRoot,
  executable(cronDaemonBinary, 'cron'),
  executable(crontabBinary, 'cron'),
  preconditionFrom(blockedForThrowawayUser()),
];

interface Ran {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));

/** A cron daemon that is already running (pid file or process name), if any. */
function runningCronDaemon(): number | undefined {
  const isCron = (pid: number) => {
    try {
      return ['cron', 'crond'].includes(readFileSync(`/proc/${pid}/comm`, 'utf8').trim());
    } catch {
      return false;
    }
  };
  try {
    const pid = Number(readFileSync(cronPidFile, 'utf8').trim());
    if (Number.isInteger(pid) && pid > 0 && isCron(pid)) return pid;
  } catch {
    // No pid file: look at the processes.
  }
  for (const entry of readdirSync('/proc')) {
    if (/^\d+$/.test(entry) && isCron(Number(entry))) return Number(entry);
  }
  return undefined;
}

/** The processes running as `uid`: the wrappers and jobs cron started for the throwaway user. */
function processesOf(uid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      if (new RegExp(`^Uid:\\s+${uid}\\s`, 'm').test(status)) pids.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return pids;
}

describeNeeding(
  preconditions,
  'a real cron daemon fires the installed line; the check-in reaches the API',
  () => {
    const user = `cronfleet-e2e-${randomBytes(4).toString('hex')}`;
    const echoed = `cron-e2e-${randomBytes(6).toString('hex')}`;
    let app: TestApp;
    let viewerToken = '';
    let enrollmentToken = '';
    let root = '';
    let home = '';
    let stateDir = '';
    let served: ServedRepository;
    let revision = '';
    let uid = -1;
    let gid = -1;
    let userCreated = false;
    let cron: ChildProcess | undefined;
    let cronOutput = '';
    let rebootFileExisted = true;
    let agentId = '';
    /** When the crontab line is installed and a cron daemon runs. */
    let readyAt = 0;

    /** `cronfleet-agent ARGS` as the throwaway user, with a minimal environment. */
    function agent(args: string[], environment: Record<string, string> = {}): Promise<Ran> {
      return new Promise((resolve, reject) => {
        const child = spawn(process.execPath, [agentBin, ...args], {
          uid,
          gid,
          cwd: home,
          env: { PATH: '/usr/bin:/bin', HOME: home, LANG: 'C.UTF-8', ...environment },
          stdio: ['ignore', 'pipe', 'pipe'],
          timeout: 60_000,
        });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
        child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
        child.once('error', reject);
        child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
      });
    }

    const sync = () =>
      agent(['sync', '--once', '--json', '--scheduler', 'crontab', '--state-dir', stateDir], {
        CRONFLEET_REPO_URL: served.fileUrl,
      });

    function installedCrontab(): string {
      const listed = spawnSync(crontabBinary, ['-u', user, '-l'], { encoding: 'utf8' });
      return listed.status === 0 ? listed.stdout : `(crontab -l: ${listed.stderr.trim()})`;
    }

    async function listRuns(): Promise<ListRunsResponse['items']> {
      const response = await fetch(`${app.baseUrl}/api/v1/runs?job=e2e/tick&limit=200`, {
        headers: { authorization: `Bearer ${viewerToken}` },
      });
      expect(response.status).toBe(200);
      return ((await response.json()) as ListRunsResponse).items;
    }

    /** What a failure needs to be understood: the crontab, cron's output, the state directory. */
    async function diagnostics(): Promise<string> {
      const walk = async (dir: string): Promise<string[]> => {
        const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
        const found: string[] = [];
        for (const entry of entries) {
          const file = path.join(dir, entry.name);
          if (entry.isDirectory()) found.push(...(await walk(file)));
          else found.push(file);
        }
        return found;
      };
      const logs = await walk(path.join(stateDir, 'logs'));
      const logTexts = await Promise.all(
        logs.map(async (file) => `${file}:\n${await readFile(file, 'utf8').catch(String)}`),
      );
      return [
        `crontab of ${user}:\n${installedCrontab()}`,
        `cron daemon: ${cron === undefined ? `already running (pid ${runningCronDaemon()})` : `started here, pid ${cron.pid}, output:\n${cronOutput}`}`,
        `spool: ${(await walk(path.join(stateDir, 'spool'))).join(', ') || '(empty)'}`,
        `run logs:\n${logTexts.join('\n') || '(none)'}`,
      ].join('\n');
    }

    beforeAll(async () => {
      app = await startTestApp();
      const organization = await seedOrganization(app.database, 'E2E');
      viewerToken = (await seedUser(app.database, organization, 'viewer')).token;
      enrollmentToken = (await seedEnrollmentToken(app.database, organization)).token;

      // The throwaway user must reach everything below root: mkdtemp makes it 0700.
      root = await makeTempDir('cron-e2e');
      await chmod(root, 0o755);
      home = path.join(root, 'home');
      stateDir = path.join(root, 'state');
      execFileSync('useradd', ['--no-create-home', '--home-dir', home, '--shell', '/bin/sh', user]);
      userCreated = true;
      uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim());
      gid = Number(execFileSync('id', ['-g', user], { encoding: 'utf8' }).trim());
      for (const dir of [home, stateDir]) {
        await mkdir(dir, { mode: 0o700 });
        await chown(dir, uid, gid);
      }

      served = await ServedRepository.create(path.join(root, 'served'));
      revision = await served.commit({
        'e2e/tick.yaml': [
          'apiVersion: cronfleet.dev/v1',
          'kind: Job',
          'metadata:',
          '  name: tick',
          '  namespace: e2e',
          'spec:',
          "  schedule: '* * * * *'",
          `  command: echo ${echoed}`,
          // The lock file lives in the state directory: the wrapper must be able to write it.
          '  concurrencyPolicy: Forbid',
          '  timeout: 30s',
          '',
        ].join('\n'),
      });
      // git refuses to read a repository another user owns ("dubious ownership"), and the agent
      // runs git without any configuration that could mark it safe: the user owns its origin.
      execFileSync('chown', ['-R', `${uid}:${gid}`, served.barePath]);
    }, 90_000);

    afterAll(async () => {
      if (cron !== undefined && cron.exitCode === null && cron.signalCode === null) {
        const exited = new Promise((resolve) => cron?.once('exit', resolve));
        cron.kill('SIGTERM');
        const killer = setTimeout(() => cron?.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(killer);
      }
      if (cron?.pid !== undefined) {
        // Debian's cron leaves its pid file and the "@reboot jobs ran" marker behind.
        const pidText = await readFile(cronPidFile, 'utf8').catch(() => '');
        if (pidText.trim() === String(cron.pid)) await rm(cronPidFile, { force: true });
        if (!rebootFileExisted) await rm(cronRebootFile, { force: true });
      }
      if (userCreated) {
        spawnSync(crontabBinary, ['-u', user, '-r']);
        // A wrapper that cron started at the last minute: ours to stop, by pid.
        for (const pid of processesOf(uid)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
        for (let attempt = 0; attempt < 20 && processesOf(uid).length > 0; attempt += 1) {
          await sleep(50);
        }
        spawnSync('userdel', [user]);
      }
      await app?.close();
      if (root !== '') await rm(root, { recursive: true, force: true });
    }, 30_000);

    it('enrolls as the throwaway user against the real backend', async () => {
      expect(
        existsSync(agentDist),
        `${agentDist} is missing: run npm run build -w core -w agent`,
      ).toBe(true);
      const enrolled = await agent(
        ['enroll', '--backend', app.baseUrl, '--state-dir', stateDir, '--name', 'e2e', '--json'],
        { CRONFLEET_ENROLLMENT_TOKEN: enrollmentToken },
      );
      expect(enrolled.stderr).toBe('');
      expect(enrolled.code).toBe(0);
      const printed = JSON.parse(enrolled.stdout) as { agentId: string; tokenFile: string };
      expect(printed).toMatchObject({
        name: 'e2e',
        backendUrl: app.baseUrl,
        tokenFile: path.join(stateDir, 'agent-token'),
        reenrolled: false,
      });
      agentId = printed.agentId;
      expect(agentId).toMatch(/^[0-9a-f-]{36}$/);
      const token = statSync(printed.tokenFile);
      expect([token.uid, token.mode & 0o777]).toEqual([uid, 0o600]);
    });

    it("installs the job's line into the user's own crontab with sync --once", async () => {
      const synced = await sync();
      expect(synced.stderr).toBe('');
      expect(synced.code).toBe(0);
      expect(JSON.parse(synced.stdout)).toMatchObject({
        result: 'applied',
        revision,
        plan: { scheduler: 'crontab', summary: { add: 1, change: 0, remove: 0, unchanged: 0 } },
      });
      const ownerId = (await readFile(path.join(stateDir, 'agent-id'), 'utf8')).trim();
      const { begin, end } = crontabMarkers(ownerId);
      // The one run-spec file the sync wrote, which the line names.
      const [specFile] = await readdir(path.join(stateDir, 'specs', 'e2e'));
      const specKey = specFile?.replace(/\.json$/, '');
      expect(specKey).toMatch(new RegExp(`^${revision}_[0-9a-f]{12}$`));
      expect(installedCrontab()).toBe(
        [
          begin,
          '# cronfleet-job: e2e/tick',
          `* * * * * ${process.execPath} ${agentBin} run --state-dir ${stateDir} --spec ${specKey} e2e/tick`,
          end,
          '',
        ].join('\n'),
      );
    });

    it('fires at the minute; the check-in is visible through the API', async () => {
      const running = runningCronDaemon();
      if (running === undefined) {
        rebootFileExisted = existsSync(cronRebootFile);
        const started = spawn(cronDaemonBinary, ['-f', '-L', '15'], {
          stdio: ['ignore', 'pipe', 'pipe'],
        });
        cron = started;
        started.stdout.on('data', (chunk: Buffer) => (cronOutput += chunk.toString()));
        started.stderr.on('data', (chunk: Buffer) => (cronOutput += chunk.toString()));
        // Started once it holds its pid file; an exit first (another daemon, no permission) fails.
        const deadline = Date.now() + 5_000;
        while ((await readFile(cronPidFile, 'utf8').catch(() => '')).trim() !== `${started.pid}`) {
          if (started.exitCode !== null || started.signalCode !== null || Date.now() > deadline) {
            throw new Error(`${cronDaemonBinary} did not start:\n${cronOutput}`);
          }
          await sleep(20);
        }
      }
      readyAt = Date.now();
      // cron runs a minute's jobs at its start; a line installed (or a daemon started) in the last
      // seconds before a boundary may catch that minute or the next: then wait for the next.
      const boundary = Math.floor(readyAt / minute) * minute + minute;
      const expectedAt = boundary - readyAt >= 3_000 ? boundary : boundary + minute;
      const expectedIso = new Date(expectedAt).toISOString();

      await sleep(expectedAt + 1_500 - Date.now());
      let runs: ListRunsResponse['items'];
      for (;;) {
        // The agent's daemon does not run here: sync --once drains the spool the wrapper wrote.
        const drained = await sync();
        expect(drained.stderr).toBe('');
        expect(drained.code).toBe(0);
        runs = await listRuns();
        const run = runs.find((candidate) => candidate.scheduledAt === expectedIso);
        if (run !== undefined && run.status !== 'running') break;
        if (Date.now() > expectedAt + 25_000) {
          throw new Error(
            `no finished run scheduled at ${expectedIso} 25 s after it (runs: ${JSON.stringify(runs)})\n${await diagnostics()}`,
          );
        }
        await sleep(1_000);
      }

      const fired = runs.filter((candidate) => candidate.scheduledAt === expectedIso);
      // Exactly one run for that minute: one daemon, one line, one check-in pair.
      expect(fired).toHaveLength(1);
      const [run] = fired;
      expect(run).toMatchObject({
        agentId,
        agentName: 'e2e',
        namespace: 'e2e',
        name: 'tick',
        attempt: 1,
        trigger: 'scheduled',
        status: 'succeeded',
        scheduledAt: expectedIso,
        exitCode: 0,
        signal: null,
        outputTruncated: false,
        revision,
      });
      // cron starts the wrapper at the minute: within seconds of it, on a loaded machine too.
      const startedAt = Date.parse(run?.startedAt ?? '');
      expect(startedAt - expectedAt).toBeGreaterThanOrEqual(0);
      expect(startedAt - expectedAt).toBeLessThan(15_000);
      expect(Date.parse(run?.finishedAt ?? '')).toBeGreaterThanOrEqual(startedAt);

      const response = await fetch(`${app.baseUrl}/api/v1/runs/${run?.runId}`, {
        headers: { authorization: `Bearer ${viewerToken}` },
      });
      expect(response.status).toBe(200);
      const detail = (await response.json()) as RunDetail;
      expect([detail.outputHead, detail.outputTail]).toEqual([`${echoed}\n`, '']);
    });
  },
  // A cron daemon fires at a minute's boundary: up to a minute's wait, then the run and its drain.
  { timeout: 100_000 },
);
