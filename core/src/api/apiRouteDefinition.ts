import type { z } from 'zod';

/**
 * The shape of one API route. Route tables are written per domain (agentProtocolRoutes.ts, …)
 * and merged in apiRoutes.ts.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * Which bearer token a route takes: an enrollment token (`cfe_…`), an agent token (`cfa_…`),
 * or a user's session or API token (CLI, dashboard).
 */
export type RouteAuth = 'enrollment' | 'agent' | 'user' | 'none';

/**
 * What a user route needs, for user routes: `read` (viewer and up), `write` (operator and up:
 * changes agents, tokens and runs), `admin` (admin only: users, organization). An API token acts
 * with the intersection of its scopes and its owner's role.
 */
export type Permission = 'read' | 'write' | 'admin';

export interface ApiRouteDefinition {
  /** The route's name; equal to its key in {@link apiRoutes}. */
  readonly name: string;
  readonly method: HttpMethod;
  /** Express-style path with `:param` placeholders, e.g. `/api/v1/runs/:runId`. */
  readonly path: string;
  readonly auth: RouteAuth;
  /** For `auth: 'user'` routes: the permission the caller needs (the backend denies by default: absent means admin). */
  readonly permission?: Permission;
  /**
   * True when sending the same request twice has the effect of sending it once, so the client
   * may retry it after a network error, a 429 or a 502/503/504.
   */
  readonly idempotent: boolean;
  readonly summary: string;
  /** The status of a successful answer. */
  readonly successStatus: number;
  /**
   * The media type of a successful answer when it is not JSON: `text/event-stream` for a stream
   * of Server-Sent Events (the typed client does not call such a route; `response` then
   * describes the stream's text).
   */
  readonly responseContentType?: 'text/event-stream';
  readonly params?: z.ZodType;
  readonly query?: z.ZodType;
  readonly body?: z.ZodType;
  readonly response: z.ZodType;
}

export function defineRoute<const Route extends ApiRouteDefinition>(route: Route): Route {
  return route;
}
