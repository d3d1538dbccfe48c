import { readFileSync } from 'node:fs';
import {
  ApiErrorBody,
  apiExamples,
  apiRoutes,
  liveEventSchemas,
  routePathParamNames,
  type ApiRouteDefinition,
} from '@cronfleet/core/api';
import { z } from 'zod';
import { sessionCookieName } from './authenticate.js';

/**
 * The OpenAPI 3.1 document of API v1, generated from core's route table: every route's method,
 * path, auth, permission, idempotency and its zod schemas (z.toJSONSchema; requests as the input
 * they accept, responses as the output they produce). Served at GET /api/v1/openapi.json.
 */

export const openApiPath = '/api/v1/openapi.json';

type JsonSchema = Record<string, unknown>;

interface ParameterObject {
  name: string;
  in: 'path' | 'query';
  required: boolean;
  description?: string;
  schema: JsonSchema;
  style?: 'form';
  explode?: boolean;
}

interface OperationObject {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  security: Record<string, string[]>[];
  parameters?: ParameterObject[];
  requestBody?: { required: boolean; content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, unknown>;
  'x-cronfleet-idempotent'?: boolean;
  'x-cronfleet-permission'?: string;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: { title: string; version: string; description: string };
  jsonSchemaDialect: string;
  tags: { name: string; description?: string }[];
  paths: Record<string, Record<string, OperationObject>>;
  components: {
    schemas: Record<string, JsonSchema>;
    responses: Record<string, unknown>;
    securitySchemes: Record<string, unknown>;
  };
}

const backendVersion = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
    version: string;
  }
).version;

/** `/api/v1/runs/:runId` → `/api/v1/runs/{runId}`. */
export function openApiPathOf(expressPath: string): string {
  return expressPath.replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, '{$1}');
}

/** The tag of a path: its first segment after /api/v1 (`agents`, `runs`, `check-ins`, …). */
export function tagOfPath(expressPath: string): string {
  const rest = expressPath.replace(/^\/api\/v\d+\/?/, '');
  return rest.split('/')[0] || 'api';
}

const tagDescriptions: Record<string, string> = {
  agents: 'Agents: enrollment, heartbeat, inventory, and their administration.',
  'check-ins': 'Check-ins sent by the run wrapper through the agent.',
  runs: 'Run history.',
  jobs: 'Jobs as agents report them (namespace/name across agents).',
  auth: "First-run bootstrap, sign-in, sign-out, the current user and the session's active organization.",
  tokens: 'Personal API tokens (shown once at creation).',
  'enrollment-tokens': 'Enrollment tokens that agents enroll with.',
  users: 'Users of the organization and their roles.',
  organizations:
    'Organizations the caller belongs to: list, create (the caller becomes its admin), rename.',
  audit: "The organization's audit log: who did what, when and from where (admins).",
  stats: 'Overview figures for the dashboard.',
  incidents:
    'Incidents the monitoring worker opens (missed, failing, overrun, agent offline), their timeline, acknowledge and resolve.',
  silences: 'Maintenance windows: incidents they match are recorded as silenced and notify nobody.',
  'notification-channels':
    'Where incidents are sent (webhook, Slack, email, PagerDuty, Teams), a test send, and every delivery attempt.',
  operations: 'Probes, metrics and this document.',
};

const securitySchemes = {
  sessionCookie: {
    type: 'apiKey',
    in: 'cookie',
    name: sessionCookieName,
    description:
      'The dashboard session, set by POST /api/v1/auth/login (HttpOnly, SameSite=Lax). A POST, PUT, PATCH or DELETE made with it must carry the dashboard’s Origin or the header X-Requested-With (or X-Cronfleet-Client), else it is refused with 403 as a cross-site request.',
  },
  personalApiToken: {
    type: 'http',
    scheme: 'bearer',
    description:
      'A personal API token (`cfp_…`) for the CLI and automation; acts with its scopes intersected with its owner’s role.',
  },
  agentToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'An agent token (`cfa_…`), returned once by enroll.',
  },
  enrollmentToken: {
    type: 'http',
    scheme: 'bearer',
    description: 'An enrollment token (`cfe_…`), created by an operator; used only to enroll.',
  },
} as const;

