import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelKindName } from '../../src/notifications/channelRegistry.js';
import {
  deliverNotification,
  parseChannelConfig,
} from '../../src/notifications/channelRegistry.js';
import { Notification } from '../../src/notifications/notification.js';
import { escapeCardMarkdown } from '../../src/notifications/teamsChannel.js';
import { generateWebhookSecret, signWebhook } from '../../src/notifications/webhookChannel.js';
import type { ReceivedRequest, Receiver } from './notificationFixtures.js';
import {
  failingNotification,
  resolvedNotification,
  startReceiver,
  testContext,
} from './notificationFixtures.js';

/** Each HTTP channel kind against a real receiver on 127.0.0.1 that checks what arrived. */

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(...args: Parameters<typeof startReceiver>) {
  const started = await startReceiver(...args);
  receivers.push(started);
  return started;
}

const ok =
  (status = 200, body = 'ok') =>
  (_request: ReceivedRequest, response: ServerResponse) => {
    response.writeHead(status, { 'content-type': 'text/plain' }).end(body);
  };

/**
 * The receiver's check, written from the Standard Webhooks spec (not from the sender's code): the
 * three headers present; the timestamp within 5 minutes of the receiver's clock; the key is the
 * base64 after `whsec_`; HMAC-SHA256 over `id.timestamp.body`; any one of the space-separated
 * `v1,` signatures matching, compared in constant time.
 */
