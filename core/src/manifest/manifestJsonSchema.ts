import { z } from 'zod';
import { jobManifestSchema } from './manifestSchema.js';

export const manifestJsonSchemaId = 'https://cronfleet.dev/schemas/manifest-v1.schema.json';

/**
 * The JSON Schema (draft 2020-12) of manifest v1, generated from jobManifestSchema on the input
 * side (fields with defaults are optional). Committed as core/schema/manifest-v1.schema.json by
 * `npm run schema:generate -w core`.
 */
export function buildManifestJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(jobManifestSchema, {
    io: 'input',
    target: 'draft-2020-12',
    unrepresentable: 'throw',
  }) as Record<string, unknown>;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: manifestJsonSchemaId,
    title: 'Cronfleet Job manifest v1',
    description:
      'One Cronfleet job: a YAML document in the job repository. Several jobs may share a file, separated by ---.',
    ...rest,
  };
}

/** The committed file's exact text: pretty-printed with a trailing newline. */
export function renderManifestJsonSchema(): string {
  return `${JSON.stringify(buildManifestJsonSchema(), null, 2)}\n`;
}
