import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * The README's first command, as a fresh machine runs it: `npm start` (scripts/startCronfleet.ts
 * over the compiled backend and agent, which `npm test` builds first) must show runs of the demo
 * jobs, the deliberately failing one included, through the API within two minutes; the demo
 * agent runs the demo/ jobs only, survives another agent enrolled on the same host, and
 * `npm start -- --reset-demo` starts it over. The dashboard, signed in with what `npm start`
 * prints, shows those runs in Debian's chromium, and the next one arrives without a reload.
 */

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx/cli');

interface Run {
  agentId: string;
  startedAt: string | null;
  namespace: string;
  name: string;
  status: string;
  trigger: string;
  exitCode: number | null;
}

let launcher: ChildProcess | undefined;
let directory: string | undefined;
let started: { url: string; token: string } | undefined;
let lines: string[] = [];
const agentBin = path.join(root, 'agent', 'bin', 'cronfleet-agent.js');

async function stopLauncher(): Promise<void> {
  if (launcher !== undefined && launcher.exitCode === null && launcher.signalCode === null) {
    const exited = new Promise((resolve) => launcher?.once('exit', resolve));
    launcher.kill('SIGTERM');
    await exited;
  }
}

afterAll(async () => {
  await stopLauncher();
  if (directory !== undefined) await rm(directory, { recursive: true, force: true });
});

