/**
 * `npm run schema:generate -w core`: writes the JSON Schema of manifest v1, generated from the
 * zod schema, to core/schema/manifest-v1.schema.json (committed; a test fails when it is stale).
 */
import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { renderManifestJsonSchema } from '../src/manifest/manifestJsonSchema.js';

const target = fileURLToPath(new URL('../schema/manifest-v1.schema.json', import.meta.url));
await writeFile(target, renderManifestJsonSchema(), 'utf8');
process.stdout.write(`wrote ${target}\n`);
