import type { EnrollOutcome, EnrollRequest, EnrollResponse } from '@cronfleet/core/api';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Request } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import type { Database } from '../db/database.js';
import { agents, enrollmentTokens } from '../db/schema.js';
import { conflict, unauthorized } from '../http/apiError.js';
import type { AppContext } from '../http/appContext.js';
import type { EnrollmentPrincipal } from '../http/authenticate.js';
import { credentialsChanged } from '../http/credentialCache.js';
import { generateToken, hashToken } from '../http/credentials.js';

/**
 * Enrollment and agent identity. The machine id names a host, not an agent: several agents (one
 * per state directory) may run on one host, so enrolling never looks an agent up by it. An
 * existing identity is entered only with proof:
 *
 * - the agent's current token (`currentAgentToken`), which only that agent holds: re-enrolling
 *   (`cronfleet-agent enroll --force`) keeps the agent's id, history and inventory;
 * - or an enrollment token that an operator created to replace one named agent
 *   (`replacesAgentId`), for a host reinstalled with its state directory lost.
 *
 * Otherwise enrolling creates a new agent. A revoked agent is never entered again.
 */

const identityHelp = 'see "Identity" in docs/agent.md';

type Transaction = Parameters<Parameters<Database['transaction']>[0]>[0];

interface IdentityRow {
  id: string;
  name: string;
  machineId: string;
  revokedAt: Date | null;
  revokedReason: string | null;
}

const identityColumns = {
  id: agents.id,
  name: agents.name,
  machineId: agents.machineId,
  revokedAt: agents.revokedAt,
  revokedReason: agents.revokedReason,
};

function revokedIdentity(agent: IdentityRow, how: string): never {
  throw conflict(
    `agent ${agent.name} (${agent.id}) was revoked${agent.revokedReason ? ` (${agent.revokedReason})` : ''}, and a revoked agent stays revoked: ${how} cannot enroll into it. Enroll this host as a new agent instead (cronfleet-agent enroll --new); ${identityHelp}`,
  );
}

/** The agent whose current token was sent as proof, locked; a 409 when the proof fails. */
async function provenAgent(
  tx: Transaction,
  organizationId: string,
  currentAgentToken: string,
): Promise<IdentityRow> {
  const [agent] = await tx
    .select(identityColumns)
    .from(agents)
    .where(
      and(
        eq(agents.tokenHash, hashToken(currentAgentToken)),
        eq(agents.organizationId, organizationId),
      ),
    )
    .for('update');
  // Another organization's agent is as unknown as a token that was never issued.
  if (agent === undefined) {
    throw conflict(
      `currentAgentToken is not the token of an agent of this organization (a later enrollment or an operator's replace gave the agent another token, or the token belongs to another organization), so it proves no identity. Enroll without it to create a new agent (cronfleet-agent enroll --new), or ask an operator for an enrollment token that replaces the agent; ${identityHelp}`,
    );
  }
  if (agent.revokedAt !== null) revokedIdentity(agent, 'its token');
  return agent;
}

/** The agent a replace token names, locked; a 409 when it was revoked since the token was made. */
async function agentToReplace(
  tx: Transaction,
  organizationId: string,
  agentId: string,
): Promise<IdentityRow> {
  const [agent] = await tx
    .select(identityColumns)
    .from(agents)
    .where(and(eq(agents.id, agentId), eq(agents.organizationId, organizationId)))
    .for('update');
  // The foreign key deletes the token with its agent: a replace token always finds its agent.
  if (agent === undefined) throw new Error(`the agent ${agentId} of a replace token is missing`);
  if (agent.revokedAt !== null) revokedIdentity(agent, 'an enrollment token that replaces it');
  return agent;
}

/**
 * `POST /api/v1/agents/enroll`: takes one use of the enrollment token, then creates an agent,
 * re-enrolls the proven one, or replaces the one the token names; all in one transaction, so a
 * refused proof takes no use. Returns the new agent token (shown once) and what happened.
 */
