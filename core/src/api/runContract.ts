import { z } from 'zod';
import { RunTrigger } from './checkInContract.js';
import { IsoDateTime, JobName, JobRef, Namespace, Revision, Uuid } from './fieldContract.js';
import { Cursor, PageLimit, paginatedResponse } from './paginationContract.js';

/** Run history: `GET /api/v1/runs` and `GET /api/v1/runs/:runId`. */

/** A run's state: `running` until its finish arrives, `lost` when it never will. */
export const RunStatus = z.enum(['running', 'succeeded', 'failed', 'timed_out', 'skipped', 'lost']);
export type RunStatus = z.infer<typeof RunStatus>;

/** A run as the runs list shows it (without its output). */
export const Run = z.object({
  runId: Uuid,
  agentId: Uuid,
  agentName: z.string(),
  namespace: Namespace,
  name: JobName,
  attempt: z.number().int().min(1),
  trigger: RunTrigger,
  status: RunStatus,
  scheduledAt: IsoDateTime.nullable(),
  /** null when only a finish arrived (e.g. a skipped run). */
  startedAt: IsoDateTime.nullable(),
  finishedAt: IsoDateTime.nullable(),
  durationMs: z.number().int().min(0).nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  outputTruncated: z.boolean(),
  revision: Revision,
});
export type Run = z.infer<typeof Run>;

/** A run with the head and tail of its output. */
export const RunDetail = Run.extend({
  outputHead: z.string(),
  outputTail: z.string(),
});
export type RunDetail = z.infer<typeof RunDetail>;

/** `GET /api/v1/runs` query; values arrive as strings. Newest runs first. */
export const ListRunsQuery = z
  .object({
    /** One job, written `namespace/name`. */
    job: JobRef.optional(),
    namespace: Namespace.optional(),
    agentId: Uuid.optional(),
    status: RunStatus.optional(),
    /** Runs started (or, without a start, finished) at or after this time. */
    from: IsoDateTime.optional(),
    /** Runs started before this time. */
    to: IsoDateTime.optional(),
    /** Text searched in the output head and tail. */
    q: z.string().min(1).max(200).optional(),
    limit: PageLimit,
    cursor: Cursor.optional(),
  })
  .superRefine((query, ctx) => {
    if (query.from !== undefined && query.to !== undefined) {
      if (Date.parse(query.from) > Date.parse(query.to)) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: `to (${query.to}) is before from (${query.from}); swap them`,
        });
      }
    }
  });
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

export const ListRunsResponse = paginatedResponse(Run);
export type ListRunsResponse = z.infer<typeof ListRunsResponse>;

/** `GET /api/v1/runs/:runId` path parameters. */
export const RunPathParams = z.object({ runId: Uuid });
export type RunPathParams = z.infer<typeof RunPathParams>;
