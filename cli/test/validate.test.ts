import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hasAnsi, repoRoot, runCli } from './runCli.js';

let workDir: string;

async function writeRepository(name: string, files: Record<string, string>): Promise<string> {
  const root = path.join(workDir, name);
  for (const [file, text] of Object.entries(files)) {
    const absolute = path.join(root, file);
    await mkdir(path.dirname(absolute), { recursive: true });
    await writeFile(absolute, text);
  }
  return root;
}

const goodFiles = {
  'production/backup.yaml': `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: nightly-db-backup
spec:
  schedule: "0 2 * * *"
  timezone: America/New_York
  command: /opt/scripts/backup.sh --compress
---
apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: hourly-vacuum
spec:
  schedule: "@hourly"
  command: [/usr/bin/vacuumdb, --all]
`,
  'staging/reports.yml': `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: weekly-report
  namespace: reporting
spec:
  schedule: "30 6 * * 1"
  command: /opt/scripts/report.sh
`,
};

// Line and column of each mistake are part of the expectations below: keep them in step.
const brokenFiles = {
  'production/backup.yaml': `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: nightly-db-backup
spec:
  schedule: "61 2 * * *"
  command: /opt/scripts/backup.sh
`,
  'staging/syntax.yaml': `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: broken
spec: [unclosed
`,
  'staging/fine.yaml': `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: fine
spec:
  schedule: "*/5 * * * *"
  command: "true"
`,
};

beforeAll(async () => {
  workDir = await mkdtemp(path.join(tmpdir(), 'cronfleet-cli-validate-'));
  await writeRepository('good', goodFiles);
  await writeRepository('broken', brokenFiles);
  await writeFile(path.join(workDir, 'not-a-folder.yaml'), 'kind: Job\n');
});

