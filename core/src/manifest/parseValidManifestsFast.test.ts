import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { parse as parseWithYamlLibrary } from 'yaml';
import { defaultMaxFileBytes, parseManifestSource } from './parseManifestFile.js';
import { coreSchema, parseValidManifestsFast } from './parseValidManifestsFast.js';

const exampleRepository = fileURLToPath(new URL('../../../manifests-example', import.meta.url));

function slow(file: string, text: string) {
  return parseManifestSource(file, text, defaultMaxFileBytes, { fastPath: false });
}

function yamlFilesUnder(root: string): string[] {
  return readdirSync(root, { recursive: true, encoding: 'utf8' })
    .filter((file) => /\.ya?ml$/.test(file))
    .map((file) => file.split(path.sep).join('/'))
    .sort();
}

/** A manifest in one of several equivalent YAML spellings. */
const manifestText = fc
  .record({
    name: fc.stringMatching(/^[a-z][a-z0-9-]{0,20}[a-z0-9]$/),
    explicitNamespace: fc.boolean(),
    schedule: fc.constantFrom(
      '0 2 * * *',
      '*/15 * * * *',
      '@daily',
      '30 4 1,15 * 5',
      '0 9-17 * * MON-FRI',
    ),
    quote: fc.constantFrom('"', "'"),
    command: fc.oneof(
      fc.constant('/opt/scripts/run.sh --flag'),
      fc.constant('echo "hello: world" # not a comment'),
      fc.constant(['/usr/bin/env', 'python3', '-c', 'print(1)']),
    ),
    flowStyle: fc.boolean(),
    comments: fc.boolean(),
    retries: fc.option(fc.integer({ min: 0, max: 10 }), { nil: undefined }),
    limitSpelling: fc.constantFrom('plain', '0o', '0x', 'quoted', 'float'),
    env: fc.dictionary(
      fc.stringMatching(/^[A-Z_][A-Z0-9_]{0,8}$/),
      fc.constantFrom('1', 'yes', 'db-1.internal', '~', '0x10'),
      { maxKeys: 3 },
    ),
    suspend: fc.option(fc.constantFrom('true', 'True', 'FALSE', 'false', 'yes'), {
      nil: undefined,
    }),
  })
  .map((spec) => {
    const limit =
      spec.retries === undefined
        ? undefined
        : {
            plain: String(spec.retries),
            '0o': `0o${spec.retries.toString(8)}`,
            '0x': `0x${spec.retries.toString(16)}`,
            quoted: `"${spec.retries}"`,
            float: `${spec.retries}.0`,
          }[spec.limitSpelling];
    const command = Array.isArray(spec.command)
      ? spec.flowStyle
        ? `  command: [${spec.command.map((part) => JSON.stringify(part)).join(', ')}]`
        : `  command:\n${spec.command.map((part) => `    - ${part}`).join('\n')}`
      : `  command: ${spec.quote === '"' ? JSON.stringify(spec.command) : `'${spec.command}'`}`;
    const env = Object.entries(spec.env);
    return [
      ...(spec.comments ? ['# a comment line', ''] : []),
      'apiVersion: cronfleet.dev/v1',
      'kind: Job',
      'metadata:',
      `  name: ${spec.name}${spec.comments ? '   # trailing comment' : ''}`,
      ...(spec.explicitNamespace ? ['  namespace: ops'] : []),
      'spec:',
      `  schedule: ${spec.quote}${spec.schedule}${spec.quote}`,
      command,
      ...(limit === undefined ? [] : [`  retries: { limit: ${limit} }`]),
      ...(env.length === 0 ? [] : ['  env:', ...env.map(([key, value]) => `    ${key}: ${value}`)]),
      ...(spec.suspend === undefined ? [] : [`  suspend: ${spec.suspend}`]),
    ].join('\n');
  });