function verifyStandardWebhook(
  request: ReceivedRequest,
  secret: string,
  nowSeconds: number,
): { valid: true } | { valid: false; why: string } {
  const id = request.headers['webhook-id'];
  const timestamp = request.headers['webhook-timestamp'];
  const signatures = request.headers['webhook-signature'];
  if (typeof id !== 'string' || typeof timestamp !== 'string' || typeof signatures !== 'string') {
    return { valid: false, why: 'missing header' };
  }
  if (!/^\d+$/.test(timestamp) || Math.abs(nowSeconds - Number(timestamp)) > 5 * 60) {
    return { valid: false, why: 'timestamp outside tolerance' };
  }
  if (!secret.startsWith('whsec_')) return { valid: false, why: 'secret format' };
  const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.${request.body}`).digest();
  for (const entry of signatures.split(' ')) {
    const [version, encoded] = entry.split(',', 2);
    if (version !== 'v1' || encoded === undefined) continue;
    const given = Buffer.from(encoded, 'base64');
    if (given.length === expected.length && timingSafeEqual(given, expected))
      return { valid: true };
  }
  return { valid: false, why: 'no signature matches' };
}

describe('webhook (Standard Webhooks)', () => {
  const sentAt = new Date('2026-12-02T07:00:09.000Z');
  const sentAtSeconds = sentAt.getTime() / 1000;

  it('matches the published Standard Webhooks test vector, as does the verifier here', () => {
    // The vector the reference libraries (Svix's and others) test against.
    const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
    const id = 'msg_p5jXN8AQM9LWM0D4loKWxJek';
    const body = '{"test": 2432232314}';
    const expected = 'v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=';
    expect(signWebhook(secret, id, 1614265330, body)).toBe(expected);
    const request: ReceivedRequest = {
      method: 'POST',
      url: '/',
      headers: {
        'webhook-id': id,
        'webhook-timestamp': '1614265330',
        'webhook-signature': expected,
      },
      body,
    };
    expect(verifyStandardWebhook(request, secret, 1614265330)).toEqual({ valid: true });
    expect(
      parseChannelConfig('webhook', { url: 'https://x.example/', signingSecret: secret }).success,
    ).toBe(true);
  });

  it('sends a signed JSON body that an independent verifier accepts', async () => {
    const secret = generateWebhookSecret();
    const hook = await receiver(ok(204, ''));
    const result = await deliverNotification(
      'webhook',
      failingNotification,
      { url: hook.url, signingSecret: secret },
      testContext({}, () => sentAt),
    );
    expect(result).toEqual({ outcome: 'delivered', status: 204 });
    const request = hook.requests[0] as ReceivedRequest;
    expect(request.method).toBe('POST');
    expect(request.headers['content-type']).toBe('application/json');
    expect(request.headers['webhook-id']).toBe(failingNotification.idempotencyKey);
    expect(request.headers['webhook-timestamp']).toBe(String(sentAtSeconds));
    expect(request.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/);
    expect(verifyStandardWebhook(request, secret, sentAtSeconds)).toEqual({ valid: true });

    const payload = JSON.parse(request.body);
    expect(payload).toEqual({
      type: 'incident.opened',
      timestamp: failingNotification.occurredAt,
      data: {
        incident: failingNotification.incident,
        job: failingNotification.job,
        agent: failingNotification.agent,
        expected: failingNotification.expected,
        happened: failingNotification.happened,
        outputTail: failingNotification.outputTail,
        dashboardUrl: failingNotification.dashboardUrl,
      },
    });
  });

  it('fails verification for a changed body, another secret, or a stale timestamp', async () => {
    const secret = generateWebhookSecret();
    const hook = await receiver(ok());
    await deliverNotification(
      'webhook',
      failingNotification,
      { url: hook.url, signingSecret: secret },
      testContext({}, () => sentAt),
    );
    const request = hook.requests[0] as ReceivedRequest;
    const altered = { ...request, body: request.body.replace('db-1', 'db-2') };
    expect(verifyStandardWebhook(altered, secret, sentAtSeconds)).toMatchObject({ valid: false });
    expect(verifyStandardWebhook(request, generateWebhookSecret(), sentAtSeconds)).toMatchObject({
      valid: false,
    });
    expect(verifyStandardWebhook(request, secret, sentAtSeconds + 3600)).toEqual({
      valid: false,
      why: 'timestamp outside tolerance',
    });
  });

  it('signs with both secrets during a rotation, so a receiver with either verifies', async () => {
    const current = generateWebhookSecret();
    const previous = generateWebhookSecret();
    const hook = await receiver(ok());
    await deliverNotification(
      'webhook',
      failingNotification,
      { url: hook.url, signingSecret: current, previousSigningSecret: previous },
      testContext({}, () => sentAt),
    );
    const request = hook.requests[0] as ReceivedRequest;
    expect(String(request.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verifyStandardWebhook(request, current, sentAtSeconds)).toEqual({ valid: true });
    expect(verifyStandardWebhook(request, previous, sentAtSeconds)).toEqual({ valid: true });
    expect(verifyStandardWebhook(request, generateWebhookSecret(), sentAtSeconds)).toMatchObject({
      valid: false,
    });
  });

  it('keeps webhook-id across retries and signs each attempt with its own timestamp', async () => {
    const secret = generateWebhookSecret();
    let attempts = 0;
    const hook = await receiver((_request, response) => {
      attempts += 1;
      if (attempts === 1) response.writeHead(503, { 'retry-after': '120' }).end('busy');
      else response.end('ok');
    });
    const config = { url: hook.url, signingSecret: secret };
    const first = await deliverNotification(
      'webhook',
      failingNotification,
      config,
      testContext({}, () => sentAt),
    );
    expect(first).toEqual({
      outcome: 'failed',
      retryable: true,
      status: 503,
      reason: 'the receiver answered 503: busy',
      retryAfterSeconds: 120,
    });
    const later = new Date(sentAt.getTime() + 120_000);
    const second = await deliverNotification(
      'webhook',
      failingNotification,
      config,
      testContext({}, () => later),
    );
    expect(second).toEqual({ outcome: 'delivered', status: 200 });
    const [one, two] = hook.requests as [ReceivedRequest, ReceivedRequest];
    expect(two.headers['webhook-id']).toBe(one.headers['webhook-id']);
    expect(two.headers['webhook-timestamp']).toBe(String(sentAtSeconds + 120));
    expect(two.body).toBe(one.body);
    expect(verifyStandardWebhook(two, secret, sentAtSeconds + 120)).toEqual({ valid: true });
  });

  it.each([
    [404, false],
    [410, false],
    [400, false],
    [408, true],
    [429, true],
    [500, true],
    [502, true],
  ])('an answer of %i is a failure, retryable: %s', async (status, retryable) => {
    const hook = await receiver(ok(status, 'nope'));
    const result = await deliverNotification(
      'webhook',
      failingNotification,
      { url: hook.url, signingSecret: generateWebhookSecret() },
      testContext(),
    );
    expect(result).toMatchObject({ outcome: 'failed', status, retryable });
  });

  it('refuses secrets that are not whsec_ base64 of 24 to 64 bytes, and URLs with credentials', () => {
    const url = 'https://hooks.example.com/cronfleet';
    expect(
      parseChannelConfig('webhook', { url, signingSecret: generateWebhookSecret() }).success,
    ).toBe(true);
    for (const signingSecret of [
      'secret',
      `whsec_${Buffer.alloc(16).toString('base64')}`,
      `whsec_${Buffer.alloc(65).toString('base64')}`,
      'whsec_***',
    ]) {
      expect(parseChannelConfig('webhook', { url, signingSecret }).success, signingSecret).toBe(
        false,
      );
    }
    expect(
      parseChannelConfig('webhook', {
        url: 'https://user:pw@hooks.example.com/',
        signingSecret: generateWebhookSecret(),
      }).success,
    ).toBe(false);
  });
});

describe('Slack (incoming webhook, Block Kit)', () => {
  it('posts Block Kit blocks: a header, the facts, the output tail as code, a dashboard button', async () => {
    const slack = await receiver(ok(200, 'ok'), '/services/T000/B000/XXXXSECRET');
    const result = await deliverNotification(
      'slack',
      failingNotification,
      { webhookUrl: slack.url },
      testContext(),
    );
    expect(result).toEqual({ outcome: 'delivered', status: 200 });
    const message = JSON.parse((slack.requests[0] as ReceivedRequest).body);
    expect(message.text).toBe('Failing: production/nightly-db-backup on db-1');
    const [header, facts, output, actions] = message.blocks;
    expect(header).toEqual({
      type: 'header',
      text: {
        type: 'plain_text',
        text: 'Failing: production/nightly-db-backup on db-1',
        emoji: false,
      },
    });
    expect(facts.type).toBe('section');
    const fieldTexts = facts.fields.map((field: { type: string; text: string }) => field.text);
    expect(fieldTexts).toContain('*Job*\nproduction/nightly-db-backup');
    expect(fieldTexts).toContain('*Agent*\ndb-1');
    // mrkdwn control characters from a job's text are escaped.
    expect(fieldTexts).toContain(
      '*What happened*\n2 runs in a row exited 3 &lt;the last at 02:00 America/New_York&gt;',
    );
    expect(output.text.type).toBe('mrkdwn');
    expect(output.text.text).toMatch(/^\*Last output\*\n```pg_dump: error/);
    expect(output.text.text).toContain('FATAL: password authentication failed'); // escapes stripped
    expect(output.text.text).toContain('&amp; &lt;script&gt;');
    expect(output.text.text.match(/```/g)).toHaveLength(2); // the tail's own ``` is broken up
    expect(actions).toEqual({
      type: 'actions',
      elements: [
        {
          type: 'button',
          text: { type: 'plain_text', text: 'Open in Cronfleet' },
          url: failingNotification.dashboardUrl,
        },
      ],
    });
  });

  it("quotes Slack's error word, and never the webhook URL's secret path", async () => {
    const slack = await receiver(ok(404, 'no_service'), '/services/T000/B000/XXXXSECRET');
    const result = await deliverNotification(
      'slack',
      resolvedNotification,
      { webhookUrl: slack.url },
      testContext(),
    );
    expect(result).toEqual({
      outcome: 'failed',
      retryable: false,
      status: 404,
      reason: 'the receiver answered 404: no_service',
    });
    expect(JSON.stringify(result)).not.toContain('XXXXSECRET');
  });
});

