import {
  apiRoutes,
  MAX_SILENCE_DAYS,
  type ListSilencesQuery,
  type Silence,
  type SilenceMatchers,
} from '@cronfleet/core/api';
import { and, desc, eq, gt, lte, sql, type SQL } from 'drizzle-orm';
import type { Express } from 'express';
import { decodeCursor, encodeCursor } from '../agents/keysetCursor.js';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { agents, silences } from '../db/schema.js';
import { badRequest, conflict, notFound } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import { mountRoute } from '../http/mountRoute.js';
import { actingUserOf } from './incidentRoutes.js';

/**
 * `/api/v1/silences`: maintenance windows (viewers list them; operators create and expire them).
 * The monitoring worker reads them when an incident opens (incidentLifecycle.ts,
 * `matchingSilence`): an incident that opens under a matching active silence is recorded as
 * silenced and notifies nobody, and an open incident is not re-alerted while one matches.
 * Creating and expiring are audited (`silence.create`, `silence.expire`).
 */

type SilenceRow = typeof silences.$inferSelect;

const createdAtMicros = sql<string>`(extract(epoch from ${silences.createdAt}) * 1000000)::bigint::text`;

const dayMs = 86_400_000;

/** Where a silence stands at `now`: the same rule as the list's status filter. */
function statusAt(row: SilenceRow, now: Date): Silence['status'] {
  if (row.endsAt.getTime() <= now.getTime()) return 'expired';
  if (row.startsAt.getTime() > now.getTime()) return 'pending';
  return 'active';
}

function toSilence(row: SilenceRow, now: Date): Silence {
  const matchers: SilenceMatchers = {
    ...(row.namespace === null ? {} : { namespace: row.namespace }),
    ...(row.jobName === null ? {} : { job: row.jobName }),
    labels: row.jobLabels,
    ...(row.agentId === null ? {} : { agentId: row.agentId }),
  };
  return {
    id: row.id,
    matchers,
    startsAt: row.startsAt.toISOString(),
    endsAt: row.endsAt.toISOString(),
    comment: row.comment,
    createdBy: { type: row.createdByType, id: row.createdById, name: row.createdByName },
    createdAt: row.createdAt.toISOString(),
    expiredAt: row.expiredAt?.toISOString() ?? null,
    status: statusAt(row, now),
  };
}

/** The silence as the audit log keeps it. */
function auditDetails(row: SilenceRow): Record<string, unknown> {
  const view = toSilence(row, row.createdAt);
  return {
    matchers: view.matchers,
    startsAt: view.startsAt,
    endsAt: view.endsAt,
    comment: view.comment,
  };
}

function filtersOf(organizationId: string, query: ListSilencesQuery, now: Date): SQL[] {
  const conditions: SQL[] = [eq(silences.organizationId, organizationId)];
  if (query.status === 'pending') conditions.push(gt(silences.startsAt, now));
  if (query.status === 'active') {
    conditions.push(lte(silences.startsAt, now), gt(silences.endsAt, now));
  }
  if (query.status === 'expired') conditions.push(lte(silences.endsAt, now));
  if (query.cursor !== undefined) {
    const after = decodeCursor(query.cursor);
    conditions.push(
      sql`(${silences.createdAt}, ${silences.id}) < (timestamptz 'epoch' + ${after.createdAtMicros}::bigint * interval '1 microsecond', ${after.id}::uuid)`,
    );
  }
  return conditions;
}

/** An agent matcher must name an agent of the organization (revoked ones included). */
async function checkAgent(db: Database, organizationId: string, agentId: string): Promise<void> {
  const [agent] = await db
    .select({ id: agents.id })
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId)));
  if (agent === undefined) {
    throw badRequest(
      `invalid request body: matchers.agentId: ${agentId} is no agent of this organization`,
      [
        {
          path: 'matchers.agentId',
          message:
            'must be the id of an agent of this organization (GET /api/v1/agents lists them)',
        },
      ],
    );
  }
}

