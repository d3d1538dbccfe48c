import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { apiRoutes, notificationChannelKinds } from '@cronfleet/core/api';
import { eq, sql } from 'drizzle-orm';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { auditLog, notificationChannels } from '../../src/db/schema.js';
import { channelKindNames } from '../../src/notifications/channelRegistry.js';
import { call } from '../agentTestCalls.js';
import { seedOrganization, seedUser } from '../seed.js';
import type { ReceivedRequest, Receiver } from './notificationFixtures.js';
import { startReceiver } from './notificationFixtures.js';
import { startNotificationTestApp, type NotificationTestApp } from './notificationTestApp.js';

/**
 * The notification channel routes end to end through the real app: create, list, change, test
 * and delete channels, as each role; secrets never in an answer, the audit log or the log; a
 * configuration that does not fit its kind is a 400 that says where.
 */

const signingSecret = `whsec_${randomBytes(32).toString('base64')}`;
const rotatedSecret = `whsec_${randomBytes(32).toString('base64')}`;
const slackUrl = `http://127.0.0.1:1/services/T000/B000/${randomBytes(12).toString('hex')}`;
const smtpPassword = `smtp-${randomBytes(9).toString('hex')}`;

let app: NotificationTestApp;
let receiver: Receiver;
let smtp: SMTPServer;
let smtpPort: number;
const mails: { user: string | undefined; raw: string }[] = [];
const tokens = { admin: '', operator: '', viewer: '', otherAdmin: '' };

