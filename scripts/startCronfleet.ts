/**
 * `npm start`: the control plane and the dashboard on embedded PGlite, plus a demo agent.
 *
 * 1. Starts `cronfleet-backend serve` (PORT, HOST, CRONFLEET_DATA_DIR, DATABASE_URL honoured).
 * 2. Unless CRONFLEET_DEMO=false: on a fresh installation, creates the organization "Demo" and
 *    its admin (the password is printed once and kept, mode 0600, in .cronfleet/demo/admin.json);
 *    makes a Git repository of manifests-example in .cronfleet/demo/repository (a new commit when
 *    the examples changed); enrolls an agent with an enrollment token; and runs it with the
 *    embedded scheduler and the label cronfleet.dev/demo=true on the repository's demo/ folder
 *    only (`--path demo`: no other example, such as platform/app-log-rotation which targets every
 *    Linux server, ever runs on a newcomer's machine), so the demo/ jobs run every minute and
 *    their runs appear in the API and the dashboard within two minutes.
 * 3. Ctrl-C (SIGINT) or SIGTERM stops both.
 *
 * `npm start -- --reset-demo` (or CRONFLEET_DEMO_RESET=true) starts the demo agent over: the old
 * demo agent is revoked at the backend (its history stays), its state directory and the demo
 * repository are wiped, and a new demo agent is enrolled. The Demo organization and its admin
 * are kept. Other agents, enrolled by hand on the same host, are never touched: each state
 * directory is its own agent.
 *
 * An installation that already has users but no demo admin (someone bootstrapped it by hand) gets
 * no demo agent: the script says how to enroll one instead.
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { cp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const backendMain = path.join(root, 'backend', 'dist', 'main.js');
const agentBin = path.join(root, 'agent', 'bin', 'cronfleet-agent.js');
const examples = path.join(root, 'manifests-example');
const demoDir = path.resolve(process.env.CRONFLEET_DEMO_DIR ?? path.join('.cronfleet', 'demo'));
const demoEnabled = !['false', '0', 'no'].includes(
  (process.env.CRONFLEET_DEMO ?? '').toLowerCase(),
);
const demoReset =
  process.argv.slice(2).includes('--reset-demo') ||
  ['true', '1', 'yes'].includes((process.env.CRONFLEET_DEMO_RESET ?? '').toLowerCase());
const unknownArguments = process.argv.slice(2).filter((argument) => argument !== '--reset-demo');

const children = new Set<ChildProcess>();

function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

function forward(child: ChildProcess, prefix: string): void {
  for (const stream of [child.stdout, child.stderr]) {
    if (stream === null) continue;
    createInterface({ input: stream }).on('line', (line) => say(`${prefix}${line}`));
  }
}

function start(args: string[], prefix: string, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  child.once('exit', () => children.delete(child));
  forward(child, prefix);
  return child;
}

/** Starts the backend and resolves with its URL once it listens. */
function startBackend(): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [backendMain, 'serve'], {
    // The backend's access log stays out of the terminal unless asked for (LOG_LEVEL=info).
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  children.add(child);
  return new Promise((resolve, reject) => {
    let found = false;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      say(line);
      const match = /listening on (http:\/\/\S+?)(?:\s|$)/.exec(line);
      if (!found && match?.[1] !== undefined) {
        found = true;
        resolve({ child, url: match[1] });
      }
    });
    child.once('exit', (code, signal) => {
      children.delete(child);
      if (!found)
        reject(new Error(`the backend exited before listening (code ${code}, signal ${signal})`));
    });
  });
}

interface DemoAdmin {
  email: string;
  password: string;
  /** A read-only personal API token, for curl. */
  readToken?: string;
}

