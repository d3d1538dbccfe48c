import type { Request } from 'express';
import type { Database } from '../db/database.js';
import { auditLog } from '../db/schema.js';
import type { Principal } from '../http/authenticate.js';

export interface AuditEvent {
  /** Dotted verb, e.g. `agent.revoke`, `user.role.change`, `api_token.create`. */
  action: string;
  targetType?: string;
  targetId?: string;
  /** What changed; never a secret (tokens and passwords are not written here). */
  details?: Record<string, unknown>;
}

/**
 * Appends to the audit log who did what, when and from where. Pass the transaction (`db`) that
 * made the change, so the change and its record commit together.
 */
export async function recordAudit(
  db: Database,
  who: { principal: Principal | undefined; organizationId: string | null; request?: Request },
  event: AuditEvent,
): Promise<void> {
  const { principal, request } = who;
  const actor =
    principal === undefined
      ? { actorType: 'system' as const, actorId: null }
      : principal.kind === 'user'
        ? {
            actorType: principal.via === 'api_token' ? ('api_token' as const) : ('user' as const),
            actorId: principal.userId,
          }
        : principal.kind === 'agent'
          ? { actorType: 'agent' as const, actorId: principal.agentId }
          : { actorType: 'system' as const, actorId: principal.enrollmentTokenId };
  await db.insert(auditLog).values({
    organizationId: who.organizationId,
    ...actor,
    action: event.action,
    targetType: event.targetType ?? null,
    targetId: event.targetId ?? null,
    details: event.details ?? {},
    ip: request?.ip ?? null,
    userAgent: request?.get('user-agent')?.slice(0, 512) ?? null,
  });
}