const securityOf: Record<ApiRouteDefinition['auth'], Record<string, string[]>[]> = {
  user: [{ personalApiToken: [] }, { sessionCookie: [] }],
  agent: [{ agentToken: [] }],
  enrollment: [{ enrollmentToken: [] }],
  none: [],
};

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/ApiErrorBody' } } },
});

const errorResponses = {
  BadRequest: errorResponse(
    'validation_failed: the request (path, query or body) does not match its schema; `details` lists each issue’s path and message.',
  ),
  Unauthorized: errorResponse(
    'unauthorized: no credential, or one that is unknown, expired or revoked; the message says which.',
  ),
  Forbidden: errorResponse('forbidden: the caller’s role or token scopes lack the permission.'),
  NotFound: errorResponse(
    'not_found: no such resource in the caller’s organization (another organization’s rows are never revealed).',
  ),
  Conflict: errorResponse('conflict: the request conflicts with the current state.'),
  PayloadTooLarge: errorResponse('payload_too_large: the body is larger than the limit.'),
  RateLimited: errorResponse(
    'rate_limited: too many attempts; retry after the number of seconds in Retry-After.',
  ),
  Internal: errorResponse('internal: an unexpected error; the server log has the details.'),
};

/** The routes that may answer 409 (the state forbids it: a revoked agent, the last admin, …). */
const conflictingRoutes = new Set([
  'bootstrap',
  'addUser',
  'changeUserRole',
  'removeUser',
  'reconcileAgent',
  'runJob',
]);

const ref = (name: keyof typeof errorResponses) => ({ $ref: `#/components/responses/${name}` });

class SchemaCollector {
  readonly components: Record<string, JsonSchema> = {};

  /**
   * The JSON Schema of a zod schema, fit for embedding in the document: without `$schema`, and
   * with any `$defs` (recursive or reused parts) hoisted into components.schemas, since a `#/…`
   * reference inside the document resolves against the document, not the embedded schema.
   */
  convert(schema: z.ZodType, io: 'input' | 'output', prefix: string): JsonSchema {
    const generated = z.toJSONSchema(schema, {
      io,
      unrepresentable: 'any',
      target: 'draft-2020-12',
    }) as JsonSchema;
    delete generated.$schema;
    const defs = generated.$defs as Record<string, JsonSchema> | undefined;
    delete generated.$defs;
    if (defs === undefined) return generated;
    const renamed = new Map<string, string>();
    for (const name of Object.keys(defs)) {
      renamed.set(`#/$defs/${name}`, `#/components/schemas/${prefix}_${name}`);
    }
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (value === null || typeof value !== 'object') return value;
      return Object.fromEntries(
        Object.entries(value).map(([key, inner]) => [
          key,
          key === '$ref' && typeof inner === 'string'
            ? (renamed.get(inner) ?? inner)
            : rewrite(inner),
        ]),
      );
    };
    for (const [name, definition] of Object.entries(defs)) {
      this.components[`${prefix}_${name}`] = rewrite(definition) as JsonSchema;
    }
    return rewrite(generated) as JsonSchema;
  }
}

function parametersOf(route: ApiRouteDefinition, collector: SchemaCollector): ParameterObject[] {
  const parameters: ParameterObject[] = [];
  const pathSchema =
    route.params === undefined
      ? undefined
      : collector.convert(route.params, 'input', `${route.name}_params`);
  const pathProperties = (pathSchema?.properties ?? {}) as Record<string, JsonSchema>;
  for (const name of routePathParamNames(route.path)) {
    parameters.push({
      name,
      in: 'path',
      required: true,
      schema: pathProperties[name] ?? { type: 'string' },
    });
  }
  if (route.query !== undefined) {
    const querySchema = collector.convert(route.query, 'input', `${route.name}_query`);
    const properties = (querySchema.properties ?? {}) as Record<string, JsonSchema>;
    const required = new Set((querySchema.required ?? []) as string[]);
    for (const [name, schema] of Object.entries(properties)) {
      const repeatable = JSON.stringify(schema).includes('"type":"array"');
      const { description, ...rest } = schema as JsonSchema & { description?: string };
      parameters.push({
        name,
        in: 'query',
        required: required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
        ...(repeatable ? { style: 'form' as const, explode: true } : {}),
      });
    }
  }
  return parameters;
}

