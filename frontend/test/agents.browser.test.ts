import { apiExamples } from '@cronfleet/core/api';
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
 * Issue 13 §5: the agents pages in a real browser against the real backend: a Stalled agent's
 * located manifest error (its heartbeat reports it, as the agent does), rename, relabel,
 * reconcile now answered in the agent's next heartbeat, revoke after a confirmation, and a viewer
 * who sees none of those controls.
 */

const wait = browserWait;
const viewer = {
  email: 'vic@example.com',
  name: 'Vic Viewer',
  password: 'viewers only look around',
};

describe('agents pages in chromium', () => {
  let dashboard: Dashboard;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    dashboard = await startDashboard();
    // The agent's next heartbeat: a manifest it could not apply, located.
    await dashboard.asAgent('POST', '/api/v1/agents/heartbeat', {
      ...dashboard.heartbeat,
      conditions: apiExamples.heartbeatRequest.conditions,
      errors: apiExamples.heartbeatRequest.errors,
    });
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

  it("lists the agents with their conditions, and shows a Stalled agent's located manifest error", async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Agents' })
      .click();
    const table = page.getByRole('table', { name: 'Agents' });
    const row = table.getByRole('row', { name: /web-1/ });
    await row.waitFor(wait);
    expect(await row.locator('.badge').allTextContents()).toEqual([
      'online',
      'not Ready',
      'Stalled',
    ]);
    expect(await axeViolations(page)).toEqual([]);

    await row.getByRole('link', { name: 'web-1' }).click();
    await page.getByRole('heading', { name: /web-1/, level: 1 }).waitFor(wait);
    const stalled = page.getByRole('table', { name: 'Conditions' }).getByRole('row', {
      name: /Stalled/,
    });
    expect(await stalled.textContent()).toContain('ManifestInvalid');
    const [error] = apiExamples.heartbeatRequest.errors;
    const located = page.getByRole('list', { name: 'Manifest errors' }).getByRole('listitem');
    expect(await located.count()).toBe(1);
    const text = await located.textContent();
    expect(text).toContain(`${error!.file}:${error!.line}:${error!.column}`);
    expect(text).toContain(error!.path!);
    expect(text).toContain(error!.job!);
    expect(text).toContain(error!.message);
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);

  it('renames and relabels the agent, and shows the API message of a bad label', async () => {
    await page.getByRole('textbox', { name: 'Name' }).fill('web-01');
    await page.getByRole('button', { name: 'Rename' }).click();
    await page.getByRole('heading', { name: /web-01/, level: 1 }).waitFor(wait);

    const labels = page.getByRole('textbox', { name: /Labels, one key=value per line/ });
    await labels.fill('role=web\nBad Key=x');
    await page.getByRole('button', { name: 'Save labels' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor(wait);
    expect(await alert.textContent()).toMatch(/Could not change the agent \(400 /);

    await labels.fill('role=web\nzone=eu-1');
    await page.getByRole('button', { name: 'Save labels' }).click();
    await page
      .getByRole('definition')
      .getByRole('list', { name: 'Labels' })
      .filter({ hasText: 'zone=eu-1' })
      .waitFor(wait);
  }, 60_000);

  it('asks the agent to reconcile: the command arrives in its next heartbeat', async () => {
    await page.getByRole('button', { name: 'Reconcile now' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: 'reconciles at its next heartbeat' })
      .waitFor(wait);
    const answer = (await dashboard.asAgent(
      'POST',
      '/api/v1/agents/heartbeat',
      dashboard.heartbeat,
    )) as { commands: { type: string }[] };
    expect(answer.commands).toContainEqual({ type: 'reconcile' });
  }, 60_000);

  it('shows a viewer the agents without any control', async () => {
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
      await viewerPage.goto(`${dashboard.app.baseUrl}/agents`);
      await viewerPage.getByRole('link', { name: 'web-01' }).click();
      await viewerPage.getByRole('heading', { name: /web-01/, level: 1 }).waitFor(wait);
      // The last heartbeat (of the reconcile test) reported no condition and no error.
      await viewerPage.getByRole('heading', { name: 'Facts' }).waitFor(wait);
      expect(await viewerPage.getByText('The agent has reported no condition yet.').count()).toBe(
        1,
      );
      expect(await viewerPage.getByRole('button').allTextContents()).toEqual(['Sign out']);
      expect(await viewerPage.getByRole('heading', { name: 'Manage' }).count()).toBe(0);
      expect(await axeViolations(viewerPage)).toEqual([]);
    } finally {
      await viewerContext.close();
    }
  }, 60_000);

  it('revokes the agent only after a confirmation with a reason', async () => {
    await page.getByRole('button', { name: 'Revoke…' }).click();
    const confirm = page.getByRole('form', { name: 'Confirm revocation' });
    await confirm.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.getByRole('form', { name: 'Confirm revocation' }).count()).toBe(0);
    await page.getByRole('button', { name: 'Revoke…' }).click();
    await page.getByRole('textbox', { name: /Reason/ }).fill('host decommissioned');
    await page.getByRole('button', { name: 'Revoke web-01' }).click();
    await page.getByRole('heading', { name: /web-01 revoked/, level: 1 }).waitFor(wait);
    expect(await page.getByRole('note').textContent()).toContain('host decommissioned');
    expect(await page.getByRole('heading', { name: 'Manage' }).count()).toBe(0);
  }, 60_000);

  it('raised no uncaught error and no CSP violation', () => {
    expect(pageErrors).toEqual([]);
  });
});
