import { apiRoutes, routePathParamNames, type ApiRouteDefinition } from '@cronfleet/core/api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openApiPathOf, type OpenApiDocument } from '../src/http/openApiDocument.js';
import { startTestApp, type TestApp } from './testApp.js';

const httpMethods = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

interface Operation {
  operationId: string;
  tags: string[];
  security: Record<string, string[]>[];
  parameters?: { name: string; in: string; required: boolean; schema: unknown }[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, { $ref?: string; content?: Record<string, { schema: unknown }> }>;
}

/** Every `$ref` in a value, with where it was found. */
function collectRefs(value: unknown, at = '#', found: [string, string][] = []): [string, string][] {
  if (Array.isArray(value))
    value.forEach((item, index) => collectRefs(item, `${at}/${index}`, found));
  else if (value !== null && typeof value === 'object') {
    for (const [key, inner] of Object.entries(value)) {
      if (key === '$ref' && typeof inner === 'string') found.push([at, inner]);
      else collectRefs(inner, `${at}/${key}`, found);
    }
  }
  return found;
}

/** The value a local JSON pointer (`#/components/schemas/X`) points at in the document. */
function resolvePointer(document: unknown, pointer: string): unknown {
  return pointer
    .slice(2)
    .split('/')
    .map((segment) => segment.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce<unknown>(
      (node, segment) =>
        node !== null && typeof node === 'object'
          ? (node as Record<string, unknown>)[segment]
          : undefined,
      document,
    );
}

describe('GET /api/v1/openapi.json', () => {
  let app: TestApp;
  let document: OpenApiDocument;
  beforeAll(async () => {
    app = await startTestApp();
    const response = await fetch(`${app.baseUrl}/api/v1/openapi.json`);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    document = (await response.json()) as OpenApiDocument;
  }, 60_000);
  afterAll(() => app.close());

  const operations = () =>
    Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item).map(([method, operation]) => ({
        path,
        method,
        operation: operation as unknown as Operation,
      })),
    );

  it('has every route of the route table, by method and path', () => {
    const routes: ApiRouteDefinition[] = Object.values(apiRoutes);
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) {
      const item = document.paths[openApiPathOf(route.path)];
      expect(item, `${route.method} ${route.path}`).toBeDefined();
      const operation = item?.[route.method.toLowerCase()] as Operation | undefined;
      expect(operation, `${route.method} ${route.path}`).toBeDefined();
      expect(operation?.operationId).toBe(route.name);
      const pathParameters = (operation?.parameters ?? []).filter((p) => p.in === 'path');
      expect(pathParameters.map((p) => p.name)).toEqual(routePathParamNames(route.path));
      expect(pathParameters.every((p) => p.required)).toBe(true);
      if (route.body !== undefined) {
        expect(operation?.requestBody?.content['application/json']?.schema).toBeDefined();
      }
      const success = operation?.responses[String(route.successStatus)];
      expect(success, `${route.name} ${route.successStatus}`).toBeDefined();
      if (route.responseContentType !== undefined) {
        expect(success?.content?.[route.responseContentType]?.schema).toBeDefined();
      } else if (route.successStatus !== 204) {
        expect(success?.content?.['application/json']?.schema).toBeDefined();
      }
      const schemes = operation?.security.flatMap((requirement) => Object.keys(requirement));
      const expected = {
        user: ['personalApiToken', 'sessionCookie'],
        agent: ['agentToken'],
        enrollment: ['enrollmentToken'],
        none: [],
      }[route.auth];
      expect(schemes).toEqual(expected);
    }
  });

  it('documents the live events stream as text/event-stream, with each event and its data schema', () => {
    const stream = document.paths['/api/v1/events']?.get as unknown as {
      responses: Record<
        string,
        { description: string; content: Record<string, unknown> } & Record<string, unknown>
      >;
    };
    const success = stream.responses['200']!;
    expect(Object.keys(success.content)).toEqual(['text/event-stream']);
    for (const name of ['run', 'agent', 'incident', 'refetch']) {
      expect(success.description).toContain(`- \`${name}\`: `);
    }
    expect(success.description).toContain('Last-Event-ID');
    expect(Object.keys(success['x-cronfleet-events'] as object).sort()).toEqual([
      'agent',
      'incident',
      'refetch',
      'run',
    ]);
    expect(document.paths['/api/v1/jobs/{namespace}/{name}']?.get).toBeDefined();
  });

