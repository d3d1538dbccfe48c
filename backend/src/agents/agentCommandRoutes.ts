import { apiRoutes } from '@cronfleet/core/api';
import type { Express } from 'express';
import { recordAudit } from '../audit/recordAudit.js';
import type { AppContext } from '../http/appContext.js';
import { mountRoute } from '../http/mountRoute.js';
import { queueJobRun, queueReconcile } from './agentCommandQueue.js';

/**
 * Operators asking agents to act now: reconcile (one agent) and run a job (every agent that has
 * applied it, or one). Each request is queued for the agents' next heartbeats and audited in the
 * same transaction; the answer carries the request ids.
 */
export function registerAgentCommandRoutes(app: Express, context: AppContext): void {
  const { db } = context.database;

  mountRoute(app, context, apiRoutes.reconcileAgent, async ({ principal, params, request }) => {
    const options = {
      principal,
      now: context.now(),
      ttlSeconds: context.config.commandTtlSeconds,
    };
    return db.transaction(async (tx) => {
      const { receipt, created } = await queueReconcile(tx, params.agentId, options);
      // Asking again while the first request waits changes nothing, so nothing new to audit.
      if (created) {
        await recordAudit(
          tx,
          { principal, organizationId: principal.organizationId, request },
          {
            action: 'agent.reconcile',
            targetType: 'agent',
            targetId: receipt.agentId,
            details: { name: receipt.agentName, requestId: receipt.requestId },
          },
        );
      }
      return receipt;
    });
  });

  mountRoute(app, context, apiRoutes.runJob, async ({ principal, params, body, request }) => {
    const options = {
      principal,
      now: context.now(),
      ttlSeconds: context.config.commandTtlSeconds,
    };
    return db.transaction(async (tx) => {
      const requests = await queueJobRun(
        tx,
        { namespace: params.namespace, name: params.name, agentId: body.agentId },
        options,
      );
      await recordAudit(
        tx,
        { principal, organizationId: principal.organizationId, request },
        {
          action: 'job.run',
          targetType: 'job',
          targetId: `${params.namespace}/${params.name}`,
          details: {
            ...(body.agentId === undefined ? {} : { agentId: body.agentId }),
            requests: requests.map(({ agentId, agentName, requestId }) => ({
              agentId,
              agentName,
              requestId,
            })),
          },
        },
      );
      return { namespace: params.namespace, name: params.name, requests };
    });
  });
}
