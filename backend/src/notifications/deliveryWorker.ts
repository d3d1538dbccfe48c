import { performance } from 'node:perf_hooks';
import { and, eq, sql } from 'drizzle-orm';
import pLimit from 'p-limit';
import type { Logger } from 'pino';
import type { DatabaseHandle } from '../db/database.js';
import {
  notificationAttempts,
  notificationChannels,
  notificationDeliveries,
} from '../db/schema.js';
import type { AppContext } from '../http/appContext.js';
import { startPeriodicTask, type PeriodicTask } from '../workers/periodicTask.js';
import type { DeliveryResult } from './channelKind.js';
import { deliverNotification } from './channelRegistry.js';
import {
  createNotificationRuntime,
  kindOfRow,
  openConfig,
  type NotificationRuntime,
} from './channelStorage.js';
import { Notification } from './notification.js';

/**
 * Sends what the outbox holds. Each pass claims the pending deliveries that are due, a batch at a
 * time, with FOR UPDATE SKIP LOCKED, and moves their next_attempt_at a lease ahead in the same
 * statement: any number of replicas claim disjoint rows, and a replica that dies mid-delivery
 * leaves its rows to be claimed again when the lease ends. Each claimed delivery is attempted
 * (its channel's secrets opened for that attempt only), the attempt is recorded, and then the
 * delivery is delivered, failed for good (the receiver refused it in a way that needs a person),
 * or set to be tried again after a backoff: 30 s doubling to at most an hour, with jitter, never
 * sooner than the receiver's Retry-After, for up to 24 hours after it was written.
 *
 * The outcome is written only while the claim is still this replica's (next_attempt_at is still
 * the lease it set): a replica whose lease ran out while it waited on a slow receiver does not
 * overwrite the outcome of the replica that claimed the row after it. Such a row was then sent
 * twice, which is why every delivery carries its idempotency key (webhook-id, Message-ID,
 * PagerDuty's dedup_key) for receivers to drop the repeat.
 */

/** How long a delivery is given up on after it was written. */
export const deliveryGiveUpAfterMs = 24 * 3_600_000;
const firstRetryDelayMs = 30_000;
const maxRetryDelayMs = 3_600_000;
/** Each wait is spread by up to ± this fraction, so that retries of one outage do not bunch. */
const retryJitter = 0.2;

/**
 * The wait before the next attempt after `attempts` failed ones (1 for the first failure):
 * 30 s, 60 s, 120 s, … at most an hour, jittered, and at least the receiver's Retry-After.
 */
