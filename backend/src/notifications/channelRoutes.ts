import { randomBytes, randomUUID } from 'node:crypto';
import { apiRoutes, type NotificationDelivery, type ValidationIssue } from '@cronfleet/core/api';
import { and, asc, desc, eq, inArray, sql, type SQL } from 'drizzle-orm';
import type { Express, Request } from 'express';
import { z } from 'zod';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import {
  notificationAttempts,
  notificationChannels,
  notificationDeliveries,
  users,
} from '../db/schema.js';
import { ApiError, badRequest, conflict, notFound } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import type { UserPrincipal } from '../http/authenticate.js';
import { mountRoute } from '../http/mountRoute.js';
import { decodeCursor, encodeCursor } from '../http/opaqueCursor.js';
import {
  checkConfig,
  createNotificationRuntime,
  kindOfRow,
  mergeConfig,
  openConfig,
  sealConfig,
  toChannelView,
  type ChannelRow,
  type NotificationRuntime,
} from './channelStorage.js';
import { channelKindOf } from './channelRegistry.js';
import { attemptDelivery } from './deliveryWorker.js';
import type { Notification } from './notification.js';
import { SecretsError, type SecretBox } from './secretBox.js';

/**
 * `/api/v1/notification-channels`: channels (admins change them, everyone reads them, never a
 * secret), a test message (operators), and what was delivered through each (everyone). Every
 * change is audited with the channel's non-secret fields and the names of the secret fields
 * changed, never their values.
 */

/** How long the test route keeps the worker off the delivery it is sending itself. */
const testLeaseMs = 120_000;

function configError(issues: ValidationIssue[]): ApiError {
  const summary = issues
    .slice(0, 3)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  return badRequest(
    `invalid channel configuration: ${summary}${issues.length > 3 ? '; …' : ''}`,
    issues,
  );
}

function isUniqueViolation(error: unknown): boolean {
  let cause = error;
  for (let depth = 0; depth < 5 && typeof cause === 'object' && cause !== null; depth += 1) {
    if ((cause as { code?: unknown }).code === '23505') return true;
    cause = (cause as { cause?: unknown }).cause;
  }
  return false;
}

const nameTaken = (name: string) =>
  conflict(`a notification channel named ${name} already exists in this organization`);

/** The key, or a 503 that says what to fix when it cannot be read. */
async function secretBoxFor(runtime: NotificationRuntime): Promise<SecretBox> {
  try {
    return await runtime.secretBox();
  } catch (error) {
    if (error instanceof SecretsError) {
      throw new ApiError(
        'unavailable',
        `notification channel secrets cannot be sealed or opened: ${error.message}`,
      );
    }
    throw error;
  }
}

async function channelOf(
  db: Pick<Database, 'select'>,
  principal: UserPrincipal,
  channelId: string,
  forUpdate = false,
): Promise<ChannelRow> {
  const query = db
    .select()
    .from(notificationChannels)
    .where(
      and(
        eq(notificationChannels.id, channelId),
        eq(notificationChannels.organizationId, principal.organizationId),
      ),
    );
  const [row] = forUpdate ? await query.for('update') : await query;
  if (row === undefined) throw notFound('notification channel');
  return row;
}

/** The channel as the audit log keeps it: what is shown, never a secret. */
function auditDetails(row: ChannelRow): Record<string, unknown> {
  const view = toChannelView(row);
  return {
    name: view.name,
    kind: view.kind,
    isDefault: view.isDefault,
    config: view.config,
    secretFieldsSet: view.secretFieldsSet,
  };
}

const createdAtMicros = sql<string>`(extract(epoch from ${notificationDeliveries.createdAt}) * 1000000)::bigint::text`;

/** 9999-12-31T23:59:59.999999Z in microseconds since the epoch. */
const latestMicros = 253_402_300_799_999_999n;
const DeliveryCursor = z.tuple([
  z
    .string()
    .regex(/^\d{1,18}$/)
    .refine((micros) => /^\d{1,18}$/.test(micros) && BigInt(micros) <= latestMicros),
  z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
]);

