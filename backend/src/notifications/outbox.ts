import { and, eq, inArray } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { notificationChannels, notificationDeliveries } from '../db/schema.js';
import { Notification } from './notification.js';

/**
 * The notification outbox. Whoever changes an incident writes its notifications here, in the
 * same transaction, one row per channel; the delivery worker (deliveryWorker.ts) sends them. A
 * notification is thus sent if and only if the change that caused it committed, and replaying
 * the change (another replica making the same transition, a retried transaction) writes nothing
 * twice: a row is unique per (channel, idempotency key).
 */

/**
 * The channels an incident of a job with this monitoring.notify goes to: the named channels of
 * the organization, else (notify empty) its default channels. unknownNames: names no channel has.
 * When notify names only unknown channels, the incident goes to the default channels, so that a
 * typo in a manifest never leaves a problem unreported.
 */
export async function channelsFor(
  db: Database,
  organizationId: string,
  notify: readonly string[],
): Promise<{ channelIds: string[]; unknownNames: string[] }> {
  const names = [...new Set(notify)];
  if (names.length > 0) {
    const named = await db
      .select({ id: notificationChannels.id, name: notificationChannels.name })
      .from(notificationChannels)
      .where(
        and(
          eq(notificationChannels.organizationId, organizationId),
          inArray(notificationChannels.name, names),
        ),
      );
    const idOf = new Map(named.map((channel) => [channel.name, channel.id]));
    const channelIds = names.flatMap((name) => idOf.get(name) ?? []);
    const unknownNames = names.filter((name) => !idOf.has(name));
    if (channelIds.length > 0) return { channelIds, unknownNames };
    return { channelIds: await defaultChannelIds(db, organizationId), unknownNames };
  }
  return { channelIds: await defaultChannelIds(db, organizationId), unknownNames: [] };
}

async function defaultChannelIds(db: Database, organizationId: string): Promise<string[]> {
  const rows = await db
    .select({ id: notificationChannels.id })
    .from(notificationChannels)
    .where(
      and(
        eq(notificationChannels.organizationId, organizationId),
        eq(notificationChannels.isDefault, true),
      ),
    )
    .orderBy(notificationChannels.name);
  return rows.map((row) => row.id);
}

/**
 * Writes one pending delivery per channel (idempotent on (channel, idempotencyKey): a replay
 * inserts nothing). Channels of another organization, and channels deleted meanwhile, are
 * skipped. The notification is checked against its schema first: one that does not parse is a
 * bug of the caller, thrown here rather than failing at every delivery attempt.
 */
export async function enqueueNotification(
  db: Database,
  input: {
    organizationId: string;
    incidentId: string | null;
    channelIds: readonly string[];
    notification: Notification;
    now: Date;
  },
): Promise<void> {
  if (input.channelIds.length === 0) return;
  const notification = Notification.parse(input.notification);
  const channels = await db
    .select({ id: notificationChannels.id })
    .from(notificationChannels)
    .where(
      and(
        eq(notificationChannels.organizationId, input.organizationId),
        inArray(notificationChannels.id, [...new Set(input.channelIds)]),
      ),
    );
  if (channels.length === 0) return;
  await db
    .insert(notificationDeliveries)
    .values(
      channels.map((channel) => ({
        organizationId: input.organizationId,
        channelId: channel.id,
        incidentId: input.incidentId,
        event: notification.event,
        idempotencyKey: notification.idempotencyKey,
        payload: notification as unknown as Record<string, unknown>,
        status: 'pending' as const,
        nextAttemptAt: input.now,
        createdAt: input.now,
      })),
    )
    .onConflictDoNothing({
      target: [notificationDeliveries.channelId, notificationDeliveries.idempotencyKey],
    });
}
