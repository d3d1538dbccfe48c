import { createHmac, randomBytes } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import { and, asc, eq } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  notificationAttempts,
  notificationChannels,
  notificationDeliveries,
} from '../../src/db/schema.js';
import { createNotificationRuntime } from '../../src/notifications/channelStorage.js';
import {
  attemptDelivery,
  claimDueDeliveries,
  deliverDueNotifications,
  deliveryGiveUpAfterMs,
  retryDelayMs,
} from '../../src/notifications/deliveryWorker.js';
import type { Notification } from '../../src/notifications/notification.js';
import { channelsFor, enqueueNotification } from '../../src/notifications/outbox.js';
import { call } from '../agentTestCalls.js';
import { seedOrganization, seedUser } from '../seed.js';
import { testDatabaseUrl } from '../testDatabase.js';
import type { ReceivedRequest, Receiver } from './notificationFixtures.js';
import { failingNotification, startReceiver } from './notificationFixtures.js';
import {
  startNotificationReplica,
  startNotificationTestApp,
  type NotificationTestApp,
} from './notificationTestApp.js';

/**
 * The outbox and its delivery worker on a real database (PostgreSQL with DATABASE_URL, else
 * PGlite) and a real HTTP receiver that checks each Standard Webhooks signature: routing,
 * idempotent enqueueing, retries with backoff and Retry-After, the 24-hour give-up, a refusal
 * that is final at once, a crashed claim taken over after its lease, and two replicas that
 * deliver a batch exactly once between them (PostgreSQL only). Time moves by the app's clock.
 */

const signingSecret = `whsec_${randomBytes(32).toString('base64')}`;
const silent = pino({ level: 'silent' });

let app: NotificationTestApp;
let organizationId: string;
let otherOrganizationId: string;
let adminToken: string;
/** What the receiver answers next: a status and headers; 200 when the queue is empty. */
const answers: { status: number; headers?: Record<string, string> }[] = [];
let answerAlways: number | undefined;
let receiver: Receiver;

function signatureValid(request: ReceivedRequest): boolean {
  const id = String(request.headers['webhook-id']);
  const timestamp = String(request.headers['webhook-timestamp']);
  const key = Buffer.from(signingSecret.slice('whsec_'.length), 'base64');
  const expected = createHmac('sha256', key)
    .update(`${id}.${timestamp}.${request.body}`)
    .digest('base64');
  return String(request.headers['webhook-signature']).split(' ').includes(`v1,${expected}`);
}

beforeAll(async () => {
  app = await startNotificationTestApp();
  organizationId = await seedOrganization(app.database, 'Outbox Org');
  otherOrganizationId = await seedOrganization(app.database, 'Other Org');
  adminToken = (await seedUser(app.database, organizationId, 'admin')).token;
  receiver = await startReceiver((_request, response: ServerResponse) => {
    const answer = answers.shift() ?? { status: answerAlways ?? 200 };
    response.writeHead(answer.status, answer.headers ?? {}).end('answer');
  });
});

afterAll(async () => {
  await receiver?.close();
  await app?.close();
});

async function createChannel(
  name: string,
  options: { isDefault?: boolean; token?: string; path?: string } = {},
): Promise<string> {
  const answer = await call(
    app,
    'POST',
    '/api/v1/notification-channels',
    options.token ?? adminToken,
    {
      name,
      kind: 'webhook',
      isDefault: options.isDefault ?? false,
      config: { url: `${receiver.url}${options.path ?? ''}`, signingSecret },
    },
  );
  if (answer.status !== 201) throw new Error(JSON.stringify(answer.body));
  return answer.body.id as string;
}

function notificationOf(key: string): Notification {
  return { ...failingNotification, idempotencyKey: key };
}

async function deliveryOf(channelId: string, key: string) {
  const [row] = await app.database.db
    .select()
    .from(notificationDeliveries)
    .where(
      and(
        eq(notificationDeliveries.channelId, channelId),
        eq(notificationDeliveries.idempotencyKey, key),
      ),
    );
  return row;
}

async function attemptsOf(deliveryId: number) {
  return app.database.db
    .select()
    .from(notificationAttempts)
    .where(eq(notificationAttempts.deliveryId, deliveryId))
    .orderBy(asc(notificationAttempts.id));
}

function pass(target: NotificationTestApp = app, options: { batchSize?: number } = {}) {
  return deliverDueNotifications(
    target.context,
    createNotificationRuntime(target.context.config),
    silent,
    options,
  );
}