describe('Microsoft Teams (workflow webhook, Adaptive Card)', () => {
  it('posts a message whose attachment is an Adaptive Card with the facts, the output and a link', async () => {
    const teams = await receiver(
      ok(202, ''),
      '/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG',
    );
    const result = await deliverNotification(
      'teams',
      failingNotification,
      { webhookUrl: teams.url },
      testContext(),
    );
    expect(result).toEqual({ outcome: 'delivered', status: 202 });
    const request = teams.requests[0] as ReceivedRequest;
    expect(request.url).toBe('/workflows/abc/triggers/manual/paths/invoke?sig=SECRETSIG');
    const message = JSON.parse(request.body);
    expect(message.type).toBe('message');
    expect(message.attachments).toHaveLength(1);
    const attachment = message.attachments[0];
    expect(attachment.contentType).toBe('application/vnd.microsoft.card.adaptive');
    const card = attachment.content;
    expect(card).toMatchObject({ type: 'AdaptiveCard', version: '1.4' });
    expect(card.$schema).toBe('http://adaptivecards.io/schemas/adaptive-card.json');
    const [title, factSet, outputLabel, output] = card.body;
    expect(title).toMatchObject({ type: 'TextBlock', weight: 'Bolder', wrap: true });
    expect(title.text).toBe('Failing: production/nightly-db-backup on db-1');
    expect(factSet.type).toBe('FactSet');
    expect(factSet.facts[0]).toEqual({ title: 'Job', value: 'production/nightly-db-backup' });
    expect(outputLabel).toMatchObject({ type: 'TextBlock', text: 'Last output' });
    // The output is a TextRun: plain text, newlines kept, nothing escaped.
    expect(output.type).toBe('RichTextBlock');
    expect(output.inlines).toHaveLength(1);
    expect(output.inlines[0]).toMatchObject({ type: 'TextRun', fontType: 'Monospace' });
    expect(output.inlines[0].text).toContain(
      'connection to server failed\nFATAL: password authentication failed for user "backup" & <script>',
    );
    expect(card.actions).toEqual([
      { type: 'Action.OpenUrl', title: 'Open in Cronfleet', url: failingNotification.dashboardUrl },
    ]);
  });
});

