import { z } from 'zod';
import { defineChannelKind } from './channelKind.js';
import { postAndClassify } from './httpDeliveryResult.js';
import type { Notification } from './notification.js';
import { displayableTail, factsOf, summaryOf } from './notificationText.js';

/**
 * A Microsoft Teams channel through a Workflows (Power Automate) webhook — "Post to a channel when
 * a webhook request is received" — which takes a message whose attachment is an Adaptive Card.
 * The workflow answers 202 Accepted.
 */

export const TeamsConfig = z.strictObject({
  /** The workflow's HTTP POST URL; its `sig` query parameter is the credential. */
  webhookUrl: z.url({ protocol: /^https?$/, message: 'must be the https:// URL of the workflow' }),
});
export type TeamsConfig = z.output<typeof TeamsConfig>;

const tailLimit = 4000;

/**
 * Adaptive Card TextBlocks and FactSet values read a small Markdown subset: **bold**, _italic_,
 * [links](…), and lists at the start of a line. A job's text must show as written, so exactly
 * those marks are escaped with a backslash, and nothing else: Teams clients have differed in how
 * they show escapes, so a name like nightly-db-backup is left untouched. The output tail is a
 * RichTextBlock TextRun instead, which Markdown never touches and whose newlines stay newlines.
 */
export function escapeCardMarkdown(text: string): string {
  return text
    .replace(/[\\*_[\]]/g, '\\$&')
    .replace(/^(\s*)([-+#>])(?=\s)/gm, '$1\\$2')
    .replace(/^(\s*)(\d+)\.(?=\s)/gm, '$1$2\\.');
}

export function teamsMessageOf(notification: Notification) {
  const body: unknown[] = [
    {
      type: 'TextBlock',
      text: escapeCardMarkdown(summaryOf(notification)),
      size: 'Large',
      weight: 'Bolder',
      wrap: true,
      style: 'heading',
    },
    {
      type: 'FactSet',
      facts: factsOf(notification).map((fact) => ({
        title: fact.label,
        value: escapeCardMarkdown(fact.value),
      })),
    },
  ];
  if (notification.outputTail !== undefined && notification.outputTail !== '') {
    body.push(
      { type: 'TextBlock', text: 'Last output', weight: 'Bolder', wrap: true },
      {
        type: 'RichTextBlock',
        inlines: [
          {
            type: 'TextRun',
            text: displayableTail(notification.outputTail, tailLimit),
            fontType: 'Monospace',
          },
        ],
      },
    );
  }
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          body,
          actions: [
            { type: 'Action.OpenUrl', title: 'Open in Cronfleet', url: notification.dashboardUrl },
          ],
        },
      },
    ],
  };
}

export const teamsChannel = defineChannelKind({
  label: 'Microsoft Teams (workflow webhook)',
  configSchema: TeamsConfig,
  secretFields: ['webhookUrl'],
  async deliver(notification, config, context) {
    return postAndClassify(context, {
      url: config.webhookUrl,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(teamsMessageOf(notification)),
    });
  },
});
