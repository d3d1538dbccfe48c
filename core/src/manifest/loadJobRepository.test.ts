import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { JobRepositoryError, loadJobRepository } from './loadJobRepository.js';
import { formatManifestError } from './manifestErrors.js';

function job(name: string, namespace?: string): string {
  return [
    'apiVersion: cronfleet.dev/v1',
    'kind: Job',
    'metadata:',
    `  name: ${name}`,
    ...(namespace === undefined ? [] : [`  namespace: ${namespace}`]),
    'spec:',
    '  schedule: "@daily"',
    '  command: [/usr/bin/true]',
    '',
  ].join('\n');
}

let root: string;
let outside: string;

beforeEach(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'cronfleet-repo-'));
  outside = await mkdtemp(path.join(tmpdir(), 'cronfleet-outside-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
  await rm(outside, { recursive: true, force: true });
});

async function put(relative: string, text: string): Promise<void> {
  const target = path.join(root, relative);
  await mkdir(path.dirname(target), { recursive: true });
  await writeFile(target, text);
}

describe('loadJobRepository', () => {
  it('walks nested folders, reads .yaml and .yml, and derives namespaces from the first folder', async () => {
    await put('top.yaml', job('at-root'));
    await put('production/db/backup.yml', job('db-backup'));
    await put('production/web/deep/er/rotate.yaml', `${job('rotate')}---\n${job('vacuum')}`);
    await put('staging/override.yaml', job('moved', 'billing'));
    await put('production/README.md', '# not a manifest');
    await put('production/notes.txt', 'apiVersion: nope');

    const result = await loadJobRepository(root);

    expect(result.errors).toEqual([]);
    expect(result.jobs.map((loaded) => `${loaded.id} ${loaded.file}:${loaded.line}`)).toEqual([
      'production/db-backup production/db/backup.yml:1',
      'production/rotate production/web/deep/er/rotate.yaml:1',
      'production/vacuum production/web/deep/er/rotate.yaml:9',
      'billing/moved staging/override.yaml:1',
      'default/at-root top.yaml:1',
    ]);
  });

  it('skips hidden folders, hidden files and node_modules', async () => {
    await put('.git/config.yaml', 'not: a manifest');
    await put('.github/workflows/ci.yml', 'on: push');
    await put('ops/.hidden.yaml', 'nope: 1');
    await put('node_modules/pkg/x.yaml', 'nope: 1');
    await put('ops/real.yaml', job('real'));

    const result = await loadJobRepository(root);
    expect(result.errors).toEqual([]);
    expect(result.jobs.map((loaded) => loaded.id)).toEqual(['ops/real']);
  });

  it('rejects a job defined in two files, naming both, and returns neither', async () => {
    await put('ops/a.yaml', job('same'));
    await put('ops/b/b.yaml', `# comment\n${job('same')}`);
    await put('other/c.yaml', job('same', 'ops'));
    await put('ops/d.yaml', job('unique'));

    const result = await loadJobRepository(root);

    expect(result.jobs.map((loaded) => loaded.id)).toEqual(['ops/unique']);
    expect(result.errors.map(formatManifestError)).toEqual([
      expect.stringMatching(
        /^ops\/b\/b\.yaml:2:1 \[ops\/same\] metadata\.name: duplicate job ops\/same: also defined at ops\/a\.yaml:1:1/,
      ),
      expect.stringMatching(
        /^other\/c\.yaml:1:1 \[ops\/same\] metadata\.name: duplicate job ops\/same: also defined at ops\/a\.yaml:1:1/,
      ),
    ]);
  });

  it('reads a symlinked file inside the repository and rejects one leaving it', async () => {
    await put('ops/real.yaml', job('real'));
    await writeFile(path.join(outside, 'secret.yaml'), job('secret'));
    await mkdir(path.join(root, 'links'));
    await symlink(path.join(root, 'ops/real.yaml'), path.join(root, 'links/alias.yaml'));
    await symlink(path.join(outside, 'secret.yaml'), path.join(root, 'links/escape.yaml'));

    const result = await loadJobRepository(root);

    expect(result.jobs.map((loaded) => `${loaded.id} ${loaded.file}`)).toEqual([
      'links/real links/alias.yaml',
      'ops/real ops/real.yaml',
    ]);
    expect(result.errors).toMatchObject([
      { file: 'links/escape.yaml', line: 1, column: 1, job: null, path: '' },
    ]);
    expect(result.errors[0]?.message).toContain('symlink leaves the repository');
  });

  it('never follows symlinked folders and survives symlink loops', async () => {
    await put('ops/real.yaml', job('real'));
    await writeFile(path.join(outside, 'secret.yaml'), job('secret'));
    await symlink(outside, path.join(root, 'escape'));
    await symlink(path.join(root, 'ops'), path.join(root, 'ops-again'));
    await symlink(root, path.join(root, 'ops/loop'));
    await symlink(path.join(root, 'ops/self.yaml'), path.join(root, 'ops/self.yaml'));

    const result = await loadJobRepository(root);

    expect(result.jobs.map((loaded) => loaded.id)).toEqual(['ops/real']);
    expect(result.errors.map((error) => `${error.file}: ${error.message.split(':')[0]}`)).toEqual([
      'escape: symlink leaves the repository (it resolves outside the repository root); Cronfleet reads only files inside the repository — copy the folder in instead',
      'ops/self.yaml: a symlink loop',
    ]);
  });

  it('never opens a named pipe', async () => {
    await mkdir(path.join(root, 'ops'));
    execFileSync('mkfifo', [path.join(root, 'ops/pipe.yaml')]);
    await symlink(path.join(root, 'ops/pipe.yaml'), path.join(root, 'ops/pipe-link.yaml'));

    const result = await loadJobRepository(root);

    expect(result.errors.map((error) => [error.file, error.message.slice(0, 22)])).toEqual([
      ['ops/pipe-link.yaml', 'not a regular file (a '],
      ['ops/pipe.yaml', 'not a regular file (a '],
    ]);
  });

  it('stops at maxFiles with an error', async () => {
    for (const name of ['a', 'b', 'c']) await put(`ops/${name}.yaml`, job(name));
    const result = await loadJobRepository(root, { maxFiles: 2 });
    expect(result.jobs.map((loaded) => loaded.name)).toEqual(['a', 'b']);
    expect(result.errors[0]?.message).toContain('more than 2 manifest files');
  });

  it('honours maxFileBytes', async () => {
    await put('ops/a.yaml', job('a'));
    const result = await loadJobRepository(root, { maxFileBytes: 20 });
    expect(result.errors[0]?.message).toMatch(/^file is \d+ bytes, over the 20-byte limit/);
  });

  it('returns nothing for an empty repository and throws a typed error for a missing one', async () => {
    expect(await loadJobRepository(root)).toEqual({ jobs: [], errors: [] });
    await expect(loadJobRepository(path.join(root, 'missing'))).rejects.toBeInstanceOf(
      JobRepositoryError,
    );
  });
});