describe('escapeCardMarkdown', () => {
  it('escapes the marks Adaptive Cards read, and nothing else', () => {
    expect(escapeCardMarkdown('**bold** _it_ [a](https://x.example) back\\slash')).toBe(
      '\\*\\*bold\\*\\* \\_it\\_ \\[a\\](https://x.example) back\\\\slash',
    );
    expect(escapeCardMarkdown('- item\n  + sub\n12. twelfth\n# head\nnightly-db-backup 1.5')).toBe(
      '\\- item\n  \\+ sub\n12\\. twelfth\n\\# head\nnightly-db-backup 1.5',
    );
  });
});

describe('PagerDuty (Events API v2)', () => {
  const routingKey = 'R0UT1NGKEY0123456789abcdefABCDEF';

  it('triggers on open and resolves on resolve, with one dedup_key per incident', async () => {
    const pagerDuty = await receiver((request, response) => {
      const event = JSON.parse(request.body);
      response.writeHead(202, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: 'success',
          message: 'Event processed',
          dedup_key: event.dedup_key,
        }),
      );
    }, '/v2/enqueue');
    const config = { routingKey, eventsUrl: pagerDuty.url };
    expect(
      await deliverNotification('pagerduty', failingNotification, config, testContext()),
    ).toEqual({
      outcome: 'delivered',
      status: 202,
    });
    const updated = {
      ...failingNotification,
      idempotencyKey: 'ntf_update',
      event: 'incident.updated' as const,
    };
    await deliverNotification('pagerduty', updated, config, testContext());
    await deliverNotification('pagerduty', resolvedNotification, config, testContext());

    const [trigger, again, resolve] = pagerDuty.requests.map((request) => JSON.parse(request.body));
    expect(trigger).toEqual({
      routing_key: routingKey,
      event_action: 'trigger',
      dedup_key: 'cronfleet-incident-inc_8f14e45fceea167a',
      payload: {
        summary: 'Failing: production/nightly-db-backup on db-1',
        source: 'db-1',
        severity: 'error',
        timestamp: failingNotification.occurredAt,
        component: 'production/nightly-db-backup',
        group: 'production',
        class: 'failing',
        custom_details: {
          expected: failingNotification.expected,
          happened: failingNotification.happened,
          output_tail: expect.stringContaining('FATAL: password authentication failed'),
          incident_id: 'inc_8f14e45fceea167a',
          agent_id: 'agt_3c59dc048e88',
          opened_at: failingNotification.incident.openedAt,
        },
      },
      client: 'Cronfleet',
      client_url: failingNotification.dashboardUrl,
      links: [{ href: failingNotification.dashboardUrl, text: 'Open in Cronfleet' }],
    });
    expect(again.event_action).toBe('trigger');
    expect(again.dedup_key).toBe(trigger.dedup_key);
    expect(resolve).toEqual({
      routing_key: routingKey,
      event_action: 'resolve',
      dedup_key: trigger.dedup_key,
    });
  });

  it("quotes PagerDuty's explanation of a 400, not retryable; a 429 is retryable", async () => {
    let answer = 400;
    const pagerDuty = await receiver((_request, response) => {
      response.writeHead(answer, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          status: 'invalid event',
          message: 'Event object is invalid',
          errors: ['Length of routing_key is incorrect'],
        }),
      );
    });
    const config = { routingKey, eventsUrl: pagerDuty.url };
    expect(
      await deliverNotification('pagerduty', failingNotification, config, testContext()),
    ).toEqual({
      outcome: 'failed',
      retryable: false,
      status: 400,
      reason:
        'the receiver answered 400: Event object is invalid: Length of routing_key is incorrect',
    });
    answer = 429;
    expect(
      await deliverNotification('pagerduty', failingNotification, config, testContext()),
    ).toMatchObject({
      outcome: 'failed',
      retryable: true,
      status: 429,
    });
  });

  it('defaults to the US events endpoint and the error severity', () => {
    const parsed = parseChannelConfig('pagerduty', { routingKey });
    expect(parsed.success && parsed.data).toEqual({
      routingKey,
      severity: 'error',
      eventsUrl: 'https://events.pagerduty.com/v2/enqueue',
    });
    expect(parseChannelConfig('pagerduty', { routingKey: 'short' }).success).toBe(false);
  });
});