function describeAccess(route: ApiRouteDefinition): string {
  const who = {
    user: `A user (session cookie or personal API token) with the \`${route.permission ?? 'admin'}\` permission.`,
    agent: 'An agent (agent token).',
    enrollment: 'An enrollment token.',
    none: 'No authentication.',
  }[route.auth];
  const retry = route.idempotent
    ? 'Idempotent: safe to retry after a network error, a 429 or a 502/503/504.'
    : 'Not idempotent: do not resend automatically.';
  return `${who} ${retry}`;
}

/**
 * A Server-Sent Events answer: `text/event-stream`, its message format and each event's `data`
 * schema (in the description, and as `x-cronfleet-events` for tools).
 */
function eventStreamResponse(route: ApiRouteDefinition, collector: SchemaCollector) {
  const events = Object.entries(liveEventSchemas).map(([name, schema]) => ({
    name,
    fields: Object.keys(schema.shape).join(', '),
    schema: collector.convert(schema, 'output', `liveEvent_${name}`),
  }));
  return {
    description: [
      route.summary,
      '',
      'A `text/event-stream` (Server-Sent Events). The stream opens with `retry: 5000` and an `id:` (the point to resume from); each message then has `id: <replica>.<sequence>`, `event: <name>` and one `data:` line of JSON; `: keep-alive` comments come every 15 s. Send the last id received as the `Last-Event-ID` header when reconnecting to get the events missed; when they cannot be told (another replica, too old), a `refetch` event says to reload. Events:',
      ...events.map(({ name, fields }) => `- \`${name}\`: ${fields}`),
    ].join('\n'),
    content: {
      'text/event-stream': {
        schema: { type: 'string', description: route.response.description ?? '' },
        example: apiExamples.liveEventStream,
      },
    },
    'x-cronfleet-events': Object.fromEntries(events.map(({ name, schema }) => [name, schema])),
  };
}

function operationOf(route: ApiRouteDefinition, collector: SchemaCollector): OperationObject {
  const parameters = parametersOf(route, collector);
  const responses: Record<string, unknown> = {};
  if (route.successStatus === 204) {
    responses['204'] = { description: route.summary };
  } else if (route.responseContentType === 'text/event-stream') {
    responses[String(route.successStatus)] = eventStreamResponse(route, collector);
  } else {
    responses[String(route.successStatus)] = {
      description: route.summary,
      content: {
        'application/json': {
          schema: collector.convert(route.response, 'output', `${route.name}_response`),
        },
      },
    };
  }
  const takesInput =
    route.body !== undefined || route.query !== undefined || route.params !== undefined;
  if (takesInput) responses['400'] = ref('BadRequest');
  if (route.auth !== 'none') responses['401'] = ref('Unauthorized');
  if (route.auth === 'user') responses['403'] = ref('Forbidden');
  if (route.params !== undefined) responses['404'] = ref('NotFound');
  if (conflictingRoutes.has(route.name)) responses['409'] = ref('Conflict');
  if (route.body !== undefined) responses['413'] = ref('PayloadTooLarge');
  if (route.name === 'enroll' || route.name === 'login' || route.name === 'bootstrap') {
    responses['429'] = ref('RateLimited');
  }
  responses['500'] = ref('Internal');
  return {
    operationId: route.name,
    summary: route.summary,
    description: describeAccess(route),
    tags: [tagOfPath(route.path)],
    security: securityOf[route.auth],
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(route.body === undefined
      ? {}
      : {
          requestBody: {
            required: true,
            content: {
              'application/json': {
                schema: collector.convert(route.body, 'input', `${route.name}_body`),
              },
            },
          },
        }),
    responses,
    'x-cronfleet-idempotent': route.idempotent,
    ...(route.auth === 'user' ? { 'x-cronfleet-permission': route.permission ?? 'admin' } : {}),
  };
}

