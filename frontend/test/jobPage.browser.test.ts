import type { HeartbeatResponse } from '@cronfleet/core/api';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  startDashboard,
  type Dashboard,
  axeViolations,
  browserWait,
  signIn,
} from './dashboardHarness.js';

/**
 * Issue 13 §5: the job page in a real browser against the real backend: the jobs table's label
 * filter and run strip, the job's fire times and instances, "Run now" leading to a manual run
 * (the test plays the agent: the command arrives in its heartbeat's answer, the run comes back
 * as check-ins), and a viewer who sees no control they may not use.
 */

const wait = browserWait;
const viewer = {
  email: 'vera@example.com',
  name: 'Vera Viewer',
  password: 'a viewer reads but never writes',
};

describe('job page in chromium', () => {
  let dashboard: Dashboard;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dashboard = await startDashboard();
    context = await dashboard.browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(wait.timeout);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) pageErrors.push(message.text());
    });
    await signIn(page, dashboard.app.baseUrl, admin.email, admin.password);
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await dashboard?.close();
  }, 60_000);

  it('filters the jobs by label through the URL and shows each job its run strip', async () => {
    await page.goto(`${dashboard.app.baseUrl}/jobs?label=team%3Ddata`);
    const table = page.getByRole('table', { name: 'Jobs' });
    const row = table.getByRole('row', { name: /nightly-export/ });
    await row.waitFor(wait);
    expect(await table.getByRole('row').count()).toBe(2);
    expect(await page.getByRole('textbox', { name: 'Labels' }).inputValue()).toBe('team=data');
    expect(await row.getByRole('list', { name: 'Labels' }).textContent()).toContain('team=data');
    const strip = row.getByRole('link', { name: /last 1 runs: 1 succeeded/ });
    expect(await strip.getAttribute('href')).toBe('/runs?job=reports%2Fnightly-export');

    // Two selectors: every one must match.
    await page.getByRole('textbox', { name: 'Labels' }).fill('team=data, tier=2');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/label=team%3Ddata&label=tier%3D2/, wait);
    await page.getByText('No job matches.').waitFor(wait);
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);

  it('opens a job from the table: fire times, instances with source and revision, its runs', async () => {
    await page.goto(`${dashboard.app.baseUrl}/jobs`);
    await page.getByRole('link', { name: 'reports/cleanup' }).click();
    await page.waitForURL(/\/jobs\/reports\/cleanup$/, wait);
    await page.getByRole('heading', { name: /cleanup/, level: 1 }).waitFor(wait);
    const fireTimes = page.getByRole('table', { name: 'Next fire times' });
    await fireTimes.locator('tbody tr').first().waitFor(wait);
    expect(await fireTimes.locator('tbody tr').count()).toBe(10);
    expect(await fireTimes.locator('tbody tr').first().textContent()).toContain('Europe/Berlin');
    expect(await fireTimes.locator('time').first().getAttribute('title')).toMatch(/ UTC$/);
    const instances = page.getByRole('table', { name: 'Instances' });
    const web1 = instances.getByRole('row', { name: /web-1/ });
    await web1.waitFor(wait);
    const [example] = (await import('@cronfleet/core/api')).apiExamples.inventoryRequest.jobs;
    expect(await web1.textContent()).toContain(example!.sourcePath);
    expect(await web1.textContent()).toContain('4b825dc642cb');
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);

  it('runs a job now: the agent gets the command in its heartbeat, and the manual run appears', async () => {
    await page.goto(`${dashboard.app.baseUrl}/jobs/reports/nightly-export`);
    const runs = page.getByRole('table', { name: 'Latest runs' });
    await runs.locator('tbody tr').first().waitFor(wait);
    expect(await runs.locator('tbody tr').count()).toBe(1);
    await page.getByRole('button', { name: 'Run now' }).click();
    const receipt = page.getByRole('status').getByRole('link', { name: 'run on web-1' });
    await receipt.waitFor(wait);
    const requestId = new URL(
      (await receipt.getAttribute('href'))!,
      dashboard.app.baseUrl,
    ).pathname.replace('/runs/', '');
    // Before the agent reports it, the run's page says it is waiting (not a bare 404).
    const waiting = await context.newPage();
    await waiting.goto(`${dashboard.app.baseUrl}/runs/${requestId}?requested=1`);
    await waiting.getByRole('status').filter({ hasText: 'Waiting for the agent' }).waitFor(wait);

    // The agent's next heartbeat is answered with the run command…
    const answer = (await dashboard.asAgent(
      'POST',
      '/api/v1/agents/heartbeat',
      dashboard.heartbeat,
    )) as HeartbeatResponse;
    expect(answer.commands).toContainEqual({
      type: 'run',
      namespace: 'reports',
      name: 'nightly-export',
      requestId,
    });
    // …and it runs the job under the request id, as its run wrapper does.
    const startedAt = new Date();
    await dashboard.asAgent('POST', '/api/v1/check-ins', {
      checkIns: [
        {
          kind: 'start',
          runId: requestId,
          namespace: 'reports',
          name: 'nightly-export',
          attempt: 1,
          trigger: 'manual',
          scheduledAt: null,
          startedAt: startedAt.toISOString(),
          revision: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
        },
        {
          kind: 'finish',
          runId: requestId,
          namespace: 'reports',
          name: 'nightly-export',
          attempt: 1,
          status: 'succeeded',
          finishedAt: new Date(startedAt.getTime() + 800).toISOString(),
          durationMs: 800,
          exitCode: 0,
          signal: null,
          outputHead: 'exported by hand\n',
          outputTail: '',
          outputTruncated: false,
          revision: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
        },
      ],
    });
    // Live: the page shows the manual run without a reload.
    await runs.getByRole('row', { name: /manual/ }).waitFor(wait);
    // The waiting page finds the run by itself once it exists.
    await waiting.getByTestId('output-head').waitFor(wait);
    await waiting.close();
    expect(await runs.locator('tbody tr').count()).toBe(2);
    await receipt.click();
    await page.waitForURL(new RegExp(`/runs/${requestId}\\?requested=1$`), wait);
    await page.getByTestId('output-head').waitFor(wait);
    expect(await page.getByTestId('output-head').textContent()).toBe('exported by hand\n');
    expect(await page.locator('dt', { hasText: 'Trigger' }).locator('+ dd').textContent()).toBe(
      'manual',
    );
  }, 90_000);

  it('shows a viewer the jobs and a job without any control they may not use', async () => {
    const added = await page.evaluate(
      async (body) => {
        const response = await fetch('/api/v1/users', {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-requested-with': 'cronfleet-dashboard',
          },
          body: JSON.stringify(body),
        });
        return response.status;
      },
      { ...viewer, role: 'viewer' },
    );
    expect(added).toBe(201);
    const viewerContext = await dashboard.browser.newContext({
      viewport: { width: 1400, height: 900 },
    });
    try {
      const viewerPage = await viewerContext.newPage();
      viewerPage.setDefaultTimeout(wait.timeout);
      await signIn(viewerPage, dashboard.app.baseUrl, viewer.email, viewer.password);
      await viewerPage.goto(`${dashboard.app.baseUrl}/jobs/reports/daily-report`);
      await viewerPage.getByRole('table', { name: 'Instances' }).waitFor(wait);
      await viewerPage.getByRole('table', { name: 'Latest runs' }).waitFor(wait);
      // The only buttons: the filter-free page has sign-out and nothing that writes.
      const buttons = await viewerPage.getByRole('button').allTextContents();
      expect(buttons).toEqual(['Sign out']);
      expect(await viewerPage.getByText('viewer').first().isVisible()).toBe(true);
      expect(await axeViolations(viewerPage)).toEqual([]);
    } finally {
      await viewerContext.close();
    }
  }, 60_000);

  it('shows the API error of a job that does not exist', async () => {
    await page.goto(`${dashboard.app.baseUrl}/jobs/reports/no-such-job`);
    const alert = page.getByRole('alert');
    await alert.waitFor(wait);
    expect(await alert.textContent()).toMatch(/Could not load the job \(404 not_found\)/);
  }, 60_000);

  it('raised no uncaught error and no CSP violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