function verify(request: ReceivedRequest, secret: string): boolean {
  const id = request.headers['webhook-id'];
  const timestamp = request.headers['webhook-timestamp'];
  const signatures = request.headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') {
    return false;
  }
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest();
  return signatures.split(' ').some((entry) => {
    const [version, encoded] = entry.split(',', 2);
    if (version !== 'v1' || encoded === undefined) return false;
    const given = Buffer.from(encoded, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}

beforeAll(async () => {
  app = await startNotificationTestApp();
  receiver = await startReceiver((_request, response) => {
    response.writeHead(200).end('ok');
  });
  smtp = new SMTPServer({
    disabledCommands: ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'cronfleet' && auth.password === smtpPassword) {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      }
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
  smtpPort = (smtp.server.address() as { port: number }).port;
  const organization = await seedOrganization(app.database, 'Channel Org');
  const other = await seedOrganization(app.database, 'Other Org');
  tokens.admin = (await seedUser(app.database, organization, 'admin')).token;
  tokens.operator = (await seedUser(app.database, organization, 'operator')).token;
  tokens.viewer = (await seedUser(app.database, organization, 'viewer')).token;
  tokens.otherAdmin = (await seedUser(app.database, other, 'admin')).token;
});

afterAll(async () => {
  await receiver?.close();
  await new Promise<void>((resolve) => (smtp === undefined ? resolve() : smtp.close(resolve)));
  await app?.close();
});

const channelsPath = apiRoutes.listNotificationChannels.path;
const channelPath = (id: string) => `${channelsPath}/${id}`;

function expectNoSecret(value: unknown, what: string): void {
  const text = JSON.stringify(value);
  for (const secret of [signingSecret, rotatedSecret, slackUrl, smtpPassword]) {
    expect(text.includes(secret), `${what} shows a secret`).toBe(false);
  }
  // The URL's secret path, even without its origin.
  expect(text.includes('/services/T000/'), `${what} shows the Slack URL's path`).toBe(false);
}

describe('notification channel routes', () => {
  let webhookId = '';
  let emailId = '';
  let slackId = '';

  it('knows the same kinds in core and in the backend registry', () => {
    expect([...notificationChannelKinds].sort()).toEqual([...channelKindNames].sort());
  });

  it('creates channels as an admin, showing which secrets are set but never their values', async () => {
    const webhook = await call(app, 'POST', channelsPath, tokens.admin, {
      name: 'ops-webhook',
      kind: 'webhook',
      isDefault: true,
      config: { url: receiver.url, signingSecret },
    });
    expect(webhook.status, JSON.stringify(webhook.body)).toBe(201);
    expect(webhook.body).toMatchObject({
      name: 'ops-webhook',
      kind: 'webhook',
      isDefault: true,
      config: { url: receiver.url },
      secretFieldsSet: ['signingSecret'],
    });
    webhookId = webhook.body.id;

    const email = await call(app, 'POST', channelsPath, tokens.admin, {
      name: 'dba-mail',
      kind: 'email',
      config: {
        host: '127.0.0.1',
        port: smtpPort,
        security: 'none',
        username: 'cronfleet',
        password: smtpPassword,
        from: 'cronfleet@example.com',
        to: ['dba@example.com'],
      },
    });
    expect(email.status, JSON.stringify(email.body)).toBe(201);
    expect(email.body.secretFieldsSet).toEqual(['password']);
    expect(email.body.config).toMatchObject({ host: '127.0.0.1', username: 'cronfleet' });
    emailId = email.body.id;

    const slack = await call(app, 'POST', channelsPath, tokens.admin, {
      name: 'team-slack',
      kind: 'slack',
      config: { webhookUrl: slackUrl },
    });
    expect(slack.status, JSON.stringify(slack.body)).toBe(201);
    expect(slack.body.config).toEqual({});
    slackId = slack.body.id;

    for (const answer of [webhook, email, slack]) expectNoSecret(answer.body, 'a created channel');
  });

  it('stores the secrets sealed: the table holds no secret in clear', async () => {
    const rows = await app.database.db.select().from(notificationChannels);
    expectNoSecret(rows, 'the notification_channels table');
    const webhook = rows.find((row) => row.name === 'ops-webhook');
    expect(webhook?.sealedSecrets).toMatch(/"signingSecret":"cfsec1\./);
  });

  it('lists channels by name to every role, never a secret, and nothing to another organization', async () => {
    for (const token of [tokens.viewer, tokens.operator, tokens.admin]) {
      const list = await call(app, 'GET', channelsPath, token);
      expect(list.status).toBe(200);
      expect(list.body.items.map((item: { name: string }) => item.name)).toEqual([
        'dba-mail',
        'ops-webhook',
        'team-slack',
      ]);
      expectNoSecret(list.body, 'the channel list');
    }
    const other = await call(app, 'GET', channelsPath, tokens.otherAdmin);
    expect(other.body.items).toEqual([]);
    expect(
      (await call(app, 'GET', `${channelPath(webhookId)}/deliveries`, tokens.otherAdmin)).status,
    ).toBe(404);
  });

  it('lets only admins create, change and delete, and operators test', async () => {
    const body = { name: 'nope', kind: 'slack', config: { webhookUrl: slackUrl } };
    for (const token of [tokens.viewer, tokens.operator]) {
      expect((await call(app, 'POST', channelsPath, token, body)).status).toBe(403);
      expect(
        (await call(app, 'PATCH', channelPath(webhookId), token, { isDefault: false })).status,
      ).toBe(403);
      expect((await call(app, 'DELETE', channelPath(webhookId), token)).status).toBe(403);
    }
    expect((await call(app, 'POST', `${channelPath(slackId)}/test`, tokens.viewer)).status).toBe(
      403,
    );
    expect(
      (await call(app, 'PATCH', channelPath(webhookId), tokens.otherAdmin, { isDefault: false }))
        .status,
    ).toBe(404);
  });

  it('answers a configuration that does not fit its kind with a located 400, never a 500', async () => {
    const cases: [unknown, string][] = [
      [{ name: 'bad-1', kind: 'webhook', config: { url: 'ftp://x', signingSecret } }, 'config.url'],
      [{ name: 'bad-2', kind: 'webhook', config: { url: receiver.url } }, 'config.signingSecret'],
      [
        { name: 'bad-3', kind: 'webhook', config: { url: receiver.url, signingSecret: 'hunter2' } },
        'config.signingSecret',
      ],
      [
        { name: 'bad-4', kind: 'email', config: { host: 'x', from: 'a@b.c', to: ['nope'] } },
        'config.to[0]',
      ],
      [{ name: 'bad-5', kind: 'slack', config: { webhookUrl: slackUrl, extra: 1 } }, 'config'],
      [{ name: 'bad-6', kind: 'sms', config: {} }, 'kind'],
      [{ name: 'Bad Name', kind: 'slack', config: { webhookUrl: slackUrl } }, 'name'],
      [{ name: '-x', kind: 'slack', config: { webhookUrl: slackUrl } }, 'name'],
      [{ name: 'x'.repeat(64), kind: 'slack', config: { webhookUrl: slackUrl } }, 'name'],
      [{ name: 'ok-name', kind: 'slack', config: 'https://hooks.slack.com' }, 'config'],
      [{ name: 'ok-name', kind: 'slack', config: [1, 2] }, 'config'],
      [{ name: 'ok-name', kind: 'slack', config: { webhookUrl: slackUrl }, extra: true }, '(root)'],
      [
        { name: 'ok-name', kind: 'slack', config: { webhookUrl: { $ne: null } } },
        'config.webhookUrl',
      ],
      [
        { name: 'ok-name', kind: 'pagerduty', config: { routingKey: '\u0000'.repeat(32) } },
        'config.routingKey',
      ],
    ];
    for (const [body, path] of cases) {
      const answer = await call(app, 'POST', channelsPath, tokens.admin, body);
      const shown = `${JSON.stringify(body).slice(0, 120)}: ${answer.status} ${JSON.stringify(answer.body)}`;
      expect(answer.status, shown).toBe(400);
      expect(answer.body.error.code, shown).toBe('validation_failed');
      const paths = (answer.body.error.details as { path: string }[]).map((issue) => issue.path);
      expect(
        paths.some((found) => found.startsWith(path)),
        shown,
      ).toBe(true);
      expectNoSecret(answer.body, 'a validation error');
    }
    const hostile = await fetch(`${app.baseUrl}${channelsPath}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' },
      body: '{"name":',
    });
    expect(hostile.status).toBe(400);
    const list = await call(app, 'GET', channelsPath, tokens.admin);
    expect(list.body.items).toHaveLength(3);
  });

  it('refuses a second channel of the same name with a 409', async () => {
    const again = await call(app, 'POST', channelsPath, tokens.admin, {
      name: 'team-slack',
      kind: 'slack',
      config: { webhookUrl: slackUrl },
    });
    expect(again.status).toBe(409);
    const rename = await call(app, 'PATCH', channelPath(emailId), tokens.admin, {
      name: 'team-slack',
    });
    expect(rename.status).toBe(409);
  });

  it('changes a configuration as a merge patch: a secret left out is kept, one given is replaced', async () => {
    const moved = await call(app, 'PATCH', channelPath(webhookId), tokens.admin, {
      config: { url: `${receiver.url}?v=2` },
    });
    expect(moved.status, JSON.stringify(moved.body)).toBe(200);
    expect(moved.body.config.url).toBe(`${receiver.url}?v=2`);
    expect(moved.body.secretFieldsSet).toEqual(['signingSecret']);

    // The secret kept: a test is still signed with it.
    const tested = await call(app, 'POST', `${channelPath(webhookId)}/test`, tokens.operator);
    expect(tested.status, JSON.stringify(tested.body)).toBe(200);
    expect(tested.body.outcome).toBe('delivered');
    const last = receiver.requests.at(-1);
    expect(last && verify(last, signingSecret)).toBe(true);

    // Rotation: the new secret, the old one as previous; then the previous removed with null.
    const rotated = await call(app, 'PATCH', channelPath(webhookId), tokens.admin, {
      config: { signingSecret: rotatedSecret, previousSigningSecret: signingSecret },
    });
    expect(rotated.body.secretFieldsSet).toEqual(['previousSigningSecret', 'signingSecret']);
    await call(app, 'POST', `${channelPath(webhookId)}/test`, tokens.admin);
    const both = receiver.requests.at(-1);
    expect(both && verify(both, rotatedSecret) && verify(both, signingSecret)).toBe(true);
    const done = await call(app, 'PATCH', channelPath(webhookId), tokens.admin, {
      config: { previousSigningSecret: null },
    });
    expect(done.body.secretFieldsSet).toEqual(['signingSecret']);
    await call(app, 'POST', `${channelPath(webhookId)}/test`, tokens.admin);
    const after = receiver.requests.at(-1);
    expect(after && verify(after, rotatedSecret)).toBe(true);
    expect(after && verify(after, signingSecret)).toBe(false);

    // A patch that breaks the configuration changes nothing.
    const broken = await call(app, 'PATCH', channelPath(webhookId), tokens.admin, {
      config: { signingSecret: null },
    });
    expect(broken.status).toBe(400);
    expect(broken.body.error.details[0].path).toBe('config.signingSecret');
    const name = await call(app, 'PATCH', channelPath(webhookId), tokens.admin, {
      isDefault: false,
      name: 'ops-hook',
    });
    expect(name.body).toMatchObject({ name: 'ops-hook', isDefault: false });
    expect((await call(app, 'PATCH', channelPath(webhookId), tokens.admin, {})).status).toBe(400);
    for (const answer of [moved, tested, rotated, done, broken, name]) {
      expectNoSecret(answer.body, 'a changed channel');
    }
  });

  it('sends a test email through a real SMTP server, with the secret password', async () => {
    const tested = await call(app, 'POST', `${channelPath(emailId)}/test`, tokens.operator);
    expect(tested.status, JSON.stringify(tested.body)).toBe(200);
    expect(tested.body).toMatchObject({ outcome: 'delivered', reason: null });
    expect(tested.body.delivery).toMatchObject({
      incidentId: null,
      event: 'test',
      status: 'delivered',
      attempts: [{ outcome: 'delivered', status: 250 }],
    });
    expect(mails).toHaveLength(1);
    expect(mails[0]?.user).toBe('cronfleet');
    expect(mails[0]?.raw).toContain('the notification channel dba-mail');
  });

  it('answers a failed test with its reason, tries it once, and lists it among the deliveries', async () => {
    // Port 1 on loopback: nothing listens; a connection refused is retryable, but a test is not retried.
    const tested = await call(app, 'POST', `${channelPath(slackId)}/test`, tokens.admin);
    expect(tested.status, JSON.stringify(tested.body)).toBe(200);
    expect(tested.body.outcome).toBe('failed');
    expect(tested.body.reason).toEqual(expect.any(String));
    expect(tested.body.delivery.status).toBe('failed');
    expect(tested.body.delivery.attempts).toHaveLength(1);
    expectNoSecret(tested.body, 'a failed test');

    const deliveries = await call(app, 'GET', `${channelPath(slackId)}/deliveries`, tokens.viewer);
    expect(deliveries.status).toBe(200);
    expect(deliveries.body.items).toHaveLength(1);
    expect(deliveries.body.items[0]).toMatchObject({
      status: 'failed',
      event: 'test',
      nextAttemptAt: null,
    });
  });

  it('pages deliveries newest first, filters them by status', async () => {
    const pages: number[][] = [];
    let cursor: string | null = null;
    do {
      const query: string = `?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`;
      const page = await call(
        app,
        'GET',
        `${channelPath(webhookId)}/deliveries${query}`,
        tokens.viewer,
      );
      expect(page.status).toBe(200);
      pages.push(page.body.items.map((item: { id: number }) => item.id));
      cursor = page.body.nextCursor;
    } while (cursor !== null);
    const ids = pages.flat();
    expect(ids).toHaveLength(3);
    expect([...ids].sort((a, b) => b - a)).toEqual(ids);
    const failed = await call(
      app,
      'GET',
      `${channelPath(webhookId)}/deliveries?status=failed`,
      tokens.viewer,
    );
    expect(failed.body.items).toEqual([]);
    const bad = await call(
      app,
      'GET',
      `${channelPath(webhookId)}/deliveries?cursor=abc`,
      tokens.viewer,
    );
    expect(bad.status).toBe(400);
  });

  it('audits every change with the non-secret fields, never a secret', async () => {
    const entries = await app.database.db
      .select()
      .from(auditLog)
      .where(sql`${auditLog.action} like 'notification_channel.%'`);
    const actions = entries.map((entry) => entry.action);
    expect(actions.filter((action) => action === 'notification_channel.create')).toHaveLength(3);
    expect(actions).toContain('notification_channel.update');
    expect(actions).toContain('notification_channel.test');
    const rotation = entries.find(
      (entry) =>
        entry.action === 'notification_channel.update' &&
        (entry.details.secretFieldsChanged as string[]).includes('previousSigningSecret'),
    );
    expect(rotation?.details.secretFieldsChanged).toEqual([
      'previousSigningSecret',
      'signingSecret',
    ]);
    expectNoSecret(entries, 'the audit log');
  });

  it('deletes a channel with its deliveries, audited', async () => {
    const deleted = await call(app, 'DELETE', channelPath(slackId), tokens.admin);
    expect(deleted.status).toBe(200);
    expect(deleted.body.name).toBe('team-slack');
    expect((await call(app, 'DELETE', channelPath(slackId), tokens.admin)).status).toBe(404);
    expect(
      (await call(app, 'GET', `${channelPath(slackId)}/deliveries`, tokens.admin)).status,
    ).toBe(404);
    const left = await app.database.rows<{ count: number }>(
      sql`select count(*)::int as count from notification_deliveries where channel_id = ${slackId}::uuid`,
    );
    expect(left[0]?.count).toBe(0);
    const [entry] = await app.database.db
      .select()
      .from(auditLog)
      .where(eq(auditLog.action, 'notification_channel.delete'));
    expect(entry?.targetId).toBe(slackId);
  });

  it('wrote no secret to the log', () => {
    expect(app.logLines.length).toBeGreaterThan(0);
    expectNoSecret(app.logLines.join('\n'), 'the log');
  });
});
