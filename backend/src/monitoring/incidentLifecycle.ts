import { and, eq, gt, isNull, lte, sql } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { auditLog, incidentEvents, incidents, silences } from '../db/schema.js';
import type {
  IncidentKind,
  Notification,
  NotificationEvent,
} from '../notifications/notification.js';
import { channelsFor, enqueueNotification } from '../notifications/outbox.js';
import { publishAgentChange, publishIncidentChange } from '../events/liveEventChannel.js';

/**
 * An incident's life: opened, updated, silenced, acknowledged, re-alerted and resolved, each step
 * one event on its timeline, one audit record, and (unless it is silenced, acknowledged for a
 * re-alert, or its job suspended) one notification per channel in the outbox, and one NOTIFY of
 * the dashboard's live events (opened, updated, acknowledged, resolved), all in the caller's
 * transaction. The monitoring worker and the incident routes both go through here.
 */

export type ActorType = 'user' | 'api_token' | 'agent' | 'system';
export interface Actor {
  type: ActorType;
  id: string | null;
}
export const systemActor: Actor = { type: 'system', id: null };

/** What an incident is about: an agent, and for a job's incident the job instance on it. */
export interface IncidentSubject {
  organizationId: string;
  agent: { id: string; name: string };
  job: {
    namespace: string;
    name: string;
    labels: Record<string, string>;
    notify: readonly string[];
    realertEverySeconds: number | null;
    suspended: boolean;
  } | null;
}

export interface IncidentFacts {
  expected: string;
  happened: string;
  occurrences: number;
  /** The end of the last run's output, for a failure. */
  outputTail?: string;
}

/** Where notifications link to, and the clock. */
export interface LifecycleContext {
  /** The dashboard's URL, e.g. https://cron.example.com (no trailing slash). */
  dashboardUrl: string;
}

export interface OpenedIncident {
  id: string;
  silenced: boolean;
}

type IncidentRow = typeof incidents.$inferSelect;

function actorColumns(actor: Actor) {
  return { actorType: actor.type, actorId: actor.id };
}

/** The active silence that matches the subject at `at`, if any (the one ending last). */
export async function matchingSilence(
  db: Database,
  subject: IncidentSubject,
  at: Date,
): Promise<string | null> {
  const active = await db
    .select({
      id: silences.id,
      namespace: silences.namespace,
      jobName: silences.jobName,
      jobLabels: silences.jobLabels,
      agentId: silences.agentId,
      endsAt: silences.endsAt,
    })
    .from(silences)
    .where(
      and(
        eq(silences.organizationId, subject.organizationId),
        lte(silences.startsAt, at),
        gt(silences.endsAt, at),
      ),
    );
  let best: { id: string; endsAt: Date } | null = null;
  for (const silence of active) {
    if (!silenceMatches(silence, subject)) continue;
    if (best === null || silence.endsAt > best.endsAt) best = silence;
  }
  return best?.id ?? null;
}

/**
 * Whether a silence's matchers all hold for the subject. An agent's own incident (no job) is
 * matched only by a silence that names no job matcher.
 */
export function silenceMatches(
  silence: {
    namespace: string | null;
    jobName: string | null;
    jobLabels: Record<string, string>;
    agentId: string | null;
  },
  subject: Pick<IncidentSubject, 'agent' | 'job'>,
): boolean {
  if (silence.agentId !== null && silence.agentId !== subject.agent.id) return false;
  const labelMatchers = Object.entries(silence.jobLabels);
  const { job } = subject;
  if (job === null) {
    return silence.namespace === null && silence.jobName === null && labelMatchers.length === 0;
  }
  if (silence.namespace !== null && silence.namespace !== job.namespace) return false;
  if (silence.jobName !== null && silence.jobName !== job.name) return false;
  return labelMatchers.every(([key, value]) => job.labels[key] === value);
}

async function addEvent(
  db: Database,
  incidentId: string,
  at: Date,
  type: string,
  actor: Actor,
  message: string,
): Promise<void> {
  await db.insert(incidentEvents).values({ incidentId, at, type, ...actorColumns(actor), message });
}

async function audit(
  db: Database,
  organizationId: string,
  actor: Actor,
  action: string,
  incidentId: string,
  details: Record<string, unknown>,
): Promise<void> {
  await db.insert(auditLog).values({
    organizationId,
    ...actorColumns(actor),
    action,
    targetType: 'incident',
    targetId: incidentId,
    details,
  });
}

