import { z } from 'zod';
import { defineChannelKind } from './channelKind.js';
import { bodyExcerpt, postAndClassify } from './httpDeliveryResult.js';
import type { Notification } from './notification.js';
import { displayableTail, factsOf, shortened, summaryOf } from './notificationText.js';

/**
 * A Slack incoming webhook. The message is Block Kit: a header, the facts as section fields, the
 * output tail in a code block, and a button to the dashboard; `text` is the fallback that
 * notifications and old clients show. Slack answers 200 "ok", or an error word in the body
 * (invalid_payload, no_service, channel_is_archived…), which the failure reason quotes.
 */

export const SlackConfig = z.strictObject({
  /** https://hooks.slack.com/services/…: the URL is the credential. */
  webhookUrl: z.url({ protocol: /^https?$/, message: 'must be the https:// URL Slack gave' }),
});
export type SlackConfig = z.output<typeof SlackConfig>;

/** Slack's mrkdwn needs only &, < and > escaped; the rest of a text is shown as written. */
export function escapeSlackText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

// Block Kit limits: header text 150, a field 2000, a section text 3000 characters.
const headerLimit = 150;
const fieldLimit = 1900;
const tailLimit = 2800;

export function slackMessageOf(notification: Notification) {
  const summary = summaryOf(notification);
  const blocks: unknown[] = [
    {
      type: 'header',
      text: { type: 'plain_text', text: shortened(summary, headerLimit), emoji: false },
    },
    {
      type: 'section',
      fields: factsOf(notification).map((fact) => ({
        type: 'mrkdwn',
        text: shortened(`*${fact.label}*\n${escapeSlackText(fact.value)}`, fieldLimit),
      })),
    },
  ];
  if (notification.outputTail !== undefined && notification.outputTail !== '') {
    // A code block cannot escape ```, so a run of backticks in the output is broken up.
    const tail = escapeSlackText(displayableTail(notification.outputTail, tailLimit)).replace(
      /```/g,
      '`\u200b`\u200b`',
    );
    blocks.push({
      type: 'section',
      text: { type: 'mrkdwn', text: `*Last output*\n\`\`\`${tail}\`\`\`` },
    });
  }
  blocks.push({
    type: 'actions',
    elements: [
      {
        type: 'button',
        text: { type: 'plain_text', text: 'Open in Cronfleet' },
        url: notification.dashboardUrl,
      },
    ],
  });
  return { text: escapeSlackText(summary), blocks };
}

export const slackChannel = defineChannelKind({
  label: 'Slack (incoming webhook)',
  configSchema: SlackConfig,
  secretFields: ['webhookUrl'],
  async deliver(notification, config, context) {
    return postAndClassify(
      context,
      {
        url: config.webhookUrl,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(slackMessageOf(notification)),
      },
      (response) => bodyExcerpt(response.body),
    );
  },
});
