import { agentAdminRoutes } from './agentAdminRoutes.js';
import { agentCommandRoutes } from './agentCommandRoutes.js';
import { defineRoute, type ApiRouteDefinition } from './apiRouteDefinition.js';
import { authRoutes } from './authRoutes.js';
import { incidentRoutes } from './incidentRoutes.js';
import { liveEventRoutes } from './liveEventRoutes.js';
import { notificationChannelRoutes } from './notificationChannelRoutes.js';
import { organizationRoutes } from './organizationRoutes.js';
import { runQueryRoutes } from './runQueryRoutes.js';
import { silenceRoutes } from './silenceRoutes.js';
import {
  EnrollRequest,
  EnrollResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  ListAgentsQuery,
  ListAgentsResponse,
} from './agentContract.js';
import { CheckInBatchRequest, CheckInBatchResponse } from './checkInContract.js';
import { InventoryRequest, InventoryResponse } from './inventoryContract.js';
import { ListRunsQuery, ListRunsResponse, RunDetail, RunPathParams } from './runContract.js';

/**
 * The route table of API v1. The typed client, the backend's router and the OpenAPI generator
 * all read it, so a route's method, path, schemas, auth and idempotency are written once.
 */

/** The agent protocol (enroll, heartbeat, inventory, check-ins) and the first read routes. */
const protocolRoutes = {
  enroll: defineRoute({
    name: 'enroll',
    method: 'POST',
    path: '/api/v1/agents/enroll',
    auth: 'enrollment',
    // Each call creates an agent and a new agent token: never resent automatically.
    idempotent: false,
    summary: 'Enroll an agent with an enrollment token; answers its id and agent token.',
    successStatus: 201,
    body: EnrollRequest,
    response: EnrollResponse,
  }),
  heartbeat: defineRoute({
    name: 'heartbeat',
    method: 'POST',
    path: '/api/v1/agents/heartbeat',
    auth: 'agent',
    // A heartbeat reports state; sending it twice reports the same state twice.
    idempotent: true,
    summary: "Report the agent's conditions and revisions; answers pending commands.",
    successStatus: 200,
    body: HeartbeatRequest,
    response: HeartbeatResponse,
  }),
  putInventory: defineRoute({
    name: 'putInventory',
    method: 'PUT',
    path: '/api/v1/agents/inventory',
    auth: 'agent',
    idempotent: true,
    summary: "Replace the agent's inventory of applied job instances atomically.",
    successStatus: 200,
    body: InventoryRequest,
    response: InventoryResponse,
  }),
  sendCheckIns: defineRoute({
    name: 'sendCheckIns',
    method: 'POST',
    path: '/api/v1/check-ins',
    auth: 'agent',
    // Ingested once per (runId, kind): a resent batch only counts duplicates.
    idempotent: true,
    summary: 'Record a batch of start and finish check-ins (idempotent by runId and kind).',
    successStatus: 200,
    body: CheckInBatchRequest,
    response: CheckInBatchResponse,
  }),
  listRuns: defineRoute({
    name: 'listRuns',
    method: 'GET',
    path: '/api/v1/runs',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'List runs, newest first, filtered by job, namespace, agent, status, time and text.',
    successStatus: 200,
    query: ListRunsQuery,
    response: ListRunsResponse,
  }),
  getRun: defineRoute({
    name: 'getRun',
    method: 'GET',
    path: '/api/v1/runs/:runId',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'Get one run with the head and tail of its output.',
    successStatus: 200,
    params: RunPathParams,
    response: RunDetail,
  }),
  listAgents: defineRoute({
    name: 'listAgents',
    method: 'GET',
    path: '/api/v1/agents',
    auth: 'user',
    permission: 'read',
    idempotent: true,
    summary: 'List agents, filtered by status, labels and text.',
    successStatus: 200,
    query: ListAgentsQuery,
    response: ListAgentsResponse,
  }),
} as const;

export const apiRoutes = {
  ...protocolRoutes,
  ...authRoutes,
  ...agentAdminRoutes,
  ...agentCommandRoutes,
  ...runQueryRoutes,
  ...organizationRoutes,
  ...notificationChannelRoutes,
  ...incidentRoutes,
  ...silenceRoutes,
  ...liveEventRoutes,
} as const;

export type ApiRoutes = typeof apiRoutes;
export type ApiRouteName = keyof ApiRoutes;
export type ApiRoute = ApiRoutes[ApiRouteName];

/** `heartbeat (POST /api/v1/agents/heartbeat)`: how errors name a route. */
export function describeRoute(route: Pick<ApiRouteDefinition, 'name' | 'method' | 'path'>): string {
  return `${route.name} (${route.method} ${route.path})`;
}

/** The names of a path's `:param` placeholders, in order. */
export function routePathParamNames(path: string): string[] {
  return [...path.matchAll(/:([A-Za-z_][A-Za-z0-9_]*)/g)].map((match) => match[1] ?? '');
}

/** Fills a path's `:param` placeholders, URL-encoding each value. */
export function buildRoutePath(path: string, params: Readonly<Record<string, string>>): string {
  return path.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_placeholder, name: string) => {
    const value = params[name];
    if (value === undefined) {
      throw new Error(`The path ${path} needs the parameter "${name}", which was not given.`);
    }
    return encodeURIComponent(value);
  });
}
