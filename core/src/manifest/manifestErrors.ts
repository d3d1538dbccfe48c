import type { z } from 'zod';
import { didYouMean } from './didYouMean.js';

/**
 * One thing wrong in the job repository, located for a human: `file` is relative to the
 * repository root with POSIX separators, `line`/`column` are 1-based, `job` is "namespace/name"
 * when known, `path` is the key path ("spec.retries.limit", "" for the whole file or document),
 * and `message` says what is wrong and what is allowed.
 */
export interface ManifestError {
  file: string;
  line: number;
  column: number;
  job: string | null;
  path: string;
  message: string;
  cause?: unknown;
}

/** `production/backup.yaml:7:13 [production/db-backup] spec.schedule: …` */
export function formatManifestError(error: ManifestError): string {
  const job = error.job === null ? '' : ` [${error.job}]`;
  const path = error.path === '' ? '' : ` ${error.path}:`;
  return `${error.file}:${error.line}:${error.column}${job}${path} ${error.message}`;
}

export type KeyPath = readonly PropertyKey[];

/** "spec.retries.limit", `spec.command[1]`, `metadata.labels["example.com/tier"]`. */
export function formatKeyPath(path: KeyPath): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else {
      const key = String(segment);
      if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) text += text === '' ? key : `.${key}`;
      else text += `[${JSON.stringify(key)}]`;
    }
  }
  return text;
}

/** Which part of the YAML an error points at: the value, the key itself, or the parent mapping. */
export type ErrorTarget = 'value' | 'key' | 'parent';

/** A validation problem before it is given a file position. */
export interface DocumentProblem {
  path: KeyPath;
  target: ErrorTarget;
  message: string;
  cause?: unknown;
}

/** A short, quoted rendering of a user value for messages. */
export function quoteValue(value: unknown): string {
  const text = typeof value === 'string' ? JSON.stringify(value) : String(JSON.stringify(value));
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** "a string", "a number", "a list", "a mapping", "no value" for messages. */
export function describeType(value: unknown): string {
  if (value === null) return 'no value (null)';
  if (value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (value instanceof Uint8Array) return 'binary data';
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number') return `the number ${value}`;
  if (typeof value === 'boolean') return `the boolean ${value}`;
  return `a ${typeof value}`;
}

const expectedNames: Record<string, string> = {
  string: 'a string',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'a mapping (key: value pairs)',
  record: 'a mapping (key: value pairs)',
};

/**
 * Error map for manifest parsing: messages for zod's built-in issues that say what is allowed.
 * Messages given on the schema itself take precedence over this map.
 */
export const manifestErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type': {
      const expected = expectedNames[issue.expected] ?? issue.expected;
      if (issue.input === undefined) return `is required (${expected})`;
      let hint = '';
      if (issue.expected === 'string' && ['number', 'boolean'].includes(typeof issue.input)) {
        hint = `; quote it: "${String(issue.input)}"`;
      } else if (issue.expected === 'boolean' && typeof issue.input === 'string') {
        hint = '; write true or false without quotes';
      } else if (
        (issue.expected === 'number' || issue.expected === 'int') &&
        typeof issue.input === 'string'
      ) {
        hint = '; write the number without quotes';
      } else if (issue.expected === 'int' && typeof issue.input === 'number') {
        hint = '; write a whole number';
      }
      return `expected ${expected}, got ${describeType(issue.input)}${hint}`;
    }
    case 'invalid_value': {
      const allowed = issue.values.map((value) => String(value));
      const got = quoteValue(issue.input);
      const suggestion = typeof issue.input === 'string' ? didYouMean(issue.input, allowed) : null;
      const hint = suggestion === null ? '' : `; did you mean ${suggestion}?`;
      if (allowed.length === 1) return `must be ${allowed[0] ?? ''} (got ${got})${hint}`;
      return `must be one of ${allowed.join(', ')} (got ${got})${hint}`;
    }
    case 'too_small': {
      if (issue.origin === 'number' || issue.origin === 'int') {
        return `must be at least ${String(issue.minimum)} (got ${quoteValue(issue.input)})`;
      }
      if (issue.origin === 'string') return 'must not be empty';
      if (issue.origin === 'array') return 'must list at least one item';
      return undefined;
    }
    case 'too_big': {
      if (issue.origin === 'number' || issue.origin === 'int') {
        return `must be at most ${String(issue.maximum)} (got ${quoteValue(issue.input)})`;
      }
      if (issue.origin === 'string') return `must be at most ${String(issue.maximum)} characters`;
      return undefined;
    }
    default:
      return undefined;
  }
};