describe('the registry', () => {
  it('has a notification schema that the examples pass and a dotted idempotency key fails', () => {
    expect(Notification.safeParse(failingNotification).success).toBe(true);
    expect(Notification.safeParse(resolvedNotification).success).toBe(true);
    const dotted = { ...failingNotification, idempotencyKey: 'msg.1' };
    expect(Notification.safeParse(dotted).success).toBe(false);
  });

  it.each<[ChannelKindName, Record<string, unknown>]>([
    ['webhook', { url: 'http://10.0.0.1/hook', signingSecret: generateWebhookSecret() }],
    ['slack', { webhookUrl: 'http://169.254.169.254/services/x' }],
    ['teams', { webhookUrl: 'http://[fd00::1]/invoke' }],
    [
      'pagerduty',
      { routingKey: 'R0UT1NGKEY0123456789abcdefABCDEF', eventsUrl: 'http://10.0.0.1/v2/enqueue' },
    ],
  ])('%s goes through the outbound guard', async (kind, config) => {
    const result = await deliverNotification(kind, failingNotification, config, testContext());
    expect(result).toMatchObject({ outcome: 'failed', retryable: false });
    expect(result.outcome === 'failed' && result.reason).toContain(
      'which notifications may not reach',
    );
  });

  it('answers an invalid stored configuration as a failure that needs a person, naming the field', async () => {
    const result = await deliverNotification(
      'slack',
      failingNotification,
      { webhookUrl: 'not a url' },
      testContext(),
    );
    expect(result).toMatchObject({ outcome: 'failed', retryable: false });
    expect(result.outcome === 'failed' && result.reason).toMatch(
      /^the channel's configuration is invalid: webhookUrl: /,
    );
  });
});