afterAll(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('cronfleet validate on a valid repository', () => {
  it('exits 0 and prints the exact --json shape, paths relative to the working directory', async () => {
    const run = await runCli(['validate', 'good', '--json'], { cwd: workDir });
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({
      jobs: [
        {
          namespace: 'production',
          name: 'hourly-vacuum',
          file: 'good/production/backup.yaml',
          schedule: '@hourly',
          timezone: null,
        },
        {
          namespace: 'production',
          name: 'nightly-db-backup',
          file: 'good/production/backup.yaml',
          schedule: '0 2 * * *',
          timezone: 'America/New_York',
        },
        {
          namespace: 'reporting',
          name: 'weekly-report',
          file: 'good/staging/reports.yml',
          schedule: '30 6 * * 1',
          timezone: null,
        },
      ],
      errors: [],
    });
  });

  it('prints the summary without colours when stdout is not a TTY', async () => {
    const run = await runCli(['validate', '.'], { cwd: path.join(workDir, 'good') });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('3 jobs in 2 namespaces, 0 errors\n');
    expect(hasAnsi(run.stdout)).toBe(false);
  });

  it('validates the current directory when DIR is left out', async () => {
    const run = await runCli(['validate', '--json'], { cwd: path.join(workDir, 'good') });
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as { jobs: { file: string }[] };
    expect(result.jobs.map((job) => job.file)).toEqual([
      'production/backup.yaml',
      'production/backup.yaml',
      'staging/reports.yml',
    ]);
  });

  it('colours with FORCE_COLOR, and NO_COLOR wins over it', async () => {
    const forced = await runCli(['validate', 'good'], { cwd: workDir, env: { FORCE_COLOR: '1' } });
    expect(forced.exitCode).toBe(0);
    expect(hasAnsi(forced.stdout)).toBe(true);
    const both = await runCli(['validate', 'good'], {
      cwd: workDir,
      env: { FORCE_COLOR: '1', NO_COLOR: '1' },
    });
    expect(both.stdout).toBe('3 jobs in 2 namespaces, 0 errors\n');
  });
});

describe('cronfleet validate on a broken repository', () => {
  it('exits 1 and prints one located line per error, then the summary', async () => {
    const run = await runCli(['validate', 'broken'], { cwd: workDir });
    expect(run.exitCode).toBe(1);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(
      /^broken\/production\/backup\.yaml:6:13 +production\/nightly-db-backup +spec\.schedule +\S/,
    );
    // The YAML parser finds the unclosed "[" at the end of the file (line 6, column 1).
    expect(lines[1]).toMatch(/^broken\/staging\/syntax\.yaml:6:1 +- +- +\S/);
    expect(lines[2]).toBe('2 errors in 2 files');
    expect(hasAnsi(run.stdout)).toBe(false);
  });

  it('--json lists every error with file, line, column, job, path and message, and exits 1', async () => {
    const run = await runCli(['validate', 'broken', '--json'], { cwd: workDir });
    expect(run.exitCode).toBe(1);
    const result = JSON.parse(run.stdout) as {
      jobs: { namespace: string; name: string }[];
      errors: Record<string, unknown>[];
    };
    expect(Object.keys(result)).toEqual(['jobs', 'errors']);
    expect(result.jobs.map((job) => `${job.namespace}/${job.name}`)).toEqual(['staging/fine']);
    expect(result.errors).toHaveLength(2);
    for (const error of result.errors) {
      expect(Object.keys(error)).toEqual(['file', 'line', 'column', 'job', 'path', 'message']);
      expect(typeof error['message']).toBe('string');
      expect(error['message']).not.toBe('');
    }
    expect(result.errors[0]).toMatchObject({
      file: 'broken/production/backup.yaml',
      line: 6,
      column: 13,
      job: 'production/nightly-db-backup',
      path: 'spec.schedule',
    });
    expect(result.errors[1]).toMatchObject({
      file: 'broken/staging/syntax.yaml',
      line: 6,
      column: 1,
      job: null,
      path: '',
    });
  });
});

describe('cronfleet validate usage errors', () => {
  it('exits 2 with a clear message for a missing directory', async () => {
    const run = await runCli(['validate', 'no-such-folder'], { cwd: workDir });
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Directory not found: no-such-folder.');
    expect(run.stderr).toContain('Pass the folder of a job repository');
  });

  it('exits 2 with a JSON error for a missing directory with --json', async () => {
    const run = await runCli(['validate', 'no-such-folder', '--json'], { cwd: workDir });
    expect(run.exitCode).toBe(2);
    expect(JSON.parse(run.stdout)).toEqual({
      error: {
        name: 'UsageError',
        message: expect.stringContaining('Directory not found: no-such-folder.') as unknown,
        exitCode: 2,
      },
    });
  });

  it('accepts an empty folder (exit 0) but warns that the path is probably wrong', async () => {
    await mkdir(path.join(workDir, 'empty'), { recursive: true });
    const run = await runCli(['validate', 'empty'], { cwd: workDir });
    expect(run.exitCode).toBe(0);
    expect(run.stdout).toBe('0 jobs in 0 namespaces, 0 errors\n');
    expect(run.stderr).toContain('No job manifests found under empty.');
  });

  it('exits 2 when DIR is a file', async () => {
    const run = await runCli(['validate', 'not-a-folder.yaml'], { cwd: workDir });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('Not a directory: not-a-folder.yaml.');
  });

  it('exits 2 for an unknown flag, with or without --json', async () => {
    const human = await runCli(['validate', 'good', '--bogus'], { cwd: workDir });
    expect(human.exitCode).toBe(2);
    expect(human.stderr).toContain('--bogus');
    const json = await runCli(['validate', 'good', '--bogus', '--json'], { cwd: workDir });
    expect(json.exitCode).toBe(2);
    const body = JSON.parse(json.stdout) as { error: { message: string; exitCode: number } };
    expect(body.error.message).toContain('--bogus');
    expect(body.error.exitCode).toBe(2);
  });
});

const exampleRepository = path.join(repoRoot, 'manifests-example');

describe('cronfleet validate manifests-example', () => {
  it.skipIf(!existsSync(exampleRepository))(
    'finds every job and no error, run from the repository root',
    async () => {
      const run = await runCli(['validate', 'manifests-example', '--json'], { cwd: repoRoot });
      const result = JSON.parse(run.stdout) as { jobs: unknown[]; errors: unknown[] };
      expect(result.errors).toEqual([]);
      expect(run.exitCode).toBe(0);
      expect(result.jobs).toHaveLength(await countJobDocuments(exampleRepository));
    },
  );
});

/** Counts `kind: Job` documents in every .yaml/.yml file, independently of the loader. */
async function countJobDocuments(root: string): Promise<number> {
  let count = 0;
  for (const entry of await readdir(root, { recursive: true, withFileTypes: true })) {
    if (!entry.isFile() || !/\.ya?ml$/.test(entry.name)) continue;
    const text = await readFile(path.join(entry.parentPath, entry.name), 'utf8');
    count += text.match(/^kind:\s*['"]?Job['"]?\s*$/gm)?.length ?? 0;
  }
  return count;
}