/** Sends one event of the incident to the subject's channels (through the outbox). */
async function notify(
  db: Database,
  context: LifecycleContext,
  subject: IncidentSubject,
  incident: IncidentRow,
  event: NotificationEvent,
  key: string,
  at: Date,
  outputTail: string | undefined,
): Promise<void> {
  const { channelIds } = await channelsFor(db, subject.organizationId, subject.job?.notify ?? []);
  if (channelIds.length === 0) return;
  const notification: Notification = {
    idempotencyKey: `${incident.id}:${key}`,
    event,
    incident: {
      id: incident.id,
      kind: incident.kind as IncidentKind,
      openedAt: incident.openedAt.toISOString(),
      ...(incident.resolvedAt === null ? {} : { resolvedAt: incident.resolvedAt.toISOString() }),
    },
    ...(subject.job === null
      ? {}
      : { job: { namespace: subject.job.namespace, name: subject.job.name } }),
    agent: subject.agent,
    expected: incident.expected.slice(0, 1000),
    happened: incident.happened.slice(0, 1000),
    ...(outputTail === undefined || outputTail === ''
      ? {}
      : { outputTail: outputTail.slice(-16_384) }),
    dashboardUrl: `${context.dashboardUrl}/incidents/${incident.id}`,
    occurredAt: at.toISOString(),
  };
  await enqueueNotification(db, {
    organizationId: subject.organizationId,
    incidentId: incident.id,
    channelIds,
    notification,
    now: at,
  });
}

function realertAt(subject: IncidentSubject, from: Date): Date | null {
  const every = subject.job?.realertEverySeconds ?? null;
  return every === null ? null : new Date(from.getTime() + every * 1000);
}

/**
 * Opens an incident of `kind` for the subject, unless one is open already (another replica's, or
 * an earlier pass's): then it answers null and changes nothing. An incident that a silence matches
 * is recorded as silenced and notifies nobody; one of a suspended job neither.
 */
export async function openIncident(
  db: Database,
  context: LifecycleContext,
  subject: IncidentSubject,
  kind: IncidentKind,
  facts: IncidentFacts,
  at: Date,
): Promise<OpenedIncident | null> {
  const silenceId = await matchingSilence(db, subject, at);
  const muted = silenceId !== null || subject.job?.suspended === true;
  const target =
    subject.job === null
      ? {
          target: [incidents.agentId, incidents.kind],
          where: sql`${incidents.resolvedAt} is null and ${incidents.namespace} is null`,
        }
      : {
          target: [incidents.agentId, incidents.namespace, incidents.name, incidents.kind],
          where: sql`${incidents.resolvedAt} is null and ${incidents.namespace} is not null`,
        };
  const [incident] = await db
    .insert(incidents)
    .values({
      organizationId: subject.organizationId,
      kind,
      agentId: subject.agent.id,
      namespace: subject.job?.namespace ?? null,
      name: subject.job?.name ?? null,
      openedAt: at,
      updatedAt: at,
      expected: facts.expected,
      happened: facts.happened,
      occurrences: facts.occurrences,
      silenceId,
      nextRealertAt: muted ? null : realertAt(subject, at),
    })
    .onConflictDoNothing(target)
    .returning();
  if (incident === undefined) return null;
  await publishIncidentChange(db, subject.organizationId, incident.id, 'opened');
  // An agent's own incident (offline) is also a change of its status.
  if (subject.job === null) await publishAgentChange(db, subject.organizationId, subject.agent.id);
  await addEvent(db, incident.id, at, 'opened', systemActor, facts.happened);
  await audit(db, subject.organizationId, systemActor, 'incident.open', incident.id, {
    kind,
    agentId: subject.agent.id,
    ...(subject.job === null ? {} : { job: `${subject.job.namespace}/${subject.job.name}` }),
  });
  if (silenceId !== null) {
    await addEvent(
      db,
      incident.id,
      at,
      'silenced',
      systemActor,
      `silenced by silence ${silenceId}`,
    );
  } else if (!muted) {
    await notify(db, context, subject, incident, 'incident.opened', 'opened', at, facts.outputTail);
  }
  return { id: incident.id, silenced: silenceId !== null };
}