export function retryDelayMs(
  attempts: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number {
  const exponential = Math.min(
    maxRetryDelayMs,
    firstRetryDelayMs * 2 ** Math.min(Math.max(attempts - 1, 0), 20),
  );
  const jittered = exponential * (1 + retryJitter * (2 * random() - 1));
  return Math.round(Math.max(jittered, (retryAfterSeconds ?? 0) * 1000));
}

export interface DeliveryWorkerOptions {
  /** Time between passes; default 5 s. */
  intervalMs?: number;
  /** Delay of the first pass; default a random part of the first tenth of the interval. */
  initialDelayMs?: number;
  /** How long a claim keeps other replicas off a delivery; default 2 minutes. */
  leaseMs?: number;
  /** Deliveries claimed per statement; default 50. */
  batchSize?: number;
  /** Deliveries attempted at once by this replica; default 8. */
  concurrency?: number;
}

const defaults = { leaseMs: 120_000, batchSize: 50, concurrency: 8 } as const;

type DeliveryRow = typeof notificationDeliveries.$inferSelect;

/** A delivery this replica holds: `leaseUntil` is the next_attempt_at its claim set. */
export interface ClaimedDelivery {
  readonly delivery: DeliveryRow;
  readonly leaseUntil: Date;
}

/** What became of one attempt. */
export interface AttemptOutcome {
  readonly result: DeliveryResult;
  readonly status: 'pending' | 'delivered' | 'failed';
  /** The delivery as it is after the attempt; undefined when the claim was lost meanwhile. */
  readonly delivery: DeliveryRow | undefined;
}

/** Claims up to `batchSize` due pending deliveries for `leaseMs`, oldest due first. */
export async function claimDueDeliveries(
  database: DatabaseHandle,
  options: { now: Date; leaseMs: number; batchSize: number },
): Promise<ClaimedDelivery[]> {
  const nowText = options.now.toISOString();
  const leaseUntil = new Date(options.now.getTime() + options.leaseMs);
  const ids = await database.rows<{ id: number | string }>(sql`
    update notification_deliveries set next_attempt_at = ${leaseUntil.toISOString()}::timestamptz
    from (
      select id from notification_deliveries
      where status = 'pending' and next_attempt_at <= ${nowText}::timestamptz
      order by next_attempt_at
      limit ${options.batchSize}
      for update skip locked
    ) as due
    where notification_deliveries.id = due.id
    returning notification_deliveries.id`);
  if (ids.length === 0) return [];
  const rows = await database.db
    .select()
    .from(notificationDeliveries)
    .where(
      sql`${notificationDeliveries.id} in (${sql.join(
        ids.map((row) => sql`${Number(row.id)}`),
        sql`, `,
      )})`,
    );
  return rows.map((delivery) => ({ delivery, leaseUntil }));
}

/**
 * Attempts one claimed delivery and records it. `retry: false` (a channel's test message) makes
 * a retryable failure final too.
 */
export async function attemptDelivery(
  context: Pick<AppContext, 'database' | 'now'>,
  runtime: NotificationRuntime,
  logger: Logger,
  claimed: ClaimedDelivery,
  options: { retry: boolean; random?: () => number } = { retry: true },
): Promise<AttemptOutcome> {
  const { db } = context.database;
  const { delivery } = claimed;
  const startedAt = context.now();
  const started = performance.now();
  const result = await attemptOnce(context, runtime, logger, delivery);
  const durationMs = Math.max(0, Math.round(performance.now() - started));
  const now = context.now();
  const attempts = delivery.attempts + 1;

  let status: AttemptOutcome['status'];
  let nextAttemptAt = claimed.leaseUntil;
  let lastError: string | null = null;
  if (result.outcome === 'delivered') {
    status = 'delivered';
  } else {
    const deadline = new Date(delivery.createdAt.getTime() + deliveryGiveUpAfterMs);
    if (!result.retryable || !options.retry) {
      status = 'failed';
      lastError = result.reason;
    } else if (now.getTime() >= deadline.getTime()) {
      status = 'failed';
      lastError = `gave up 24 hours after the notification was written; last: ${result.reason}`;
    } else {
      status = 'pending';
      lastError = result.reason;
      const next = now.getTime() + retryDelayMs(attempts, result.retryAfterSeconds, options.random);
      // The last try falls on the deadline rather than never.
      nextAttemptAt = new Date(Math.min(next, deadline.getTime()));
    }
  }

  const updated = await db.transaction(async (tx) => {
    const [row] = await tx
      .update(notificationDeliveries)
      .set({
        status,
        attempts,
        nextAttemptAt,
        lastAttemptAt: startedAt,
        lastStatus: result.status ?? null,
        lastError,
        ...(status === 'delivered' ? { deliveredAt: now } : {}),
      })
      .where(
        and(
          eq(notificationDeliveries.id, delivery.id),
          eq(notificationDeliveries.status, 'pending'),
          // Still this replica's claim: see the module's comment.
          eq(notificationDeliveries.nextAttemptAt, claimed.leaseUntil),
        ),
      )
      .returning();
    if (row === undefined) return undefined;
    await tx.insert(notificationAttempts).values({
      deliveryId: delivery.id,
      at: startedAt,
      outcome: result.outcome,
      status: result.status ?? null,
      reason: result.outcome === 'failed' ? result.reason : null,
      durationMs,
    });
    return row;
  });
  if (updated === undefined) {
    logger.warn(
      { deliveryId: delivery.id, outcome: result.outcome },
      'a notification delivery outlived its claim; the replica that claimed it next decides its outcome',
    );
  }
  return { result, status, delivery: updated };
}

/** Opens the channel's secrets and delivers; every failure is a result, never a throw. */
async function attemptOnce(
  context: Pick<AppContext, 'database' | 'now'>,
  runtime: NotificationRuntime,
  logger: Logger,
  delivery: DeliveryRow,
): Promise<DeliveryResult> {
  const [channel] = await context.database.db
    .select()
    .from(notificationChannels)
    .where(eq(notificationChannels.id, delivery.channelId));
  if (channel === undefined) {
    return { outcome: 'failed', retryable: false, reason: 'the channel was deleted' };
  }
  const notification = Notification.safeParse(delivery.payload);
  if (!notification.success) {
    return {
      outcome: 'failed',
      retryable: false,
      reason: 'the stored notification does not match the notification schema',
    };
  }
  let config: Record<string, unknown>;
  try {
    config = openConfig(channel, await runtime.secretBox());
  } catch (error) {
    // A key that cannot be read, or another key than the one that sealed the secrets: a person
    // fixes the configuration, and the delivery goes out within the day.
    logger.error(
      { err: error, channelId: channel.id, deliveryId: delivery.id },
      "a notification channel's secrets cannot be opened",
    );
    return {
      outcome: 'failed',
      retryable: true,
      reason: `the channel's secrets cannot be opened: ${(error as Error).message}`,
    };
  }
  return deliverNotification(kindOfRow(channel), notification.data, config, {
    outbound: runtime.outbound,
    now: context.now,
    logger,
  });
}

export interface DeliveryPassResult {
  claimed: number;
  delivered: number;
  retrying: number;
  failed: number;
}

/**
 * One pass: claims and attempts batches until a claim comes back short (or `shouldStop`), at most
 * `concurrency` attempts at a time.
 */
export async function deliverDueNotifications(
  context: Pick<AppContext, 'database' | 'now'>,
  runtime: NotificationRuntime,
  logger: Logger,
  options: DeliveryWorkerOptions & { shouldStop?: () => boolean; random?: () => number } = {},
): Promise<DeliveryPassResult> {
  const leaseMs = options.leaseMs ?? defaults.leaseMs;
  const batchSize = options.batchSize ?? defaults.batchSize;
  const limit = pLimit(options.concurrency ?? defaults.concurrency);
  const total: DeliveryPassResult = { claimed: 0, delivered: 0, retrying: 0, failed: 0 };
  for (;;) {
    const claimed = await claimDueDeliveries(context.database, {
      now: context.now(),
      leaseMs,
      batchSize,
    });
    total.claimed += claimed.length;
    const outcomes = await Promise.all(
      claimed.map((claim) =>
        limit(() =>
          attemptDelivery(context, runtime, logger, claim, {
            retry: true,
            ...(options.random === undefined ? {} : { random: options.random }),
          }),
        ),
      ),
    );
    for (const outcome of outcomes) {
      if (outcome.delivery === undefined) continue;
      if (outcome.status === 'delivered') total.delivered += 1;
      else if (outcome.status === 'failed') total.failed += 1;
      else total.retrying += 1;
    }
    if (claimed.length < batchSize || options.shouldStop?.() === true) return total;
  }
}

/**
 * Delivers the outbox every `intervalMs`. Safe on every replica at once (SKIP LOCKED and leases).
 * `runOnce()` runs a pass now; `stop()` ends the schedule after the batch in flight.
 */
export function startNotificationDeliveryWorker(
  context: AppContext,
  options: DeliveryWorkerOptions = {},
): PeriodicTask<DeliveryPassResult> {
  const runtime = createNotificationRuntime(context.config);
  const logger = context.logger.child({ worker: 'notification-delivery' });
  let stopping = false;
  const task = startPeriodicTask({
    name: 'notification-delivery',
    intervalMs: options.intervalMs ?? 5_000,
    ...(options.initialDelayMs === undefined ? {} : { initialDelayMs: options.initialDelayMs }),
    logger: context.logger,
    run: async () => {
      const result = await deliverDueNotifications(context, runtime, logger, {
        ...options,
        shouldStop: () => stopping,
      });
      if (result.claimed > 0) logger.info(result, 'notification deliveries attempted');
      return result;
    },
  });
  return {
    runOnce: () => task.runOnce(),
    stop: async () => {
      stopping = true;
      await task.stop();
    },
  };
}
