import {
  apiRoutes,
  type Incident,
  type IncidentActor,
  type IncidentDetail,
  type IncidentEvent,
  type ListIncidentsQuery,
} from '@cronfleet/core/api';
import { and, asc, desc, eq, inArray, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import type { Express } from 'express';
import { decodeCursor, encodeCursor } from '../agents/keysetCursor.js';
import type { Database } from '../db/database.js';
import { agents, apiTokens, incidentEvents, incidents, jobInstances, users } from '../db/schema.js';
import { dashboardUrlOf } from '../env.js';
import { conflict, notFound } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import type { UserPrincipal } from '../http/authenticate.js';
import { mountRoute } from '../http/mountRoute.js';
import {
  acknowledgeIncident,
  resolveIncident,
  type Actor,
  type IncidentSubject,
} from './incidentLifecycle.js';

/**
 * `/api/v1/incidents`: the incidents the monitoring worker opened, newest first, with their
 * timelines (viewers), and a person's two steps in an incident's life: acknowledging it (no more
 * re-alerts) and resolving it by hand (operators). Both go through incidentLifecycle.ts, which
 * writes the timeline event and the audit record (and, for a resolution, the notification) in
 * the route's transaction, with compare-and-set updates: of two people resolving the same
 * incident at once, one succeeds and the other gets a 409.
 */

type IncidentRow = typeof incidents.$inferSelect;

/** opened_at in microseconds since the epoch: the keyset cursor's position (with the id). */
const openedAtMicros = sql<string>`(extract(epoch from ${incidents.openedAt}) * 1000000)::bigint::text`;

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Who acts, as the lifecycle and the audit log record them, and as people read it. */
export interface ActingUser {
  actor: Actor;
  /** `ada@example.com`, or `ada@example.com (API token "ci-deploy")`. */
  name: string;
}

/** The calling user: its actor (the audit log's convention: the user's id) and its name. */
export async function actingUserOf(
  db: Pick<Database, 'select'>,
  principal: UserPrincipal,
): Promise<ActingUser> {
  const [user] = await db
    .select({ email: users.email })
    .from(users)
    .where(eq(users.id, principal.userId));
  const email = user?.email ?? `user ${principal.userId}`;
  if (principal.via !== 'api_token') {
    return { actor: { type: 'user', id: principal.userId }, name: email };
  }
  const [token] = await db
    .select({ name: apiTokens.name })
    .from(apiTokens)
    .where(eq(apiTokens.id, principal.credentialId));
  return {
    actor: { type: 'api_token', id: principal.userId },
    name: token === undefined ? email : `${email} (API token "${token.name}")`,
  };
}

/** The e-mail addresses of the users among `ids` (ids of users that were deleted are left out). */
async function userNames(db: Database, ids: Iterable<string | null>): Promise<Map<string, string>> {
  const wanted = [...new Set([...ids].filter((id): id is string => id !== null))].filter((id) =>
    uuidPattern.test(id),
  );
  if (wanted.length === 0) return new Map();
  const rows = await db
    .select({ id: users.id, email: users.email })
    .from(users)
    .where(inArray(users.id, wanted));
  return new Map(rows.map((row) => [row.id, row.email]));
}

function actorView(
  type: IncidentActor['type'],
  id: string | null,
  names: ReadonlyMap<string, string>,
): IncidentActor {
  const name = id !== null && (type === 'user' || type === 'api_token') ? names.get(id) : undefined;
  return name === undefined ? { type, id } : { type, id, name };
}

function toIncident(
  row: IncidentRow,
  agentName: string,
  names: ReadonlyMap<string, string>,
): Incident {
  return {
    id: row.id,
    kind: row.kind,
    status: row.resolvedAt === null ? 'open' : 'resolved',
    agent: { id: row.agentId, name: agentName },
    job:
      row.namespace === null || row.name === null
        ? null
        : { namespace: row.namespace, name: row.name },
    openedAt: row.openedAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    resolvedAt: row.resolvedAt?.toISOString() ?? null,
    resolution: row.resolution,
    resolvedBy:
      row.resolvedAt === null || row.resolvedByType === null
        ? null
        : actorView(row.resolvedByType, row.resolvedById, names),
    acknowledgedAt: row.acknowledgedAt?.toISOString() ?? null,
    acknowledgedBy:
      row.acknowledgedAt === null || row.acknowledgedByType === null
        ? null
        : actorView(row.acknowledgedByType, row.acknowledgedById, names),
    silenced: row.silenceId !== null,
    silenceId: row.silenceId,
    expected: row.expected,
    happened: row.happened,
    occurrences: row.occurrences,
  };
}

/** Incidents as shown, with their agents' names and the names of who acknowledged or resolved them. */
export async function incidentViews(
  db: Database,
  rows: { incident: IncidentRow; agentName: string }[],
): Promise<Incident[]> {
  const names = await userNames(
    db,
    rows.flatMap(({ incident }) => [incident.acknowledgedById, incident.resolvedById]),
  );
  return rows.map(({ incident, agentName }) => toIncident(incident, agentName, names));
}

/** One incident of the caller's organization with its agent's name, or a 404. */
async function incidentOf(
  db: Database,
  organizationId: string,
  incidentId: string,
): Promise<{ incident: IncidentRow; agentName: string }> {
  const [row] = await db
    .select({ incident: incidents, agentName: agents.name })
    .from(incidents)
    .innerJoin(agents, eq(agents.id, incidents.agentId))
    .where(and(eq(incidents.id, incidentId), eq(incidents.organizationId, organizationId)));
  // Another organization's incident is as absent as one that never existed.
  if (row === undefined) throw notFound('incident');
  return row;
}

/** The 409 of a step that an incident's state forbids, or null when the step may be taken. */
function refusal(row: IncidentRow, step: 'acknowledge' | 'resolve'): Error | null {
  if (row.resolvedAt !== null) {
    return conflict(
      `incident ${row.id} was already resolved at ${row.resolvedAt.toISOString()} (${row.resolution ?? 'no resolution given'}); there is nothing to ${step}`,
    );
  }
  if (step === 'acknowledge' && row.acknowledgedAt !== null) {
    return conflict(
      `incident ${row.id} was already acknowledged at ${row.acknowledgedAt.toISOString()}; it is not re-alerted`,
    );
  }
  return null;
}

/**
 * What the incident is about, as the lifecycle needs it to notify: the agent, and the job
 * instance's labels, channels and settings. The instance may be gone (the job was removed from
 * the agent): then its incident still resolves, to the organization's default channels.
 */
async function subjectOf(
  db: Database,
  incident: IncidentRow,
  agentName: string,
): Promise<IncidentSubject> {
  const agent = { id: incident.agentId, name: agentName };
  if (incident.namespace === null || incident.name === null) {
    return { organizationId: incident.organizationId, agent, job: null };
  }
  const [instance] = await db
    .select({
      labels: jobInstances.labels,
      notify: jobInstances.notify,
      realertEverySeconds: jobInstances.realertEverySeconds,
      suspended: jobInstances.suspended,
    })
    .from(jobInstances)
    .where(
      and(
        eq(jobInstances.agentId, incident.agentId),
        eq(jobInstances.namespace, incident.namespace),
        eq(jobInstances.name, incident.name),
      ),
    );
  return {
    organizationId: incident.organizationId,
    agent,
    job: {
      namespace: incident.namespace,
      name: incident.name,
      labels: instance?.labels ?? {},
      notify: instance?.notify ?? [],
      realertEverySeconds: instance?.realertEverySeconds ?? null,
      suspended: instance?.suspended ?? false,
    },
  };
}

/** The conditions of a list query's filters (the organization's own incidents only). */
function filtersOf(organizationId: string, query: ListIncidentsQuery): SQL[] {
  const conditions: SQL[] = [eq(incidents.organizationId, organizationId)];
  if (query.status === 'open') conditions.push(isNull(incidents.resolvedAt));
  if (query.status === 'resolved') conditions.push(isNotNull(incidents.resolvedAt));
  if (query.kind !== undefined) conditions.push(eq(incidents.kind, query.kind));
  if (query.namespace !== undefined) conditions.push(eq(incidents.namespace, query.namespace));
  if (query.job !== undefined) conditions.push(eq(incidents.name, query.job));
  if (query.agent !== undefined) conditions.push(eq(incidents.agentId, query.agent));
  if (query.cursor !== undefined) {
    // The cursor's position is (opened_at, id) of the last incident served.
    const after = decodeCursor(query.cursor);
    conditions.push(
      sql`(${incidents.openedAt}, ${incidents.id}) < (timestamptz 'epoch' + ${after.createdAtMicros}::bigint * interval '1 microsecond', ${after.id}::uuid)`,
    );
  }
  return conditions;
}

export function registerIncidentRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;
  const lifecycle = { dashboardUrl: dashboardUrlOf(context.config) };

  mountRoute(app, context, apiRoutes.listIncidents, async ({ principal, query }) => {
    // Newest first along incidents_org_opened_idx (organization_id, opened_at desc, id desc).
    const rows = await db
      .select({ incident: incidents, agentName: agents.name, openedAtMicros })
      .from(incidents)
      .innerJoin(agents, eq(agents.id, incidents.agentId))
      .where(and(...filtersOf(principal.organizationId, query)))
      .orderBy(desc(incidents.openedAt), desc(incidents.id))
      .limit(query.limit + 1);
    const page = rows.slice(0, query.limit);
    const last = page.at(-1);
    return {
      items: await incidentViews(db, page),
      nextCursor:
        rows.length > query.limit && last !== undefined
          ? encodeCursor({ createdAtMicros: last.openedAtMicros, id: last.incident.id })
          : null,
    };
  });

  mountRoute(app, context, apiRoutes.getIncident, async ({ principal, params }) => {
    const row = await incidentOf(db, principal.organizationId, params.incidentId);
    const events = await db
      .select()
      .from(incidentEvents)
      .where(eq(incidentEvents.incidentId, row.incident.id))
      .orderBy(asc(incidentEvents.at), asc(incidentEvents.id));
    const names = await userNames(db, [
      row.incident.acknowledgedById,
      row.incident.resolvedById,
      ...events.map((event) => event.actorId),
    ]);
    const timeline: IncidentEvent[] = events.map((event) => ({
      id: event.id,
      at: event.at.toISOString(),
      type: event.type as IncidentEvent['type'],
      actor: actorView(event.actorType, event.actorId, names),
      message: event.message,
    }));
    const detail: IncidentDetail = {
      ...toIncident(row.incident, row.agentName, names),
      events: timeline,
    };
    return detail;
  });

  mountRoute(app, context, apiRoutes.acknowledgeIncident, async ({ principal, params }) =>
    db.transaction(async (tx) => {
      const { organizationId } = principal;
      const current = await incidentOf(tx, organizationId, params.incidentId);
      const refused = refusal(current.incident, 'acknowledge');
      if (refused !== null) throw refused;
      const { actor, name } = await actingUserOf(tx, principal);
      const now = context.now();
      if (!(await acknowledgeIncident(tx, organizationId, current.incident.id, actor, name, now))) {
        // Someone else acknowledged or resolved it since it was read: say which.
        const changed = await incidentOf(tx, organizationId, params.incidentId);
        throw refusal(changed.incident, 'acknowledge') ?? conflict('the incident changed; retry');
      }
      const [view] = await incidentViews(tx, [
        await incidentOf(tx, organizationId, params.incidentId),
      ]);
      return view!;
    }),
  );

  mountRoute(app, context, apiRoutes.resolveIncident, async ({ principal, params, body }) =>
    db.transaction(async (tx) => {
      const { organizationId } = principal;
      const current = await incidentOf(tx, organizationId, params.incidentId);
      const refused = refusal(current.incident, 'resolve');
      if (refused !== null) throw refused;
      const { actor, name } = await actingUserOf(tx, principal);
      const resolution =
        body.comment === undefined ? `resolved by ${name}` : `resolved by ${name}: ${body.comment}`;
      const subject = await subjectOf(tx, current.incident, current.agentName);
      const resolved = await resolveIncident(
        tx,
        lifecycle,
        subject,
        current.incident.id,
        resolution,
        actor,
        context.now(),
      );
      if (!resolved) {
        const changed = await incidentOf(tx, organizationId, params.incidentId);
        throw refusal(changed.incident, 'resolve') ?? conflict('the incident changed; retry');
      }
      const [view] = await incidentViews(tx, [
        await incidentOf(tx, organizationId, params.incidentId),
      ]);
      return view!;
    }),
  );
}
