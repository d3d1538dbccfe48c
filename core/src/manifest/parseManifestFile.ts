import { LineCounter, isMap, isScalar, isSeq, parseAllDocuments } from 'yaml';
import type { Document } from 'yaml';
import { findDuplicateKeys } from './findDuplicateKeys.js';
import { bytePosition, decodeManifestText } from './decodeManifestText.js';
import { locateYamlNode } from './locateYamlNode.js';
import { parseValidManifestsFast } from './parseValidManifestsFast.js';
import {
  formatKeyPath,
  manifestErrorMap,
  problemsFromIssues,
  quoteValue,
  type DocumentProblem,
  type ManifestError,
} from './manifestErrors.js';
import {
  dnsLabelHelp,
  dnsLabelPattern,
  jobManifestSchema,
  manifestApiVersion,
  manifestKind,
  type JobManifest,
} from './manifestSchema.js';

/** A job read from the repository: its identity, where it was defined, and its manifest. */
export interface LoadedJob {
  namespace: string;
  name: string;
  /** `namespace/name` */
  id: string;
  /** Relative to the repository root, POSIX separators. */
  file: string;
  /** 1-based position of the job's document. */
  line: number;
  column: number;
  /** Validated, defaults applied, metadata.namespace always set. */
  manifest: JobManifest;
}

/** Jobs and errors of a file or a repository, sorted by file, then line. */
export interface LoadResult {
  jobs: LoadedJob[];
  errors: ManifestError[];
}

export const defaultMaxFileBytes = 1024 * 1024;
/** Alias expansions allowed per document before it is treated as an alias bomb. */
export const maxAliasCount = 100;
/** Errors reported per file; the rest are summarised in one last error. */
export const maxErrorsPerFile = 100;

/** The namespace a file's path implies: its first folder, or "default" at the root. */
export function namespaceFromPath(file: string): string {
  const slash = file.indexOf('/');
  return slash === -1 ? 'default' : file.slice(0, slash);
}

export function isValidNamespace(text: string): boolean {
  return text.length <= 63 && dnsLabelPattern.test(text);
}

/** Order for deterministic output: file (code-unit order), then line, then column. */
export function compareLocations(
  a: { file: string; line: number; column: number },
  b: { file: string; line: number; column: number },
): number {
  if (a.file !== b.file) return a.file < b.file ? -1 : 1;
  return a.line - b.line || a.column - b.column;
}

/**
 * Parses and validates one manifest file (all its YAML documents). `file` is the path relative to
 * the repository root (POSIX separators); it names errors and implies the default namespace.
 * Pure: no file system access. Duplicate namespace/name pairs within the file are errors.
 */
export function parseManifestFile(file: string, text: string | Uint8Array): LoadResult {
  const parsed = parseManifestSource(file, text, defaultMaxFileBytes);
  const checked = rejectDuplicateJobs(parsed.jobs);
  return {
    jobs: checked.jobs,
    errors: [...parsed.errors, ...checked.errors].sort(compareLocations),
  };
}

/** Like parseManifestFile without the duplicate check (the loader checks across all files). */
export function parseManifestSource(
  file: string,
  source: string | Uint8Array,
  maxFileBytes: number,
  options: { fastPath?: boolean } = {},
): LoadResult {
  const fileError = (line: number, column: number, message: string, cause?: unknown) => ({
    jobs: [],
    errors: [
      {
        file,
        line,
        column,
        job: null,
        path: '',
        message,
        ...(cause === undefined ? {} : { cause }),
      },
    ],
  });

  let text: string;
  if (typeof source === 'string') {
    const size = source.length * 3 > maxFileBytes ? new TextEncoder().encode(source).length : 0;
    if (size > maxFileBytes) return fileError(1, 1, oversizeMessage(size, maxFileBytes));
    const nul = source.indexOf('\0');
    if (nul !== -1) {
      const before = source.slice(0, nul);
      const line = before.split('\n').length;
      return fileError(line, nul - before.lastIndexOf('\n'), binaryMessage);
    }
    text = source.startsWith('\uFEFF') ? source.slice(1) : source;
  } else {
    if (source.length > maxFileBytes)
      return fileError(1, 1, oversizeMessage(source.length, maxFileBytes));
    const decoded = decodeManifestText(source);
    if (!('text' in decoded)) {
      const position = bytePosition(source, decoded.byteOffset);
      return fileError(position.line, position.column, decoded.message);
    }
    text = decoded.text;
  }

  // Nearly every file is valid: try the fast parser first; it declines anything it cannot vouch for.
  const fast = options.fastPath === false ? null : parseValidManifestsFast(file, text);
  if (fast !== null) return fast;

  const lineCounter = new LineCounter();
  let documents: Document.Parsed[];
  try {
    documents = parseAllDocuments(text, {
      lineCounter,
      prettyErrors: false,
      // Checked by findDuplicateKeys in linear time; the library's check is quadratic.
      uniqueKeys: false,
    }) as Document.Parsed[];
  } catch (error) {
    return fileError(1, 1, `could not parse the YAML: ${errorText(error)}`, error);
  }

  const jobs: LoadedJob[] = [];
  const errors: ManifestError[] = [];
  const at = (offset: number) => {
    const position = lineCounter.linePos(offset);
    return { line: position.line, column: position.col };
  };
  // Every document is validated, even past the error cap: a broken document never hides a job.
  for (const document of documents) {
    try {
      parseDocument(file, text, document, at, jobs, errors);
    } catch (error) {
      // A document the parser or validator cannot handle is an error of that document only.
      errors.push({
        file,
        ...at(document.range[0]),
        job: null,
        path: '',
        message: `could not read this YAML document: ${errorText(error)}`,
        cause: error,
      });
    }
  }
  if (errors.length > maxErrorsPerFile) {
    const hidden = errors.length - maxErrorsPerFile;
    errors.length = maxErrorsPerFile;
    const last = errors[maxErrorsPerFile - 1];
    errors.push({
      file,
      line: last?.line ?? 1,
      column: last?.column ?? 1,
      job: null,
      path: '',
      message: `${hidden} more errors in this file not shown; fix the ones above first`,
    });
  }
  return { jobs, errors };
}