/** The keys a mapping at `path` of `schema` accepts, or null when it is not a fixed mapping. */
export function allowedKeysAt(schema: z.core.$ZodType, path: KeyPath): string[] | null {
  let current: z.core.$ZodType | undefined = schema;
  for (const segment of path) {
    current = current === undefined ? undefined : childSchema(current, segment);
  }
  const object = current === undefined ? undefined : unwrapSchema(current);
  if (object?._zod.def.type !== 'object') return null;
  return Object.keys((object._zod.def as z.core.$ZodObjectDef).shape);
}

function unwrapSchema(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  for (let depth = 0; depth < 20; depth++) {
    const def = current._zod.def as z.core.$ZodTypeDef & {
      innerType?: z.core.$ZodType;
      in?: z.core.$ZodType;
    };
    if (def.innerType !== undefined) current = def.innerType;
    else if (def.type === 'pipe' && def.in !== undefined) current = def.in;
    else break;
  }
  return current;
}

function childSchema(schema: z.core.$ZodType, segment: PropertyKey): z.core.$ZodType | undefined {
  const current = unwrapSchema(schema);
  const def = current._zod.def;
  switch (def.type) {
    case 'object':
      return (def as z.core.$ZodObjectDef).shape[String(segment)];
    case 'record':
      return (def as z.core.$ZodRecordDef).valueType;
    case 'array':
      return (def as z.core.$ZodArrayDef).element;
    case 'union':
      for (const option of (def as z.core.$ZodUnionDef).options) {
        const child = childSchema(option, segment);
        if (child !== undefined) return child;
      }
      return undefined;
    default:
      return undefined;
  }
}

/** Whether `path` exists in the plain value parsed from YAML. */
export function hasPath(value: unknown, path: KeyPath): boolean {
  let current: unknown = value;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return false;
    if (!Object.prototype.hasOwnProperty.call(current, segment)) return false;
    current = (current as Record<PropertyKey, unknown>)[segment];
  }
  return true;
}

const maxAllowedKeysShown = 20;

/**
 * Turns the zod issues of one document into located problems: one per unknown key (pointing at
 * the key, with a suggestion and the allowed keys), missing keys at their parent mapping, and
 * invalid record keys at the key.
 */
export function problemsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  schema: z.core.$ZodType,
  document: unknown,
  limit = Number.POSITIVE_INFINITY,
): { problems: DocumentProblem[]; omitted: number } {
  const problems: DocumentProblem[] = [];
  let omitted = 0;
  // A misspelt required key is one mistake: the unknown key's "did you mean" says it all, so the
  // "missing required key" of the key it suggests is not reported again.
  const suggestedKeys = new Set<string>();
  const missingKeyProblems = new Set<DocumentProblem>();
  for (const issue of issues) {
    if (problems.length >= limit) {
      omitted += issue.code === 'unrecognized_keys' ? issue.keys.length : 1;
      continue;
    }
    const path = issue.path;
    switch (issue.code) {
      case 'unrecognized_keys': {
        const allowed = allowedKeysAt(schema, path) ?? [];
        const where = path.length === 0 ? 'at the top level' : `in ${formatKeyPath(path)}`;
        const shown =
          allowed.length > maxAllowedKeysShown
            ? `${allowed.slice(0, maxAllowedKeysShown).join(', ')}, …`
            : allowed.join(', ');
        for (const key of issue.keys) {
          if (problems.length >= limit) {
            omitted++;
            continue;
          }
          const suggestion = didYouMean(key, allowed);
          const hint = suggestion === null ? '' : ` Did you mean ${suggestion}?`;
          if (suggestion !== null) suggestedKeys.add(formatKeyPath([...path, suggestion]));
          problems.push({
            path: [...path, key],
            target: 'key',
            message: `unknown key ${quoteValue(key)} ${where}.${hint} Allowed keys: ${shown}`,
            cause: issue,
          });
        }
        break;
      }
      case 'invalid_key': {
        const key = path[path.length - 1];
        const reasons = issue.issues.map((inner) => inner.message).join('; ');
        problems.push({
          path,
          target: 'key',
          message: `key ${quoteValue(String(key))} ${reasons}`,
          cause: issue,
        });
        break;
      }
      default: {
        const key = path[path.length - 1];
        if (key !== undefined && !hasPath(document, path)) {
          const detail =
            issue.code === 'invalid_type'
              ? `add it (${expectedNames[issue.expected] ?? issue.expected})`
              : `add it; it ${issue.message}`;
          const problem: DocumentProblem = {
            path,
            target: 'parent',
            message: `missing required key ${quoteValue(String(key))}: ${detail}`,
            cause: issue,
          };
          missingKeyProblems.add(problem);
          problems.push(problem);
        } else {
          problems.push({ path, target: 'value', message: issue.message, cause: issue });
        }
      }
    }
  }
  const reported = problems.filter(
    (problem) =>
      !missingKeyProblems.has(problem) || !suggestedKeys.has(formatKeyPath(problem.path)),
  );
  return { problems: reported, omitted };
}
