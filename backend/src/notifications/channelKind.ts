import type { Logger } from 'pino';
import type { z } from 'zod';
import type { Notification } from './notification.js';
import type { OutboundClient } from './outboundHttp.js';

/** What a channel kind answers for one delivery attempt. It never throws. */
export type DeliveryResult =
  | {
      outcome: 'delivered';
      /** The receiver's status: HTTP status, or the SMTP reply code for email. */
      status?: number;
    }
  | {
      outcome: 'failed';
      /** Worth trying again later (a timeout, a 5xx, a 429); false needs a person (a 404, a bad key). */
      retryable: boolean;
      status?: number;
      /** Short, for a person; never a secret, a URL path or a query. */
      reason: string;
      /** What the receiver asked for in Retry-After, when it did. */
      retryAfterSeconds?: number;
    };

/** What a delivery may use besides the notification and the channel's configuration. */
export interface DeliveryContext {
  /** The guarded HTTP client; SMTP uses its address check too. */
  readonly outbound: OutboundClient;
  readonly now: () => Date;
  /** Never given a secret or a channel's configuration. */
  readonly logger: Logger;
}

/**
 * One kind of notification channel. Its configuration is checked by `configSchema`; the fields
 * named in `secretFields` are encrypted at rest and never shown after creation.
 */
export interface ChannelKind<Schema extends z.ZodType> {
  readonly label: string;
  readonly configSchema: Schema;
  readonly secretFields: readonly (keyof z.output<Schema> & string)[];
  deliver(
    notification: Notification,
    config: z.output<Schema>,
    context: DeliveryContext,
  ): Promise<DeliveryResult>;
}

/** Keeps a kind's literal types while checking it against ChannelKind. */
export function defineChannelKind<Schema extends z.ZodType>(
  kind: ChannelKind<Schema>,
): ChannelKind<Schema> {
  return kind;
}