  it('is structurally valid OpenAPI 3.1', () => {
    expect(document.openapi).toBe('3.1.0');
    expect(document.info.title).toBe('Cronfleet API');
    expect(document.info.version).toMatch(/^\d+\.\d+\.\d+/);
    const ids = new Set<string>();
    for (const { path, method, operation } of operations()) {
      expect(path.startsWith('/'), path).toBe(true);
      expect(path).not.toMatch(/:[A-Za-z]/);
      expect(httpMethods).toContain(method);
      expect(ids.has(operation.operationId), `duplicate operationId ${operation.operationId}`).toBe(
        false,
      );
      ids.add(operation.operationId);
      expect(Object.keys(operation.responses).length).toBeGreaterThan(0);
      // Each {template} of the path is declared as a path parameter, and only those.
      const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      const declared = (operation.parameters ?? [])
        .filter((parameter) => parameter.in === 'path')
        .map((parameter) => parameter.name);
      expect(declared.sort()).toEqual(templated.sort());
      for (const parameter of operation.parameters ?? []) {
        expect(['path', 'query']).toContain(parameter.in);
        expect(parameter.schema).toBeTypeOf('object');
      }
      for (const requirement of operation.security) {
        for (const scheme of Object.keys(requirement)) {
          expect(document.components.securitySchemes[scheme], scheme).toBeDefined();
        }
      }
      for (const tag of operation.tags) {
        expect(document.tags.map((entry) => entry.name)).toContain(tag);
      }
    }
    // No schema carries its own $schema; every $ref resolves inside the document.
    expect(JSON.stringify(document)).not.toContain('"$schema"');
    for (const [at, pointer] of collectRefs(document)) {
      expect(pointer.startsWith('#/'), `${at}: ${pointer}`).toBe(true);
      expect(resolvePointer(document, pointer), `${at}: ${pointer}`).toBeDefined();
    }
  });

  it('describes errors with the error body and the security schemes', () => {
    expect(document.components.schemas.ApiErrorBody).toMatchObject({
      type: 'object',
      properties: { error: { type: 'object', required: ['code', 'message'] } },
      required: ['error'],
    });
    const listRuns = document.paths['/api/v1/runs']?.get as unknown as Operation;
    expect(listRuns.responses['401']).toEqual({ $ref: '#/components/responses/Unauthorized' });
    expect(listRuns.responses['403']).toEqual({ $ref: '#/components/responses/Forbidden' });
    expect(listRuns.tags).toEqual(['runs']);
    const runJob = document.paths['/api/v1/jobs/{namespace}/{name}/run']
      ?.post as unknown as Operation;
    expect(runJob.responses['409']).toEqual({ $ref: '#/components/responses/Conflict' });
    expect(Object.keys(runJob.responses)).toEqual([
      '202',
      '400',
      '401',
      '403',
      '404',
      '409',
      '413',
      '500',
    ]);
    const checkIns = document.paths['/api/v1/check-ins']?.post as unknown as Operation;
    expect(checkIns.tags).toEqual(['check-ins']);
    expect(checkIns.responses['413']).toEqual({ $ref: '#/components/responses/PayloadTooLarge' });
    expect(document.components.securitySchemes).toMatchObject({
      sessionCookie: { type: 'apiKey', in: 'cookie', name: 'cronfleet_session' },
      personalApiToken: { type: 'http', scheme: 'bearer' },
      agentToken: { type: 'http', scheme: 'bearer' },
      enrollmentToken: { type: 'http', scheme: 'bearer' },
    });
    // The document describes itself and the probes, without authentication.
    const self = document.paths['/api/v1/openapi.json']?.get as unknown as Operation;
    expect(self.security).toEqual([]);
    expect(document.paths['/readyz']?.get).toBeDefined();
  });

  it('lists query parameters from the query schemas, with repeatable ones exploded', () => {
    const listAgents = document.paths['/api/v1/agents']?.get as unknown as Operation;
    const byName = new Map((listAgents.parameters ?? []).map((p) => [p.name, p]));
    expect([...byName.keys()]).toEqual(
      expect.arrayContaining(['status', 'label', 'limit', 'cursor']),
    );
    expect(byName.get('limit')).toMatchObject({
      in: 'query',
      required: false,
      schema: { type: 'integer', minimum: 1, maximum: 200, default: 50 },
    });
    expect(byName.get('label')).toMatchObject({ style: 'form', explode: true });
  });
});
