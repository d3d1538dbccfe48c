/**
 * Every kind of broken manifest in test/fixtures/broken gives exactly the located errors listed
 * here, and nothing else. The oversized file and the escaping symlink are generated into a temp
 * copy of the fixtures instead of being committed.
 */
import { cp, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  formatManifestError,
  loadJobRepository,
  type LoadResult,
  type ManifestError,
} from '../src/manifest/manifest.js';

const fixtures = fileURLToPath(new URL('./fixtures/broken', import.meta.url));

/** [line, column, job, path, message fragment] of each error expected in a file. */
type Expected = [line: number, column: number, job: string | null, path: string, fragment: string];

const expectedErrors: Record<string, Expected[]> = {
  'ops/typo-key.yaml': [
    [
      7,
      3,
      'ops/typo-key',
      'spec.schedual',
      'unknown key "schedual" in spec. Did you mean schedule? Allowed keys: schedule, timezone, command',
    ],
  ],
  'ops/bad-schedule.yaml': [[6, 13, 'ops/bad-schedule', 'spec.schedule', '61']],
  'ops/quartz-last-day.yaml': [[6, 13, 'ops/quartz-last-day', 'spec.schedule', 'Quartz']],
  'ops/bad-timezone.yaml': [
    [
      7,
      13,
      'ops/bad-timezone',
      'spec.timezone',
      '"Mars/Olympus_Mons" is not an IANA time zone name',
    ],
  ],
  'ops/bad-duration.yaml': [[8, 12, 'ops/bad-duration', 'spec.timeout', 'write 30s, not 30']],
  'ops/bad-concurrency-policy.yaml': [
    [
      8,
      22,
      'ops/bad-concurrency-policy',
      'spec.concurrencyPolicy',
      'must be one of Allow, Forbid, Replace (got "forbid"); did you mean Forbid?',
    ],
  ],
  'ops/wrong-api-version.yaml': [
    [1, 13, 'ops/wrong-api-version', 'apiVersion', 'must be cronfleet.dev/v1 (got "batch/v1")'],
  ],
  'ops/wrong-kind.yaml': [[2, 7, 'ops/wrong-kind', 'kind', 'must be Job (got "CronJob")']],
  'ops/bad-name.yaml': [[4, 9, 'ops/Nightly_Backup', 'metadata.name', 'must be a DNS label']],
  'ops/duplicate-b.yaml': [
    [
      2,
      1,
      'ops/db-backup',
      'metadata.name',
      'duplicate job ops/db-backup: also defined at ops/duplicate-a.yaml:1:1',
    ],
  ],
  'ops/multi-document.yaml': [
    [17, 12, 'ops/second-is-broken', 'spec.retries.limit', 'must be at most 10 (got 11)'],
  ],
  'ops/yaml-syntax-error.yaml': [[8, 1, null, '', 'YAML syntax error: Flow sequence']],
  'ops/unquoted-schedule.yaml': [
    [6, 17, null, '', 'quote the schedule, e.g. schedule: "*/5 * * * *"'],
  ],
  'ops/duplicate-key.yaml': [
    [8, 3, null, 'spec.command', 'duplicate key "command": a key may appear once in a mapping'],
  ],
  'ops/alias-bomb.yaml': [[1, 1, null, '', 'alias bomb']],
  'ops/binary.yaml': [[3, 1, null, '', 'binary content']],
  'ops/invalid-utf8.yaml': [[6, 15, null, '', 'invalid UTF-8 (byte 0xe9 at byte offset 99)']],
  'ops/not-a-mapping.yaml': [
    [
      1,
      1,
      null,
      '',
      'must be a mapping with apiVersion, kind, metadata and spec; this document is a list',
    ],
  ],
  'ops/missing-command.yaml': [
    [5, 1, 'ops/missing-command', 'spec.command', 'missing required key "command"'],
  ],
  'ops/env-number.yaml': [
    [9, 13, 'ops/env-number', 'spec.env.PGPORT', 'quote it: "5432"'],
    [
      10,
      5,
      'ops/env-number',
      'spec.env.bad-name',
      'key "bad-name" must be an environment variable name',
    ],
  ],
  'Team_Folder/folder-not-a-namespace.yaml': [
    [3, 1, null, 'metadata.namespace', 'the folder "Team_Folder" is not a valid namespace'],
  ],
  // Generated in the temp copy:
  'ops/oversized.yaml': [[1, 1, null, '', 'over the 1048576-byte limit']],
  'ops/escape.yaml': [[1, 1, null, '', 'symlink leaves the repository']],
};

let workspace: string;
let result: LoadResult;
let elapsed: number;

beforeAll(async () => {
  workspace = await mkdtemp(path.join(tmpdir(), 'cronfleet-broken-'));
  const repository = path.join(workspace, 'repo');
  await cp(fixtures, repository, { recursive: true });
  await writeFile(path.join(repository, 'ops/oversized.yaml'), `# ${'x'.repeat(1024 * 1024)}\n`);
  await writeFile(path.join(workspace, 'outside.yaml'), 'apiVersion: cronfleet.dev/v1\n');
  await symlink(path.join(workspace, 'outside.yaml'), path.join(repository, 'ops/escape.yaml'));
  const started = performance.now();
  result = await loadJobRepository(repository);
  elapsed = performance.now() - started;
});

afterAll(async () => {
  await rm(workspace, { recursive: true, force: true });
});

function errorsOf(file: string): ManifestError[] {
  return result.errors.filter((error) => error.file === file);
}

describe('broken manifests', () => {
  it.each(Object.entries(expectedErrors))(
    '%s gives exactly its located errors',
    (file, expected) => {
      const actual = errorsOf(file);
      expect(actual.map((error) => [error.line, error.column, error.job, error.path])).toEqual(
        expected.map(([line, column, job, keyPath]) => [line, column, job, keyPath]),
      );
      actual.forEach((error, index) => {
        expect(error.message).toContain(expected[index]?.[4]);
      });
    },
  );

  it('reports no error in a file not listed (empty and comment-only documents are fine)', () => {
    const unexpected = result.errors.filter((error) => !(error.file in expectedErrors));
    expect(unexpected.map(formatManifestError)).toEqual([]);
  });

  it('returns only the valid job, and neither copy of the duplicate', () => {
    expect(result.jobs.map((job) => `${job.id} ${job.file}:${job.line}`)).toEqual([
      'ops/first-is-fine ops/multi-document.yaml:1',
    ]);
  });

  it('sorts errors by file, then line, then column', () => {
    const keys = result.errors.map((error) => [error.file, error.line, error.column] as const);
    const sorted = [...keys].sort((a, b) =>
      a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] - b[1] || a[2] - b[2],
    );
    expect(keys).toEqual(sorted);
  });

  it('formats errors as file:line:column [job] path: message', () => {
    const [error] = errorsOf('ops/bad-duration.yaml');
    expect(error && formatManifestError(error)).toMatch(
      /^ops\/bad-duration\.yaml:8:12 \[ops\/bad-duration\] spec\.timeout: a duration needs a unit/,
    );
  });

  it('keeps the cause of validation errors', () => {
    const [error] = errorsOf('ops/bad-timezone.yaml');
    expect(error?.cause).toMatchObject({ code: 'custom', path: ['spec', 'timezone'] });
  });

  it('handles every hostile file quickly (no hang on the alias bomb or the oversized file)', () => {
    expect(elapsed).toBeLessThan(2000);
  });
});
