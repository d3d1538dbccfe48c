/**
 * The example job repository (manifests-example/) must stay a valid, complete example: it loads
 * with zero errors through the real loader, holds exactly the jobs its README describes, every
 * file points editors at the committed JSON Schema, and the demo namespace stays harmless.
 */
import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadJobRepository } from '../src/manifest/manifest.js';

const exampleRoot = fileURLToPath(new URL('../../manifests-example/', import.meta.url));

const schemaComment = /^# yaml-language-server: \$schema=(\S+)$/;
const demoLabel = 'cronfleet.dev/demo';
const expectedOutcomeAnnotation = 'cronfleet.dev/expected-outcome';

const expectedJobIds = [
  'demo/always-fails',
  'demo/current-time',
  'demo/hello',
  'demo/short-sleep',
  'platform/app-log-rotation',
  'platform/cert-expiry-check',
  'platform/windows-temp-cleanup',
  'production/cache-warmup',
  'production/daily-sales-report',
  'production/db-vacuum-analyze',
  'production/monthly-finance-report',
  'production/nightly-db-backup',
  'production/search-index-rebuild',
  'production/sepa-settlement-export',
  'staging/cache-warmup',
  'staging/daily-sales-report',
  'staging/nightly-db-backup',
];

type LoadedRepository = Awaited<ReturnType<typeof loadJobRepository>>;
type LoadedJob = LoadedRepository['jobs'][number];

/** Every YAML file under `dir`, as paths relative to `dir` with `/` separators, sorted. */
async function yamlFilesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile() && /\.ya?ml$/.test(entry.name))
    .map((entry) => path.relative(dir, path.join(entry.parentPath, entry.name)))
    .map((relative) => relative.split(path.sep).join('/'))
    .sort();
}

/** The job's file relative to the example root with `/` separators, however the loader gives it. */
function relativeFileOf(job: LoadedJob): string {
  const absolute = path.isAbsolute(job.file) ? job.file : path.join(exampleRoot, job.file);
  return path.relative(exampleRoot, absolute).split(path.sep).join('/');
}

function jobById(jobs: readonly LoadedJob[], id: string): LoadedJob {
  const job = jobs.find((candidate) => candidate.id === id);
  if (job === undefined) throw new Error(`manifests-example has no job ${id}`);
  return job;
}

describe('manifests-example', () => {
  let repository: LoadedRepository;
  let yamlFiles: string[];

  beforeAll(async () => {
    repository = await loadJobRepository(exampleRoot);
    yamlFiles = await yamlFilesUnder(exampleRoot);
  });

  it('loads with zero errors', () => {
    expect(repository.errors).toEqual([]);
  });

  it('holds exactly the expected jobs, each once', () => {
    const ids = repository.jobs.map((job) => job.id).sort();
    expect(ids).toEqual(expectedJobIds);
    for (const job of repository.jobs) {
      expect(job.id).toBe(`${job.namespace}/${job.name}`);
    }
  });

  it('has one folder per namespace, and every job sits in the folder of its namespace', () => {
    const folders = new Set(yamlFiles.map((file) => file.split('/')[0]));
    expect([...folders].sort()).toEqual(['demo', 'platform', 'production', 'staging']);
    for (const file of yamlFiles) {
      expect(file.split('/'), `${file} should sit directly in a namespace folder`).toHaveLength(2);
    }
    for (const job of repository.jobs) {
      const folder = relativeFileOf(job).split('/')[0];
      expect(folder, `${job.id} is defined in ${relativeFileOf(job)}`).toBe(job.namespace);
    }
  });

  it('starts every YAML file with a $schema comment that points at an existing JSON Schema', async () => {
    expect(yamlFiles.length).toBeGreaterThan(0);
    for (const file of yamlFiles) {
      const text = await readFile(path.join(exampleRoot, file), 'utf8');
      const firstLine = text.split('\n', 1)[0] ?? '';
      const match = schemaComment.exec(firstLine);
      expect(match, `${file}: first line is ${JSON.stringify(firstLine)}`).not.toBeNull();
      const target = match?.[1] ?? '';
      expect(target).toBe('../../core/schema/manifest-v1.schema.json');
      const schemaPath = path.resolve(path.dirname(path.join(exampleRoot, file)), target);
      await expect(access(schemaPath), `${file} points at ${schemaPath}`).resolves.toBeUndefined();
      const schema: unknown = JSON.parse(await readFile(schemaPath, 'utf8'));
      expect(schema, `${schemaPath} should be a JSON Schema object`).toBeTypeOf('object');
    }
  });

  it('every file yields at least one job', () => {
    const filesWithJobs = new Set(repository.jobs.map(relativeFileOf));
    expect([...filesWithJobs].sort()).toEqual(yamlFiles);
  });

  describe('demo/', () => {
    const demoJobs = (): LoadedJob[] => repository.jobs.filter((job) => job.namespace === 'demo');

    it('fires every job every minute', () => {
      expect(demoJobs().length).toBeGreaterThanOrEqual(3);
      for (const job of demoJobs()) {
        expect(job.manifest.spec.schedule, job.id).toBe('* * * * *');
        expect(job.manifest.spec.suspend ?? false, job.id).toBe(false);
      }
    });

    it('targets only the demo agent, and no other namespace targets it', () => {
      for (const job of repository.jobs) {
        const labels = job.manifest.spec.targets?.labels ?? {};
        if (job.namespace === 'demo') {
          expect(labels, job.id).toEqual({ [demoLabel]: 'true' });
        } else {
          expect(Object.keys(labels), job.id).not.toContain(demoLabel);
        }
      }
    });

    it('has exactly one job designed to fail, marked by an annotation, that exits 1', () => {
      const failing = demoJobs().filter(
        (job) => job.manifest.metadata.annotations?.[expectedOutcomeAnnotation] === 'failure',
      );
      expect(failing.map((job) => job.id)).toEqual(['demo/always-fails']);
      expect(failing[0]?.manifest.spec.command).toMatch(/\bexit 1\b/);
    });
  });

  it('shows the cases the example is meant to show', () => {
    const jobs = repository.jobs;
    const backup = jobById(jobs, 'production/nightly-db-backup');
    expect(backup.manifest.spec.concurrencyPolicy).toBe('Forbid');
    expect(backup.manifest.spec.targets?.labels).toMatchObject({ role: 'db' });
    expect(backup.manifest.spec.retries?.limit).toBeGreaterThan(0);

    const windows = jobById(jobs, 'platform/windows-temp-cleanup');
    expect(windows.manifest.spec.targets?.platforms).toEqual(['windows']);
    expect(windows.manifest.spec.workingDir).toMatch(/^[A-Z]:\\/);

    const berlin = jobById(jobs, 'production/sepa-settlement-export');
    expect(berlin.manifest.spec.timezone).toBe('Europe/Berlin');
    expect(berlin.manifest.spec.schedule).toBe('30 2 * * *');

    const rebuild = jobById(jobs, 'production/search-index-rebuild');
    expect(rebuild.manifest.spec.concurrencyPolicy).toBe('Forbid');
    expect(rebuild.manifest.spec.timeout).toBe('4h');

    const suspended = jobs.filter((job) => job.manifest.spec.suspend === true);
    expect(suspended.map((job) => job.id)).toEqual(['staging/daily-sales-report']);
  });
});
