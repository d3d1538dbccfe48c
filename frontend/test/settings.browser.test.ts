import { execFile } from 'node:child_process';
import { createHmac, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../../backend/test/testApp.js';
import { admin, axeViolations, browserWait, signIn } from './dashboardHarness.js';

/**
 * The Settings pages in chromium against the real backend: an API token shown once (and gone
 * after a reload) that authenticates against the API and is then revoked; an enrollment token
 * whose enroll command, run with the real `cronfleet-agent`, enrolls an agent; users added and a
 * role changed (and the last admin's demotion refused with the API's message); a webhook channel
 * whose test message reaches a real HTTP receiver in this test, signed with the secret the page
 * generated; the audit log listing all of it through its URL filters and keyset pages; and a
 * viewer who sees no control a viewer may not use.
 *
 * The harness's startDashboard starts the backend with the default configuration, which may
 * deliver notifications to public addresses only; this file starts its own backend that may
 * reach 127.0.0.0/8 (where the receiver listens) and seals channel secrets with a key of its
 * own instead of writing one into a data directory. The sign-in, axe and waits are the harness's.
 */

const wait = browserWait;
const frontendDir = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const repositoryDir = path.dirname(frontendDir);
const run = promisify(execFile);

const viewer = {
  email: 'val@example.com',
  name: 'Val Viewer',
  password: 'read only, all day long',
};
const operator = { email: 'oscar@example.com', name: 'Oscar', password: 'operators run the jobs' };

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

/** A webhook receiver: 204 on /hook, 503 on /down; records what arrives. */
async function startReceiver(): Promise<{ server: Server; url: string; received: Received[] }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      received.push({
        path: request.url ?? '',
        headers: request.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      });
      response.statusCode = request.url === '/down' ? 503 : 204;
      response.end();
    });
  }).listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
  };
}

