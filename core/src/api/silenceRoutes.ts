import { defineRoute } from './apiRouteDefinition.js';
import {
  CreateSilenceRequest,
  ListSilencesQuery,
  ListSilencesResponse,
  Silence,
  SilencePathParams,
} from './silenceContract.js';

/**
 * Routes of API v1: silences (maintenance windows). Merged into apiRoutes. Viewers see them;
 * operators and admins create and expire them, as they acknowledge and resolve incidents.
 */
export const silenceRoutes = {
  listSilences: defineRoute({
    name: 'listSilences',
    method: 'GET',
    path: '/api/v1/silences',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'List silences, newest first, filtered by status (pending, active or expired).',
    successStatus: 200,
    query: ListSilencesQuery,
    response: ListSilencesResponse,
  }),
  createSilence: defineRoute({
    name: 'createSilence',
    method: 'POST',
    path: '/api/v1/silences',
    auth: 'user',
    permission: 'write',
    // Each call creates a silence: never resent automatically.
    idempotent: false,
    summary:
      'Create a silence: incidents that open under it, on matching jobs and agents, notify nobody.',
    successStatus: 201,
    body: CreateSilenceRequest,
    response: Silence,
  }),
  expireSilence: defineRoute({
    name: 'expireSilence',
    method: 'DELETE',
    path: '/api/v1/silences/:silenceId',
    auth: 'user',
    permission: 'write',
    // A second call changes nothing: it gets a 409 that says the silence is over already.
    idempotent: true,
    summary: 'Expire a silence now (it stays listed as expired). 409 when it is over already.',
    successStatus: 200,
    params: SilencePathParams,
    response: Silence,
  }),
} as const;
