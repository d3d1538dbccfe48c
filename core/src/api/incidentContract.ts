import { z } from 'zod';
import { AuditActorType } from './auditContract.js';
import { IsoDateTime, JobName, Namespace, Uuid } from './fieldContract.js';
import { Cursor, PageLimit, paginatedResponse } from './paginationContract.js';

/**
 * Incidents (`/api/v1/incidents`): the record of each problem the monitoring worker found (a
 * missed fire, a failing job, an overrunning run, an agent gone offline), with its timeline.
 * The worker opens, updates and resolves them; people acknowledge them (no more re-alerts) and
 * may resolve them by hand.
 */

/** What went wrong: a job instance's problem, or its agent's (`agent_offline`). */
export const incidentKinds = ['missed', 'failing', 'overrun', 'agent_offline'] as const;
export const IncidentKind = z.enum(incidentKinds);
export type IncidentKind = z.infer<typeof IncidentKind>;

/** Open until the problem ends (the worker resolves it) or someone resolves it. */
export const IncidentStatus = z.enum(['open', 'resolved']);
export type IncidentStatus = z.infer<typeof IncidentStatus>;

/** Who did something to an incident: a user (with a session or an API token) or an agent. */
export const IncidentActor = z.object({
  type: AuditActorType,
  /** The user's id (for `user` and `api_token`), the agent's id; null for the system. */
  id: z.string().nullable(),
  /** The user's e-mail address, when the user still exists. */
  name: z.string().optional(),
});
export type IncidentActor = z.infer<typeof IncidentActor>;

/** An incident as every route shows it. */
export const Incident = z.object({
  id: Uuid,
  kind: IncidentKind,
  status: IncidentStatus,
  agent: z.object({ id: Uuid, name: z.string() }),
  /** The job instance on that agent; null for an agent's own incident (`agent_offline`). */
  job: z.object({ namespace: Namespace, name: JobName }).nullable(),
  openedAt: IsoDateTime,
  /** The last change: an update of its facts, an acknowledgement, its resolution. */
  updatedAt: IsoDateTime,
  resolvedAt: IsoDateTime.nullable(),
  /** Why it was resolved, e.g. `a run started for the fire at 2024-05-01 02:10 UTC`. */
  resolution: z.string().nullable(),
  /** Who resolved it; null while open, and when the worker resolved it (the problem ended). */
  resolvedBy: IncidentActor.nullable(),
  acknowledgedAt: IsoDateTime.nullable(),
  acknowledgedBy: IncidentActor.nullable(),
  /** A silence matched when it opened: it notified nobody (and never will). */
  silenced: z.boolean(),
  silenceId: Uuid.nullable(),
  /** What should have happened and what did, as the latest event says it. */
  expected: z.string(),
  happened: z.string(),
  /** Missed fires, failed runs in a row, or overrunning runs seen so far. */
  occurrences: z.number().int().min(0),
});
export type Incident = z.infer<typeof Incident>;

/** The kinds of step on an incident's timeline. */
export const IncidentEventType = z.enum([
  'opened',
  'updated',
  'silenced',
  'acknowledged',
  'realerted',
  'resolved',
]);
export type IncidentEventType = z.infer<typeof IncidentEventType>;

/** One step on the timeline. */
export const IncidentEvent = z.object({
  /** Increases with every event written. */
  id: z.number().int().min(1),
  at: IsoDateTime,
  type: IncidentEventType,
  actor: IncidentActor,
  message: z.string(),
});
export type IncidentEvent = z.infer<typeof IncidentEvent>;

/** `GET /api/v1/incidents/:incidentId`: the incident and its timeline, oldest event first. */
export const IncidentDetail = Incident.extend({ events: z.array(IncidentEvent) });
export type IncidentDetail = z.infer<typeof IncidentDetail>;

/** `GET /api/v1/incidents` query; values arrive as strings. Newest (by openedAt) first. */
export const ListIncidentsQuery = z.object({
  /** Absent: open and resolved ones. */
  status: IncidentStatus.optional(),
  kind: IncidentKind.optional(),
  namespace: Namespace.optional(),
  /** The job's name (with `namespace`, one job; alone, that name in every namespace). */
  job: JobName.optional(),
  /** The agent's id. */
  agent: Uuid.optional(),
  limit: PageLimit,
  cursor: Cursor.optional(),
});
export type ListIncidentsQuery = z.infer<typeof ListIncidentsQuery>;

export const ListIncidentsResponse = paginatedResponse(Incident);
export type ListIncidentsResponse = z.infer<typeof ListIncidentsResponse>;

export const IncidentPathParams = z.object({ incidentId: Uuid });
export type IncidentPathParams = z.infer<typeof IncidentPathParams>;

/** Free text a person writes (a comment): 1 to `maxLength` characters, lines and tabs allowed. */
export function commentText(maxLength: number) {
  return z
    .string()
    .min(1, 'must not be empty')
    .max(maxLength, `must be at most ${maxLength} characters`)
    .regex(
      /^(?:[^\p{Cc}]|[\n\t])*$/u,
      'must not contain control characters (line breaks and tabs are fine)',
    )
    .refine((text) => text.trim() !== '', { error: 'must not be only spaces' });
}

/**
 * `POST /api/v1/incidents/:incidentId/resolve`: send `{}`, or a comment, which the resolution
 * keeps: `resolved by ada@example.com: fixed the disk`.
 */
export const ResolveIncidentRequest = z.strictObject({
  comment: commentText(1000).optional(),
});
export type ResolveIncidentRequest = z.infer<typeof ResolveIncidentRequest>;
