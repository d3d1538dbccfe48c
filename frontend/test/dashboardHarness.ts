import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  apiExamples,
  type CheckIn,
  type CheckInFinish,
  type HeartbeatRequest,
  type InventoryJob,
} from '@cronfleet/core/api';
import { chromium, type Browser, type Page } from 'playwright-core';
import {
  defaultMonitorTiming,
  runMonitorPass,
} from '../../backend/src/monitoring/monitorWorker.js';
import { seedAgent } from '../../backend/test/seed.js';
import { startTestApp, type TestApp } from '../../backend/test/testApp.js';

/**
 * The dashboard's browser tests run against the real backend (in this process, on PGlite or
 * DATABASE_URL) serving a fresh build of the dashboard, driven by Debian's chromium through
 * playwright-core. Data arrives as it does in production: the first-run bootstrap through the
 * API, an agent's inventory, heartbeat and check-ins through the agent protocol, and the
 * monitoring worker's pass that judges each job's health.
 */

const frontendDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const run = promisify(execFile);

export const admin = {
  organizationName: 'Acme',
  email: 'admin@example.com',
  password: 'correct horse battery staple',
  name: 'Ada Admin',
};

/** How long a browser test waits for the page to show what it expects. */
export const browserWait = { timeout: 30_000 };

/** Signs in through the sign-in page and waits for the overview. */
export async function signIn(page: Page, base: string, email: string, password: string) {
  await page.goto(`${base}/sign-in`);
  await page.getByLabel('E-mail').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('heading', { name: 'Overview' }).waitFor(browserWait);
}

const requireFromHere = createRequire(import.meta.url);

/**
 * The serious and critical accessibility violations axe-core finds on the page, one line each.
 * axe is evaluated through the DevTools protocol, which the page's CSP does not govern.
 */
export async function axeViolations(page: Page): Promise<string[]> {
  const source = await readFile(requireFromHere.resolve('axe-core/axe.min.js'), 'utf8');
  await page.evaluate(source);
  const results = await page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (context: Document) => Promise<{
            violations: { id: string; impact: string; help: string; nodes: unknown[] }[];
          }>;
        };
      }
    ).axe;
    return axe.run(document);
  });
  return results.violations
    .filter((violation) => violation.impact === 'serious' || violation.impact === 'critical')
    .map(
      (violation) =>
        `${violation.id} (${violation.impact}): ${violation.help}, ${violation.nodes.length} nodes`,
    );
}

/** Output with markup in it: the run page must show it as text. */
export const hostileOutput =
  'report: starting\n<script>window.__cronfleetInjected = true</script>\n<b>not bold</b>\n';

const revision = '4b825dc642cb6eb9a060e54bf8d69288fbee4904';

export interface Dashboard {
  app: TestApp;
  browser: Browser;
  /** The failed run whose output holds `<script>`. */
  failedRunId: string;
  succeededRunId: string;
  /** Reports a new run of `reports/<name>` through the agent protocol, as the agent would. */
  reportRun(name: string, status: CheckInFinish['status'], output: string): Promise<string>;
  /** A call of the agent protocol as the agent web-1 (its bearer token). */
  asAgent(method: string, route: string, body: unknown): Promise<unknown>;
  /** web-1's heartbeat body (Ready, no errors); its answer carries the queued commands. */
  heartbeat: HeartbeatRequest;
  close(): Promise<void>;
}

/** Builds the dashboard into a temporary directory (never a stale dist/). */
async function buildDashboard(): Promise<string> {
  const outDir = await mkdtemp(path.join(tmpdir(), 'cronfleet-dashboard-'));
  // npm hoists vite to the workspace root's node_modules.
  const vite = path.join(frontendDir, '../node_modules/vite/bin/vite.js');
  await run(
    process.execPath,
    [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'error'],
    {
      cwd: frontendDir,
    },
  );
  return outDir;
}

function job(name: string, overrides: Partial<InventoryJob> = {}): InventoryJob {
  const [example] = apiExamples.inventoryRequest.jobs;
  return {
    ...example!,
    namespace: 'reports',
    name,
    schedule: '*/5 * * * *',
    timezone: 'UTC',
    suspended: false,
    monitoring: {
      graceSeconds: 600,
      maxRuntimeSeconds: null,
      alertAfter: 1,
      recoverAfter: 1,
      realertEverySeconds: null,
      notify: [],
      retryLimit: 0,
    },
    labels: {},
    ...overrides,
  };
}