const binaryMessage =
  'binary content (a NUL character): manifests are UTF-8 YAML text; move binary files out of the job repository or give them another extension';

function oversizeMessage(size: number, cap: number): string {
  return `file is ${size} bytes, over the ${cap}-byte limit for a manifest file (maxFileBytes); split it into smaller files`;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Locate = (offset: number) => { line: number; column: number };

function parseDocument(
  file: string,
  text: string,
  document: Document.Parsed,
  at: Locate,
  jobs: LoadedJob[],
  errors: ManifestError[],
): void {
  const documentStart = document.contents?.range[0] ?? document.range[0];
  const yamlProblems = [...document.errors, ...document.warnings];
  if (yamlProblems.length > 0) {
    // One error per line: a single mistake often makes the parser complain several times.
    const reportedLines = new Set<number>();
    for (const problem of yamlProblems) {
      const line = at(problem.pos[0]).line;
      if (reportedLines.has(line)) continue;
      reportedLines.add(line);
      errors.push({
        file,
        ...at(problem.pos[0]),
        job: null,
        path: '',
        message: `YAML ${problem.name === 'YAMLWarning' ? 'problem' : 'syntax error'}: ${problem.message}${yamlHint(text, problem.pos[0])}`,
        cause: problem,
      });
    }
    return;
  }
  const contents = document.contents;
  // An empty or comment-only document (or an explicit null) defines nothing.
  if (contents === null || contents === undefined) return;
  if (isScalar(contents) && contents.value === null) return;
  if (!isMap(contents)) {
    const got = isSeq(contents) ? 'a list' : 'a single value';
    errors.push({
      file,
      ...at(documentStart),
      job: null,
      path: '',
      message: `a manifest must be a mapping with apiVersion, kind, metadata and spec; this document is ${got}`,
    });
    return;
  }

  const keyProblems = findDuplicateKeys(contents, maxErrorsPerFile);
  if (keyProblems.length > 0) {
    for (const problem of keyProblems) {
      errors.push({
        file,
        ...at(problem.offset),
        job: null,
        path: formatKeyPath(problem.path),
        message: problem.message,
      });
    }
    return;
  }

  let value: unknown;
  try {
    value = document.toJS({ maxAliasCount });
  } catch (error) {
    const message = /alias count/i.test(errorText(error))
      ? `YAML aliases expand too much (more than ${maxAliasCount} alias uses in one document), which looks like an alias bomb; write the values out instead of nesting aliases`
      : `could not read the YAML: ${errorText(error)}`;
    errors.push({ file, ...at(documentStart), job: null, path: '', message, cause: error });
    return;
  }
  const raw = value as Record<string, unknown>;
  const derivedNamespace = namespaceFromPath(file);
  const rawMetadata = isPlainObject(raw.metadata) ? raw.metadata : undefined;
  const rawName = typeof rawMetadata?.name === 'string' ? rawMetadata.name : null;
  const explicitNamespace = rawMetadata !== undefined && rawMetadata.namespace !== undefined;
  const rawNamespace =
    typeof rawMetadata?.namespace === 'string'
      ? rawMetadata.namespace
      : explicitNamespace || !isValidNamespace(derivedNamespace)
        ? null
        : derivedNamespace;
  const jobId = rawName !== null && rawNamespace !== null ? `${rawNamespace}/${rawName}` : null;

  const problems: DocumentProblem[] = [];
  let omitted = 0;
  // What this document may still add to the file's errors, keeping one for the summary.
  const budget = Math.max(1, maxErrorsPerFile - errors.length - 1);
  const header: Array<[key: 'apiVersion' | 'kind', allowed: string]> = [
    ['apiVersion', manifestApiVersion],
    ['kind', manifestKind],
  ];
  for (const [key, allowed] of header) {
    if (!(key in raw)) {
      problems.push({
        path: [key],
        target: 'parent',
        message: `missing required key "${key}": add ${key}: ${allowed}`,
      });
    } else if (raw[key] !== allowed) {
      problems.push({
        path: [key],
        target: 'value',
        message: `must be ${allowed} (got ${quoteValue(raw[key])}); Cronfleet reads only ${manifestKind} manifests of ${manifestApiVersion}`,
      });
    }
  }

  if (problems.length === 0) {
    let candidate: unknown = raw;
    if (rawMetadata !== undefined && !explicitNamespace) {
      if (isValidNamespace(derivedNamespace)) {
        candidate = { ...raw, metadata: { ...rawMetadata, namespace: derivedNamespace } };
      } else {
        problems.push({
          path: ['metadata', 'namespace'],
          target: 'parent',
          message: `no namespace: the folder ${quoteValue(derivedNamespace)} is not a valid namespace, which must be ${dnsLabelHelp}; set metadata.namespace or rename the folder`,
        });
      }
    }
    const result = jobManifestSchema.safeParse(candidate, { error: manifestErrorMap });
    if (result.success && problems.length === 0) {
      const manifest = result.data;
      const namespace = manifest.metadata.namespace ?? derivedNamespace;
      jobs.push({
        namespace,
        name: manifest.metadata.name,
        id: `${namespace}/${manifest.metadata.name}`,
        file,
        ...at(documentStart),
        manifest,
      });
      return;
    }
    if (!result.success) {
      const fromIssues = problemsFromIssues(result.error.issues, jobManifestSchema, raw, budget);
      problems.push(...fromIssues.problems);
      omitted = fromIssues.omitted;
    }
  }

  const reported = new Set<string>();
  const firstErrorOfDocument = errors.length;
  // Locating costs a walk of the document: never locate more than a file may report.
  omitted += Math.max(0, problems.length - budget);
  for (const problem of problems.slice(0, budget)) {
    // Two checks of one value can say the same thing ("" fails both min and not-blank).
    const key = `${formatKeyPath(problem.path)}\n${problem.message}`;
    if (reported.has(key)) continue;
    reported.add(key);
    const location = locateYamlNode(contents, problem.path, problem.target, documentStart);
    errors.push({
      file,
      ...at(location.offset),
      job: jobId,
      path: formatKeyPath(problem.path),
      message: problem.message,
      ...(problem.cause === undefined ? {} : { cause: problem.cause }),
    });
  }
  if (omitted > 0) {
    const last = errors
      .slice(firstErrorOfDocument)
      .reduce<ManifestError | undefined>(
        (latest, error) =>
          latest === undefined || compareLocations(error, latest) > 0 ? error : latest,
        undefined,
      );
    errors.push({
      file,
      // At the last shown problem, so it sorts after them.
      ...(last === undefined ? at(documentStart) : { line: last.line, column: last.column }),
      job: jobId,
      path: '',
      message: `${omitted} more problems in this document not shown; fix the ones above first`,
    });
  }
}

/** A YAML mapping as JavaScript: an object that is not a list or binary data. */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array)
  );
}

