import { defineRoute } from './apiRouteDefinition.js';
import {
  Incident,
  IncidentDetail,
  IncidentPathParams,
  ListIncidentsQuery,
  ListIncidentsResponse,
  ResolveIncidentRequest,
} from './incidentContract.js';

/**
 * Routes of API v1: incidents. Merged into apiRoutes. Viewers see incidents and their timelines;
 * operators and admins acknowledge and resolve them, as they run jobs and reconcile agents.
 */
export const incidentRoutes = {
  listIncidents: defineRoute({
    name: 'listIncidents',
    method: 'GET',
    path: '/api/v1/incidents',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary:
      'List incidents, newest first, filtered by status (open or resolved), kind, namespace, job and agent.',
    successStatus: 200,
    query: ListIncidentsQuery,
    response: ListIncidentsResponse,
  }),
  getIncident: defineRoute({
    name: 'getIncident',
    method: 'GET',
    path: '/api/v1/incidents/:incidentId',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'Get one incident with its timeline, oldest event first.',
    successStatus: 200,
    params: IncidentPathParams,
    response: IncidentDetail,
  }),
  acknowledgeIncident: defineRoute({
    name: 'acknowledgeIncident',
    method: 'POST',
    path: '/api/v1/incidents/:incidentId/acknowledge',
    auth: 'user',
    permission: 'write',
    // A second call changes nothing: it gets a 409 that says it was acknowledged already.
    idempotent: true,
    summary:
      'Acknowledge an open incident: someone is on it, so it is not re-alerted. 409 when resolved or acknowledged already.',
    successStatus: 200,
    params: IncidentPathParams,
    response: Incident,
  }),
  resolveIncident: defineRoute({
    name: 'resolveIncident',
    method: 'POST',
    path: '/api/v1/incidents/:incidentId/resolve',
    auth: 'user',
    permission: 'write',
    // A second call changes nothing: it gets a 409 that says it was resolved already.
    idempotent: true,
    summary:
      'Resolve an open incident by hand, with an optional comment; its channels are told. 409 when resolved already.',
    successStatus: 200,
    params: IncidentPathParams,
    body: ResolveIncidentRequest,
    response: Incident,
  }),
} as const;
