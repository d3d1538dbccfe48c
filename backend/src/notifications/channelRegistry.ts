import { z } from 'zod';
import type { ChannelKind, DeliveryContext, DeliveryResult } from './channelKind.js';
import { emailChannel } from './emailChannel.js';
import type { Notification } from './notification.js';
import { pagerDutyChannel } from './pagerDutyChannel.js';
import { slackChannel } from './slackChannel.js';
import { teamsChannel } from './teamsChannel.js';
import { webhookChannel } from './webhookChannel.js';

/**
 * Every kind of notification channel, by the name stored with a channel. Adding a kind is one
 * module and one line here; nothing else branches on the kind.
 */
export const channelKinds = {
  webhook: webhookChannel,
  slack: slackChannel,
  email: emailChannel,
  pagerduty: pagerDutyChannel,
  teams: teamsChannel,
} as const;

export type ChannelKindName = keyof typeof channelKinds;
export const channelKindNames = Object.keys(channelKinds) as ChannelKindName[];
export const ChannelKindName = z.enum(channelKindNames as [ChannelKindName, ...ChannelKindName[]]);

/** A kind as code that does not know which one it holds sees it. */
type AnyChannelKind = ChannelKind<z.ZodType<Record<string, unknown>>>;

export function channelKindOf(name: ChannelKindName): AnyChannelKind {
  return channelKinds[name] as unknown as AnyChannelKind;
}

/** Checks a channel's configuration for its kind: the parsed configuration, or zod's issues. */
export function parseChannelConfig(name: ChannelKindName, input: unknown) {
  return channelKindOf(name).configSchema.safeParse(input);
}

/**
 * Delivers one notification through a channel whose configuration is `config` (secrets already
 * opened). Never throws: a configuration that no longer parses, or a bug, is a failed result; a
 * bug's stack goes to the log, never the configuration.
 */
export async function deliverNotification(
  name: ChannelKindName,
  notification: Notification,
  config: unknown,
  context: DeliveryContext,
): Promise<DeliveryResult> {
  const kind = channelKindOf(name);
  const parsed = kind.configSchema.safeParse(config);
  if (!parsed.success) {
    const where = parsed.error.issues
      .map((issue) => `${issue.path.join('.') || '(configuration)'}: ${issue.message}`)
      .join('; ');
    return {
      outcome: 'failed',
      retryable: false,
      reason: `the channel's configuration is invalid: ${where}`,
    };
  }
  try {
    return await kind.deliver(notification, parsed.data, context);
  } catch (error) {
    context.logger.error({ err: error, kind: name }, 'notification delivery failed unexpectedly');
    return { outcome: 'failed', retryable: true, reason: 'an internal error; see the backend log' };
  }
}
