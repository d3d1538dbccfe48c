import { createHmac, randomBytes } from 'node:crypto';
import { z } from 'zod';
import { defineChannelKind } from './channelKind.js';
import { postAndClassify } from './httpDeliveryResult.js';
import type { Notification } from './notification.js';

/**
 * A webhook signed per the Standard Webhooks spec (v1, symmetric): the headers webhook-id (the
 * notification's idempotency key, the same on every retry), webhook-timestamp (the attempt's Unix
 * seconds) and webhook-signature (`v1,` + base64 of HMAC-SHA256 over `id.timestamp.body`, keyed
 * with the base64-decoded part of the `whsec_` secret).
 */

const secretPrefix = 'whsec_';

/** A new signing secret: `whsec_` and 32 random bytes in base64 (the spec asks 24 to 64). */
export function generateWebhookSecret(): string {
  return secretPrefix + randomBytes(32).toString('base64');
}

const SigningSecret = z.string().refine(
  (text) => {
    if (!text.startsWith(secretPrefix)) return false;
    const encoded = text.slice(secretPrefix.length);
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(encoded)) return false;
    const bytes = Buffer.from(encoded, 'base64').length;
    return bytes >= 24 && bytes <= 64;
  },
  { message: 'must be whsec_ followed by base64 of 24 to 64 random bytes' },
);

export const WebhookConfig = z.strictObject({
  url: z
    .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
    .refine((url) => new URL(url).username === '' && new URL(url).password === '', {
      message: 'must not carry a user name or password; the signature authenticates deliveries',
    }),
  signingSecret: SigningSecret,
  /**
   * While a receiver moves to a new secret: the old one, so each delivery carries both signatures
   * (space-separated, as the spec allows) and the receiver may check either. Remove it afterwards.
   */
  previousSigningSecret: SigningSecret.optional(),
});
export type WebhookConfig = z.output<typeof WebhookConfig>;

/** The body a webhook receives: the spec's recommended {type, timestamp, data}. */
export function webhookPayloadOf(notification: Notification) {
  return {
    type: notification.event,
    timestamp: notification.occurredAt,
    data: {
      incident: notification.incident,
      job: notification.job ?? null,
      agent: notification.agent,
      expected: notification.expected,
      happened: notification.happened,
      outputTail: notification.outputTail ?? null,
      dashboardUrl: notification.dashboardUrl,
    },
  };
}

/** `v1,<base64>` for one message. */
export function signWebhook(
  secret: string,
  id: string,
  timestampSeconds: number,
  body: string,
): string {
  const key = Buffer.from(secret.slice(secretPrefix.length), 'base64');
  const mac = createHmac('sha256', key)
    .update(`${id}.${timestampSeconds}.${body}`)
    .digest('base64');
  return `v1,${mac}`;
}

export const webhookChannel = defineChannelKind({
  label: 'Webhook (Standard Webhooks)',
  configSchema: WebhookConfig,
  secretFields: ['signingSecret', 'previousSigningSecret'],
  async deliver(notification, config, context) {
    const body = JSON.stringify(webhookPayloadOf(notification));
    const timestamp = Math.floor(context.now().getTime() / 1000);
    const id = notification.idempotencyKey;
    return postAndClassify(context, {
      url: config.url,
      headers: {
        'content-type': 'application/json',
        'webhook-id': id,
        'webhook-timestamp': String(timestamp),
        'webhook-signature': [config.signingSecret, config.previousSigningSecret]
          .filter((secret) => secret !== undefined)
          .map((secret) => signWebhook(secret, id, timestamp, body))
          .join(' '),
      },
      body,
    });
  },
});
