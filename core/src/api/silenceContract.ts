import { z } from 'zod';
import { AuditActorType } from './auditContract.js';
import { IsoDateTime, JobName, Labels, Namespace, TimeFilter, Uuid } from './fieldContract.js';
import { commentText } from './incidentContract.js';
import { Cursor, PageLimit, paginatedResponse } from './paginationContract.js';

/**
 * Silences (`/api/v1/silences`): maintenance windows, as in Alertmanager. A silence matches the
 * incidents whose job and agent fit all of its matchers, between two instants; an incident that
 * opens under a silence is recorded as silenced and notifies nobody.
 */

/** The most labels one silence may match on. */
export const MAX_SILENCE_LABELS = 20;
/** How far ahead a silence may end, from the moment it is created. */
export const MAX_SILENCE_DAYS = 365;

/**
 * What a silence matches: every matcher given must hold. Labels match a job's metadata.labels
 * (each one given must be equal). An agent's own incident (`agent_offline`) is matched only by a
 * silence without job matchers (no namespace, job or labels), e.g. `{ agentId }`.
 */
export const SilenceMatchers = z
  .strictObject({
    namespace: Namespace.optional(),
    /** The job's name. */
    job: JobName.optional(),
    labels: Labels.refine((labels) => Object.keys(labels).length <= MAX_SILENCE_LABELS, {
      error: `must have at most ${MAX_SILENCE_LABELS} labels`,
    }).default({}),
    /** An agent of the organization. */
    agentId: Uuid.optional(),
  })
  .refine(
    (matchers) =>
      matchers.namespace !== undefined ||
      matchers.job !== undefined ||
      matchers.agentId !== undefined ||
      Object.keys(matchers.labels).length > 0,
    {
      error:
        'give at least one matcher (namespace, job, labels or agentId): a silence of everything would hide every incident',
    },
  );
export type SilenceMatchers = z.infer<typeof SilenceMatchers>;

/** Where a silence stands now: not started yet, silencing, or over (ended or expired by hand). */
export const SilenceStatus = z.enum(['pending', 'active', 'expired']);
export type SilenceStatus = z.infer<typeof SilenceStatus>;

/** A silence as every route shows it. */
export const Silence = z.object({
  id: Uuid,
  matchers: SilenceMatchers,
  startsAt: IsoDateTime,
  /** When someone expired it early, the moment they did. */
  endsAt: IsoDateTime,
  comment: z.string(),
  createdBy: z.object({
    type: AuditActorType,
    /** The user's id; null for the system. */
    id: z.string().nullable(),
    /** As shown: the user's e-mail address (and the API token's name, when made with one). */
    name: z.string(),
  }),
  createdAt: IsoDateTime,
  /** When someone expired it early; null otherwise. */
  expiredAt: IsoDateTime.nullable(),
  status: SilenceStatus,
});
export type Silence = z.infer<typeof Silence>;

/** `GET /api/v1/silences` query: newest (by createdAt) first. */
export const ListSilencesQuery = z.object({
  status: SilenceStatus.optional(),
  limit: PageLimit,
  cursor: Cursor.optional(),
});
export type ListSilencesQuery = z.infer<typeof ListSilencesQuery>;

export const ListSilencesResponse = paginatedResponse(Silence);
export type ListSilencesResponse = z.infer<typeof ListSilencesResponse>;

/**
 * `POST /api/v1/silences`. `startsAt` defaults to now; `endsAt` must come after it, after now,
 * and at most {@link MAX_SILENCE_DAYS} days from now (the backend checks the last two with its
 * own clock).
 */
export const CreateSilenceRequest = z
  .strictObject({
    matchers: SilenceMatchers,
    startsAt: TimeFilter.optional(),
    endsAt: TimeFilter,
    /** Why: the change, the ticket. */
    comment: commentText(1000),
  })
  .superRefine((request, ctx) => {
    if (
      request.startsAt !== undefined &&
      Date.parse(request.endsAt) <= Date.parse(request.startsAt)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['endsAt'],
        message: `must be after startsAt (${request.startsAt})`,
      });
    }
  });
export type CreateSilenceRequest = z.infer<typeof CreateSilenceRequest>;

export const SilencePathParams = z.object({ silenceId: Uuid });
export type SilencePathParams = z.infer<typeof SilencePathParams>;
