import path from 'node:path';
import type { JobManifest, LoadedJob, ManifestError } from '@cronfleet/core/manifest';
import { z } from 'zod';
import { messages } from './messages.js';
import type { TerminalStyle } from './terminalStyle.js';

/** One job of a valid manifest, as `cronfleet validate --json` prints it. */
export const ValidatedJob = z.strictObject({
  namespace: z.string(),
  name: z.string(),
  file: z.string(),
  schedule: z.string(),
  /** null: the job runs in the agent's zone. */
  timezone: z.string().nullable(),
});
export type ValidatedJob = z.infer<typeof ValidatedJob>;

/** One manifest error, as `cronfleet validate --json` prints it. */
export const ValidationError = z.strictObject({
  file: z.string(),
  line: z.number().int(),
  column: z.number().int(),
  /** namespace/name of the job, or null when the error belongs to no job (e.g. YAML syntax). */
  job: z.string().nullable(),
  /** Dotted key path in the manifest, e.g. "spec.schedule"; "" for the document itself. */
  path: z.string(),
  /** Says what is wrong and how to fix it. */
  message: z.string(),
});
export type ValidationError = z.infer<typeof ValidationError>;

/** The result of `cronfleet validate`: exactly what --json prints. */
export const ValidateResult = z.strictObject({
  jobs: z.array(ValidatedJob),
  errors: z.array(ValidationError),
});
export type ValidateResult = z.infer<typeof ValidateResult>;

/** The part of the core loader's output the report needs. */
export interface RepositoryLoadOutcome {
  jobs: ReadonlyArray<
    Pick<LoadedJob, 'namespace' | 'name' | 'file'> & {
      manifest: { spec: Pick<JobManifest['spec'], 'schedule' | 'timezone'> };
    }
  >;
  errors: readonly ManifestError[];
}

/**
 * Paths in the report are relative to the working directory (so `file:line:column` opens in an
 * editor and annotates in CI), with forward slashes on every platform.
 */
export function displayPath(file: string, rootDir: string, cwd: string): string {
  const relative = path.relative(cwd, path.resolve(rootDir, file));
  return (relative === '' ? '.' : relative).split(path.sep).join('/');
}

/** Jobs ordered by namespace then name; errors in reading order (file, line, column). */
export function buildValidateResult(
  outcome: RepositoryLoadOutcome,
  location: { rootDir: string; cwd: string },
): ValidateResult {
  const shown = (file: string): string => displayPath(file, location.rootDir, location.cwd);
  const jobs = outcome.jobs
    .map((job): ValidatedJob => ({
      namespace: job.namespace,
      name: job.name,
      file: shown(job.file),
      schedule: job.manifest.spec.schedule,
      timezone: job.manifest.spec.timezone ?? null,
    }))
    .sort((a, b) => compareText(a.namespace, b.namespace) || compareText(a.name, b.name));
  const errors = outcome.errors
    .map((error): ValidationError => ({
      file: shown(error.file),
      line: error.line,
      column: error.column,
      job: error.job,
      path: error.path,
      message: error.message,
    }))
    .sort((a, b) => compareText(a.file, b.file) || a.line - b.line || a.column - b.column);
  return { jobs, errors };
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The summary line: "12 jobs in 4 namespaces, 0 errors" or "2 errors in 2 files". */
export function summarizeValidation(result: ValidateResult): string {
  if (result.errors.length === 0) {
    const namespaces = new Set(result.jobs.map((job) => job.namespace));
    return messages.validate.validSummary(result.jobs.length, namespaces.size);
  }
  const files = new Set(result.errors.map((error) => error.file));
  return messages.validate.invalidSummary(result.errors.length, files.size);
}

/**
 * Human output: one line per error, `file:line:column  job  path  message` with the first three
 * columns padded to line up, then the summary. Continuation lines of a message are indented.
 */
export function renderValidateReport(result: ValidateResult, style: TerminalStyle): string {
  const rows = result.errors.map((error) => ({
    location: `${error.file}:${error.line}:${error.column}`,
    job: error.job ?? messages.validate.noJob,
    path: error.path === '' ? messages.validate.noPath : error.path,
    message: error.message,
  }));
  const width = (key: 'location' | 'job' | 'path'): number =>
    Math.max(0, ...rows.map((row) => row[key].length));
  const locationWidth = width('location');
  const jobWidth = width('job');
  const pathWidth = width('path');
  const indent = ' '.repeat(locationWidth + jobWidth + pathWidth + 6);
  const lines = rows.map((row) => {
    const [first = '', ...rest] = row.message.split('\n');
    const head = [
      style.bold(row.location.padEnd(locationWidth)),
      style.yellow(row.job.padEnd(jobWidth)),
      style.cyan(row.path.padEnd(pathWidth)),
      first,
    ].join('  ');
    return [head, ...rest.map((line) => `${indent}${line}`)].join('\n');
  });
  const summary = summarizeValidation(result);
  lines.push(result.errors.length === 0 ? style.green(summary) : style.red(summary));
  return lines.join('\n');
}
