import type { ApiRouteDefinition, ValidationIssue } from '@cronfleet/core/api';
import { toValidationIssues } from '@cronfleet/core/api';
import express, { type Express, type Request, type Response } from 'express';
import type { z } from 'zod';
import { badRequest, invalidJson, sendError, sendJson } from './apiError.js';
import type { AppContext } from './appContext.js';
import {
  authenticate,
  requirePermission,
  type AgentPrincipal,
  type EnrollmentPrincipal,
  type Principal,
  type UserPrincipal,
} from './authenticate.js';
import {
  InvalidJsonBody,
  leanRoutesOf,
  maxJsonBodySize,
  maxUnauthenticatedJsonBodySize,
} from './leanRoutes.js';
import { storableValues } from './storableText.js';

type PrincipalOf<Route extends ApiRouteDefinition> = Route['auth'] extends 'user'
  ? UserPrincipal
  : Route['auth'] extends 'agent'
    ? AgentPrincipal
    : Route['auth'] extends 'enrollment'
      ? EnrollmentPrincipal
      : undefined;

type Input<Schema> = Schema extends z.ZodType ? z.output<Schema> : undefined;

export interface RouteCall<Route extends ApiRouteDefinition> {
  principal: PrincipalOf<Route>;
  params: Input<Route['params']>;
  query: Input<Route['query']>;
  body: Input<Route['body']>;
  request: Request;
  response: Response;
}

export type RouteHandler<Route extends ApiRouteDefinition> = (
  call: RouteCall<Route>,
) => Promise<z.input<Route['response']>>;

function parsePart(schema: z.ZodType | undefined, value: unknown, part: string): unknown {
  if (schema === undefined) return undefined;
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issues: ValidationIssue[] = toValidationIssues(result.error);
  const summary = issues
    .slice(0, 3)
    .map((issue) => `${issue.path}: ${issue.message}`)
    .join('; ');
  throw badRequest(`invalid request ${part}: ${summary}${issues.length > 3 ? '; …' : ''}`, issues);
}

type CallInput<Route extends ApiRouteDefinition> = Pick<
  RouteCall<Route>,
  'request' | 'response'
> & {
  /** The caller, as {@link authenticateCall} found it (undefined for a route without auth). */
  principal: Principal | undefined;
  params: unknown;
  query: unknown;
  body: unknown;
};

/**
 * Who calls `route`, as the route says (none for `auth: 'none'`), with the permission checked:
 * done before the body is read, so a call without valid credentials costs no body parsing.
 */
async function authenticateCall(
  context: AppContext,
  route: ApiRouteDefinition,
  request: Pick<Request, 'headers'>,
): Promise<Principal | undefined> {
  if (route.auth === 'none') return undefined;
  const principal = await authenticate(context, request, route.auth);
  if (route.auth === 'user') {
    requirePermission(principal as UserPrincipal, route.permission ?? 'admin');
  }
  return principal;
}

/**
 * One call of a route, once authenticated: validates params, query and body with the route's
 * schemas (a failure is a 400 listing each issue's path and message), makes every string in them
 * storable (a NUL or a lone surrogate becomes U+FFFD: storableText.ts), calls the handler, and
 * checks its result against the response schema when validateResponses is on.
 */
async function callRoute<Route extends ApiRouteDefinition>(
  context: AppContext,
  route: Route,
  handler: RouteHandler<Route>,
  input: CallInput<Route>,
): Promise<unknown> {
  const { request, response } = input;
  // Express 5 leaves the body undefined unless the JSON parser parsed one, which it does only
  // for a JSON content type.
  if (route.body !== undefined && input.body === undefined) {
    throw badRequest(
      `send the request body as JSON with the header Content-Type: application/json (got ${request.headers['content-type'] ?? 'no Content-Type'})`,
      [{ path: '(root)', message: 'expected a JSON body' }],
    );
  }
  const call = {
    principal: input.principal,
    params: storableValues(parsePart(route.params, input.params, 'path')),
    query: storableValues(parsePart(route.query, input.query, 'query')),
    body: storableValues(parsePart(route.body, input.body, 'body')),
    request,
    response,
  } as RouteCall<Route>;
  const result = await handler(call);
  if (context.validateResponses && !response.headersSent) {
    const checked = route.response.safeParse(result);
    if (!checked.success) {
      throw new Error(
        `response of ${route.name} does not match its schema: ${JSON.stringify(toValidationIssues(checked.error))}`,
      );
    }
  }
  return result;
}