async function api(
  url: string,
  method: string,
  body: unknown,
  cookie?: string,
): Promise<{ status: number; body: Record<string, unknown>; cookie: string | undefined }> {
  const response = await fetch(url, {
    method,
    headers: {
      'content-type': 'application/json',
      // A write signed in by the session cookie must say it is no cross-site form (CSRF).
      ...(cookie === undefined ? {} : { cookie, 'x-cronfleet-client': 'demo' }),
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const setCookie = response.headers.get('set-cookie')?.split(';')[0];
  return {
    status: response.status,
    body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>),
    cookie: setCookie,
  };
}

/** A session of the demo admin: bootstrapped on a fresh installation, signed in otherwise. */
async function demoSession(url: string): Promise<string | undefined> {
  const adminFile = path.join(demoDir, 'admin.json');
  if (existsSync(adminFile)) {
    const admin = JSON.parse(await readFile(adminFile, 'utf8')) as DemoAdmin;
    const login = await api(`${url}/api/v1/auth/login`, 'POST', admin);
    if (login.status === 200 && login.cookie !== undefined) return login.cookie;
    say(`Demo: cannot sign in as ${admin.email} (${login.status}); no demo agent started.`);
    return undefined;
  }
  const admin: DemoAdmin = {
    email: 'admin@demo.cronfleet.local',
    password: randomBytes(12).toString('base64url'),
  };
  const created = await api(`${url}/api/v1/auth/bootstrap`, 'POST', {
    organizationName: 'Demo',
    ...admin,
    name: 'Demo Admin',
  });
  if (created.status === 409) {
    say(
      'Demo: this installation already has users, so no demo agent is started. Create an enrollment token and run `cronfleet-agent enroll` (docs/agent.md).',
    );
    return undefined;
  }
  if (created.status !== 200 && created.status !== 201) {
    throw new Error(`bootstrap answered ${created.status}: ${JSON.stringify(created.body)}`);
  }
  const readToken = await api(
    `${url}/api/v1/tokens`,
    'POST',
    { name: 'demo read-only', scopes: ['read'] },
    created.cookie,
  );
  if (readToken.status === 201) admin.readToken = String(readToken.body.token);
  await mkdir(demoDir, { recursive: true });
  await writeFile(adminFile, `${JSON.stringify(admin, null, 2)}\n`, { mode: 0o600 });
  say(
    `Demo: created the organization "Demo"; sign in at ${url} as ${admin.email} with password ${admin.password}`,
  );
  say(`      (kept in ${adminFile})`);
  return created.cookie;
}

function git(cwd: string, args: string[]): string {
  return execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: {
      PATH: process.env.PATH,
      HOME: demoDir,
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_AUTHOR_NAME: 'Cronfleet demo',
      GIT_AUTHOR_EMAIL: 'demo@cronfleet.local',
      GIT_COMMITTER_NAME: 'Cronfleet demo',
      GIT_COMMITTER_EMAIL: 'demo@cronfleet.local',
    },
  }).trim();
}

/** The demo job repository: manifests-example committed into a local Git repository. */
async function demoRepository(): Promise<string> {
  const repository = path.join(demoDir, 'repository');
  if (!existsSync(path.join(repository, '.git'))) {
    await mkdir(repository, { recursive: true });
    git(repository, ['init', '--quiet', '--initial-branch=main']);
  }
  for (const entry of git(repository, ['ls-files']).split('\n').filter(Boolean)) {
    await rm(path.join(repository, entry), { force: true });
  }
  await cp(examples, repository, { recursive: true });
  git(repository, ['add', '--all']);
  if (git(repository, ['status', '--porcelain']) !== '') {
    git(repository, ['commit', '--quiet', '-m', 'manifests-example']);
  }
  return repository;
}

/**
 * Starts the demo over: revokes the demo agent at the backend (as the demo admin, best effort: a
 * backend that lost its data has nothing to revoke) and wipes its state directory and the demo
 * repository, so that startDemoAgent enrolls a new one.
 */
