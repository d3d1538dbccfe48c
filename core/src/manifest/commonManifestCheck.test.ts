import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import jsYaml from 'js-yaml';
import { describe, expect, it } from 'vitest';
import { checkCommonManifest } from './commonManifestCheck.js';
import { jobManifestSchema } from './manifestSchema.js';
import { coreSchema } from './parseValidManifestsFast.js';

const exampleRepository = fileURLToPath(new URL('../../../manifests-example', import.meta.url));

/** The hand check either defers to zod or gives exactly zod's output, key order included. */
function expectSameAsZod(candidate: unknown): 'vouched' | 'deferred' {
  const checked = checkCommonManifest(candidate);
  if (checked === undefined) return 'deferred';
  const result = jobManifestSchema.safeParse(candidate);
  expect(result.success).toBe(true);
  expect(checked).toStrictEqual(result.data);
  expect(JSON.stringify(checked)).toBe(JSON.stringify(result.data));
  return 'vouched';
}

/** Picks a field's value: valid ones mostly, and wrong ones of every kind. */
const field = <T>(valid: fc.Arbitrary<T>, ...invalid: unknown[]) =>
  fc.oneof(
    { weight: 6, arbitrary: valid as fc.Arbitrary<unknown> },
    { weight: 1, arbitrary: fc.constantFrom(...invalid, null, 7, [], {}) },
  );

const optional = (arbitrary: fc.Arbitrary<unknown>) =>
  fc.option(arbitrary, { nil: undefined, freq: 2 });

const manifest = fc
  .record({
    apiVersion: field(fc.constant('cronfleet.dev/v1'), 'cronfleet.dev/v2'),
    kind: field(fc.constant('Job'), 'job'),
    metadata: fc.record({
      name: field(fc.stringMatching(/^[a-z][a-z0-9-]{0,10}[a-z0-9]$/), 'Bad_Name', 'a'.repeat(64)),
      namespace: optional(field(fc.constantFrom('default', 'ns-1'), 'NS', '')),
      labels: optional(
        field(
          fc.dictionary(fc.constantFrom('team', 'example.com/tier', '1'), fc.constantFrom('a', '')),
          { 'bad key!': 'x' },
          { team: 'bad value!' },
          { team: 3 },
        ),
      ),
      annotations: optional(
        field(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), { owner: 1 }),
      ),
      extra: optional(fc.constant('unknown key')),
    }),
    spec: fc.record({
      schedule: field(
        fc.constantFrom('0 2 * * *', '*/15 * * * 1-5', '@daily', '@reboot'),
        '61 * * * *',
        '0 0 * *',
      ),
      timezone: optional(
        field(fc.constantFrom('UTC', 'Europe/Berlin', 'America/New_York'), 'utc', 'Mars/Base'),
      ),
      command: field(
        fc.oneof(
          fc.constantFrom('echo hi', '/opt/x.sh --y'),
          fc.array(fc.constantFrom('echo', 'a b'), { minLength: 1, maxLength: 3 }),
        ),
        '',
        '   ',
        'a\0b',
        [''],
        ['ok', 3],
      ),
      workingDir: optional(field(fc.constantFrom('/var/tmp', 'C:\\jobs'), 'relative/dir', '/a\nb')),
      env: optional(
        field(
          fc.dictionary(fc.constantFrom('A', 'PG_HOST', '_X'), fc.constantFrom('1', 'db')),
          { '1BAD': 'x' },
          { OK: 'a\0' },
          { OK: 1 },
        ),
      ),
      user: optional(field(fc.constantFrom('postgres', 'DOMAIN\\svc'), 'Root!', '')),
      timeout: optional(field(fc.constantFrom('30s', '2h', '1h30m'), '2 hours', '0s', 5)),
      concurrencyPolicy: optional(field(fc.constantFrom('Allow', 'Forbid', 'Replace'), 'forbid')),
      retries: optional(
        field(
          fc.record({
            limit: optional(fc.integer({ min: 0, max: 10 })),
            delay: optional(fc.constantFrom('5s', '1m')),
          }),
          { limit: 11 },
          { backoff: 'linear' },
        ),
      ),
      suspend: optional(field(fc.boolean(), 'true')),
      targets: optional(
        field(
          fc.record({
            hostnames: optional(fc.constant(['db-1'])),
            platforms: optional(fc.constant(['linux'])),
          }),
          { hostnames: [] },
          { platforms: ['beos'] },
        ),
      ),
      monitoring: optional(
        field(
          fc.record({
            grace: optional(fc.constantFrom('10m')),
            notify: optional(fc.constant(['ops-pager'])),
          }),
          { notify: ['a', 'a'] },
          { alertAfter: 0 },
        ),
      ),
      output: optional(
        field(fc.record({ maxBytes: optional(fc.integer({ min: 0, max: 100 })) }), {
          maxBytes: -1,
        }),
      ),
      extra: optional(fc.constant(1)),
    }),
  })
  .chain((document) =>
    // Any key order: the output follows the schema's order whatever the input's.
    fc
      .shuffledSubarray(Object.keys(document.spec), {
        minLength: Object.keys(document.spec).length,
      })
      .map((order) => {
        const spec: Record<string, unknown> = {};
        for (const key of order) {
          const value = (document.spec as Record<string, unknown>)[key];
          if (value !== undefined) spec[key] = value;
        }
        const metadata: Record<string, unknown> = {};
        for (const [key, value] of Object.entries(document.metadata).reverse()) {
          if (value !== undefined) metadata[key] = value;
        }
        return { spec, metadata, kind: document.kind, apiVersion: document.apiVersion };
      }),
  );

describe('checkCommonManifest', () => {
  it('gives exactly what zod gives, or defers to zod', () => {
    const outcomes = { vouched: 0, deferred: 0 };
    fc.assert(
      fc.property(manifest, (candidate) => {
        outcomes[expectSameAsZod(candidate)] += 1;
      }),
      { numRuns: 3000, seed: 10 },
    );
    // Both branches are exercised.
    expect(outcomes.vouched).toBeGreaterThan(100);
    expect(outcomes.deferred).toBeGreaterThan(100);
  });

  it('vouches for the example repository, as zod outputs it', () => {
    const files = readdirSync(exampleRepository, { recursive: true, encoding: 'utf8' })
      .filter((file) => /\.ya?ml$/.test(file))
      .sort();
    let vouched = 0;
    for (const file of files) {
      const text = readFileSync(path.join(exampleRepository, file), 'utf8');
      for (const document of jsYaml.loadAll(text, undefined, { schema: coreSchema })) {
        if (typeof document !== 'object' || document === null) continue;
        if (expectSameAsZod(document) === 'vouched') vouched += 1;
      }
    }
    expect(vouched).toBeGreaterThan(0);
  });

  it('leaves a __proto__ key, a null and a class instance to zod', () => {
    const base = {
      apiVersion: 'cronfleet.dev/v1',
      kind: 'Job',
      metadata: { name: 'a', namespace: 'default' },
      spec: { schedule: '@daily', command: 'true' },
    };
    expect(expectSameAsZod(base)).toBe('vouched');
    const proto = JSON.parse('{"__proto__": "x"}') as unknown;
    expect(checkCommonManifest({ ...base, spec: { ...base.spec, env: proto } })).toBeUndefined();
    expect(checkCommonManifest({ ...base, spec: { ...base.spec, suspend: null } })).toBeUndefined();
    expect(
      checkCommonManifest({ ...base, spec: { ...base.spec, concurrencyPolicy: null } }),
    ).toBeUndefined();
    expect(checkCommonManifest({ ...base, metadata: new Map() })).toBeUndefined();
  });
});
