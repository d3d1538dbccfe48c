import { z } from 'zod';
import { AgentName } from './agentContract.js';
import { IsoDateTime, JobName, Namespace, Uuid } from './fieldContract.js';

/**
 * What an operator asks of agents between two of their polls: reconcile now, or run a job now.
 * The backend queues one command per agent and hands it over in that agent's next heartbeat
 * answer (see AgentCommand in agentContract.ts); these are the operator's side of it.
 */

export const AgentCommandType = z.enum(['reconcile', 'run']);
export type AgentCommandType = z.infer<typeof AgentCommandType>;

/**
 * One command queued for one agent. The agent receives it in its next heartbeat answer, once;
 * a command the agent has not picked up by `expiresAt` (it was offline) is dropped, so an agent
 * that comes back hours later does not run yesterday's requests.
 */
export const AgentCommandReceipt = z.object({
  /** The command's id; for a run, the agent records the run it starts under this id. */
  requestId: Uuid,
  type: AgentCommandType,
  agentId: Uuid,
  agentName: AgentName,
  createdAt: IsoDateTime,
  expiresAt: IsoDateTime,
});
export type AgentCommandReceipt = z.infer<typeof AgentCommandReceipt>;

/** `:namespace/:name` of the routes about one job. */
export const JobPathParams = z.object({ namespace: Namespace, name: JobName });
export type JobPathParams = z.infer<typeof JobPathParams>;

/**
 * `POST /api/v1/jobs/:namespace/:name/run`. Without `agentId`, every agent that has applied the
 * job (and is not revoked) runs it once; with it, only that agent.
 */
export const RunJobRequest = z.object({
  agentId: Uuid.optional(),
});
export type RunJobRequest = z.infer<typeof RunJobRequest>;

/** One receipt per agent asked to run the job, ordered by agent name. */
export const RunJobResponse = z.object({
  namespace: Namespace,
  name: JobName,
  requests: z.array(AgentCommandReceipt).min(1),
});
export type RunJobResponse = z.infer<typeof RunJobResponse>;
