import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';

/**
 * Editors validate manifests with the committed JSON Schema (the yaml-language-server comment at
 * the top of each file). It must accept what the loader accepts and reject the common mistakes.
 */
const schemaFile = fileURLToPath(new URL('../schema/manifest-v1.schema.json', import.meta.url));
const exampleRepository = fileURLToPath(new URL('../../manifests-example', import.meta.url));

const validate = new Ajv2020({ allErrors: true, strict: false }).compile(
  JSON.parse(readFileSync(schemaFile, 'utf8')) as object,
);

function documentsOf(text: string): unknown[] {
  return parseAllDocuments(text)
    .flatMap((document) => ('toJS' in document ? [document.toJS() as unknown] : []))
    .filter((value) => value !== null);
}

const validManifest = {
  apiVersion: 'cronfleet.dev/v1',
  kind: 'Job',
  metadata: { name: 'nightly-db-backup' },
  spec: { schedule: '0 2 * * *', command: '/opt/scripts/backup.sh', timeout: '2h' },
};

describe('the committed JSON Schema', () => {
  it('accepts every manifest of the example repository', () => {
    const files = readdirSync(exampleRepository, { recursive: true, encoding: 'utf8' }).filter(
      (file) => /\.ya?ml$/.test(file),
    );
    expect(files.length).toBeGreaterThan(5);
    for (const file of files) {
      for (const manifest of documentsOf(
        readFileSync(path.join(exampleRepository, file), 'utf8'),
      )) {
        expect(validate(manifest), `${file}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
    }
  });

  it('rejects a misspelt key, a bare-number duration, an unknown policy and a wrong kind', () => {
    expect(validate(validManifest)).toBe(true);
    const broken = [
      { ...validManifest, spec: { ...validManifest.spec, schedual: '0 2 * * *' } },
      { ...validManifest, spec: { ...validManifest.spec, timeout: 30 } },
      { ...validManifest, spec: { ...validManifest.spec, concurrencyPolicy: 'forbid' } },
      { ...validManifest, kind: 'CronJob' },
      { ...validManifest, metadata: { name: 'Nightly_Backup' } },
    ];
    for (const manifest of broken) expect(validate(manifest), JSON.stringify(manifest)).toBe(false);
  });

  it('checks recoverAfter, realertEvery and notify as the loader does', () => {
    const withMonitoring = (monitoring: Record<string, unknown>) => ({
      ...validManifest,
      spec: { ...validManifest.spec, monitoring },
    });
    expect(
      validate(
        withMonitoring({ recoverAfter: 2, realertEvery: '4h', notify: ['dba-pager', 'ops'] }),
      ),
    ).toBe(true);
    for (const monitoring of [
      { recoverAfter: 0 },
      { realertEvery: 30 },
      { notify: [] },
      { notify: 'ops' },
      { notify: ['Ops_Pager'] },
      { notify: ['ops', 'ops'] },
    ]) {
      expect(validate(withMonitoring(monitoring)), JSON.stringify(monitoring)).toBe(false);
    }
  });
});
