import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { renderManifestJsonSchema } from '../src/manifest/manifestJsonSchema.js';

const committedPath = fileURLToPath(new URL('../schema/manifest-v1.schema.json', import.meta.url));

describe('committed manifest JSON Schema', () => {
  it('matches the zod schema (run npm run schema:generate -w core when this fails)', async () => {
    const committed = await readFile(committedPath, 'utf8').catch(() => '');
    const fresh = renderManifestJsonSchema();
    if (committed !== fresh) {
      expect.fail(
        'core/schema/manifest-v1.schema.json is stale or missing: run npm run schema:generate -w core and commit the result',
      );
    }
  });

  it('describes the v1 header and rejects unknown keys', () => {
    const schema = JSON.parse(renderManifestJsonSchema()) as {
      $id: string;
      title: string;
      additionalProperties: boolean;
      required: string[];
      properties: Record<string, { const?: string; properties?: Record<string, unknown> }>;
    };
    expect(schema.$id).toBe('https://cronfleet.dev/schemas/manifest-v1.schema.json');
    expect(schema.title).toContain('Cronfleet');
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(['apiVersion', 'kind', 'metadata', 'spec']);
    expect(schema.properties.apiVersion?.const).toBe('cronfleet.dev/v1');
    expect(schema.properties.kind?.const).toBe('Job');
    expect(Object.keys(schema.properties.spec?.properties ?? {})).toContain('concurrencyPolicy');
  });
});
