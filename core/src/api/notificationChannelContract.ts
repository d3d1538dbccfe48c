import { z } from 'zod';
import { IsoDateTime, NotificationChannelName, Uuid } from './fieldContract.js';
import { Cursor, PageLimit, paginatedResponse } from './paginationContract.js';

/**
 * Notification channels of an organization (`/api/v1/notification-channels`) and the outbox of
 * what was sent through them. A channel's configuration is checked by the backend against its
 * kind's own schema (the kinds live in the backend, which knows each one's fields and secrets):
 * here it is only a JSON object. A channel as shown never holds a secret: only the non-secret
 * fields, and the names of the secret fields that are set.
 */

/** The kinds of channel; the backend's registry of kinds has exactly these (a test checks it). */
export const notificationChannelKinds = [
  'webhook',
  'slack',
  'email',
  'pagerduty',
  'teams',
] as const;
export const NotificationChannelKind = z.enum(notificationChannelKinds);
export type NotificationChannelKind = z.infer<typeof NotificationChannelKind>;

/** The most fields a configuration may have (every kind has fewer than ten). */
const maxConfigFields = 32;

/** A channel's configuration as sent: a JSON object, checked by the backend per kind. */
export const NotificationChannelConfig = z
  .record(z.string().max(64, 'a field name must be at most 64 characters'), z.unknown())
  .refine((config) => Object.keys(config).length <= maxConfigFields, {
    message: `must have at most ${maxConfigFields} fields`,
  });
export type NotificationChannelConfig = z.infer<typeof NotificationChannelConfig>;

/** A channel as shown: never a secret. */
export const NotificationChannel = z.object({
  id: Uuid,
  name: NotificationChannelName,
  kind: NotificationChannelKind,
  /** Receives the incidents of jobs whose `monitoring.notify` names no channel. */
  isDefault: z.boolean(),
  /** The non-secret fields of the configuration. */
  config: z.record(z.string(), z.unknown()),
  /** The secret fields that are set (their values are never shown after creation). */
  secretFieldsSet: z.array(z.string()),
  createdAt: IsoDateTime,
  updatedAt: IsoDateTime,
});
export type NotificationChannel = z.infer<typeof NotificationChannel>;

/** `GET /api/v1/notification-channels`: every channel of the organization, by name. */
export const ListNotificationChannelsResponse = z.object({ items: z.array(NotificationChannel) });
export type ListNotificationChannelsResponse = z.infer<typeof ListNotificationChannelsResponse>;

/** `POST /api/v1/notification-channels`. */
export const CreateNotificationChannelRequest = z.strictObject({
  name: NotificationChannelName,
  kind: NotificationChannelKind,
  isDefault: z.boolean().default(false),
  /** Every field of the kind, secrets included (docs/monitoring.md lists them). */
  config: NotificationChannelConfig,
});
export type CreateNotificationChannelRequest = z.infer<typeof CreateNotificationChannelRequest>;

/**
 * `PATCH /api/v1/notification-channels/:channelId`. `config` is a merge patch of the
 * configuration (RFC 7396, one level): a field given replaces the stored one, a field set to
 * null is removed, a field left out is kept. So a secret left out stays as it is, and a secret
 * given is replaced. The kind cannot change: create another channel.
 */
export const UpdateNotificationChannelRequest = z
  .strictObject({
    name: NotificationChannelName.optional(),
    isDefault: z.boolean().optional(),
    config: NotificationChannelConfig.optional(),
  })
  .refine(
    (update) =>
      update.name !== undefined || update.isDefault !== undefined || update.config !== undefined,
    { error: 'send name, isDefault, config, or several of them' },
  );
export type UpdateNotificationChannelRequest = z.infer<typeof UpdateNotificationChannelRequest>;

export const NotificationChannelPathParams = z.object({ channelId: Uuid });
export type NotificationChannelPathParams = z.infer<typeof NotificationChannelPathParams>;

/** `DELETE /api/v1/notification-channels/:channelId`: the channel as it was. */
export const DeletedNotificationChannel = NotificationChannel;

/** Where a delivery is: waiting for an attempt, delivered, or given up on. */
export const NotificationDeliveryStatus = z.enum(['pending', 'delivered', 'failed']);
export type NotificationDeliveryStatus = z.infer<typeof NotificationDeliveryStatus>;

/** One attempt to deliver, as it went. */
export const NotificationDeliveryAttempt = z.object({
  at: IsoDateTime,
  outcome: z.enum(['delivered', 'failed']),
  /** The receiver's HTTP status, or the SMTP reply code; null when no answer came. */
  status: z.number().int().nullable(),
  /** Why it failed, in a sentence (never a secret or a URL's path). */
  reason: z.string().nullable(),
  durationMs: z.number().int().min(0),
});
export type NotificationDeliveryAttempt = z.infer<typeof NotificationDeliveryAttempt>;

/** One notification sent (or being sent) through one channel. */
export const NotificationDelivery = z.object({
  id: z.number().int().min(1),
  channelId: Uuid,
  /** null for a test message. */
  incidentId: Uuid.nullable(),
  event: z.string(),
  /** The same on every attempt: the webhook-id, the email's Message-ID. */
  idempotencyKey: z.string(),
  status: NotificationDeliveryStatus,
  createdAt: IsoDateTime,
  /** When the next attempt is due (pending only). */
  nextAttemptAt: IsoDateTime.nullable(),
  lastAttemptAt: IsoDateTime.nullable(),
  deliveredAt: IsoDateTime.nullable(),
  lastError: z.string().nullable(),
  lastStatus: z.number().int().nullable(),
  /** Every attempt, oldest first. */
  attempts: z.array(NotificationDeliveryAttempt),
});
export type NotificationDelivery = z.infer<typeof NotificationDelivery>;

/** `GET /api/v1/notification-channels/:channelId/deliveries` query: newest first. */
export const ListNotificationDeliveriesQuery = z.object({
  status: NotificationDeliveryStatus.optional(),
  limit: PageLimit,
  cursor: Cursor.optional(),
});
export type ListNotificationDeliveriesQuery = z.infer<typeof ListNotificationDeliveriesQuery>;

export const ListNotificationDeliveriesResponse = paginatedResponse(NotificationDelivery);
export type ListNotificationDeliveriesResponse = z.infer<typeof ListNotificationDeliveriesResponse>;

/**
 * `POST /api/v1/notification-channels/:channelId/test`: a test message, sent at once and tried
 * once (never retried later), recorded as a delivery without an incident.
 */
export const TestNotificationChannelResponse = z.object({
  outcome: z.enum(['delivered', 'failed']),
  /** Why it failed, in a sentence; null when delivered. */
  reason: z.string().nullable(),
  /** Whether the receiver's failure looked temporary (a timeout, a 5xx); null when delivered. */
  retryable: z.boolean().nullable(),
  delivery: NotificationDelivery,
});
export type TestNotificationChannelResponse = z.infer<typeof TestNotificationChannelResponse>;
