import type { ApiRouteDefinition, ValidationIssue } from '@cronfleet/core/api';
import { toValidationIssues } from '@cronfleet/core/api';
import type { Express, Request, Response } from 'express';
import type { z } from 'zod';
import { badRequest } from './apiError.js';
import type { AppContext } from './appContext.js';
import {
  authenticate,
  requirePermission,
  type AgentPrincipal,
  type EnrollmentPrincipal,
  type UserPrincipal,
} from './authenticate.js';

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

/**
 * Serves one route of core's route table: authenticates the caller as the route says, checks
 * the permission, validates params, query and body with the route's schemas (a failure is a 400
 * listing each issue's path and message), calls the handler, and answers its result with the
 * route's success status (validated against the response schema when validateResponses is on).
 */
export function mountRoute<Route extends ApiRouteDefinition>(
  app: Express,
  context: AppContext,
  route: Route,
  handler: RouteHandler<Route>,
): void {
  const method = route.method.toLowerCase() as 'get' | 'post' | 'put' | 'patch' | 'delete';
  app[method](route.path, async (request: Request, response: Response) => {
    let principal: unknown;
    if (route.auth !== 'none') {
      principal = await authenticate(context, request, route.auth);
      response.locals.principal = principal;
      if (route.auth === 'user') {
        requirePermission(principal as UserPrincipal, route.permission ?? 'admin');
      }
    }
    // Express 5 leaves the body undefined unless the JSON parser (mounted on /api) parsed one,
    // which it does only for a JSON content type.
    if (route.body !== undefined && request.body === undefined) {
      throw badRequest(
        `send the request body as JSON with the header Content-Type: application/json (got ${request.get('content-type') ?? 'no Content-Type'})`,
        [{ path: '(root)', message: 'expected a JSON body' }],
      );
    }
    const call = {
      principal,
      params: parsePart(route.params, request.params, 'path'),
      query: parsePart(route.query, request.query, 'query'),
      body: parsePart(route.body, request.body, 'body'),
      request,
      response,
    } as RouteCall<Route>;
    const result = await handler(call);
    if (response.headersSent) return;
    if (context.validateResponses) {
      const checked = route.response.safeParse(result);
      if (!checked.success) {
        throw new Error(
          `response of ${route.name} does not match its schema: ${JSON.stringify(toValidationIssues(checked.error))}`,
        );
      }
    }
    if (route.successStatus === 204) response.status(204).end();
    else if (request.method === 'GET') response.status(route.successStatus).json(result);
    else {
      // A write's answer is never cached or revalidated: no ETag (a hash of every body) and no
      // freshness check, which res.json would spend on each agent call.
      response.statusCode = route.successStatus;
      response.setHeader('Content-Type', 'application/json; charset=utf-8');
      response.end(JSON.stringify(result));
    }
  });
}