function requestsWithKey(key: string): ReceivedRequest[] {
  return receiver.requests.filter((request) => request.headers['webhook-id'] === key);
}

describe('retryDelayMs', () => {
  it('doubles from 30 s to at most an hour, jittered by ±20 %, and honours Retry-After', () => {
    const middle = () => 0.5;
    expect([1, 2, 3, 4, 8, 30].map((n) => retryDelayMs(n, undefined, middle))).toEqual([
      30_000, 60_000, 120_000, 240_000, 3_600_000, 3_600_000,
    ]);
    expect(retryDelayMs(1, undefined, () => 0)).toBe(24_000);
    expect(retryDelayMs(1, undefined, () => 1)).toBe(36_000);
    expect(retryDelayMs(1, 600, middle)).toBe(600_000);
    expect(retryDelayMs(8, 5, middle)).toBe(3_600_000);
  });
});

describe('channelsFor', () => {
  let pager: string;
  let mail: string;
  let fallback: string;

  beforeAll(async () => {
    pager = await createChannel('route-pager');
    mail = await createChannel('route-mail');
    fallback = await createChannel('route-default', { isDefault: true });
    // Another organization's channel of the same name is never picked.
    const otherAdmin = (await seedUser(app.database, otherOrganizationId, 'admin')).token;
    await createChannel('route-pager', { token: otherAdmin, isDefault: true });
  });

  it('picks the named channels of the organization, in the order named, and reports unknown names', async () => {
    const { db } = app.database;
    expect(await channelsFor(db, organizationId, ['route-mail', 'route-pager', 'nope'])).toEqual({
      channelIds: [mail, pager],
      unknownNames: ['nope'],
    });
    expect(await channelsFor(db, organizationId, ['route-pager', 'route-pager'])).toEqual({
      channelIds: [pager],
      unknownNames: [],
    });
  });

  it('falls back to the default channels when notify is empty, or names only unknown channels', async () => {
    const { db } = app.database;
    const defaults = await channelsFor(db, organizationId, []);
    expect(defaults.channelIds).toContain(fallback);
    expect(defaults.channelIds).not.toContain(pager);
    expect(await channelsFor(db, organizationId, ['typo'])).toEqual({
      channelIds: defaults.channelIds,
      unknownNames: ['typo'],
    });
  });
});

