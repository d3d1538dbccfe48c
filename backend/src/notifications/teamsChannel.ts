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
 * Adaptive Card TextBlocks read a subset of Markdown; a job's text must not turn into links or
 * emphasis, so Markdown's punctuation is escaped with a backslash.
 */
export function escapeCardMarkdown(text: string): string {
  return text.replace(/[\\`*_{}[\]()#+\-.!|>~<]/g, '\\$&');
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
        type: 'TextBlock',
        text: escapeCardMarkdown(displayableTail(notification.outputTail, tailLimit)),
        fontType: 'Monospace',
        wrap: true,
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
