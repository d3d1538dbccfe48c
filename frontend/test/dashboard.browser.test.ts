import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  axeViolations,
  browserWait,
  hostileOutput,
  startDashboard,
  type Dashboard,
} from './dashboardHarness.js';

/** Issue 13 §5: the dashboard in a real browser against the real backend. */

// Generous: a busy 2-core machine runs chromium, the backend and PGlite side by side.
const wait = browserWait;

describe('dashboard in chromium', () => {
  let dashboard: Dashboard;
  let context: BrowserContext;
  let page: Page;
  const cspViolations: string[] = [];
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dashboard = await startDashboard();
    context = await dashboard.browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(wait.timeout);
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) cspViolations.push(message.text());
    });
    page.on('pageerror', (error) => pageErrors.push(error.message));
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await dashboard?.close();
  }, 60_000);

  it('sends a visitor without a session to the sign-in page, and shows the API message of a wrong password', async () => {
    await page.goto(`${dashboard.app.baseUrl}/jobs?health=failing`);
    await page.getByRole('heading', { name: 'Sign in to Cronfleet' }).waitFor(wait);
    expect(new URL(page.url()).searchParams.get('next')).toBe('/jobs?health=failing');
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor(wait);
    expect(await alert.textContent()).toMatch(/Sign-in failed \(401 unauthorized\):/);
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);

  it('signs in and returns to the page asked for, with the filter from the URL applied', async () => {
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor(wait);
    expect(page.url()).toContain('/jobs?health=failing');
    await page.getByRole('row', { name: /daily-report/ }).waitFor(wait);
    expect(await page.getByRole('table', { name: 'Jobs' }).getByRole('row').count()).toBe(2);
    expect(await page.getByLabel('Health').inputValue()).toBe('failing');
  }, 60_000);

  it("shows the overview's counts from the API", async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Overview' })
      .click();
    await page.getByRole('heading', { name: 'Overview' }).waitFor(wait);
    const count = async (group: string, term: string) =>
      page
        .getByTestId(group)
        .locator('div', { has: page.locator('dt', { hasText: new RegExp(`^${term}$`) }) })
        .locator('dd')
        .textContent();
    expect(await count('agents-by-status', 'online')).toBe('1');
    expect(await count('agents-by-status', 'total')).toBe('1');
    expect(await count('jobs-by-health', 'failing')).toBe('1');
    expect(await count('jobs-by-health', 'up')).toBe('1');
    expect(await count('jobs-by-health', 'new')).toBe('1');
    expect(await count('jobs-by-health', 'total')).toBe('3');
    expect(await count('open-incidents', 'failing')).toBe('1');
    expect(await count('open-incidents', 'total')).toBe('1');
    // The chart's numbers, as its table: two runs in the current hour.
    await page.getByText('The runs per hour as a table').click();
    const lastHour = page.getByRole('table', { name: 'Runs per hour' }).locator('tbody tr').last();
    expect(await lastHour.locator('td').allTextContents()).toEqual(['1', '0', '0', '0', '0', '1']);
    expect(await page.locator('.chart-canvas canvas').count()).toBeGreaterThan(0);
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);

  it('lists the jobs with their health, schedule and zone, filtered through the URL', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Jobs' })
      .click();
    const table = page.getByRole('table', { name: 'Jobs' });
    await table.getByRole('row', { name: /cleanup/ }).waitFor(wait);
    const healthOf = async (name: string) =>
      table
        .getByRole('row', { name: new RegExp(name) })
        .locator('.badge')
        .first()
        .textContent();
    expect(await healthOf('daily-report')).toBe('failing');
    expect(await healthOf('nightly-export')).toBe('up');
    expect(await healthOf('cleanup')).toBe('new');
    const cleanup = await table.getByRole('row', { name: /cleanup/ }).textContent();
    expect(cleanup).toContain('30 2 * * *');
    expect(cleanup).toContain('Europe/Berlin');
    // Times in the viewer's zone carry the UTC time in their title.
    expect(
      await table
        .getByRole('row', { name: /cleanup/ })
        .locator('time')
        .first()
        .getAttribute('title'),
    ).toMatch(/ UTC$/);

    await page.getByLabel('Search').fill('nightly');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/q=nightly/, wait);
    // The previous rows stay on screen until the filtered answer arrives.
    await table.getByRole('row', { name: /cleanup/ }).waitFor({ ...wait, state: 'detached' });
    expect(await table.getByRole('row').count()).toBe(2);
    expect(await table.getByRole('row', { name: /nightly-export/ }).count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);

  it('filters runs through the URL and opens a run whose output holds <script>, shown as text', async () => {
    await page.goto(`${dashboard.app.baseUrl}/runs?status=failed`);
    const runs = page.getByRole('table', { name: 'Runs' });
    await runs.locator('tbody tr').first().waitFor(wait);
    expect(await runs.locator('tbody tr').count()).toBe(1);
    expect(await page.getByLabel('Status').inputValue()).toBe('failed');
    await runs
      .getByRole('link', { name: /daily-report/ })
      .last()
      .click();
    await page.waitForURL(new RegExp(`/runs/${dashboard.failedRunId}$`), wait);
    await page.getByTestId('output-head').waitFor(wait);
    expect(await page.getByTestId('run-status').textContent()).toBe('failed');
    expect(await page.getByTestId('output-head').textContent()).toBe(hostileOutput);
    expect(await page.locator('pre script, pre b').count()).toBe(0);
    expect(
      await page.evaluate(() => (window as { __cronfleetInjected?: boolean }).__cronfleetInjected),
    ).toBeUndefined();
    expect(await page.getByRole('note').textContent()).toContain('Output truncated');
    expect(await page.getByTestId('output-tail').textContent()).toBe('report: exit 3\n');
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);

  it('shows a new run without a reload, through the live events', async () => {
    await page.goto(`${dashboard.app.baseUrl}/runs?job=reports%2Fnightly-export`);
    const runs = page.getByRole('table', { name: 'Runs' });
    await runs.locator('tbody tr').first().waitFor(wait);
    expect(await runs.locator('tbody tr').count()).toBe(1);
    await page.getByTestId('live-mode').filter({ hasText: 'Live' }).waitFor(wait);
    await page.evaluate(() => {
      (window as { __sameDocument?: boolean }).__sameDocument = true;
    });
    const runId = await dashboard.reportRun('nightly-export', 'succeeded', 'exported 7 rows\n');
    await runs.locator(`a[href="/runs/${runId}"]`).first().waitFor(wait);
    expect(await runs.locator('tbody tr').count()).toBe(2);
    expect(await page.evaluate(() => (window as { __sameDocument?: boolean }).__sameDocument)).toBe(
      true,
    );
  }, 60_000);

  it('shows the API error of a run that does not exist', async () => {
    await page.goto(`${dashboard.app.baseUrl}/runs/00000000-0000-4000-8000-000000000000`);
    const alert = page.getByRole('alert');
    await alert.waitFor(wait);
    expect(await alert.textContent()).toMatch(/Could not load the run \(404 not_found\)/);
  }, 60_000);

  it('works at 390 px: the navigation and sign-out stay reachable', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.goto(`${dashboard.app.baseUrl}/`);
    await page.getByRole('heading', { name: 'Overview' }).waitFor(wait);
    const scrollWidth = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(scrollWidth).toBeLessThanOrEqual(390);
    // Every menu entry fits on screen (the menu wraps rather than running off the edge).
    const links = page.getByRole('navigation', { name: 'Main' }).getByRole('link');
    expect(await links.count()).toBeGreaterThanOrEqual(6);
    for (const link of await links.all()) {
      const box = await link.boundingBox();
      expect(box).not.toBeNull();
      expect(box!.x + box!.width).toBeLessThanOrEqual(390);
    }
    expect(await page.getByRole('button', { name: 'Sign out' }).isVisible()).toBe(true);
    await page.setViewportSize({ width: 1400, height: 900 });
  }, 60_000);

  it('switches the active organization, and every page shows the new one', async () => {
    const created = await page.evaluate(async () => {
      const response = await fetch('/api/v1/organizations', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'Globex' }),
      });
      return response.status;
    });
    expect(created).toBe(201);
    await page.goto(`${dashboard.app.baseUrl}/`);
    const organization = page.getByLabel('Organization');
    await organization.waitFor(wait);
    const agentsTotal = page
      .getByTestId('agents-by-status')
      .locator('div', { has: page.locator('dt', { hasText: /^total$/ }) })
      .locator('dd');
    await agentsTotal.filter({ hasText: '1' }).waitFor(wait);
    await organization.selectOption({ label: 'Globex (admin)' });
    await agentsTotal.filter({ hasText: '0' }).waitFor(wait);
    expect(await organization.locator('option:checked').textContent()).toBe('Globex (admin)');
    await organization.selectOption({ label: 'Acme (admin)' });
    await agentsTotal.filter({ hasText: '1' }).waitFor(wait);
  }, 60_000);

  it('signs out: the session is gone and the pages ask to sign in again', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in to Cronfleet' }).waitFor(wait);
    await page.goto(`${dashboard.app.baseUrl}/runs`);
    await page.getByRole('heading', { name: 'Sign in to Cronfleet' }).waitFor(wait);
    const me = await page.evaluate(async () => (await fetch('/api/v1/auth/me')).status);
    expect(me).toBe(401);
  }, 60_000);

  it('kept the strict CSP: no violation and no uncaught error on any page', () => {
    expect(cspViolations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });
});