type DeliveryRow = typeof notificationDeliveries.$inferSelect;

async function deliveryViews(db: Database, rows: DeliveryRow[]): Promise<NotificationDelivery[]> {
  const ids = rows.map((row) => row.id);
  const attempts =
    ids.length === 0
      ? []
      : await db
          .select()
          .from(notificationAttempts)
          .where(inArray(notificationAttempts.deliveryId, ids))
          .orderBy(asc(notificationAttempts.deliveryId), asc(notificationAttempts.id));
  const attemptsOf = new Map<number, NotificationDelivery['attempts']>();
  for (const attempt of attempts) {
    const list = attemptsOf.get(attempt.deliveryId) ?? [];
    list.push({
      at: attempt.at.toISOString(),
      outcome: attempt.outcome === 'delivered' ? 'delivered' : 'failed',
      status: attempt.status,
      reason: attempt.reason,
      durationMs: attempt.durationMs,
    });
    attemptsOf.set(attempt.deliveryId, list);
  }
  return rows.map((row) => ({
    id: row.id,
    channelId: row.channelId,
    incidentId: row.incidentId,
    event: row.event,
    idempotencyKey: row.idempotencyKey,
    status: row.status,
    createdAt: row.createdAt.toISOString(),
    nextAttemptAt: row.status === 'pending' ? row.nextAttemptAt.toISOString() : null,
    lastAttemptAt: row.lastAttemptAt?.toISOString() ?? null,
    deliveredAt: row.deliveredAt?.toISOString() ?? null,
    lastError: row.lastError,
    lastStatus: row.lastStatus,
    attempts: attemptsOf.get(row.id) ?? [],
  }));
}

/** The dashboard's address, as the test message links to it. */
function dashboardOrigin(context: AppContext, request: Request): string {
  return (
    context.config.dashboardOrigin ?? `${request.protocol}://${request.get('host') ?? 'localhost'}`
  );
}

/** What a test message says: that it is a test, who sent it, and to which channel. */
function testNotification(
  channel: ChannelRow,
  who: string,
  origin: string,
  now: Date,
): Notification {
  const key = `test-${randomBytes(12).toString('hex')}`;
  return {
    idempotencyKey: key,
    event: 'incident.opened',
    incident: { id: key, kind: 'missed', openedAt: now.toISOString() },
    job: { namespace: 'cronfleet', name: 'test-notification' },
    agent: { id: 'cronfleet-backend', name: 'cronfleet' },
    expected: `This is a test of the notification channel ${channel.name}: nothing is wrong.`,
    happened: `Sent by ${who} from the Cronfleet API.`,
    dashboardUrl: `${origin}/`,
    occurredAt: now.toISOString(),
  };
}