describe('settings pages in chromium', () => {
  let app: TestApp;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let distDir: string;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let base: string;
  const pageErrors: string[] = [];

  beforeAll(async () => {
    distDir = await mkdtemp(path.join(tmpdir(), 'cronfleet-settings-dashboard-'));
    // npm hoists vite to the workspace root's node_modules.
    await run(
      process.execPath,
      [
        path.join(repositoryDir, 'node_modules/vite/bin/vite.js'),
        'build',
        '--outDir',
        distDir,
        '--emptyOutDir',
        '--logLevel',
        'error',
      ],
      { cwd: frontendDir },
    );
    receiver = await startReceiver();
    app = await startTestApp({
      frontendDir: distDir,
      notificationAllowedNetworks: ['127.0.0.0/8'],
      secretsKey: randomBytes(32).toString('base64'),
    });
    base = app.baseUrl;
    const bootstrap = await fetch(`${base}/api/v1/auth/bootstrap`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(admin),
    });
    expect(bootstrap.status).toBe(201);
    browser = await chromium.launch({
      executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
    });
    context = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base });
    page = await context.newPage();
    page.setDefaultTimeout(wait.timeout);
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('console', (message) => {
      if (message.text().includes('Content Security Policy')) pageErrors.push(message.text());
    });
    await signIn(page, base, admin.email, admin.password);
  }, 240_000);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await app?.close();
    receiver?.server.close();
    if (distDir !== undefined) await rm(distDir, { recursive: true, force: true });
  }, 60_000);

  it('creates an API token, shows it once, and it authenticates until revoked', async () => {
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Settings' })
      .click();
    await page.waitForURL(`${base}/settings/api-tokens`, wait);
    await page.getByRole('heading', { name: 'API tokens', level: 1 }).waitFor(wait);
    await page.getByText('No API token of yours.').waitFor(wait);
    expect(await axeViolations(page)).toEqual([]);

    await page.getByText('New API token').click();
    await page.getByLabel('Name (what it is for)').fill('ci-deploy');
    await page.getByRole('checkbox', { name: 'write' }).check();
    await page.getByRole('button', { name: 'Create API token' }).click();
    const secret = page.getByRole('region', { name: 'API token ci-deploy created' });
    await secret.waitFor(wait);
    expect(await secret.textContent()).toContain('you will not see it again');
    const token = await secret.getByLabel('Token', { exact: true }).inputValue();
    expect(token).toMatch(/^cfp_[A-Za-z0-9_-]{22,}$/);
    await secret.getByRole('button', { name: 'Copy token' }).click();
    await secret.getByRole('status').filter({ hasText: 'Copied.' }).waitFor(wait);
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(token);
    expect(await axeViolations(page)).toEqual([]);

    // The token is a working bearer token of the admin, with the scopes chosen.
    const me = await fetch(`${base}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(me.status).toBe(200);
    const meBody = (await me.json()) as { user: { email: string }; permissions: string[] };
    expect(meBody.user.email).toBe(admin.email);
    expect(meBody.permissions.sort()).toEqual(['read', 'write']);

    const row = page.getByRole('table', { name: 'API tokens' }).getByRole('row', {
      name: /ci-deploy/,
    });
    await row.waitFor(wait);
    expect(await row.textContent()).toContain(`${token.slice(0, 10)}…`);

    // Shown once: after a reload, and after leaving and coming back, it is nowhere on the page.
    await page.reload();
    await row.waitFor(wait);
    expect(await page.content()).not.toContain(token);
    expect(await page.getByRole('region', { name: /created/ }).count()).toBe(0);
    await page
      .getByRole('navigation', { name: 'Main' })
      .getByRole('link', { name: 'Jobs' })
      .click();
    await page.getByRole('heading', { name: 'Jobs', level: 1 }).waitFor(wait);
    await page.goBack();
    await row.waitFor(wait);
    expect(await page.content()).not.toContain(token);

    // Revoke asks first; then the token no longer authenticates.
    await row.getByRole('button', { name: /^Revoke ci-deploy/ }).click();
    await row.getByRole('button', { name: 'Revoke ci-deploy', exact: true }).click();
    await page.getByText('No API token of yours.').waitFor(wait);
    const after = await fetch(`${base}/api/v1/auth/me`, {
      headers: { authorization: `Bearer ${token}` },
    });
    expect(after.status).toBe(401);
    await page.getByLabel('Revoked tokens').selectOption('shown');
    await page.waitForURL(/revoked=true/, wait);
    await row.getByText('revoked').waitFor(wait);
  }, 120_000);

  it('creates an enrollment token whose enroll command enrolls a real agent', async () => {
    await page
      .getByRole('navigation', { name: 'Settings' })
      .getByRole('link', { name: 'Enrollment tokens' })
      .click();
    await page.getByRole('heading', { name: 'Enrollment tokens', level: 1 }).waitFor(wait);
    await page.getByText('New enrollment token').click();
    await page.getByLabel('Description').fill('db hosts');
    await page.getByLabel(/^Labels for every agent/).fill('role=db');
    await page.getByRole('button', { name: 'Create enrollment token' }).click();
    const secret = page.getByRole('region', { name: 'Enrollment token db hosts created' });
    await secret.waitFor(wait);
    expect(await secret.textContent()).toContain('you will not see this token again');
    const token = await secret.getByLabel('Token', { exact: true }).inputValue();
    expect(token).toMatch(/^cfe_[A-Za-z0-9_-]{22,}$/);
    const command = await secret.getByLabel('Enroll command').inputValue();
    expect(command).toBe(`cronfleet-agent enroll --backend ${base} --token ${token}`);
    expect(await axeViolations(page)).toEqual([]);

    // The command as the page gives it, run with the real agent (its own state directory).
    const stateDir = await mkdtemp(path.join(tmpdir(), 'cronfleet-settings-agent-'));
    try {
      const [program, ...args] = command.split(' ');
      expect(program).toBe('cronfleet-agent');
      const { stdout } = await run(
        process.execPath,
        [
          path.join(repositoryDir, 'agent/bin/cronfleet-agent.js'),
          ...args,
          '--name',
          'db-7',
          '--state-dir',
          stateDir,
          '--json',
        ],
        { env: { PATH: process.env.PATH ?? '', HOME: stateDir }, timeout: 60_000 },
      );
      expect(JSON.parse(stdout)).toMatchObject({ outcome: 'created', name: 'db-7' });
    } finally {
      await rm(stateDir, { recursive: true, force: true });
    }

    // The token counts the use; a second token is revoked after a confirmation.
    await page.reload();
    const table = page.getByRole('table', { name: 'Enrollment tokens' });
    await table.getByRole('row', { name: /db hosts.*used up|used up.*db hosts/ }).waitFor(wait);
    await page.getByText('New enrollment token').click();
    await page.getByLabel('Description').fill('spare');
    await page.getByRole('button', { name: 'Create enrollment token' }).click();
    await page.getByRole('region', { name: 'Enrollment token spare created' }).waitFor(wait);
    await page.getByRole('button', { name: 'Done, I copied it' }).click();
    const spare = table.getByRole('row', { name: /spare/ });
    await spare.getByRole('button', { name: /^Revoke spare/ }).click();
    await spare.getByRole('button', { name: 'Revoke spare', exact: true }).click();
    await spare.getByText('revoked').waitFor(wait);
    await page.getByLabel('Status').selectOption('revoked');
    await page.waitForURL(/status=revoked/, wait);
    await table.getByRole('row', { name: /spare/ }).waitFor(wait);
    await table.getByRole('row', { name: /db hosts/ }).waitFor({ state: 'detached', ...wait });
    expect(await table.locator('tbody tr').count()).toBe(1);
  }, 120_000);

  it('adds users, changes a role, and shows the API refusing to demote the last admin', async () => {
    await page.goto(`${base}/settings/users`);
    const table = page.getByRole('table', { name: 'Users' });
    await table.getByRole('row', { name: /admin@example\.com/ }).waitFor(wait);
    await page.getByText('Add a user').click();
    const form = page.getByRole('form', { name: 'Add a user' });
    for (const user of [viewer, operator]) {
      await form.getByLabel('E-mail').fill(user.email);
      await form.getByLabel('Name (for a new account)').fill(user.name);
      await form.getByLabel(/^Role/).selectOption('viewer');
      await form.getByLabel(/^Password for a new account/).fill(user.password);
      await form.getByRole('button', { name: 'Add user' }).click();
      await page
        .getByRole('status')
        .filter({ hasText: `${user.email} was created and joined as viewer` })
        .waitFor(wait);
      await table.getByRole('row', { name: new RegExp(user.email) }).waitFor(wait);
    }
    expect(await axeViolations(page)).toEqual([]);

    await page
      .getByRole('combobox', { name: `Role of ${operator.email}` })
      .selectOption('operator');
    await page.getByRole('button', { name: `Change the role of ${operator.email}` }).click();
    await page.waitForFunction(
      async (email) => {
        const response = await fetch('/api/v1/users');
        const body = (await response.json()) as { items: { email: string; role: string }[] };
        return body.items.find((user) => user.email === email)?.role === 'operator';
      },
      operator.email,
      wait,
    );
    await page.reload();
    expect(
      await page.getByRole('combobox', { name: `Role of ${operator.email}` }).inputValue(),
    ).toBe('operator');

    await page.getByRole('combobox', { name: `Role of ${admin.email}` }).selectOption('viewer');
    await page.getByRole('button', { name: `Change the role of ${admin.email}` }).click();
    const refused = page.getByRole('alert').filter({ hasText: 'Could not change the role (409' });
    await refused.waitFor(wait);
    expect(await refused.textContent()).toMatch(/admin/);
    // Nothing changed: Cancel puts the menu back.
    await page.getByRole('button', { name: 'Cancel' }).click();
    expect(await page.getByRole('combobox', { name: `Role of ${admin.email}` }).inputValue()).toBe(
      'admin',
    );
  }, 120_000);

  it('creates a webhook channel and shows its test message delivered, or why not', async () => {
    await page.goto(`${base}/settings/notification-channels`);
    await page.getByText('No notification channel').waitFor(wait);
    await page.getByText('New notification channel').click();
    await page.getByLabel('Kind').selectOption('webhook');
    await page.getByLabel(/^Name/).fill('ops-webhook');
    await page.getByLabel('URL', { exact: true }).fill(`${receiver.url}/hook`);
    const signingSecret = await page.getByLabel(/^Signing secret/).inputValue();
    expect(signingSecret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    await page.getByRole('button', { name: 'Create channel' }).click();
    const table = page.getByRole('table', { name: 'Notification channels' });
    const row = table.getByRole('row', { name: /ops-webhook/ });
    await row.waitFor(wait);
    expect(await row.textContent()).toContain('signingSecret');
    expect(await page.content()).not.toContain(signingSecret);
    expect(await axeViolations(page)).toEqual([]);

    await row.getByRole('button', { name: 'Send test to ops-webhook' }).click();
    await row.getByRole('status').filter({ hasText: 'delivered' }).waitFor(wait);
    const delivered = receiver.received.filter((request) => request.path === '/hook');
    expect(delivered).toHaveLength(1);
    // Signed with the secret the page generated (Standard Webhooks, v1).
    const { headers, body } = delivered[0]!;
    const key = Buffer.from(signingSecret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key)
      .update(`${String(headers['webhook-id'])}.${String(headers['webhook-timestamp'])}.${body}`)
      .digest('base64');
    expect(String(headers['webhook-signature']).split(' ')).toContain(`v1,${expected}`);

    // A receiver that answers 503: the page shows the failure and its reason.
    await page.getByLabel(/^Name/).fill('down-webhook');
    await page.getByLabel('URL', { exact: true }).fill(`${receiver.url}/down`);
    await page.getByRole('button', { name: 'Create channel' }).click();
    const down = table.getByRole('row', { name: /down-webhook/ });
    await down.waitFor(wait);
    await down.getByRole('button', { name: 'Send test to down-webhook' }).click();
    const failed = down.getByRole('status').filter({ hasText: 'failed' });
    await failed.waitFor(wait);
    expect(await failed.textContent()).toMatch(/503/);

    // A name taken: the API's 409 and its message.
    await page.getByLabel(/^Name/).fill('ops-webhook');
    await page.getByLabel('URL', { exact: true }).fill(`${receiver.url}/hook`);
    await page.getByRole('button', { name: 'Create channel' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: 'a notification channel named ops-webhook already exists' })
      .waitFor(wait);

    await down.getByRole('button', { name: /^Delete down-webhook/ }).click();
    await down.getByRole('button', { name: 'Delete down-webhook', exact: true }).click();
    await down.waitFor({ state: 'detached', ...wait });
  }, 120_000);

  it('lists those actions in the audit log, with filters and keyset pages in the URL', async () => {
    await page.goto(`${base}/settings/audit`);
    const table = page.getByRole('table', { name: 'Audit log' });
    await table.getByRole('row').nth(1).waitFor(wait);
    const actions = await table.locator('tbody tr td:nth-child(3)').allTextContents();
    for (const action of [
      'api_token.create',
      'api_token.revoke',
      'enrollment_token.create',
      'agent.enroll',
      'enrollment_token.revoke',
      'user.add',
      'user.role.change',
      'notification_channel.create',
      'notification_channel.test',
      'notification_channel.delete',
    ]) {
      expect(actions).toContain(action);
    }
    expect(await axeViolations(page)).toEqual([]);

    await page.getByLabel('Action').fill('api_token.*');
    await page.getByRole('button', { name: 'Filter' }).click();
    await page.waitForURL(/\?action=api_token\.\*$/, wait);
    // The previous page stays on screen until the filtered one arrives.
    await expect
      .poll(() => table.locator('tbody tr td:nth-child(3)').allTextContents(), wait)
      .toEqual(['api_token.revoke', 'api_token.create']);
    // One entry a page, to walk the keyset pages.
    await page.goto(`${base}/settings/audit?action=api_token.*&limit=1`);
    await table.getByRole('row', { name: /api_token\.revoke/ }).waitFor(wait);
    expect(await table.locator('tbody tr').count()).toBe(1);
    await page.getByRole('link', { name: 'Older entries →' }).click();
    await page.waitForURL(/cursor=/, wait);
    await table.getByRole('row', { name: /api_token\.create/ }).waitFor(wait);
    expect(await table.locator('tbody tr').count()).toBe(1);
    expect(await table.textContent()).toContain(admin.email);
    await page.getByRole('link', { name: '← Newest entries' }).click();
    await table.getByRole('row', { name: /api_token\.revoke/ }).waitFor(wait);
    expect(page.url()).not.toContain('cursor=');
    expect(pageErrors).toEqual([]);
  }, 120_000);

  it('fits every settings page into 390 px without sideways scrolling', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    try {
      for (const [route, table] of [
        ['api-tokens?revoked=true', 'API tokens'],
        ['enrollment-tokens', 'Enrollment tokens'],
        ['users', 'Users'],
        ['notification-channels', 'Notification channels'],
        ['audit', 'Audit log'],
      ] as const) {
        await page.goto(`${base}/settings/${route}`);
        await page.getByRole('table', { name: table }).waitFor(wait);
        expect(
          await page.evaluate(() => document.documentElement.scrollWidth),
          `${route} scrolls sideways`,
        ).toBeLessThanOrEqual(390);
      }
      // The secret shown once, too.
      await page.goto(`${base}/settings/enrollment-tokens`);
      await page.getByText('New enrollment token').click();
      await page.getByRole('button', { name: 'Create enrollment token' }).click();
      await page.getByRole('region', { name: 'Enrollment token created' }).waitFor(wait);
      expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(
        390,
      );
    } finally {
      await page.setViewportSize({ width: 1400, height: 900 });
    }
  }, 120_000);

  it('shows a viewer the settings without any control a viewer may not use', async () => {
    const viewerContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const viewerPage = await viewerContext.newPage();
      viewerPage.setDefaultTimeout(wait.timeout);
      await signIn(viewerPage, base, viewer.email, viewer.password);
      await viewerPage.goto(`${base}/settings`);
      await viewerPage.waitForURL(`${base}/settings/api-tokens`, wait);
      const menu = viewerPage.getByRole('navigation', { name: 'Settings' });
      await menu.getByRole('link').first().waitFor(wait);
      expect(await menu.getByRole('link').allTextContents()).toEqual([
        'API tokens',
        'Notification channels',
      ]);
      // A viewer may make a read token for themselves (the API allows it), nothing more.
      await viewerPage.getByText('New API token').click();
      expect(await viewerPage.getByRole('checkbox').count()).toBe(1);
      await viewerPage.getByRole('checkbox', { name: 'read' }).waitFor(wait);
      expect(await viewerPage.getByRole('button', { name: /Revoke/ }).count()).toBe(0);

      await menu.getByRole('link', { name: 'Notification channels' }).click();
      await viewerPage
        .getByRole('table', { name: 'Notification channels' })
        .getByRole('row', { name: /ops-webhook/ })
        .waitFor(wait);
      expect(await viewerPage.getByRole('button').allTextContents()).toEqual(['Sign out']);
      expect(await viewerPage.getByText('New notification channel').count()).toBe(0);
      expect(await axeViolations(viewerPage)).toEqual([]);

      for (const [route, heading, permission] of [
        ['enrollment-tokens', 'Enrollment tokens', 'write'],
        ['users', 'Users and roles', 'admin'],
        ['audit', 'Audit log', 'admin'],
      ] as const) {
        await viewerPage.goto(`${base}/settings/${route}`);
        await viewerPage.getByRole('heading', { name: heading, level: 1 }).waitFor(wait);
        expect(await viewerPage.locator('.notice').textContent()).toContain(
          `needs the ${permission} permission`,
        );
        expect(await viewerPage.getByRole('button').allTextContents()).toEqual(['Sign out']);
        expect(await viewerPage.getByRole('table').count()).toBe(0);
      }
      expect(await axeViolations(viewerPage)).toEqual([]);
    } finally {
      await viewerContext.close();
    }
  }, 120_000);
});
