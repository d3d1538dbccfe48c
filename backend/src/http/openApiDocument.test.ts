import { defineRoute, type ApiRouteDefinition } from '@cronfleet/core/api';
import { z } from 'zod';
import { describe, expect, it } from 'vitest';
import { buildOpenApiDocument, openApiPathOf, tagOfPath } from './openApiDocument.js';

describe('openApiPathOf and tagOfPath', () => {
  it('turns :params into {params} and tags by the first segment after /api/v1', () => {
    expect(openApiPathOf('/api/v1/agents/:agentId/revoke')).toBe('/api/v1/agents/{agentId}/revoke');
    expect(tagOfPath('/api/v1/agents/:agentId/revoke')).toBe('agents');
    expect(tagOfPath('/api/v1/check-ins')).toBe('check-ins');
    expect(tagOfPath('/api/v1')).toBe('api');
  });
});

describe('buildOpenApiDocument', () => {
  it('hoists the $defs of a recursive schema into components, with references that resolve', () => {
    interface Node {
      name: string;
      children: Node[];
    }
    const Node: z.ZodType<Node> = z.object({
      name: z.string(),
      get children() {
        return z.array(Node);
      },
    });
    const routes: Record<string, ApiRouteDefinition> = {
      getTree: defineRoute({
        name: 'getTree',
        method: 'GET',
        path: '/api/v1/trees/:treeId',
        auth: 'user',
        permission: 'read',
        idempotent: true,
        summary: 'A tree.',
        successStatus: 200,
        params: z.object({ treeId: z.string() }),
        response: z.object({ root: Node }),
      }),
    };
    const document = buildOpenApiDocument(routes);
    const text = JSON.stringify(document);
    expect(text).not.toContain('#/$defs/');
    const refs = [...text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)].map(
      (match) => match[1] ?? '',
    );
    expect(refs.length).toBeGreaterThan(0);
    for (const name of refs) expect(document.components.schemas[name], name).toBeDefined();
    const operation = document.paths['/api/v1/trees/{treeId}']?.get;
    expect(operation?.parameters).toEqual([
      { name: 'treeId', in: 'path', required: true, schema: { type: 'string' } },
    ]);
    expect(operation?.['x-cronfleet-permission']).toBe('read');
  });
});
