import {
  AgentDetail,
  AgentPathParams,
  CreateEnrollmentTokenRequest,
  CreateEnrollmentTokenResponse,
  EnrollmentTokenPathParams,
  EnrollmentTokenSummary,
  ListEnrollmentTokensQuery,
  ListEnrollmentTokensResponse,
  RevokeAgentRequest,
  UpdateAgentRequest,
} from './agentContract.js';
import { defineRoute } from './apiRouteDefinition.js';

/**
 * Routes of API v1: enrollment tokens and agent administration (show, rename, relabel, revoke).
 * Merged into apiRoutes. Everything here changes or reveals how agents get in, so it needs the
 * write permission (operators and admins), except showing an agent, which viewers may.
 */
export const agentAdminRoutes = {
  createEnrollmentToken: defineRoute({
    name: 'createEnrollmentToken',
    method: 'POST',
    path: '/api/v1/enrollment-tokens',
    auth: 'user',
    permission: 'write',
    // Each call mints a new token: never resent automatically.
    idempotent: false,
    summary: 'Create an enrollment token; the token is in this answer only (stored hashed).',
    successStatus: 201,
    body: CreateEnrollmentTokenRequest,
    response: CreateEnrollmentTokenResponse,
  }),
  listEnrollmentTokens: defineRoute({
    name: 'listEnrollmentTokens',
    method: 'GET',
    path: '/api/v1/enrollment-tokens',
    auth: 'user',
    permission: 'write',
    idempotent: true,
    summary: 'List enrollment tokens, newest first (their first characters, never the token).',
    successStatus: 200,
    query: ListEnrollmentTokensQuery,
    response: ListEnrollmentTokensResponse,
  }),
  revokeEnrollmentToken: defineRoute({
    name: 'revokeEnrollmentToken',
    method: 'DELETE',
    path: '/api/v1/enrollment-tokens/:enrollmentTokenId',
    auth: 'user',
    permission: 'write',
    // Revoking a revoked token changes nothing.
    idempotent: true,
    summary: 'Revoke an enrollment token: it enrolls no more agents (enrolled agents stay).',
    successStatus: 200,
    params: EnrollmentTokenPathParams,
    response: EnrollmentTokenSummary,
  }),
  getAgent: defineRoute({
    name: 'getAgent',
    method: 'GET',
    path: '/api/v1/agents/:agentId',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'Show one agent: labels, conditions, errors, revisions, job instance count.',
    successStatus: 200,
    params: AgentPathParams,
    response: AgentDetail,
  }),
  updateAgent: defineRoute({
    name: 'updateAgent',
    method: 'PATCH',
    path: '/api/v1/agents/:agentId',
    auth: 'user',
    permission: 'write',
    // Sets the name and labels to the values sent.
    idempotent: true,
    summary: 'Rename an agent and/or replace its labels.',
    successStatus: 200,
    params: AgentPathParams,
    body: UpdateAgentRequest,
    response: AgentDetail,
  }),
  revokeAgent: defineRoute({
    name: 'revokeAgent',
    method: 'POST',
    path: '/api/v1/agents/:agentId/revoke',
    auth: 'user',
    permission: 'write',
    // Revoking a revoked agent keeps the first revocation and its reason.
    idempotent: true,
    summary: 'Revoke an agent: its next call gets 401 with the reason; re-enrolling lifts it.',
    successStatus: 200,
    params: AgentPathParams,
    body: RevokeAgentRequest,
    response: AgentDetail,
  }),
} as const;
