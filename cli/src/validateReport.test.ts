import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createTerminalStyle } from './terminalStyle.js';
import {
  ValidateResult,
  buildValidateResult,
  displayPath,
  renderValidateReport,
  summarizeValidation,
  type RepositoryLoadOutcome,
} from './validateReport.js';

const plain = createTerminalStyle(false);
const root = path.resolve('/repos/jobs');

function job(namespace: string, name: string, file: string, timezone?: string) {
  return {
    namespace,
    name,
    file,
    manifest: { spec: { schedule: '0 2 * * *', ...(timezone ? { timezone } : {}) } },
  };
}

const outcome: RepositoryLoadOutcome = {
  jobs: [
    job('staging', 'b', 'staging/b.yaml'),
    job('production', 'z', 'production/z.yaml', 'UTC'),
    job('production', 'a', 'production/a.yaml'),
  ],
  errors: [
    {
      file: 'staging/x.yaml',
      line: 9,
      column: 3,
      job: null,
      path: '',
      message: 'YAML syntax error: bad indentation.\nIndent with spaces.',
    },
    {
      file: 'production/q.yaml',
      line: 12,
      column: 13,
      job: 'production/q',
      path: 'spec.schedule',
      message: 'minute 61 is out of range 0-59.',
    },
    {
      file: 'production/q.yaml',
      line: 4,
      column: 9,
      job: 'production/q',
      path: 'metadata.name',
      message: 'Use a DNS label.',
    },
  ],
};

describe('displayPath', () => {
  it('is relative to the working directory with forward slashes', () => {
    expect(displayPath('production/a.yaml', root, path.resolve('/repos'))).toBe(
      'jobs/production/a.yaml',
    );
    expect(displayPath('production/a.yaml', root, root)).toBe('production/a.yaml');
    expect(displayPath('a.yaml', root, path.resolve('/elsewhere'))).toBe('../repos/jobs/a.yaml');
  });
});

describe('buildValidateResult', () => {
  const result = buildValidateResult(outcome, { rootDir: root, cwd: path.resolve('/repos') });

  it('orders jobs by namespace and name, with a null timezone when unset', () => {
    expect(result.jobs).toEqual([
      {
        namespace: 'production',
        name: 'a',
        file: 'jobs/production/a.yaml',
        schedule: '0 2 * * *',
        timezone: null,
      },
      {
        namespace: 'production',
        name: 'z',
        file: 'jobs/production/z.yaml',
        schedule: '0 2 * * *',
        timezone: 'UTC',
      },
      {
        namespace: 'staging',
        name: 'b',
        file: 'jobs/staging/b.yaml',
        schedule: '0 2 * * *',
        timezone: null,
      },
    ]);
  });

  it('orders errors by file, line and column and keeps only the six public fields', () => {
    expect(result.errors.map((error) => `${error.file}:${error.line}`)).toEqual([
      'jobs/production/q.yaml:4',
      'jobs/production/q.yaml:12',
      'jobs/staging/x.yaml:9',
    ]);
    expect(ValidateResult.parse(result)).toEqual(result);
  });

  it('drops a cause, which --json must not print', () => {
    const withCause = buildValidateResult(
      {
        jobs: [],
        errors: [
          {
            ...outcome.errors[0]!,
            cause: new Error('inner'),
          } as RepositoryLoadOutcome['errors'][number],
        ],
      },
      { rootDir: root, cwd: root },
    );
    expect(Object.keys(withCause.errors[0]!)).toEqual([
      'file',
      'line',
      'column',
      'job',
      'path',
      'message',
    ]);
  });
});

describe('summarizeValidation', () => {
  it('counts jobs and namespaces when valid', () => {
    expect(
      summarizeValidation({
        jobs: buildValidateResult({ ...outcome, errors: [] }, { rootDir: root, cwd: root }).jobs,
        errors: [],
      }),
    ).toBe('3 jobs in 2 namespaces, 0 errors');
    expect(summarizeValidation({ jobs: [], errors: [] })).toBe('0 jobs in 0 namespaces, 0 errors');
  });

  it('counts errors and files when invalid, in the singular for one', () => {
    const result = buildValidateResult(outcome, { rootDir: root, cwd: root });
    expect(summarizeValidation(result)).toBe('3 errors in 2 files');
    expect(summarizeValidation({ ...result, errors: result.errors.slice(0, 1) })).toBe(
      '1 error in 1 file',
    );
  });
});

describe('renderValidateReport', () => {
  it('prints aligned `file:line:column  job  path  message` lines, then the summary', () => {
    const result = buildValidateResult(outcome, { rootDir: root, cwd: root });
    expect(renderValidateReport(result, plain).split('\n')).toEqual([
      'production/q.yaml:4:9    production/q  metadata.name  Use a DNS label.',
      'production/q.yaml:12:13  production/q  spec.schedule  minute 61 is out of range 0-59.',
      'staging/x.yaml:9:3       -             -              YAML syntax error: bad indentation.',
      '                                                      Indent with spaces.',
      '3 errors in 2 files',
    ]);
  });

  it('colours the summary green or red when colours are on', () => {
    const style = createTerminalStyle(true);
    expect(renderValidateReport({ jobs: [], errors: [] }, style)).toBe(
      '\u001b[32m0 jobs in 0 namespaces, 0 errors\u001b[39m',
    );
    const invalid = buildValidateResult(outcome, { rootDir: root, cwd: root });
    expect(renderValidateReport(invalid, style).split('\n').at(-1)).toBe(
      '\u001b[31m3 errors in 2 files\u001b[39m',
    );
  });
});