/** Records what changed in an open incident (more missed fires, a longer failure streak). No notification: re-alerts are timed. */
export async function updateIncident(
  db: Database,
  incidentId: string,
  facts: IncidentFacts,
  at: Date,
): Promise<void> {
  const [updated] = await db
    .update(incidents)
    .set({
      updatedAt: at,
      expected: facts.expected,
      happened: facts.happened,
      occurrences: facts.occurrences,
    })
    .where(and(eq(incidents.id, incidentId), isNull(incidents.resolvedAt)))
    .returning({ id: incidents.id, organizationId: incidents.organizationId });
  if (updated === undefined) return;
  await publishIncidentChange(db, updated.organizationId, incidentId, 'updated');
  await addEvent(db, incidentId, at, 'updated', systemActor, facts.happened);
}

/**
 * Resolves an open incident (compare-and-set: a second resolve, by another replica or a person,
 * changes nothing and answers false). Notifies its channels unless it was silenced, a silence
 * covers it now, or its job is suspended.
 */
export async function resolveIncident(
  db: Database,
  context: LifecycleContext,
  subject: IncidentSubject,
  incidentId: string,
  resolution: string,
  actor: Actor,
  at: Date,
): Promise<boolean> {
  const [incident] = await db
    .update(incidents)
    .set({
      resolvedAt: at,
      updatedAt: at,
      resolution,
      nextRealertAt: null,
      resolvedByType: actor.type === 'system' ? null : actor.type,
      resolvedById: actor.id,
    })
    .where(
      and(
        eq(incidents.id, incidentId),
        eq(incidents.organizationId, subject.organizationId),
        isNull(incidents.resolvedAt),
      ),
    )
    .returning();
  if (incident === undefined) return false;
  await publishIncidentChange(db, subject.organizationId, incident.id, 'resolved');
  if (subject.job === null) await publishAgentChange(db, subject.organizationId, subject.agent.id);
  await addEvent(db, incident.id, at, 'resolved', actor, resolution);
  await audit(db, subject.organizationId, actor, 'incident.resolve', incident.id, { resolution });
  // A silenced incident, a suspended job's, or one a silence covers now notifies nobody.
  if (
    incident.silenceId === null &&
    subject.job?.suspended !== true &&
    (await matchingSilence(db, subject, at)) === null
  ) {
    await notify(db, context, subject, incident, 'incident.resolved', 'resolved', at, undefined);
  }
  return true;
}

/** Acknowledges an open incident: someone is on it, so it is not re-alerted. False when not open or already acknowledged. */
export async function acknowledgeIncident(
  db: Database,
  organizationId: string,
  incidentId: string,
  actor: Actor,
  actorName: string,
  at: Date,
): Promise<boolean> {
  const [incident] = await db
    .update(incidents)
    .set({
      acknowledgedAt: at,
      acknowledgedByType: actor.type,
      acknowledgedById: actor.id,
      nextRealertAt: null,
      updatedAt: at,
    })
    .where(
      and(
        eq(incidents.id, incidentId),
        eq(incidents.organizationId, organizationId),
        isNull(incidents.resolvedAt),
        isNull(incidents.acknowledgedAt),
      ),
    )
    .returning({ id: incidents.id });
  if (incident === undefined) return false;
  await publishIncidentChange(db, organizationId, incidentId, 'acknowledged');
  await addEvent(db, incidentId, at, 'acknowledged', actor, `acknowledged by ${actorName}`);
  await audit(db, organizationId, actor, 'incident.acknowledge', incidentId, {});
  return true;
}

/**
 * Notifies an open incident again (monitoring.realertEvery), unless a silence now matches it:
 * then it waits for the next period. Compare-and-set on next_realert_at, so one replica sends it.
 */
export async function realertIncident(
  db: Database,
  context: LifecycleContext,
  subject: IncidentSubject,
  incident: IncidentRow,
  at: Date,
): Promise<boolean> {
  const next = realertAt(subject, at);
  const [claimed] = await db
    .update(incidents)
    .set({ nextRealertAt: next })
    .where(
      and(
        eq(incidents.id, incident.id),
        isNull(incidents.resolvedAt),
        isNull(incidents.acknowledgedAt),
        eq(incidents.nextRealertAt, incident.nextRealertAt!),
      ),
    )
    .returning({ id: incidents.id });
  if (claimed === undefined) return false;
  if (subject.job?.suspended === true) return false;
  if ((await matchingSilence(db, subject, at)) !== null) return false;
  await addEvent(db, incident.id, at, 'realerted', systemActor, `still open: ${incident.happened}`);
  await notify(
    db,
    context,
    subject,
    incident,
    'incident.updated',
    `realert:${at.getTime()}`,
    at,
    undefined,
  );
  return true;
}
