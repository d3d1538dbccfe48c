import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startDashboard, type Dashboard } from './dashboardHarness.js';

/**
 * The jobs page with 10,000 jobs: only the rows on screen are in the DOM, the API's pages load
 * as the list scrolls, and scrolling reaches the last job. (Speed is measured by the benchmark,
 * not asserted here.)
 */
const wait = { timeout: 60_000 };

describe('jobs page with 10,000 jobs', () => {
  let dashboard: Dashboard;
  let page: Page;

  beforeAll(async () => {
    dashboard = await startDashboard({ batchJobs: 9_997 });
    const context = await dashboard.browser.newContext({ viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(wait.timeout);
    await page.goto(`${dashboard.app.baseUrl}/sign-in?next=%2Fjobs`);
    await page.getByLabel('E-mail').fill(admin.email);
    await page.getByLabel('Password').fill(admin.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
  }, 300_000);

  afterAll(async () => dashboard?.close(), 60_000);

  it('renders a window of rows and scrolls to the last job', async () => {
    const table = page.getByRole('table', { name: 'Jobs' });
    await table.getByRole('row', { name: /batch\/job-00001/ }).waitFor(wait);
    expect(await page.getByText('10,000 jobs').count()).toBe(1);
    expect(await table.getAttribute('aria-rowcount')).toBe('10001');
    const rendered = await table.getByRole('row').count();
    expect(rendered).toBeLessThan(60);
    // Each scroll to the end shows the "loading more" row, which loads the next page.
    const last = table.getByRole('row', { name: /reports\/nightly-export/ });
    await expect
      .poll(
        async () => {
          await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
          return last.count();
        },
        { timeout: 240_000, interval: 250 },
      )
      .toBe(1);
    expect(await table.getByRole('row').count()).toBeLessThan(60);
    expect(await table.getByText(/Loading more jobs/).count()).toBe(0);
  }, 300_000);
});
