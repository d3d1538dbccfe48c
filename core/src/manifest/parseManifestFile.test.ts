import { describe, expect, it } from 'vitest';
import { formatManifestError } from './manifestErrors.js';
import { maxErrorsPerFile, namespaceFromPath, parseManifestFile } from './parseManifestFile.js';

function job(name: string, extra = ''): string {
  return [
    'apiVersion: cronfleet.dev/v1',
    'kind: Job',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  schedule: "0 2 * * *"',
    '  command: echo hi',
    extra,
  ].join('\n');
}

describe('parseManifestFile', () => {
  it('reads every document of a file with its position and derived namespace', () => {
    const result = parseManifestFile('production/db/jobs.yaml', `${job('a')}\n---\n${job('b')}\n`);
    expect(result.errors).toEqual([]);
    expect(result.jobs.map((loaded) => [loaded.id, loaded.line, loaded.column])).toEqual([
      ['production/a', 1, 1],
      ['production/b', 10, 1],
    ]);
    expect(result.jobs[0]?.manifest.metadata.namespace).toBe('production');
    expect(result.jobs[0]?.namespace).toBe('production');
  });

  it('uses "default" at the repository root and an explicit namespace over the folder', () => {
    expect(parseManifestFile('jobs.yml', job('a')).jobs[0]?.id).toBe('default/a');
    const explicit = job('a').replace('  name: a', '  name: a\n  namespace: billing');
    expect(parseManifestFile('production/jobs.yml', explicit).jobs[0]?.id).toBe('billing/a');
  });

  it('keeps errors of one document away from the others', () => {
    const broken = job('b', '  suspend: maybe');
    const result = parseManifestFile(
      'ops/x.yaml',
      `${job('a')}\n---\n${broken}\n---\n${job('c')}\n`,
    );
    expect(result.jobs.map((loaded) => loaded.name)).toEqual(['a', 'c']);
    expect(result.errors.map(formatManifestError)).toEqual([
      'ops/x.yaml:17:12 [ops/b] spec.suspend: expected true or false, got a string; write true or false without quotes',
    ]);
  });

  it('locates monitoring mistakes at the item and suggests the monitoring key meant', () => {
    const monitoring = [
      '  monitoring:',
      '    recover_after: 2',
      '    realertEvery: 30s',
      '    notify: [dba-pager, Ops_Slack, dba-pager]',
    ].join('\n');
    const result = parseManifestFile('ops/x.yaml', job('a', monitoring));
    expect(result.jobs).toEqual([]);
    expect(result.errors.map(formatManifestError)).toEqual([
      'ops/x.yaml:9:5 [ops/a] spec.monitoring.recover_after: unknown key "recover_after" in spec.monitoring. Did you mean recoverAfter? Allowed keys: grace, maxRuntime, alertAfter, recoverAfter, realertEvery, notify',
      'ops/x.yaml:10:19 [ops/a] spec.monitoring.realertEvery: "30s" is shorter than the minimum of 1m: write 1m or more (e.g. 30m, 4h), or leave realertEvery out to be notified once',
      'ops/x.yaml:11:25 [ops/a] spec.monitoring.notify[1]: must be a notification channel name: 1 to 63 characters, lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. ops-pager) — try "ops-slack"',
      'ops/x.yaml:11:36 [ops/a] spec.monitoring.notify[2]: "dba-pager" is listed twice; list each channel once',
    ]);
  });

  it('rejects both copies of a job defined twice in one file', () => {
    const result = parseManifestFile('ops/x.yaml', `${job('a')}\n---\n${job('a')}\n`);
    expect(result.jobs).toEqual([]);
    expect(result.errors).toMatchObject([
      { file: 'ops/x.yaml', line: 10, column: 1, job: 'ops/a', path: 'metadata.name' },
    ]);
    expect(result.errors[0]?.message).toContain('also defined at ops/x.yaml:1:1');
  });

  it('accepts bytes, a BOM and CRLF line ends', () => {
    const bytes = new TextEncoder().encode(`\uFEFF${job('a').replaceAll('\n', '\r\n')}`);
    const result = parseManifestFile('ops/x.yaml', bytes);
    expect(result.errors).toEqual([]);
    expect(result.jobs[0]?.id).toBe('ops/a');
  });

  it('finds a NUL character in a string', () => {
    expect(parseManifestFile('ops/x.yaml', 'a: 1\nb: x\0')).toMatchObject({
      jobs: [],
      errors: [{ line: 2, column: 5, path: '', message: expect.stringContaining('binary') }],
    });
  });

  it('rejects text over the default 1 MiB cap without parsing it', () => {
    const result = parseManifestFile('ops/x.yaml', `# ${'x'.repeat(1024 * 1024)}\n`);
    expect(result.errors[0]?.message).toMatch(/over the 1048576-byte limit/);
  });

  it('caps the number of errors reported for one file', () => {
    const keys = Array.from({ length: 300 }, (_, index) => `  bogus${index}: 1`).join('\n');
    const result = parseManifestFile('ops/x.yaml', job('a', keys));
    expect(result.errors).toHaveLength(maxErrorsPerFile);
    expect(result.errors.at(-1)?.message).toBe(
      '201 more problems in this document not shown; fix the ones above first',
    );
  });

  it('treats merge keys and unknown tags as problems, not silently ignored input', () => {
    const tagged = job('a').replace('command: echo hi', 'command: !shell echo hi');
    expect(parseManifestFile('ops/x.yaml', tagged).errors[0]?.message).toContain('Unresolved tag');
  });

  it('reports the same problem of one value once', () => {
    const result = parseManifestFile(
      'ops/x.yaml',
      job('a').replace('command: echo hi', 'command: ""'),
    );
    expect(result.errors.map(formatManifestError)).toEqual([
      'ops/x.yaml:7:12 [ops/a] spec.command: must not be empty: give the command to run',
    ]);
  });

  it('names the job in errors when the name is readable', () => {
    const result = parseManifestFile('ops/x.yaml', job('a', '  timeout: 5'));
    expect(result.errors[0]).toMatchObject({
      job: 'ops/a',
      path: 'spec.timeout',
      line: 8,
      column: 12,
    });
  });

  it('still loads a valid document after more broken documents than the error cap', () => {
    const broken = Array.from({ length: 150 }, (_, index) => job(`b-${index}`, '  suspend: 1'));
    const result = parseManifestFile('ops/x.yaml', [...broken, job('last')].join('\n---\n'));
    expect(result.jobs.map((loaded) => loaded.id)).toEqual(['ops/last']);
    expect(result.errors).toHaveLength(maxErrorsPerFile + 1);
    expect(result.errors.at(-1)?.message).toBe(
      '50 more errors in this file not shown; fix the ones above first',
    );
  });

  it('stays fast on a mapping with a huge number of keys', () => {
    const keys = Array.from({ length: 50_000 }, (_, index) => `  k${index}: 1`).join('\n');
    const started = performance.now();
    const result = parseManifestFile('ops/x.yaml', job('a', keys));
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.errors).toHaveLength(maxErrorsPerFile);
  });

  it('reports a repeated key where it repeats, in any mapping', () => {
    const text = job('a').replace('  name: a', '  name: a\n  labels: { team: x, team: y }');
    expect(parseManifestFile('ops/x.yaml', text).errors).toMatchObject([
      {
        line: 5,
        column: 22,
        path: 'metadata.labels.team',
        message: expect.stringContaining('duplicate key "team"'),
      },
    ]);
  });

  it('never throws on deeply nested input', () => {
    const deep = `${'['.repeat(20_000)}${']'.repeat(20_000)}\n`;
    const result = parseManifestFile('ops/x.yaml', deep);
    expect(result.jobs).toEqual([]);
    expect(result.errors.length).toBeGreaterThan(0);
  });
});

describe('namespaceFromPath', () => {
  it('takes the first folder, else default', () => {
    expect(namespaceFromPath('production/a/b.yaml')).toBe('production');
    expect(namespaceFromPath('b.yaml')).toBe('default');
  });
});