async function agentCall(
  app: TestApp,
  method: string,
  route: string,
  token: string,
  body: unknown,
) {
  const response = await fetch(`${app.baseUrl}${route}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok)
    throw new Error(`${method} ${route}: ${response.status} ${await response.text()}`);
  return response.json() as Promise<unknown>;
}

export interface DashboardOptions {
  /** Jobs of a second agent, `batch/job-00001`…, to reach a fleet's size (at most 10,000). */
  batchJobs?: number;
}

export async function startDashboard(options: DashboardOptions = {}): Promise<Dashboard> {
  const distDir = await buildDashboard();
  const app = await startTestApp({ frontendDir: distDir });
  const bootstrap = await fetch(`${app.baseUrl}/api/v1/auth/bootstrap`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(admin),
  });
  if (bootstrap.status !== 201)
    throw new Error(`bootstrap: ${bootstrap.status} ${await bootstrap.text()}`);
  const { organization } = (await bootstrap.json()) as { organization: { id: string } };

  const agent = await seedAgent(app.database, organization.id, { name: 'web-1' });
  await agentCall(app, 'PUT', '/api/v1/agents/inventory', agent.token, {
    revision,
    jobs: [
      job('nightly-export', { labels: { team: 'data', tier: '1' } }),
      job('daily-report', { labels: { team: 'reports' } }),
      job('cleanup', { schedule: '30 2 * * *', timezone: 'Europe/Berlin' }),
    ],
    unmanaged: [],
  });
  const now = Date.now();
  const heartbeat: HeartbeatRequest = {
    ...apiExamples.heartbeatRequest,
    conditions: [],
    errors: [],
    runningRunIds: [],
    deliveredThrough: new Date(now).toISOString(),
  };
  await agentCall(app, 'POST', '/api/v1/agents/heartbeat', agent.token, heartbeat);

  const succeededRunId = randomUUID();
  const failedRunId = randomUUID();
  const checkIn = (
    runId: string,
    name: string,
    status: CheckInFinish['status'],
    output: string,
    at = now,
  ): CheckIn[] => {
    const startedAt = new Date(at - 120_000);
    return [
      {
        kind: 'start',
        runId,
        namespace: 'reports',
        name,
        attempt: 1,
        trigger: 'scheduled',
        scheduledAt: new Date(at - 121_000).toISOString(),
        startedAt: startedAt.toISOString(),
        revision,
      },
      {
        kind: 'finish',
        runId,
        namespace: 'reports',
        name,
        attempt: 1,
        status,
        finishedAt: new Date(startedAt.getTime() + 1_500).toISOString(),
        durationMs: 1_500,
        exitCode: status === 'succeeded' ? 0 : 3,
        signal: null,
        outputHead: output,
        outputTail: status === 'failed' ? 'report: exit 3\n' : '',
        outputTruncated: status === 'failed',
        revision,
      },
    ];
  };
  await agentCall(app, 'POST', '/api/v1/check-ins', agent.token, {
    checkIns: [
      ...checkIn(succeededRunId, 'nightly-export', 'succeeded', 'exported 120 rows\n'),
      ...checkIn(failedRunId, 'daily-report', 'failed', hostileOutput),
    ],
  });
  if (options.batchJobs !== undefined && options.batchJobs > 0) {
    const batch = await seedAgent(app.database, organization.id, { name: 'batch-1' });
    await agentCall(app, 'PUT', '/api/v1/agents/inventory', batch.token, {
      revision,
      jobs: Array.from({ length: options.batchJobs }, (_, index) =>
        job(`job-${String(index + 1).padStart(5, '0')}`, {
          namespace: 'batch',
          schedule: `${index % 60} * * * *`,
        }),
      ),
      unmanaged: [],
    });
    await agentCall(app, 'POST', '/api/v1/agents/heartbeat', batch.token, heartbeat);
  }
  await runMonitorPass(app.context, { now: new Date() }, defaultMonitorTiming);

  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
  return {
    app,
    browser,
    failedRunId,
    succeededRunId,
    reportRun: async (name, status, output) => {
      const runId = randomUUID();
      await agentCall(app, 'POST', '/api/v1/check-ins', agent.token, {
        checkIns: checkIn(runId, name, status, output, Date.now()),
      });
      return runId;
    },
    asAgent: (method, route, body) => agentCall(app, method, route, agent.token, body),
    heartbeat,
    close: async () => {
      await browser.close();
      await app.close();
      await rm(distDir, { recursive: true, force: true });
    },
  };
}