export function registerNotificationChannelRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;
  const runtime = createNotificationRuntime(context.config);

  mountRoute(app, context, apiRoutes.listNotificationChannels, async ({ principal }) => {
    const rows = await db
      .select()
      .from(notificationChannels)
      .where(eq(notificationChannels.organizationId, principal.organizationId))
      .orderBy(asc(notificationChannels.name));
    return { items: rows.map(toChannelView) };
  });

  mountRoute(
    app,
    context,
    apiRoutes.createNotificationChannel,
    async ({ principal, body, request }) => {
      const checked = checkConfig(body.kind, body.config);
      if (!checked.success) throw configError(checked.issues);
      const box = await secretBoxFor(runtime);
      const id = randomUUID();
      const now = context.now();
      const stored = sealConfig(body.kind, id, checked.config, box);
      try {
        return await db.transaction(async (tx) => {
          const [row] = await tx
            .insert(notificationChannels)
            .values({
              id,
              organizationId: principal.organizationId,
              name: body.name,
              kind: body.kind,
              config: stored.config,
              sealedSecrets: stored.sealedSecrets,
              isDefault: body.isDefault,
              createdAt: now,
              updatedAt: now,
            })
            .returning();
          if (row === undefined) throw new Error('the notification channel was not inserted');
          await recordAudit(
            tx,
            { principal, organizationId: principal.organizationId, request },
            {
              action: 'notification_channel.create',
              targetType: 'notification_channel',
              targetId: row.id,
              details: auditDetails(row),
            },
          );
          return toChannelView(row);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(body.name);
        throw error;
      }
    },
  );

  mountRoute(
    app,
    context,
    apiRoutes.updateNotificationChannel,
    async ({ principal, params, body, request }) => {
      try {
        return await db.transaction(async (tx) => {
          const current = await channelOf(tx, principal, params.channelId, true);
          const kind = kindOfRow(current);
          const changes: Partial<typeof notificationChannels.$inferInsert> = {
            updatedAt: context.now(),
          };
          const changed: string[] = [];
          if (body.name !== undefined && body.name !== current.name) {
            changes.name = body.name;
            changed.push('name');
          }
          if (body.isDefault !== undefined && body.isDefault !== current.isDefault) {
            changes.isDefault = body.isDefault;
            changed.push('isDefault');
          }
          const secretsChanged: string[] = [];
          if (body.config !== undefined) {
            const box = await secretBoxFor(runtime);
            const before = openConfig(current, box);
            const checked = checkConfig(kind, mergeConfig(before, body.config));
            if (!checked.success) throw configError(checked.issues);
            const stored = sealConfig(kind, current.id, checked.config, box);
            const secretsBefore = new Set(toChannelView(current).secretFieldsSet);
            const secretFields = new Set<string>(channelKindOf(kind).secretFields);
            for (const [field, value] of Object.entries(body.config)) {
              if (!secretFields.has(field)) continue;
              if (value !== null || secretsBefore.has(field)) secretsChanged.push(field);
            }
            changes.config = stored.config;
            changes.sealedSecrets = stored.sealedSecrets;
            if (JSON.stringify(stored.config) !== JSON.stringify(current.config)) {
              changed.push('config');
            }
          }
          const [row] = await tx
            .update(notificationChannels)
            .set(changes)
            .where(eq(notificationChannels.id, current.id))
            .returning();
          if (row === undefined) throw notFound('notification channel');
          await recordAudit(
            tx,
            { principal, organizationId: principal.organizationId, request },
            {
              action: 'notification_channel.update',
              targetType: 'notification_channel',
              targetId: row.id,
              details: {
                ...auditDetails(row),
                changed,
                // Which secrets were replaced or removed; never their values.
                secretFieldsChanged: secretsChanged.sort(),
                ...(changes.name === undefined ? {} : { previousName: current.name }),
              },
            },
          );
          return toChannelView(row);
        });
      } catch (error) {
        if (isUniqueViolation(error)) throw nameTaken(body.name ?? '');
        throw error;
      }
    },
  );

  mountRoute(
    app,
    context,
    apiRoutes.deleteNotificationChannel,
    async ({ principal, params, request }) =>
      db.transaction(async (tx) => {
        const current = await channelOf(tx, principal, params.channelId, true);
        const [pending] = await tx
          .select({ count: sql<number>`count(*)::int` })
          .from(notificationDeliveries)
          .where(
            and(
              eq(notificationDeliveries.channelId, current.id),
              eq(notificationDeliveries.status, 'pending'),
            ),
          );
        await tx.delete(notificationChannels).where(eq(notificationChannels.id, current.id));
        await recordAudit(
          tx,
          { principal, organizationId: principal.organizationId, request },
          {
            action: 'notification_channel.delete',
            targetType: 'notification_channel',
            targetId: current.id,
            details: { ...auditDetails(current), pendingDeliveriesDropped: pending?.count ?? 0 },
          },
        );
        return toChannelView(current);
      }),
  );

  mountRoute(
    app,
    context,
    apiRoutes.testNotificationChannel,
    async ({ principal, params, request }) => {
      const channel = await channelOf(db, principal, params.channelId);
      const now = context.now();
      const [user] = await db
        .select({ email: users.email })
        .from(users)
        .where(eq(users.id, principal.userId));
      const who = user?.email ?? 'a user';
      const notification = testNotification(channel, who, dashboardOrigin(context, request), now);
      // Through the outbox like any notification, claimed by this request from the start: the
      // worker leaves it alone unless this replica dies before recording the attempt.
      const leaseUntil = new Date(now.getTime() + testLeaseMs);
      const delivery = await db.transaction(async (tx) => {
        const [row] = await tx
          .insert(notificationDeliveries)
          .values({
            organizationId: principal.organizationId,
            channelId: channel.id,
            incidentId: null,
            event: 'test',
            idempotencyKey: notification.idempotencyKey,
            payload: notification as unknown as Record<string, unknown>,
            status: 'pending',
            nextAttemptAt: leaseUntil,
            createdAt: now,
          })
          .returning();
        if (row === undefined) throw new Error('the test delivery was not inserted');
        await recordAudit(
          tx,
          { principal, organizationId: principal.organizationId, request },
          {
            action: 'notification_channel.test',
            targetType: 'notification_channel',
            targetId: channel.id,
            details: { name: channel.name, kind: channel.kind, deliveryId: row.id },
          },
        );
        return row;
      });
      const logger = context.logger.child({ channelId: channel.id, deliveryId: delivery.id });
      const outcome = await attemptDelivery(
        context,
        runtime,
        logger,
        { delivery, leaseUntil },
        { retry: false },
      );
      const [stored] = await db
        .select()
        .from(notificationDeliveries)
        .where(eq(notificationDeliveries.id, delivery.id));
      const [view] = await deliveryViews(db, stored === undefined ? [delivery] : [stored]);
      if (view === undefined) throw new Error('the test delivery vanished');
      const { result } = outcome;
      return result.outcome === 'delivered'
        ? { outcome: 'delivered' as const, reason: null, retryable: null, delivery: view }
        : {
            outcome: 'failed' as const,
            reason: result.reason,
            retryable: result.retryable,
            delivery: view,
          };
    },
  );

  mountRoute(
    app,
    context,
    apiRoutes.listNotificationDeliveries,
    async ({ principal, params, query }) => {
      // The cursor first: one this server never issued is a 400 whatever the channel.
      const after =
        query.cursor === undefined ? undefined : decodeCursor(query.cursor, DeliveryCursor);
      const channel = await channelOf(db, principal, params.channelId);
      const conditions: SQL[] = [eq(notificationDeliveries.channelId, channel.id)];
      if (query.status !== undefined) {
        conditions.push(eq(notificationDeliveries.status, query.status));
      }
      if (after !== undefined) {
        const [micros, id] = after;
        conditions.push(
          sql`(${notificationDeliveries.createdAt}, ${notificationDeliveries.id}) < (timestamptz 'epoch' + ${micros}::bigint * interval '1 microsecond', ${id}::bigint)`,
        );
      }
      const rows = await db
        .select({ delivery: notificationDeliveries, createdAtMicros })
        .from(notificationDeliveries)
        .where(and(...conditions))
        .orderBy(desc(notificationDeliveries.createdAt), desc(notificationDeliveries.id))
        .limit(query.limit + 1);
      const page = rows.slice(0, query.limit);
      const last = page.at(-1);
      return {
        items: await deliveryViews(
          db,
          page.map((row) => row.delivery),
        ),
        nextCursor:
          rows.length > query.limit && last !== undefined
            ? encodeCursor([last.createdAtMicros, last.delivery.id])
            : null,
      };
    },
  );
}
