import { apiRoutes, buildRoutePath, formatIssuePath } from '@cronfleet/core/contract';
import type { ApiRouteName, ApiRoutes } from '@cronfleet/core/contract';
import { ApiErrorBody } from '@cronfleet/core/contract';
import type { z } from 'zod';

/**
 * The dashboard's API layer: every call goes through core's route table (method, path, schemas),
 * so the dashboard, the CLI and the backend agree on each route by construction. It uses `fetch`
 * with the session cookie rather than core's axios client: the client is built for bearer tokens
 * and Node agents (retries, http agents), and would add axios to the first download.
 */

type RouteOf<Name extends ApiRouteName> = ApiRoutes[Name];
type Infer<Schema> = Schema extends z.ZodType ? z.infer<Schema> : never;
type InputOf<Schema> = Schema extends z.ZodType ? z.input<Schema> : never;

/** What a call may carry: the route's path parameters, query and body, each only if it has one. */
export type CallInput<Name extends ApiRouteName> = (RouteOf<Name> extends { params: z.ZodType }
  ? { params: Infer<RouteOf<Name>['params']> }
  : { params?: undefined }) &
  (RouteOf<Name> extends { query: z.ZodType }
    ? {
        query?: Partial<Record<keyof InputOf<RouteOf<Name>['query']>, QueryValue>>;
      }
    : { query?: undefined }) &
  (RouteOf<Name> extends { body: z.ZodType }
    ? { body: InputOf<RouteOf<Name>['body']> }
    : { body?: undefined });

/** A query parameter's value; a list repeats the parameter (`label=a=1&label=b=2`). */
export type QueryValue = string | number | readonly string[] | undefined;

export type CallResult<Name extends ApiRouteName> = Infer<RouteOf<Name>['response']>;

/** An answer that is not the route's success: the API's own message, shown to the user as is. */
export class DashboardApiError extends Error {
  override readonly name = 'DashboardApiError';
  constructor(
    message: string,
    /** The HTTP status; 0 when the backend could not be reached. */
    readonly status: number,
    /** The API's error code (`validation_failed`, `unauthorized`…), or `network`/`protocol`. */
    readonly code: string,
    /** One line per problem, e.g. `status: Invalid option` for a 400's details. */
    readonly details: readonly string[] = [],
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

function detailLines(details: unknown): string[] {
  if (!Array.isArray(details)) return [];
  return details.flatMap((detail: unknown) => {
    if (typeof detail !== 'object' || detail === null) return [];
    const { path, message } = detail as { path?: unknown; message?: unknown };
    return typeof message === 'string'
      ? [typeof path === 'string' && path !== '' ? `${path}: ${message}` : message]
      : [];
  });
}

function queryString(query: Record<string, QueryValue> | undefined): string {
  if (query === undefined) return '';
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (Array.isArray(value)) {
      for (const item of value as readonly string[]) if (item !== '') search.append(key, item);
    } else if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

export async function callApi<Name extends ApiRouteName>(
  name: Name,
  input: CallInput<Name>,
  signal?: AbortSignal,
): Promise<CallResult<Name>> {
  const route = apiRoutes[name];
  const path =
    buildRoutePath(route.path, (input.params ?? {}) as Record<string, string>) +
    queryString(input.query as Record<string, QueryValue> | undefined);
  const write = route.method !== 'GET';
  let response: Response;
  try {
    response = await fetch(path, {
      method: route.method,
      credentials: 'same-origin',
      headers: {
        accept: 'application/json',
        ...(input.body === undefined ? {} : { 'content-type': 'application/json' }),
        // Cookie writes must show they come from the dashboard (docs/security.md, cross-site);
        // the browser's Origin already does, this header also covers proxies that strip it.
        ...(write ? { 'x-requested-with': 'cronfleet-dashboard' } : {}),
      },
      ...(input.body === undefined ? {} : { body: JSON.stringify(input.body) }),
      ...(signal === undefined ? {} : { signal }),
    });
  } catch (error) {
    if (signal?.aborted === true) throw error;
    throw new DashboardApiError(
      `The Cronfleet backend could not be reached (${route.method} ${route.path}): ${String(error)}`,
      0,
      'network',
      [],
      { cause: error },
    );
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.status !== route.successStatus) {
    const body = ApiErrorBody.safeParse(json);
    if (body.success) {
      throw new DashboardApiError(
        body.data.error.message,
        response.status,
        body.data.error.code,
        detailLines(body.data.error.details),
      );
    }
    throw new DashboardApiError(
      `${route.method} ${route.path} answered ${response.status} ${response.statusText} without an error body`,
      response.status,
      'protocol',
    );
  }
  const parsed = (route.response as z.ZodType).safeParse(json);
  if (!parsed.success) {
    throw new DashboardApiError(
      `The answer of ${route.method} ${route.path} does not match the API contract; is the dashboard older than the backend?`,
      response.status,
      'protocol',
      parsed.error.issues.map((issue) => `${formatIssuePath(issue.path)}: ${issue.message}`),
    );
  }
  return parsed.data as CallResult<Name>;
}