const fileText = fc
  .record({
    documents: fc.array(manifestText, { minLength: 1, maxLength: 3 }),
    leadingMarker: fc.boolean(),
    emptyDocument: fc.boolean(),
    crlf: fc.boolean(),
    finalNewline: fc.boolean(),
  })
  .map(({ documents, leadingMarker, emptyDocument, crlf, finalNewline }) => {
    const parts = emptyDocument ? [...documents, '# nothing here'] : documents;
    const text = `${leadingMarker ? '---\n' : ''}${parts.join('\n---\n')}${finalNewline ? '\n' : ''}`;
    return crlf ? text.replace(/\n/g, '\r\n') : text;
  });

describe('parseValidManifestsFast', () => {
  it('gives exactly the jobs of the full parser on the example repository', () => {
    const files = yamlFilesUnder(exampleRepository);
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      const text = readFileSync(path.join(exampleRepository, file), 'utf8');
      const fast = parseValidManifestsFast(file, text);
      expect(fast, `${file} should take the fast path`).not.toBeNull();
      expect(fast).toEqual(slow(file, text));
    }
  });

  it('agrees with the full parser on generated files, and declines whatever it cannot vouch for', () => {
    let taken = 0;
    let declined = 0;
    fc.assert(
      fc.property(fileText, (text) => {
        const file = 'ops/generated.yaml';
        const fast = parseValidManifestsFast(file, text);
        const full = slow(file, text);
        if (fast === null) {
          declined += 1;
          // Declining is only right when the full parser finds something to report.
          expect(full.errors.length).toBeGreaterThan(0);
        } else {
          taken += 1;
          expect(fast).toEqual(full);
        }
      }),
      // A fixed seed: the same 400 files every run, so the counts below are stable.
      { numRuns: 400, seed: 20_261_122 },
    );
    // Both branches were exercised, so the test can fail either way.
    expect(taken).toBeGreaterThan(20);
    expect(declined).toBeGreaterThan(20);
  });

  it('resolves plain scalars exactly as the yaml library does (YAML 1.2 core schema)', () => {
    const scalar = fc.oneof(
      fc.constantFrom(
        '0b11',
        '1_000',
        '0o17',
        '0x1F',
        '-0x1',
        '+12',
        '.5',
        '1.',
        '1e3',
        '1E-3',
        '.inf',
        '-.Inf',
        '.NaN',
        'yes',
        'No',
        'on',
        'TRUE',
        'True',
        'tRUE',
        '~',
        'null',
        'NULL',
        'Null',
        '',
        '0017',
        '12:30',
        '2026-11-22',
        '0.1.2',
        '+.5',
        '1__0',
      ),
      fc.stringMatching(/^[-+.0-9a-fA-FxobeEinfINFNaTrueFalsl_~:]{1,8}$/),
    );
    fc.assert(
      fc.property(scalar, (text) => {
        let expected: unknown;
        try {
          expected = parseWithYamlLibrary(`v: ${text}\n`);
        } catch {
          return; // not a plain scalar the library reads; nothing to compare
        }
        let actual: unknown;
        try {
          actual = jsYaml.load(`v: ${text}\n`, { schema: coreSchema });
        } catch {
          return; // the fast path would decline the file
        }
        expect(actual).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('declines aliased collections (alias bombs), tags, directives and document end markers', () => {
    const valid = [
      'apiVersion: cronfleet.dev/v1',
      'kind: Job',
      'metadata: { name: a }',
      'spec: { schedule: "@daily", command: "true" }',
    ].join('\n');
    expect(parseValidManifestsFast('ops/a.yaml', valid)?.jobs).toHaveLength(1);
    const bomb = `${valid}\nx: &a [1, 2]\ny: [*a, *a]\n`;
    expect(parseValidManifestsFast('ops/a.yaml', bomb)).toBeNull();
    expect(parseValidManifestsFast('ops/a.yaml', `--- !!map\n${valid}`)).toBeNull();
    expect(parseValidManifestsFast('ops/a.yaml', `%YAML 1.2\n---\n${valid}`)).toBeNull();
    expect(parseValidManifestsFast('ops/a.yaml', `${valid}\n...\n`)).toBeNull();
    expect(parseValidManifestsFast('ops/a.yaml', `${valid}\nspec: {}\n`)).toBeNull();
  });
});