async function resetDemo(url: string): Promise<void> {
  const stateDir = path.join(demoDir, 'agent');
  const adminFile = path.join(demoDir, 'admin.json');
  let agentId: string | undefined;
  try {
    agentId = (
      JSON.parse(await readFile(path.join(stateDir, 'enrollment.json'), 'utf8')) as {
        agentId?: string;
      }
    ).agentId;
  } catch {
    agentId = undefined;
  }
  if (agentId !== undefined && existsSync(adminFile)) {
    const admin = JSON.parse(await readFile(adminFile, 'utf8')) as DemoAdmin;
    const login = await api(`${url}/api/v1/auth/login`, 'POST', admin);
    if (login.status === 200 && login.cookie !== undefined) {
      const revoked = await api(
        `${url}/api/v1/agents/${agentId}/revoke`,
        'POST',
        { reason: 'demo reset (npm start -- --reset-demo)' },
        login.cookie,
      );
      say(
        revoked.status === 200
          ? `Demo reset: revoked the demo agent ${agentId}; its runs stay in the history.`
          : `Demo reset: the demo agent ${agentId} could not be revoked (${revoked.status}); going on.`,
      );
    } else {
      // The backend's data was wiped or the admin changed: a new bootstrap may be needed.
      await rm(adminFile, { force: true });
      say(`Demo reset: cannot sign in as ${admin.email} (${login.status}); forgot that admin.`);
    }
  }
  await rm(stateDir, { recursive: true, force: true });
  await rm(path.join(demoDir, 'repository'), { recursive: true, force: true });
  say(`Demo reset: wiped ${stateDir} and the demo repository; enrolling a new demo agent.`);
}

async function startDemoAgent(url: string): Promise<void> {
  const stateDir = path.join(demoDir, 'agent');
  const agentArgs = ['--state-dir', stateDir, '--backend', url];
  if (!existsSync(path.join(stateDir, 'agent-token'))) {
    const session = await demoSession(url);
    if (session === undefined) return;
    const token = await api(
      `${url}/api/v1/enrollment-tokens`,
      'POST',
      { description: 'npm start demo agent', maxUses: 1, labels: { 'cronfleet.dev/demo': 'true' } },
      session,
    );
    if (token.status !== 201) {
      throw new Error(
        `creating an enrollment token answered ${token.status}: ${JSON.stringify(token.body)}`,
      );
    }
    const enroll = start(
      [agentBin, 'enroll', '--token', String(token.body.token), ...agentArgs],
      'agent | ',
    );
    const code = await new Promise<number | null>((resolve) =>
      enroll.once('exit', (exitCode) => resolve(exitCode)),
    );
    if (code !== 0) throw new Error(`cronfleet-agent enroll exited with ${code}`);
  }
  const repository = await demoRepository();
  start(
    [
      agentBin,
      'sync',
      ...agentArgs,
      '--repo',
      pathToFileURL(repository).href,
      '--scheduler',
      'embedded',
      // Only the demo/ folder: the other examples target real servers (every Linux host, …).
      '--path',
      'demo',
      '--label',
      'cronfleet.dev/demo=true',
      '--log-level',
      'warn',
    ],
    'agent | ',
  );
  say(
    `Demo: agent running on ${repository}, folder demo/ only (embedded scheduler, label cronfleet.dev/demo=true); start it over with: npm start -- --reset-demo`,
  );
  const admin = existsSync(path.join(demoDir, 'admin.json'))
    ? (JSON.parse(await readFile(path.join(demoDir, 'admin.json'), 'utf8')) as DemoAdmin)
    : undefined;
  if (admin?.readToken !== undefined) {
    say(
      `      runs appear within two minutes: curl -s -H 'Authorization: Bearer ${admin.readToken}' ${url}/api/v1/runs`,
    );
  }
}

function stopAll(signal: NodeJS.Signals): void {
  for (const child of children) child.kill(signal);
}

async function main(): Promise<void> {
  if (unknownArguments.length > 0) {
    process.stderr.write(
      `npm start: unknown argument ${unknownArguments.join(' ')}; the only one is --reset-demo (start the demo agent over)\n`,
    );
    process.exitCode = 2;
    return;
  }
  process.once('SIGINT', () => stopAll('SIGTERM'));
  process.once('SIGTERM', () => stopAll('SIGTERM'));
  const { child, url } = await startBackend();
  child.once('exit', (code) => {
    stopAll('SIGTERM');
    process.exitCode = code ?? 0;
  });
  if (demoEnabled) {
    try {
      if (demoReset) await resetDemo(url);
      await startDemoAgent(url);
    } catch (error) {
      say(`Demo: not started: ${(error as Error).message}`);
    }
  }
}

await main();