const readinessCheck = {
  type: 'object',
  properties: { ok: { type: 'boolean' }, message: { type: 'string' } },
  required: ['ok'],
};

/** The routes served outside core's table: probes, metrics and this document. */
function operationsPaths(): OpenApiDocument['paths'] {
  const plain = (
    operationId: string,
    summary: string,
    responses: Record<string, unknown>,
  ): OperationObject => ({
    operationId,
    summary,
    description: 'No authentication.',
    tags: ['operations'],
    security: [],
    responses,
  });
  const readiness = (status: string) => ({
    type: 'object',
    properties: {
      status: { const: status },
      checks: {
        type: 'object',
        properties: { database: readinessCheck, migrations: readinessCheck },
        required: ['database', 'migrations'],
      },
    },
    required: ['status', 'checks'],
  });
  return {
    [openApiPath]: {
      get: plain('getOpenApiDocument', 'This OpenAPI 3.1 document.', {
        '200': {
          description: 'The document.',
          content: { 'application/json': { schema: { type: 'object' } } },
        },
      }),
    },
    '/healthz': {
      get: plain('getHealth', 'Liveness: the process is up.', {
        '200': {
          description: 'Up.',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                properties: { status: { const: 'ok' } },
                required: ['status'],
              },
            },
          },
        },
      }),
    },
    '/readyz': {
      get: plain('getReadiness', 'Readiness: the database answers and migrations are current.', {
        '200': {
          description: 'Ready to serve.',
          content: { 'application/json': { schema: readiness('ready') } },
        },
        '503': {
          description: 'Not ready; `checks` says which check failed.',
          content: { 'application/json': { schema: readiness('not_ready') } },
        },
      }),
    },
    '/metrics': {
      get: plain('getMetrics', 'Prometheus metrics of this replica (text exposition format).', {
        '200': {
          description: 'Metrics.',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      }),
    },
  };
}

/** Builds the document from a route table (default: core's apiRoutes). */
export function buildOpenApiDocument(
  routes: Readonly<Record<string, ApiRouteDefinition>> = apiRoutes,
): OpenApiDocument {
  const collector = new SchemaCollector();
  const paths: OpenApiDocument['paths'] = {};
  for (const route of Object.values(routes)) {
    const path = openApiPathOf(route.path);
    const operations = (paths[path] ??= {});
    operations[route.method.toLowerCase()] = operationOf(route, collector);
  }
  Object.assign(paths, operationsPaths());
  const tagNames = [
    ...new Set(
      Object.values(paths).flatMap((item) => Object.values(item).flatMap((op) => op.tags)),
    ),
  ].sort();
  return {
    openapi: '3.1.0',
    info: {
      title: 'Cronfleet API',
      version: backendVersion,
      description:
        'The Cronfleet control plane API v1, used by agents, the cronfleet CLI and the dashboard. ' +
        'Errors are {"error":{"code","message","details"}}. List routes use keyset pagination: ' +
        'pass back `nextCursor` as `cursor`. See docs/api.md.',
    },
    jsonSchemaDialect: 'https://json-schema.org/draft/2020-12/schema',
    tags: tagNames.map((name) =>
      tagDescriptions[name] === undefined ? { name } : { name, description: tagDescriptions[name] },
    ),
    paths,
    components: {
      schemas: {
        ApiErrorBody: collector.convert(ApiErrorBody, 'output', 'ApiErrorBody'),
        ...collector.components,
      },
      responses: errorResponses,
      securitySchemes,
    },
  };
}