export function registerSilenceRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(app, context, apiRoutes.listSilences, async ({ principal, query }) => {
    const now = context.now();
    const rows = await db
      .select({ silence: silences, createdAtMicros })
      .from(silences)
      .where(and(...filtersOf(principal.organizationId, query, now)))
      .orderBy(desc(silences.createdAt), desc(silences.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: page.map((row) => toSilence(row.silence, now)),
      nextCursor:
        rows.length > query.limit && last !== undefined
          ? encodeCursor({ createdAtMicros: last.createdAtMicros, id: last.silence.id })
          : null,
    };
  });

  mountRoute(app, context, apiRoutes.createSilence, async ({ principal, body, request }) => {
    const now = context.now();
    const startsAt = body.startsAt === undefined ? now : new Date(body.startsAt);
    const endsAt = new Date(body.endsAt);
    // The contract checked endsAt against startsAt; the clock's rules are checked here.
    if (endsAt.getTime() <= now.getTime()) {
      throw badRequest(`invalid request body: endsAt: must be in the future`, [
        {
          path: 'endsAt',
          message: `must be after now (${now.toISOString()}): a silence that has ended silences nothing`,
        },
      ]);
    }
    const latest = new Date(now.getTime() + MAX_SILENCE_DAYS * dayMs);
    if (endsAt.getTime() > latest.getTime()) {
      throw badRequest(
        `invalid request body: endsAt: must be at most ${MAX_SILENCE_DAYS} days ahead`,
        [
          {
            path: 'endsAt',
            message: `must be at most ${MAX_SILENCE_DAYS} days from now (${latest.toISOString()}); create another silence later for a longer window`,
          },
        ],
      );
    }
    return db.transaction(async (tx) => {
      const { matchers } = body;
      if (matchers.agentId !== undefined) {
        await checkAgent(tx, principal.organizationId, matchers.agentId);
      }
      const { actor, name } = await actingUserOf(tx, principal);
      const [row] = await tx
        .insert(silences)
        .values({
          organizationId: principal.organizationId,
          namespace: matchers.namespace ?? null,
          jobName: matchers.job ?? null,
          jobLabels: matchers.labels,
          agentId: matchers.agentId ?? null,
          startsAt,
          endsAt,
          comment: body.comment,
          createdByType: actor.type,
          createdById: actor.id,
          createdByName: name,
          createdAt: now,
        })
        .returning();
      if (row === undefined) throw new Error('the silence was not inserted');
      await recordAudit(
        tx,
        { principal, organizationId: principal.organizationId, request },
        {
          action: 'silence.create',
          targetType: 'silence',
          targetId: row.id,
          details: auditDetails(row),
        },
      );
      return toSilence(row, now);
    });
  });

  mountRoute(app, context, apiRoutes.expireSilence, async ({ principal, params, request }) =>
    db.transaction(async (tx) => {
      const now = context.now();
      const [current] = await tx
        .select()
        .from(silences)
        .where(
          and(
            eq(silences.id, params.silenceId),
            eq(silences.organizationId, principal.organizationId),
          ),
        )
        .for('update');
      if (current === undefined) throw notFound('silence');
      if (current.endsAt.getTime() <= now.getTime()) {
        throw conflict(
          current.expiredAt === null
            ? `silence ${current.id} is over already: it ended at ${current.endsAt.toISOString()}`
            : `silence ${current.id} was already expired at ${current.expiredAt.toISOString()}`,
        );
      }
      const [row] = await tx
        .update(silences)
        .set({ endsAt: now, expiredAt: now })
        .where(eq(silences.id, current.id))
        .returning();
      if (row === undefined) throw notFound('silence');
      await recordAudit(
        tx,
        { principal, organizationId: principal.organizationId, request },
        {
          action: 'silence.expire',
          targetType: 'silence',
          targetId: row.id,
          details: {
            ...auditDetails(current),
            expiredAt: now.toISOString(),
            wasStatus: statusAt(current, now),
          },
        },
      );
      return toSilence(row, now);
    }),
  );
}
