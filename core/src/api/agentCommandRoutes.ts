import {
  AgentCommandReceipt,
  JobPathParams,
  RunJobRequest,
  RunJobResponse,
} from './agentCommandContract.js';
import { AgentPathParams } from './agentContract.js';
import { defineRoute } from './apiRouteDefinition.js';

/**
 * Routes of API v1: asking agents to reconcile or to run a job now. Merged into apiRoutes. Both
 * act on hosts, so they need the write permission (operators and admins). The commands travel in
 * the agents' heartbeat answers: they take effect within one heartbeat interval.
 */
export const agentCommandRoutes = {
  reconcileAgent: defineRoute({
    name: 'reconcileAgent',
    method: 'POST',
    path: '/api/v1/agents/:agentId/reconcile',
    auth: 'user',
    permission: 'write',
    // While a reconcile request waits for the agent, asking again answers that same request.
    idempotent: true,
    summary:
      'Ask an agent to reconcile now, in its next heartbeat; answers the queued request (409 for a revoked agent).',
    successStatus: 202,
    params: AgentPathParams,
    response: AgentCommandReceipt,
  }),
  runJob: defineRoute({
    name: 'runJob',
    method: 'POST',
    path: '/api/v1/jobs/:namespace/:name/run',
    auth: 'user',
    permission: 'write',
    // Each call asks for one more run: never resent automatically.
    idempotent: false,
    summary:
      'Ask the agents that applied a job (or one of them, by agentId) to run it now; answers one request id per agent.',
    successStatus: 202,
    params: JobPathParams,
    body: RunJobRequest,
    response: RunJobResponse,
  }),
} as const;