/** The JSON body parsers: the full limit once a caller is authenticated, a small one otherwise. */
const authenticatedJsonBody = express.json({ limit: maxJsonBodySize });
const unauthenticatedJsonBody = express.json({ limit: maxUnauthenticatedJsonBodySize });

/** The JSON body parser of a route: {@link maxUnauthenticatedJsonBodySize} for `auth: 'none'`. */
export function jsonBodyParserOf(route: Pick<ApiRouteDefinition, 'auth'>) {
  return route.auth === 'none' ? unauthenticatedJsonBody : authenticatedJsonBody;
}

/**
 * Serves one route of core's route table and answers the handler's result with the route's
 * success status. In order: the caller is authenticated and its permission checked (a 401 or 403
 * without reading the body), the JSON body is read (8 MB at most; 64 KB for a route without
 * auth), then {@link callRoute}. See also {@link mountLeanRoute}.
 */
export function mountRoute<Route extends ApiRouteDefinition>(
  app: Express,
  context: AppContext,
  route: Route,
  handler: RouteHandler<Route>,
): void {
  const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
  app[method](
    route.path,
    async (request: Request, response: Response, next: (error?: unknown) => void) => {
      response.locals.principal = await authenticateCall(context, route, request);
      next();
    },
    jsonBodyParserOf(route),
    async (request: Request, response: Response) => {
      const result = await callRoute(context, route, handler, {
        principal: response.locals.principal as Principal | undefined,
        request,
        response,
        params: request.params,
        query: request.query,
        body: request.body,
      });
      if (response.headersSent) return;
      if (route.successStatus === 204) response.status(204).end();
      else if (request.method === 'GET') response.status(route.successStatus).json(result);
      // A write's answer is never cached or revalidated: no ETag (a hash of every body) and no
      // freshness check, which res.json would spend on each agent call.
      else sendJson(response, route.successStatus, result);
    },
  );
}

/**
 * {@link mountRoute} for a POST route without path parameters whose handler needs neither the
 * request nor the response, also served by the lean lane (see LeanRoutes): the agents' hot
 * routes. Express keeps serving the same route, with the same handler, for every request the
 * lane does not take.
 */
export function mountLeanRoute<Route extends ApiRouteDefinition & { method: 'POST' }>(
  app: Express,
  context: AppContext,
  route: Route,
  handler: (
    call: Omit<RouteCall<Route>, 'request' | 'response'>,
  ) => ReturnType<RouteHandler<Route>>,
): void {
  if (route.params !== undefined) {
    throw new Error(`${route.name} has path parameters; the lean lane serves static paths only`);
  }
  mountRoute(app, context, route, handler);
  leanRoutesOf(app).post(route.path, async (request, response, readBody) => {
    // What callRoute and the access log read of Express's additions: `locals` (the principal).
    Object.assign(response, { locals: {} });
    try {
      // The caller first: the body of a call without valid credentials is never read.
      const principal = await authenticateCall(context, route, request);
      (response as Response).locals.principal = principal;
      const body = await readBody();
      if (body instanceof InvalidJsonBody) throw invalidJson(body.message);
      const result = await callRoute(context, route, handler, {
        principal,
        // The handler never sees these (its type says so); authenticate reads only the headers.
        request: request as Request,
        response: response as Response,
        params: {},
        query: {},
        body,
      });
      sendJson(response, route.successStatus, result);
    } catch (error) {
      sendError(error, request, response, context.logger);
    }
  });
}
