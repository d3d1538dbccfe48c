import { z } from 'zod';
import { IsoDateTime, TimeFilter, Uuid } from './fieldContract.js';
import { Cursor, PageLimit, paginatedResponse } from './paginationContract.js';

/** The audit log of an organization: `GET /api/v1/audit` (admins). */

/** Who acted: a user with a session, a user with an API token, an agent, or the system. */
export const AuditActorType = z.enum(['user', 'api_token', 'agent', 'system']);
export type AuditActorType = z.infer<typeof AuditActorType>;

/** One entry: who did what to which target, when and from where. */
export const AuditEntry = z.object({
  /** Increases with every entry written. */
  id: z.number().int().min(1),
  createdAt: IsoDateTime,
  actorType: AuditActorType,
  /** The user's id (for `user` and `api_token`), the agent's id, or null (`system`). */
  actorId: z.string().nullable(),
  /** A dotted verb, e.g. `api_token.revoke`, `user.role.change`, `organization.rename`. */
  action: z.string(),
  /** What was acted on, e.g. `agent`, `user`, `api_token`, `organization`. */
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  /** What changed (never a secret). */
  details: z.record(z.string(), z.unknown()),
  /** The client address and user agent of the request, when it came over HTTP. */
  ip: z.string().nullable(),
  userAgent: z.string().nullable(),
});
export type AuditEntry = z.infer<typeof AuditEntry>;

/** An action, or a dotted prefix ending in `.*` (`api_token.*`: every action on API tokens). */
export const AuditActionFilter = z
  .string()
  .max(100, 'must be at most 100 characters')
  .regex(
    /^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)*(?:\.\*)?$/,
    'must be an action such as api_token.revoke, or a prefix ending in .* such as api_token.*',
  );

/** `GET /api/v1/audit` query; values arrive as strings. Newest entries first. */
export const ListAuditQuery = z
  .object({
    /** The acting user's or agent's id. */
    actor: Uuid.optional(),
    actorType: AuditActorType.optional(),
    action: AuditActionFilter.optional(),
    /** The kind of target, e.g. `agent`, `user`, `api_token`, `organization`. */
    targetType: z
      .string()
      .regex(/^[a-z][a-z0-9_]{0,62}$/, 'must be a target type such as agent, user or api_token')
      .optional(),
    /** The target's id. */
    targetId: z
      .string()
      .min(1, 'must not be empty')
      .max(200, 'must be at most 200 characters')
      .regex(/^[A-Za-z0-9_./:-]+$/, 'must be an id such as a UUID')
      .optional(),
    /** Entries written at or after this time. */
    from: TimeFilter.optional(),
    /** Entries written before this time. */
    to: TimeFilter.optional(),
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
export type ListAuditQuery = z.infer<typeof ListAuditQuery>;

export const ListAuditResponse = paginatedResponse(AuditEntry);
export type ListAuditResponse = z.infer<typeof ListAuditResponse>;