/** A fix for the classic mistake: an unquoted schedule starting with `*` reads as a YAML alias. */
function yamlHint(text: string, offset: number): string {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const lineEnd = text.indexOf('\n', offset);
  const line = text.slice(lineStart, lineEnd === -1 ? undefined : lineEnd);
  return /^\s*schedule:\s*[*@]/.test(line)
    ? ' — quote the schedule, e.g. schedule: "*/5 * * * *"'
    : '';
}

/**
 * Removes every job whose namespace/name is defined more than once (the definitions are
 * ambiguous, so none is applied) and reports each later definition, naming the first.
 */
export function rejectDuplicateJobs(jobs: readonly LoadedJob[]): LoadResult {
  const sorted = [...jobs].sort(compareLocations);
  const first = new Map<string, LoadedJob>();
  const duplicated = new Set<string>();
  const errors: ManifestError[] = [];
  for (const job of sorted) {
    const original = first.get(job.id);
    if (original === undefined) {
      first.set(job.id, job);
      continue;
    }
    duplicated.add(job.id);
    errors.push({
      file: job.file,
      line: job.line,
      column: job.column,
      job: job.id,
      path: 'metadata.name',
      message: `duplicate job ${job.id}: also defined at ${original.file}:${original.line}:${original.column}; a name must be unique within its namespace, so neither definition is applied — rename one or move it to another namespace`,
    });
  }
  return { jobs: sorted.filter((job) => !duplicated.has(job.id)), errors };
}