export async function enrollAgent(
  context: AppContext,
  principal: EnrollmentPrincipal,
  body: EnrollRequest,
  request: Request,
): Promise<EnrollResponse> {
  const now = context.now();
  const agentToken = generateToken('agent');
  let evict: (() => void) | undefined;
  const enrolled = await context.database.db.transaction(async (tx) => {
    // Take one use, atomically: under concurrency a token with maxUses N enrolls exactly N
    // agents (the row lock makes the next UPDATE re-check `uses` after this one commits).
    const [token] = await tx
      .update(enrollmentTokens)
      .set({ uses: sql`${enrollmentTokens.uses} + 1` })
      .where(
        and(
          eq(enrollmentTokens.id, principal.enrollmentTokenId),
          eq(enrollmentTokens.organizationId, principal.organizationId),
          isNull(enrollmentTokens.revokedAt),
          sql`(${enrollmentTokens.expiresAt} is null or ${enrollmentTokens.expiresAt} > ${now.toISOString()}::timestamptz)`,
          sql`(${enrollmentTokens.maxUses} is null or ${enrollmentTokens.uses} < ${enrollmentTokens.maxUses})`,
        ),
      )
      .returning({
        id: enrollmentTokens.id,
        labels: enrollmentTokens.labels,
        replacesAgentId: enrollmentTokens.replacesAgentId,
        createdByUserId: enrollmentTokens.createdByUserId,
      });
    if (token === undefined) {
      throw unauthorized(
        'this enrollment token can no longer be used: its use limit was reached, or it was revoked or expired meanwhile; ask an operator for a new enrollment token',
      );
    }
    const proven =
      body.currentAgentToken === undefined
        ? undefined
        : await provenAgent(tx, principal.organizationId, body.currentAgentToken);
    let existing: IdentityRow | undefined = proven;
    let outcome: EnrollOutcome = proven === undefined ? 'created' : 'reenrolled';
    if (token.replacesAgentId !== null) {
      if (proven !== undefined && proven.id !== token.replacesAgentId) {
        throw conflict(
          `this enrollment token replaces agent ${token.replacesAgentId}, but currentAgentToken proves agent ${proven.name} (${proven.id}): send one or the other. To re-enroll ${proven.name}, use an enrollment token that replaces no agent; ${identityHelp}`,
        );
      }
      existing = await agentToReplace(tx, principal.organizationId, token.replacesAgentId);
      outcome = 'replaced';
    }

    // The token's labels win over the agent's own: whoever issued the token decides them.
    const labels = { ...body.labels, ...token.labels };
    const facts = {
      name: body.name,
      hostname: body.hostname,
      machineId: body.machineId,
      platform: body.platform,
      arch: body.arch,
      version: body.version,
      labels,
      tokenHash: hashToken(agentToken),
      enrollmentTokenId: token.id,
      updatedAt: now,
    };
    let agent: { id: string; heartbeatIntervalSeconds: number } | undefined;
    if (existing === undefined) {
      [agent] = await tx
        .insert(agents)
        .values({ organizationId: principal.organizationId, ...facts, createdAt: now })
        .returning({ id: agents.id, heartbeatIntervalSeconds: agents.heartbeatIntervalSeconds });
    } else {
      // The same agent (id, history, inventory) with a new token: the old one stops working
      // everywhere, on every replica.
      [agent] = await tx
        .update(agents)
        .set(facts)
        .where(and(eq(agents.id, existing.id), eq(agents.organizationId, principal.organizationId)))
        .returning({ id: agents.id, heartbeatIntervalSeconds: agents.heartbeatIntervalSeconds });
      evict = await credentialsChanged(tx, context, existing.id);
    }
    if (agent === undefined) throw new Error('the agent was not written');

    const action =
      outcome === 'created'
        ? 'agent.enroll'
        : outcome === 'reenrolled'
          ? 'agent.reenroll'
          : 'agent.replace';
    await recordAudit(
      tx,
      { principal, organizationId: principal.organizationId, request },
      {
        action,
        targetType: 'agent',
        targetId: agent.id,
        details: {
          name: body.name,
          hostname: body.hostname,
          enrollmentTokenId: token.id,
          labels,
          ...(existing === undefined
            ? {}
            : {
                previousName: existing.name,
                // A replace usually lands on the reinstalled host; anything else is worth a look.
                sameMachine: existing.machineId === body.machineId,
              }),
          ...(outcome === 'replaced' ? { replaceApprovedBy: token.createdByUserId } : {}),
        },
      },
    );
    return {
      agentId: agent.id,
      agentToken,
      heartbeatIntervalSeconds: agent.heartbeatIntervalSeconds,
      outcome,
    };
  });
  evict?.();
  return enrolled;
}
