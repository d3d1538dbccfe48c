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
 * Issue 13 §5: incidents and silences in a real browser against the real backend. The seeded
 * reports/daily-report fails every run (exit 3), so the monitoring worker opened a failing
 * incident: it is listed with the filters in the URL, acknowledged and resolved with a comment; a
 * silence is created and expired; a viewer sees none of those controls.
 */

const wait = browserWait;
const viewer = {
  email: 'val@example.com',
  name: 'Val Viewer',
  password: 'read only, all day long',
};

describe('incidents and silences in chromium', () => {
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

  it('lists the open failing incident, filtered through the URL', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Incidents' })
      .click();
    const table = page.getByRole('table', { name: 'Incidents' });
    await table.getByRole('row', { name: /daily-report/ }).waitFor(wait);
    await page.getByLabel('Status').selectOption('open');
    await page.getByLabel('Kind').selectOption('failing');
    await page.waitForURL(/status=open&kind=failing/, wait);
    await table.getByRole('row', { name: /reports\/daily-report on web-1/ }).waitFor(wait);
    expect(await table.locator('tbody tr').count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);

    await page.goto(`${dashboard.app.baseUrl}/incidents?status=resolved`);
    await page.getByText('No incident matches these filters.').waitFor(wait);
  }, 60_000);

  it('acknowledges the always-failing incident, then resolves it with a comment', async () => {
    await page.goto(`${dashboard.app.baseUrl}/incidents?status=open&kind=failing`);
    await page.getByRole('link', { name: 'reports/daily-report on web-1' }).click();
    await page
      .getByRole('heading', { name: /failing: reports\/daily-report on web-1/ })
      .waitFor(wait);
    expect(await page.getByTestId('incident-happened').textContent()).toContain(
      'exited with code 3',
    );
    expect(await axeViolations(page)).toEqual([]);

    await page.getByRole('button', { name: 'Acknowledge' }).click();
    await page.getByTestId('incident-acknowledged').filter({ hasText: admin.email }).waitFor(wait);
    expect(await page.getByRole('button', { name: 'Acknowledged' }).isDisabled()).toBe(true);
    const timeline = page.getByRole('list', { name: 'Timeline' });
    await timeline.getByRole('listitem').filter({ hasText: 'acknowledged' }).waitFor(wait);

    await page.getByLabel('Comment (optional)').fill('fixed the report <b>query</b>');
    await page.getByRole('button', { name: 'Resolve' }).click();
    await page.getByRole('heading', { name: 'Respond' }).waitFor({ ...wait, state: 'detached' });
    const resolution = page.locator('dt', { hasText: 'Resolution' }).locator('+ dd');
    expect(await resolution.textContent()).toContain('fixed the report <b>query</b>');
    expect(await page.locator('dd b').count()).toBe(0);
    await timeline.getByRole('listitem').filter({ hasText: 'resolved' }).waitFor(wait);
  }, 60_000);

  it('creates a silence for a namespace and expires it', async () => {
    await page.goto(`${dashboard.app.baseUrl}/silences`);
    await page.getByText('New silence').click();
    const form = page.getByRole('form', { name: 'New silence' });
    await form.getByLabel('Namespace').fill('reports');
    await form.getByLabel('Job labels, one key=value per line').fill('team=reports');
    const end = new Date(Date.now() + 2 * 3_600_000);
    const local = new Date(end.getTime() - end.getTimezoneOffset() * 60_000)
      .toISOString()
      .slice(0, 16);
    await form.getByLabel(/^Ends/).fill(local);
    await form.getByLabel(/^Comment/).fill('database migration, CHG-1234');
    await form.getByRole('button', { name: 'Create silence' }).click();
    const table = page.getByRole('table', { name: 'Silences' });
    const row = table.getByRole('row', { name: /CHG-1234/ });
    await row.waitFor(wait);
    expect(await row.locator('.badge').first().textContent()).toBe('active');
    expect(await row.textContent()).toContain('namespace reports');
    expect(await row.textContent()).toContain('team=reports');
    expect(await axeViolations(page)).toEqual([]);
    await row.getByRole('button', { name: 'Expire' }).click();
    await row.locator('.badge', { hasText: 'expired' }).waitFor(wait);
  }, 60_000);

  it('shows the API message of a silence without a matcher', async () => {
    const form = page.getByRole('form', { name: 'New silence' });
    const end = new Date(Date.now() + 3_600_000);
    const local = new Date(end.getTime() - end.getTimezoneOffset() * 60_000)
      .toISOString()
      .slice(0, 16);
    await form.getByLabel(/^Ends/).fill(local);
    await form.getByLabel(/^Comment/).fill('everything');
    await form.getByRole('button', { name: 'Create silence' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor(wait);
    expect(await alert.textContent()).toMatch(
      /Could not create the silence \(400 .*at least one matcher/,
    );
  }, 60_000);

  it('shows a viewer incidents and silences without any control that writes', async () => {
    const added = await page.evaluate(
      async (body) =>
        (
          await fetch('/api/v1/users', {
            method: 'POST',
            headers: {
              'content-type': 'application/json',
              'x-requested-with': 'cronfleet-dashboard',
            },
            body: JSON.stringify(body),
          })
        ).status,
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
      await viewerPage.goto(`${dashboard.app.baseUrl}/incidents`);
      await viewerPage.getByRole('link', { name: 'reports/daily-report on web-1' }).first().click();
      await viewerPage.getByRole('list', { name: 'Timeline' }).waitFor(wait);
      expect(await viewerPage.getByRole('button').allTextContents()).toEqual(['Sign out']);
      expect(await axeViolations(viewerPage)).toEqual([]);
      await viewerPage.goto(`${dashboard.app.baseUrl}/silences`);
      await viewerPage.getByRole('table', { name: 'Silences' }).waitFor(wait);
      expect(await viewerPage.getByRole('button').allTextContents()).toEqual(['Sign out']);
      expect(await viewerPage.getByText('New silence').count()).toBe(0);
      expect(await axeViolations(viewerPage)).toEqual([]);
    } finally {
      await viewerContext.close();
    }
  }, 60_000);

  it('raised no uncaught error and no CSP violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