describe('enqueueNotification and the delivery worker', () => {
  it('writes one delivery per channel, once however often it is replayed, and only to channels of the organization', async () => {
    const a = await createChannel('enqueue-a');
    const b = await createChannel('enqueue-b');
    const otherAdmin = (await seedUser(app.database, otherOrganizationId, 'admin')).token;
    const foreign = await createChannel('enqueue-foreign', { token: otherAdmin });
    const notification = notificationOf('enqueue-once');
    const now = new Date();
    for (let replay = 0; replay < 3; replay += 1) {
      await app.database.db.transaction(async (tx) => {
        await enqueueNotification(tx, {
          organizationId,
          incidentId: null,
          channelIds: [a, b, foreign, a],
          notification,
          now,
        });
      });
    }
    const rows = await app.database.db
      .select()
      .from(notificationDeliveries)
      .where(eq(notificationDeliveries.idempotencyKey, 'enqueue-once'));
    expect(rows.map((row) => row.channelId).sort()).toEqual([a, b].sort());
    expect(rows.every((row) => row.status === 'pending' && row.attempts === 0)).toBe(true);

    // A rolled-back transaction leaves nothing behind.
    await app.database.db
      .transaction(async (tx) => {
        await enqueueNotification(tx, {
          organizationId,
          incidentId: null,
          channelIds: [a],
          notification: notificationOf('rolled-back'),
          now,
        });
        throw new Error('rollback');
      })
      .catch(() => undefined);
    expect(
      await app.database.db
        .select()
        .from(notificationDeliveries)
        .where(eq(notificationDeliveries.idempotencyKey, 'rolled-back')),
    ).toEqual([]);

    const result = await pass();
    expect(result.delivered).toBeGreaterThanOrEqual(2);
    const received = requestsWithKey('enqueue-once');
    expect(received).toHaveLength(2);
    expect(received.every(signatureValid)).toBe(true);
    for (const channel of [a, b]) {
      const row = await deliveryOf(channel, 'enqueue-once');
      expect(row).toMatchObject({ status: 'delivered', attempts: 1, lastStatus: 200 });
      expect(await attemptsOf(row!.id)).toMatchObject([{ outcome: 'delivered', status: 200 }]);
    }
    // Delivered rows are never sent again.
    await pass();
    expect(requestsWithKey('enqueue-once')).toHaveLength(2);
  });

  it('retries a retryable failure after a backoff that honours Retry-After, then delivers', async () => {
    const channel = await createChannel('retry-hook');
    const start = new Date('2030-01-01T00:00:00.000Z');
    app.setNow(start);
    try {
      await enqueueNotification(app.database.db, {
        organizationId,
        incidentId: null,
        channelIds: [channel],
        notification: notificationOf('retry-then-deliver'),
        now: start,
      });
      answers.push({ status: 503, headers: { 'retry-after': '600' } }, { status: 500 });
      await pass();
      let row = await deliveryOf(channel, 'retry-then-deliver');
      expect(row).toMatchObject({ status: 'pending', attempts: 1, lastStatus: 503 });
      expect(row!.nextAttemptAt.getTime() - start.getTime()).toBeGreaterThanOrEqual(600_000);

      // Not due yet: nothing is sent.
      app.setNow(new Date(start.getTime() + 599_000));
      await pass();
      expect(requestsWithKey('retry-then-deliver')).toHaveLength(1);

      app.setNow(row!.nextAttemptAt);
      await pass();
      row = await deliveryOf(channel, 'retry-then-deliver');
      expect(row).toMatchObject({ status: 'pending', attempts: 2, lastStatus: 500 });
      const secondWait = row!.nextAttemptAt.getTime() - app.context.now().getTime();
      // The second failure waits 60 s ± 20 %.
      expect(secondWait).toBeGreaterThanOrEqual(48_000);
      expect(secondWait).toBeLessThanOrEqual(72_000);

      app.setNow(row!.nextAttemptAt);
      await pass();
      row = await deliveryOf(channel, 'retry-then-deliver');
      expect(row).toMatchObject({ status: 'delivered', attempts: 3, lastStatus: 200 });
      expect(row!.deliveredAt).toEqual(app.context.now());
      const attempts = await attemptsOf(row!.id);
      expect(attempts.map((attempt) => `${attempt.outcome}:${attempt.status}`)).toEqual([
        'failed:503',
        'failed:500',
        'delivered:200',
      ]);
      // Every attempt carried the same webhook-id, each one signed.
      const received = requestsWithKey('retry-then-deliver');
      expect(received).toHaveLength(3);
      expect(received.every(signatureValid)).toBe(true);
    } finally {
      app.setNow(undefined);
    }
  });

  // About 30 attempts, each a real HTTP exchange and a few statements: time enough on a busy machine.
  it(
    'gives up 24 hours after the notification was written, trying until then',
    { timeout: 120_000 },
    async () => {
      const channel = await createChannel('down-hook');
      const start = new Date('2030-02-01T00:00:00.000Z');
      app.setNow(start);
      answerAlways = 503;
      try {
        await enqueueNotification(app.database.db, {
          organizationId,
          incidentId: null,
          channelIds: [channel],
          notification: notificationOf('never-up'),
          now: start,
        });
        let row = await deliveryOf(channel, 'never-up');
        for (let passes = 0; passes < 100 && row!.status === 'pending'; passes += 1) {
          app.setNow(row!.nextAttemptAt);
          await pass();
          row = await deliveryOf(channel, 'never-up');
        }
        expect(row!.status).toBe('failed');
        expect(row!.lastError).toMatch(/^gave up 24 hours after the notification was written/);
        expect(row!.lastAttemptAt!.getTime()).toBe(start.getTime() + deliveryGiveUpAfterMs);
        // 30 s doubling to an hour: about 7 tries in the first two hours, then one an hour.
        expect(row!.attempts).toBeGreaterThan(20);
        expect(row!.attempts).toBeLessThan(40);
        expect(await attemptsOf(row!.id)).toHaveLength(row!.attempts);
        const count = requestsWithKey('never-up').length;
        app.setNow(new Date(start.getTime() + 3 * deliveryGiveUpAfterMs));
        await pass();
        expect(requestsWithKey('never-up')).toHaveLength(count);
      } finally {
        answerAlways = undefined;
        app.setNow(undefined);
      }
    },
  );

  it('fails at once, without retrying, when the receiver refuses for good', async () => {
    const channel = await createChannel('gone-hook');
    answers.push({ status: 410 });
    await enqueueNotification(app.database.db, {
      organizationId,
      incidentId: null,
      channelIds: [channel],
      notification: notificationOf('refused'),
      now: app.context.now(),
    });
    await pass();
    const row = await deliveryOf(channel, 'refused');
    expect(row).toMatchObject({ status: 'failed', attempts: 1, lastStatus: 410 });
    expect(row!.lastError).toEqual(expect.any(String));
    // Visible through the API, attempt by attempt.
    const listed = await call(
      app,
      'GET',
      `/api/v1/notification-channels/${channel}/deliveries`,
      adminToken,
    );
    expect(listed.body.items[0]).toMatchObject({
      status: 'failed',
      attempts: [{ outcome: 'failed', status: 410 }],
    });
  });

  it('leaves a claim of a crashed replica alone until its lease ends, then delivers it once', async () => {
    const channel = await createChannel('lease-hook');
    const start = new Date('2030-03-01T00:00:00.000Z');
    app.setNow(start);
    try {
      await enqueueNotification(app.database.db, {
        organizationId,
        incidentId: null,
        channelIds: [channel],
        notification: notificationOf('crashed-claim'),
        now: start,
      });
      // A replica claims it and dies before attempting it.
      const [crashed] = await claimDueDeliveries(app.database, {
        now: start,
        leaseMs: 120_000,
        batchSize: 10,
      });
      expect(crashed?.delivery.idempotencyKey).toBe('crashed-claim');

      app.setNow(new Date(start.getTime() + 60_000));
      await pass();
      expect(requestsWithKey('crashed-claim')).toHaveLength(0);

      app.setNow(new Date(start.getTime() + 121_000));
      await pass();
      const row = await deliveryOf(channel, 'crashed-claim');
      expect(row).toMatchObject({ status: 'delivered', attempts: 1 });
      expect(requestsWithKey('crashed-claim')).toHaveLength(1);

      // Should the "crashed" replica come back and finish its attempt, it changes nothing.
      const late = await attemptDelivery(
        app.context,
        createNotificationRuntime(app.context.config),
        silent,
        crashed!,
      );
      expect(late.delivery).toBeUndefined();
      expect(await deliveryOf(channel, 'crashed-claim')).toEqual(row);
      expect(await attemptsOf(row!.id)).toHaveLength(1);
    } finally {
      app.setNow(undefined);
    }
  });

  it('deletes pending deliveries with their channel', async () => {
    const channel = await createChannel('deleted-hook');
    await enqueueNotification(app.database.db, {
      organizationId,
      incidentId: null,
      channelIds: [channel],
      notification: notificationOf('channel-deleted'),
      now: new Date(Date.now() + 3_600_000),
    });
    const deleted = await call(
      app,
      'DELETE',
      `/api/v1/notification-channels/${channel}`,
      adminToken,
    );
    expect(deleted.status).toBe(200);
    expect(
      await app.database.db
        .select()
        .from(notificationChannels)
        .where(eq(notificationChannels.id, channel)),
    ).toEqual([]);
    expect(await deliveryOf(channel, 'channel-deleted')).toBeUndefined();
  });
});