/** Starts `npm start` in the test's directory; resolves with the URL and the read-only token. */
function startLauncher(args: string[] = []): Promise<{ url: string; token: string }> {
  const dir = directory!;
  launcher = spawn(
    process.execPath,
    [tsx, path.join(root, 'scripts', 'startCronfleet.ts'), ...args],
    {
      cwd: dir,
      env: {
        PATH: process.env.PATH,
        HOME: dir,
        PORT: '0',
        CRONFLEET_DATA_DIR: path.join(dir, 'data'),
        CRONFLEET_DEMO_DIR: path.join(dir, 'demo'),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  lines = [];
  const child = launcher;
  return new Promise<{ url: string; token: string }>((resolve, reject) => {
    let url: string | undefined;
    for (const stream of [child.stdout!, child.stderr!]) {
      createInterface({ input: stream }).on('line', (line) => {
        lines.push(line);
        url ??= /listening on (http:\/\/\S+?)(?:\s|$)/.exec(line)?.[1];
        const token = /Bearer (cfp_[A-Za-z0-9_-]+)/.exec(line)?.[1];
        if (url !== undefined && token !== undefined) resolve({ url, token });
      });
    }
    child.once('exit', (code) =>
      reject(new Error(`npm start exited with ${code}:\n${lines.join('\n')}`)),
    );
  });
}

async function demoAgentId(): Promise<string> {
  const record = JSON.parse(
    await readFile(path.join(directory!, 'demo', 'agent', 'enrollment.json'), 'utf8'),
  ) as { agentId: string };
  return record.agentId;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- tests check bodies field by field
async function getJson(url: string, token: string): Promise<{ status: number; body: any }> {
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  return { status: response.status, body: await response.json() };
}

/** Waits (up to `withinMs`) for a succeeded scheduled run of demo/hello by `agentId` started after `after`. */
async function helloRunOf(agentId: string, after: Date, withinMs: number): Promise<Run> {
  const { url, token } = started!;
  const deadline = Date.now() + withinMs;
  for (;;) {
    const { body } = await getJson(
      `${url}/api/v1/runs?namespace=demo&agentId=${agentId}&limit=100`,
      token,
    );
    const run = (body.items as Run[]).find(
      (item) =>
        item.name === 'hello' &&
        item.status === 'succeeded' &&
        item.startedAt !== null &&
        new Date(item.startedAt) > after,
    );
    if (run !== undefined) return run;
    if (Date.now() > deadline) {
      throw new Error(`no new demo/hello run of ${agentId}:\n${lines.join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 2_000));
  }
}

describe('npm start', () => {
  it('starts the backend and a demo agent whose runs appear within two minutes', async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-start-'));
    const startedAt = Date.now();
    started = await startLauncher();
    const { url, token } = started;
    expect(lines.join('\n')).toContain('Demo: created the organization "Demo"');

    let runs: Run[] = [];
    const wanted = (run: Run, name: string, status: string) =>
      run.namespace === 'demo' && run.name === name && run.status === status;
    while (Date.now() - startedAt < 120_000) {
      const response = await fetch(`${url}/api/v1/runs?namespace=demo&limit=100`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(response.status).toBe(200);
      runs = ((await response.json()) as { items: Run[] }).items;
      if (
        runs.some((run) => wanted(run, 'hello', 'succeeded')) &&
        runs.some((run) => wanted(run, 'always-fails', 'failed'))
      ) {
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    expect(runs.find((run) => wanted(run, 'hello', 'succeeded'))).toMatchObject({
      trigger: 'scheduled',
      exitCode: 0,
    });
    expect(runs.find((run) => wanted(run, 'always-fails', 'failed'))).toMatchObject({
      exitCode: 1,
    });
    expect(Date.now() - startedAt).toBeLessThan(120_000);

    // The demo agent holds the demo/ jobs and nothing else (no platform/app-log-rotation).
    const jobs = await getJson(`${url}/api/v1/jobs`, token);
    expect(jobs.status).toBe(200);
    const names = (jobs.body.items as { namespace: string; name: string }[])
      .map((job) => `${job.namespace}/${job.name}`)
      .sort();
    expect(names).toEqual([
      'demo/always-fails',
      'demo/current-time',
      'demo/hello',
      'demo/short-sleep',
    ]);

    // The monitoring worker opens a failing incident for always-fails (alertAfter: 2, each run
    // retried once) within 3 minutes of the start, and nothing else is in trouble.
    let incidents: { kind: string; job: { namespace: string; name: string } | null }[] = [];
    while (Date.now() - startedAt < 180_000) {
      const answer = await getJson(`${url}/api/v1/incidents?status=open`, token);
      expect(answer.status).toBe(200);
      incidents = answer.body.items as typeof incidents;
      if (incidents.some((incident) => incident.kind === 'failing')) break;
      await new Promise((resolve) => setTimeout(resolve, 2_000));
    }
    expect(incidents).toEqual([
      expect.objectContaining({
        kind: 'failing',
        job: { namespace: 'demo', name: 'always-fails' },
      }),
    ]);
    expect(Date.now() - startedAt).toBeLessThan(180_000);

    // The dashboard, as the printed sign-in opens it: the demo's runs, and the next one live.
    const printed = lines.find((line) => line.includes('sign in at'));
    const [, signInUrl, email, password] =
      /sign in at (\S+) as (\S+) with password (\S+)/.exec(printed ?? '') ?? [];
    expect(signInUrl, lines.join('\n')).toBe(url);
    const browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    try {
      const page = await browser.newPage();
      const wait = { timeout: 30_000 };
      await page.goto(`${url}/sign-in`);
      await page.getByLabel('E-mail').fill(email!);
      await page.getByLabel('Password').fill(password!);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.getByRole('heading', { name: 'Overview' }).waitFor(wait);
      await page.goto(`${url}/runs?job=demo%2Fhello`);
      const table = page.getByRole('table', { name: 'Runs' });
      await table.locator('tbody tr').first().waitFor(wait);
      await page.getByTestId('live-mode').filter({ hasText: 'Live' }).waitFor(wait);
      const shown = await table.locator('tbody tr').count();
      // demo/hello runs every minute: the next run is a new row, in the same document.
      // The agent's tests compile without the DOM's types: the page's global is globalThis there.
      await page.evaluate(() => {
        (globalThis as { __sameDocument?: boolean }).__sameDocument = true;
      });
      await table.locator(`tbody tr:nth-child(${shown + 1})`).waitFor({ timeout: 100_000 });
      expect(
        await page.evaluate(() => (globalThis as { __sameDocument?: boolean }).__sameDocument),
      ).toBe(true);
    } finally {
      await browser.close();
    }
  }, 300_000);

  it('keeps the demo agent working when someone enrolls another agent on the same host', async () => {
    const { url } = started!;
    const demoAgent = await demoAgentId();
    const admin = JSON.parse(
      await readFile(path.join(directory!, 'demo', 'admin.json'), 'utf8'),
    ) as { email: string; password: string };
    const login = await fetch(`${url}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
    });
    const cookie = login.headers.get('set-cookie')!.split(';')[0]!;
    const created = await fetch(`${url}/api/v1/enrollment-tokens`, {
      method: 'POST',
      // As the dashboard sends it: a write signed in by the cookie comes from its origin.
      headers: { 'content-type': 'application/json', cookie, origin: url },
      body: JSON.stringify({ description: 'a test agent' }),
    });
    const { token: enrollmentToken } = (await created.json()) as { token: string };
    const enrolledAt = new Date();
    // The real agent, as a second user on this host would run it: another state directory.
    const enroll = spawn(
      process.execPath,
      [
        agentBin,
        'enroll',
        '--backend',
        url,
        '--state-dir',
        path.join(directory!, 'other-agent'),
        '--name',
        'someone-else',
      ],
      {
        env: {
          PATH: process.env.PATH,
          HOME: directory,
          CRONFLEET_ENROLLMENT_TOKEN: enrollmentToken,
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    enroll.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    enroll.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const code = await new Promise((resolve) => enroll.once('exit', resolve));
    expect(code, output).toBe(0);
    expect(output).toContain('Enrolled as a new agent');

    const shown = await fetch(`${url}/api/v1/agents/${demoAgent}`, { headers: { cookie } });
    expect(await shown.json()).toMatchObject({
      id: demoAgent,
      labels: { 'cronfleet.dev/demo': 'true' },
      revokedAt: null,
    });
    // The demo agent's token still works: its next scheduled runs arrive.
    await helloRunOf(demoAgent, enrolledAt, 100_000);
    expect(lines.filter((line) => line.startsWith('agent | ')).join('\n')).not.toMatch(
      /revoked|401/,
    );
  }, 150_000);

  it('starts the demo agent over with npm start -- --reset-demo', async () => {
    const oldAgent = await demoAgentId();
    await stopLauncher();
    const resetAt = new Date();
    started = await startLauncher(['--reset-demo']);
    const newAgent = await demoAgentId();
    expect(newAgent).not.toBe(oldAgent);
    const output = lines.join('\n');
    expect(output).toContain(`Demo reset: revoked the demo agent ${oldAgent}`);
    expect(output).not.toContain('Demo: created the organization');
    const { url, token } = started;
    const old = await getJson(`${url}/api/v1/agents/${oldAgent}`, token);
    expect(old.body).toMatchObject({
      status: 'revoked',
      revokedReason: 'demo reset (npm start -- --reset-demo)',
    });
    await helloRunOf(newAgent, resetAt, 130_000);
  }, 180_000);
});
