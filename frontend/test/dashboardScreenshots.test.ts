import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { apiExamples } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { admin, startDashboard, type Dashboard } from './dashboardHarness.js';

/**
 * Screenshots of every page at 1400×900 and 390×844, light and dark, for a person to look at
 * (and for docs/dashboard.md). Skipped unless asked for:
 *   DASHBOARD_SCREENSHOTS=/tmp/shots npx vitest run test/dashboardScreenshots.test.ts
 */
const outDir = process.env.DASHBOARD_SCREENSHOTS;
const viewports = [
  { name: 'wide', width: 1400, height: 900 },
  { name: 'phone', width: 390, height: 844 },
] as const;

describe.runIf(outDir !== undefined)('dashboard screenshots', () => {
  let dashboard: Dashboard;
  beforeAll(async () => {
    dashboard = await startDashboard();
    // A Stalled agent, so the agents pages show a located manifest error.
    await dashboard.asAgent('POST', '/api/v1/agents/heartbeat', {
      ...dashboard.heartbeat,
      conditions: apiExamples.heartbeatRequest.conditions,
      errors: apiExamples.heartbeatRequest.errors,
    });
    await mkdir(outDir!, { recursive: true });
    // Channel secrets are sealed with a key of this test's, instead of a key file written into
    // the default data directory (the app reads the key when it first needs it).
    Object.assign(dashboard.app.context.config, { secretsKey: randomBytes(32).toString('base64') });
    // The settings pages with something in them: two more members and a channel.
    const session = await fetch(`${dashboard.app.baseUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: admin.email, password: admin.password }),
    });
    const cookie = (session.headers.get('set-cookie') ?? '').split(';')[0]!;
    const asAdmin = async (route: string, body: unknown) => {
      const response = await fetch(`${dashboard.app.baseUrl}${route}`, {
        method: 'POST',
        headers: {
          cookie,
          'content-type': 'application/json',
          origin: dashboard.app.baseUrl,
          'x-requested-with': 'cronfleet-dashboard',
        },
        body: JSON.stringify(body),
      });
      if (response.status !== 201) throw new Error(`${route}: ${await response.text()}`);
    };
    await asAdmin('/api/v1/users', {
      email: 'oscar@example.com',
      name: 'Oscar Operator',
      role: 'operator',
      password: 'operators run the jobs',
    });
    await asAdmin('/api/v1/users', {
      email: 'val@example.com',
      name: 'Val Viewer',
      role: 'viewer',
      password: 'read only, all day long',
    });
    await asAdmin('/api/v1/notification-channels', {
      name: 'ops-webhook',
      kind: 'webhook',
      isDefault: true,
      config: {
        url: 'https://hooks.example.com/cronfleet',
        signingSecret: `whsec_${randomBytes(32).toString('base64')}`,
      },
    });
  }, 180_000);
  afterAll(async () => dashboard?.close(), 60_000);

  it('takes every page at both sizes, light and dark', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      for (const viewport of viewports) {
        const context = await dashboard.browser.newContext({
          viewport: { width: viewport.width, height: viewport.height },
          colorScheme,
        });
        const page = await context.newPage();
        page.setDefaultTimeout(30_000);
        const shoot = (name: string) =>
          page.screenshot({
            path: path.join(outDir!, `${name}-${viewport.name}-${colorScheme}.png`),
          });
        const base = dashboard.app.baseUrl;
        await page.goto(`${base}/sign-in`);
        await page.getByRole('heading', { name: 'Sign in to Cronfleet' }).waitFor();
        await shoot('sign-in');
        await page.getByLabel('E-mail').fill(admin.email);
        await page.getByLabel('Password').fill(admin.password);
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('heading', { name: 'Overview' }).waitFor();
        await page.locator('.chart-canvas canvas').waitFor();
        await shoot('overview');
        await page.goto(`${base}/jobs`);
        await page.getByRole('row', { name: /cleanup/ }).waitFor();
        await shoot('jobs');
        await page.goto(`${base}/jobs/reports/daily-report`);
        await page.getByRole('table', { name: 'Latest runs' }).waitFor();
        await page.locator('.duration-canvas canvas').waitFor();
        await shoot('job');
        await page.screenshot({
          path: path.join(outDir!, `job-full-${viewport.name}-${colorScheme}.png`),
          fullPage: true,
        });
        await page.goto(`${base}/agents`);
        await page.getByRole('table', { name: 'Agents' }).waitFor();
        await shoot('agents');
        await page.getByRole('link', { name: 'web-1' }).click();
        await page.getByRole('list', { name: 'Manifest errors' }).waitFor();
        await shoot('agent');
        await page.screenshot({
          path: path.join(outDir!, `agent-full-${viewport.name}-${colorScheme}.png`),
          fullPage: true,
        });
        await page.goto(`${base}/incidents`);
        await page.getByRole('table', { name: 'Incidents' }).waitFor();
        await shoot('incidents');
        await page
          .getByRole('link', { name: /daily-report on web-1/ })
          .first()
          .click();
        await page.getByRole('list', { name: 'Timeline' }).waitFor();
        await shoot('incident');
        await page.goto(`${base}/silences`);
        await page.getByText('No silence').waitFor();
        await page.getByText('New silence').click();
        await shoot('silences');
        await page.goto(`${base}/runs`);
        await page.getByRole('table', { name: 'Runs' }).waitFor();
        await shoot('runs');
        await page.goto(`${base}/runs/${dashboard.failedRunId}`);
        await page.getByTestId('output-head').waitFor();
        await shoot('run');

        const full = (name: string) =>
          page.screenshot({
            path: path.join(outDir!, `${name}-full-${viewport.name}-${colorScheme}.png`),
            fullPage: true,
          });
        await page.goto(`${base}/settings/api-tokens`);
        await page.getByText('New API token').click();
        await page.getByLabel('Name (what it is for)').fill(`laptop-cli-${viewport.name}`);
        await page.getByRole('button', { name: 'Create API token' }).click();
        await page.getByRole('region', { name: /API token .* created/ }).waitFor();
        await shoot('settings-api-tokens');
        await full('settings-api-tokens');
        await page.goto(`${base}/settings/enrollment-tokens`);
        await page.getByText('New enrollment token').click();
        await page.getByLabel('Description').fill('db hosts');
        await page.getByLabel(/^Labels for every agent/).fill('role=db');
        await page.getByRole('button', { name: 'Create enrollment token' }).click();
        await page.getByRole('region', { name: /Enrollment token .* created/ }).waitFor();
        await shoot('settings-enrollment-tokens');
        await full('settings-enrollment-tokens');
        await page.goto(`${base}/settings/users`);
        await page.getByRole('table', { name: 'Users' }).waitFor();
        await page.getByText('Add a user').click();
        await shoot('settings-users');
        await full('settings-users');
        await page.goto(`${base}/settings/notification-channels`);
        await page.getByRole('table', { name: 'Notification channels' }).waitFor();
        await page.getByText('New notification channel').click();
        await shoot('settings-channels');
        await full('settings-channels');
        await page.goto(`${base}/settings/audit`);
        await page.getByRole('table', { name: 'Audit log' }).waitFor();
        await shoot('settings-audit');
        await full('settings-audit');
        await context.close();
      }
    }
  }, 360_000);
});
