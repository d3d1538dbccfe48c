import type { NotificationChannelKind } from '@cronfleet/core/contract';

/**
 * The fields of each channel kind, for the create form. The backend checks a configuration
 * against its kind's own schema (backend/src/notifications/*Channel.ts, docs/monitoring.md) and
 * its message is shown as is; these say what to type and which fields are secret.
 */
export interface ChannelField {
  key: string;
  label: string;
  type: 'text' | 'url' | 'number' | 'select' | 'list';
  required?: boolean;
  secret?: boolean;
  /** Filled with a new random value (the webhook's signing secret). */
  generate?: boolean;
  options?: readonly string[];
  defaultValue?: string;
  placeholder?: string;
}

export const channelKindForms: Record<
  NotificationChannelKind,
  { label: string; about: string; fields: readonly ChannelField[] }
> = {
  webhook: {
    label: 'Webhook (signed JSON POST)',
    about:
      'POSTs a JSON body signed as Standard Webhooks do (webhook-id, webhook-timestamp, webhook-signature headers).',
    fields: [
      {
        key: 'url',
        label: 'URL',
        type: 'url',
        required: true,
        placeholder: 'https://hooks.example.com/cronfleet',
      },
      {
        key: 'signingSecret',
        label: 'Signing secret (whsec_ and base64)',
        type: 'text',
        required: true,
        secret: true,
        generate: true,
      },
    ],
  },
  slack: {
    label: 'Slack (incoming webhook)',
    about: 'Posts to the channel of a Slack incoming webhook; its URL is the credential.',
    fields: [
      {
        key: 'webhookUrl',
        label: 'Webhook URL',
        type: 'url',
        required: true,
        secret: true,
        placeholder: 'https://hooks.slack.com/services/…',
      },
    ],
  },
  teams: {
    label: 'Microsoft Teams (workflow)',
    about:
      "Posts an Adaptive Card to a Teams workflow's HTTP URL; its sig parameter is the credential.",
    fields: [
      {
        key: 'webhookUrl',
        label: 'Workflow URL',
        type: 'url',
        required: true,
        secret: true,
        placeholder: 'https://…logic.azure.com/…',
      },
    ],
  },
  email: {
    label: 'E-mail (SMTP)',
    about: 'Sends a text and HTML e-mail through your SMTP server.',
    fields: [
      {
        key: 'host',
        label: 'SMTP host',
        type: 'text',
        required: true,
        placeholder: 'smtp.example.com',
      },
      { key: 'port', label: 'Port', type: 'number', defaultValue: '587' },
      {
        key: 'security',
        label: 'Security (starttls: port 587; tls: port 465; none: a trusted relay)',
        type: 'select',
        options: ['starttls', 'tls', 'none'],
        defaultValue: 'starttls',
      },
      { key: 'username', label: 'User name (optional)', type: 'text' },
      { key: 'password', label: 'Password (with a user name)', type: 'text', secret: true },
      {
        key: 'from',
        label: 'From',
        type: 'text',
        required: true,
        placeholder: 'cronfleet@example.com',
      },
      {
        key: 'to',
        label: 'To (addresses separated by commas or spaces)',
        type: 'list',
        required: true,
        placeholder: 'ops@example.com',
      },
    ],
  },
  pagerduty: {
    label: 'PagerDuty (Events API v2)',
    about: 'Triggers and resolves an alert per incident through an Events API v2 integration.',
    fields: [
      {
        key: 'routingKey',
        label: 'Integration (routing) key, 32 characters',
        type: 'text',
        required: true,
        secret: true,
      },
      {
        key: 'severity',
        label: 'Severity',
        type: 'select',
        options: ['critical', 'error', 'warning', 'info'],
        defaultValue: 'error',
      },
      {
        key: 'eventsUrl',
        label: 'Events URL (EU region: https://events.eu.pagerduty.com/v2/enqueue)',
        type: 'url',
        placeholder: 'https://events.pagerduty.com/v2/enqueue',
      },
    ],
  },
};

/** A new webhook signing secret: `whsec_` and 32 random bytes in base64, as the backend's. */
export function newWebhookSecret(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `whsec_${btoa(String.fromCharCode(...bytes))}`;
}
