import { z } from 'zod';
import { defineChannelKind } from './channelKind.js';
import { postAndClassify } from './httpDeliveryResult.js';
import type { Notification } from './notification.js';
import { displayableTail, shortened, summaryOf } from './notificationText.js';

/**
 * PagerDuty Events API v2: `trigger` when an incident opens or is updated, `resolve` when it is
 * resolved, all with one dedup_key per incident, so PagerDuty keeps one alert per Cronfleet
 * incident and closes it. The routing key (an Events v2 integration key) is the secret.
 */

export const pagerDutySeverities = ['critical', 'error', 'warning', 'info'] as const;

export const PagerDutyConfig = z.strictObject({
  routingKey: z
    .string()
    .regex(
      /^[A-Za-z0-9]{32}$/,
      'must be the 32-character integration key of an Events API v2 integration',
    ),
  severity: z.enum(pagerDutySeverities).default('error'),
  /** The EU service region uses https://events.eu.pagerduty.com/v2/enqueue. */
  eventsUrl: z.url({ protocol: /^https?$/ }).default('https://events.pagerduty.com/v2/enqueue'),
});
export type PagerDutyConfig = z.output<typeof PagerDutyConfig>;

/** The same for every event of one incident. */
export function pagerDutyDedupKey(notification: Notification): string {
  return `cronfleet-incident-${notification.incident.id}`;
}

export function pagerDutyEventOf(notification: Notification, config: PagerDutyConfig) {
  const dedupKey = pagerDutyDedupKey(notification);
  if (notification.event === 'incident.resolved') {
    return { routing_key: config.routingKey, event_action: 'resolve', dedup_key: dedupKey };
  }
  return {
    routing_key: config.routingKey,
    event_action: 'trigger',
    dedup_key: dedupKey,
    payload: {
      summary: shortened(summaryOf(notification), 1024),
      source: notification.agent.name,
      severity: config.severity,
      timestamp: notification.occurredAt,
      component:
        notification.job === undefined
          ? undefined
          : `${notification.job.namespace}/${notification.job.name}`,
      group: notification.job?.namespace,
      class: notification.incident.kind,
      custom_details: {
        expected: notification.expected,
        happened: notification.happened,
        output_tail:
          notification.outputTail === undefined
            ? undefined
            : displayableTail(notification.outputTail, 8000),
        incident_id: notification.incident.id,
        agent_id: notification.agent.id,
        opened_at: notification.incident.openedAt,
      },
    },
    client: 'Cronfleet',
    client_url: notification.dashboardUrl,
    links: [{ href: notification.dashboardUrl, text: 'Open in Cronfleet' }],
  };
}

export const pagerDutyChannel = defineChannelKind({
  label: 'PagerDuty (Events API v2)',
  configSchema: PagerDutyConfig,
  secretFields: ['routingKey'],
  async deliver(notification, config, context) {
    return postAndClassify(
      context,
      {
        url: config.eventsUrl,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(pagerDutyEventOf(notification, config)),
      },
      (response) => {
        // PagerDuty explains a 400 in {"status","message","errors":[…]}.
        try {
          const answer = JSON.parse(response.body) as { message?: unknown; errors?: unknown };
          const errors = Array.isArray(answer.errors) ? answer.errors.join('; ') : '';
          const words = [answer.message, errors].filter(
            (part) => typeof part === 'string' && part !== '',
          );
          return words.length === 0 ? undefined : shortened(words.join(': '), 200);
        } catch {
          return undefined;
        }
      },
    );
  },
});
