import path from 'node:path';
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
        await context.close();
      }
    }
  }, 180_000);
});