describe.skipIf(testDatabaseUrl === undefined || testDatabaseUrl === '')(
  'two replicas on one PostgreSQL database',
  () => {
    let replica: NotificationTestApp;
    beforeAll(async () => {
      replica = await startNotificationReplica(app);
    });
    afterAll(async () => {
      await replica?.close();
    });

    it(
      'deliver a batch of notifications, each exactly once between them',
      { timeout: 120_000 },
      async () => {
        const channels = [
          await createChannel('replica-a', { path: '?channel=a' }),
          await createChannel('replica-b', { path: '?channel=b' }),
        ];
        const count = 60;
        const now = new Date();
        await app.database.db.transaction(async (tx) => {
          for (let index = 0; index < count; index += 1) {
            await enqueueNotification(tx, {
              organizationId,
              incidentId: null,
              channelIds: channels,
              notification: notificationOf(`replica-${index}`),
              now,
            });
          }
        });
        // Both replicas, several passes each at once, in small batches so that they interleave.
        const results = await Promise.all(
          [app, replica, app, replica].map((target) => pass(target, { batchSize: 7 })),
        );
        const delivered = results.reduce((sum, result) => sum + result.delivered, 0);
        expect(delivered).toBe(2 * count);
        expect(results.filter((result) => result.delivered > 0).length).toBeGreaterThan(1);
        const received = receiver.requests.filter((request) =>
          String(request.headers['webhook-id']).startsWith('replica-'),
        );
        expect(received).toHaveLength(2 * count);
        const perChannelAndKey = new Set(
          received.map((request) => `${request.url}|${String(request.headers['webhook-id'])}`),
        );
        expect(perChannelAndKey.size).toBe(2 * count);
        expect(received.every(signatureValid)).toBe(true);
      },
    );
  },
);
