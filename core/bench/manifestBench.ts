/**
 * Manifest loading benchmark (issue 2 target: load and validate 10,000 manifests in under 2 s).
 * Writes 10,000 generated manifests (mixed fields, some multi-document files, across namespace
 * folders) into a temp repository — not timed — then times one cold, in-process
 * loadJobRepository over it.
 */
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseAllDocuments } from 'yaml';
import { loadJobRepository } from '../src/manifest/manifest.js';

const manifestCount = 10_000;
const namespaces = [
  'production',
  'staging',
  'billing',
  'analytics',
  'platform',
  'search',
  'payments',
  'ops',
];
const schedules = [
  '0 2 * * *',
  '*/15 * * * *',
  '30 4 * * 1-5',
  '@hourly',
  '@daily',
  '0 0 1 * *',
  '5,35 */2 * * *',
  '0 9-17 * * MON-FRI',
];
const zones = ['UTC', 'Europe/Paris', 'America/New_York', 'Asia/Tokyo'];

/** A deterministic, realistic manifest; `index` varies which optional fields it has. */
function manifestText(index: number, namespace: string): string {
  const lines = [
    'apiVersion: cronfleet.dev/v1',
    'kind: Job',
    'metadata:',
    `  name: job-${index}`,
    ...(index % 5 === 0 ? [`  namespace: ${namespace}`] : []),
    '  labels:',
    `    team: team-${index % 12}`,
    `    tier: ${index % 2 === 0 ? 'gold' : 'silver'}`,
    ...(index % 3 === 0
      ? [
          '  annotations:',
          '    owner: ops@example.com',
          `    runbook: https://wiki.example.com/runbooks/job-${index}`,
        ]
      : []),
    'spec:',
    `  schedule: "${schedules[index % schedules.length] ?? '@daily'}"`,
    ...(index % 4 === 0 ? [`  timezone: ${zones[index % zones.length] ?? 'UTC'}`] : []),
    ...(index % 2 === 0
      ? [`  command: /opt/scripts/task-${index}.sh --verbose`]
      : ['  command:', '    - /usr/bin/env', '    - python3', `    - /srv/jobs/job_${index}.py`]),
    ...(index % 3 === 1 ? ['  workingDir: /var/lib/jobs', '  user: jobs'] : []),
    ...(index % 2 === 1 ? ['  env:', '    PGHOST: db-1.internal', `    JOB_ID: "${index}"`] : []),
    ...(index % 4 === 1 ? ['  timeout: 1h30m', '  concurrencyPolicy: Forbid'] : []),
    ...(index % 5 === 2 ? ['  retries: { limit: 3, delay: 30s, backoff: exponential }'] : []),
    ...(index % 6 === 3
      ? [
          '  targets:',
          '    labels: { role: db }',
          '    platforms: [linux, darwin]',
          '    hostnames: [db-1, db-2]',
        ]
      : []),
    ...(index % 7 === 4 ? ['  monitoring: { grace: 10m, maxRuntime: 3h, alertAfter: 2 }'] : []),
    ...(index % 8 === 5 ? ['  output: { maxBytes: 131072 }', '  suspend: true'] : []),
  ];
  return `${lines.join('\n')}\n`;
}

/** Writes 10,000 manifests under `root`: one to four documents per file, over namespaces and sub-folders. */
export async function writeGeneratedRepository(root: string): Promise<number> {
  let index = 0;
  let files = 0;
  while (index < manifestCount) {
    const namespace = namespaces[files % namespaces.length] ?? 'ops';
    const folder = path.join(root, namespace, `group-${files % 25}`);
    const documents = Math.min(files % 10 < 7 ? 1 : (files % 3) + 2, manifestCount - index);
    const texts: string[] = [];
    for (let document = 0; document < documents; document++)
      texts.push(manifestText(index++, namespace));
    await mkdir(folder, { recursive: true });
    await writeFile(
      path.join(folder, `jobs-${files}.${files % 4 === 0 ? 'yml' : 'yaml'}`),
      texts.join('---\n'),
    );
    files++;
  }
  return files;
}

/**
 * The baseline, measured in the same run: reading the same files and parsing them with the
 * `yaml` library alone (no validation), which is what a loader built on `yaml` costs at least.
 */
async function timeYamlLibraryParse(root: string): Promise<number> {
  const files = (await readdir(root, { recursive: true, withFileTypes: true }))
    .filter((entry) => entry.isFile())
    .map((entry) => path.join(entry.parentPath, entry.name));
  const started = performance.now();
  let documents = 0;
  for (const file of files) documents += parseAllDocuments(readFileSync(file, 'utf8')).length;
  const milliseconds = performance.now() - started;
  if (documents < manifestCount)
    throw new Error(`yaml baseline parsed only ${documents} documents`);
  return milliseconds;
}

export async function benchManifestLoad(): Promise<{
  name: string;
  operations: number;
  milliseconds: number;
  target: string;
  baseline: { name: string; milliseconds: number };
}> {
  const root = await mkdtemp(path.join(tmpdir(), 'cronfleet-manifest-bench-'));
  try {
    const files = await writeGeneratedRepository(root);
    const started = performance.now();
    const result = await loadJobRepository(root);
    const milliseconds = performance.now() - started;
    if (result.errors.length > 0) {
      throw new Error(
        `benchmark manifests should be valid, got ${result.errors.length} errors; first: ${JSON.stringify(result.errors[0])}`,
      );
    }
    if (result.jobs.length !== manifestCount) {
      throw new Error(`expected ${manifestCount} jobs, got ${result.jobs.length}`);
    }
    return {
      name: `manifest load (${manifestCount} jobs in ${files} files)`,
      operations: manifestCount,
      milliseconds,
      target: '10,000 manifests < 2000 ms',
      baseline: {
        name: 'read + yaml.parseAllDocuments only',
        milliseconds: await timeYamlLibraryParse(root),
      },
    };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}
