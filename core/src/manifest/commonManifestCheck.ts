/**
 * A hand-written check of the common shape of a valid manifest, for the fast path of loading
 * (parseValidManifestsFast.ts). zod costs about 85 µs per job here (its refinements, defaults and
 * wrappers), a tenth of a second for 1,000 jobs on every first apply; this costs a few.
 *
 * It answers only when it is sure: the manifest exactly as `jobManifestSchema` would output it
 * (defaults applied, keys in the schema's order, lists and records copied), or undefined for
 * anything it does not vouch for — an invalid value, an unknown key, a `__proto__` key — and the
 * caller then asks zod, which decides and words every error as before. The sub-objects that
 * manifests seldom carry (retries, targets, monitoring, output, timeout) are handed to their own
 * zod schemas, whose output is what the whole schema embeds. commonManifestCheck.test.ts checks,
 * on generated manifests, that the output is identical to zod's, key order included.
 */
import { isValidTimeZone } from '../cron/cron.js';
import { durationSchema } from './duration.js';
import {
  absolutePathPattern,
  dnsLabelPattern,
  environmentNamePattern,
  labelKeyPattern,
  labelValuePattern,
  manifestApiVersion,
  manifestKind,
  monitoringSchema,
  outputSchema,
  retriesSchema,
  scheduleProblem,
  targetsSchema,
  userPattern,
  type JobManifest,
} from './manifestSchema.js';

const manifestKeys = new Set(['apiVersion', 'kind', 'metadata', 'spec']);
const metadataKeys = new Set(['name', 'namespace', 'labels', 'annotations']);
const specKeys = new Set([
  'schedule',
  'timezone',
  'command',
  'workingDir',
  'env',
  'user',
  'timeout',
  'concurrencyPolicy',
  'retries',
  'suspend',
  'targets',
  'monitoring',
  'output',
]);
const concurrencyPolicies = new Set(['Allow', 'Forbid', 'Replace']);

/** Not a result: the check does not vouch for the value, zod decides. */
const unsure = Symbol('unsure');
type Checked<T> = T | typeof unsure;

function isRecord(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

function hasOnly(value: Record<string, unknown>, allowed: ReadonlySet<string>): boolean {
  for (const key in value) if (!allowed.has(key)) return false;
  return true;
}

function isDnsLabel(value: unknown): value is string {
  return typeof value === 'string' && value.length <= 63 && dnsLabelPattern.test(value);
}

/** A record of strings, copied, each key and value passing its test. */
function stringRecord(
  value: unknown,
  keyIsValid: (key: string) => boolean,
  valueIsValid: (text: string) => boolean,
): Checked<Record<string, string>> {
  if (!isRecord(value)) return unsure;
  const copy: Record<string, string> = {};
  for (const key of Object.keys(value)) {
    const entry = value[key];
    if (key === '__proto__' || typeof entry !== 'string') return unsure;
    if (!keyIsValid(key) || !valueIsValid(entry)) return unsure;
    copy[key] = entry;
  }
  // Symbol keys never come out of YAML; leave anything stranger to zod.
  if (Object.getOwnPropertySymbols(value).length > 0) return unsure;
  return copy;
}

const anyText = (): boolean => true;
const hasNoNul = (text: string): boolean => !text.includes('\0');
const isLabelKey = (key: string): boolean => labelKeyPattern.test(key);
const isLabelValue = (text: string): boolean => labelValuePattern.test(text);
const isEnvironmentName = (key: string): boolean => environmentNamePattern.test(key);

function command(value: unknown): Checked<string | string[]> {
  if (typeof value === 'string') {
    return value.length >= 1 && value.trim().length > 0 && hasNoNul(value) ? value : unsure;
  }
  if (!Array.isArray(value) || value.length < 1) return unsure;
  const copy: string[] = [];
  for (const item of value as unknown[]) {
    if (typeof item !== 'string' || item.length < 1 || !hasNoNul(item)) return unsure;
    copy.push(item);
  }
  return copy;
}

/** A sub-object checked by its own zod schema: its output, or unsure. */
function bySchema<T>(
  schema: { safeParse(value: unknown): { success: true; data: T } | { success: false } },
  value: unknown,
): Checked<T> {
  const result = schema.safeParse(value);
  return result.success ? result.data : unsure;
}

/**
 * `candidate` (a parsed YAML document, its namespace already filled in when the path gives it)
 * as `jobManifestSchema` outputs it, or undefined when zod has to decide.
 */
export function checkCommonManifest(candidate: unknown): JobManifest | undefined {
  if (!isRecord(candidate) || !hasOnly(candidate, manifestKeys)) return undefined;
  if (candidate.apiVersion !== manifestApiVersion || candidate.kind !== manifestKind) {
    return undefined;
  }
  const metadata = candidate.metadata;
  const spec = candidate.spec;
  if (!isRecord(metadata) || !hasOnly(metadata, metadataKeys)) return undefined;
  if (!isRecord(spec) || !hasOnly(spec, specKeys)) return undefined;

  if (!isDnsLabel(metadata.name)) return undefined;
  if ('namespace' in metadata && !isDnsLabel(metadata.namespace)) return undefined;
  const labels =
    metadata.labels === undefined ? {} : stringRecord(metadata.labels, isLabelKey, isLabelValue);
  const annotations =
    metadata.annotations === undefined ? {} : stringRecord(metadata.annotations, anyText, anyText);
  if (labels === unsure || annotations === unsure) return undefined;

  if (typeof spec.schedule !== 'string' || scheduleProblem(spec.schedule) !== null) {
    return undefined;
  }
  if (
    'timezone' in spec &&
    !(typeof spec.timezone === 'string' && isValidTimeZone(spec.timezone))
  ) {
    return undefined;
  }
  const checkedCommand = command(spec.command);
  if (checkedCommand === unsure) return undefined;
  if (
    'workingDir' in spec &&
    !(typeof spec.workingDir === 'string' && absolutePathPattern.test(spec.workingDir))
  ) {
    return undefined;
  }
  const env = spec.env === undefined ? {} : stringRecord(spec.env, isEnvironmentName, hasNoNul);
  if (env === unsure) return undefined;
  if ('user' in spec && !(typeof spec.user === 'string' && userPattern.test(spec.user))) {
    return undefined;
  }
  const timeout = 'timeout' in spec ? bySchema(durationSchema, spec.timeout) : undefined;
  const concurrencyPolicy = spec.concurrencyPolicy === undefined ? 'Allow' : spec.concurrencyPolicy;
  if (typeof concurrencyPolicy !== 'string' || !concurrencyPolicies.has(concurrencyPolicy)) {
    return undefined;
  }
  const retries =
    spec.retries === undefined
      ? { limit: 0, delay: '10s', backoff: 'exponential' as const }
      : bySchema(retriesSchema, spec.retries);
  const suspend = spec.suspend === undefined ? false : spec.suspend;
  if (typeof suspend !== 'boolean') return undefined;
  const targets = 'targets' in spec ? bySchema(targetsSchema, spec.targets) : undefined;
  const monitoring =
    spec.monitoring === undefined
      ? { grace: '5m', alertAfter: 1, recoverAfter: 1 }
      : bySchema(monitoringSchema, spec.monitoring);
  const output =
    spec.output === undefined ? { maxBytes: 65_536 } : bySchema(outputSchema, spec.output);
  if (
    timeout === unsure ||
    retries === unsure ||
    targets === unsure ||
    monitoring === unsure ||
    output === unsure
  ) {
    return undefined;
  }

  // The schema's key order; optional keys only when given, as zod writes them.
  const outputMetadata: Record<string, unknown> = { name: metadata.name };
  if ('namespace' in metadata) outputMetadata.namespace = metadata.namespace;
  outputMetadata.labels = labels;
  outputMetadata.annotations = annotations;
  const outputSpec: Record<string, unknown> = { schedule: spec.schedule };
  if ('timezone' in spec) outputSpec.timezone = spec.timezone;
  outputSpec.command = checkedCommand;
  if ('workingDir' in spec) outputSpec.workingDir = spec.workingDir;
  outputSpec.env = env;
  if ('user' in spec) outputSpec.user = spec.user;
  if ('timeout' in spec) outputSpec.timeout = timeout;
  outputSpec.concurrencyPolicy = concurrencyPolicy;
  outputSpec.retries = retries;
  outputSpec.suspend = suspend;
  if ('targets' in spec) outputSpec.targets = targets;
  outputSpec.monitoring = monitoring;
  outputSpec.output = output;
  return {
    apiVersion: manifestApiVersion,
    kind: manifestKind,
    metadata: outputMetadata,
    spec: outputSpec,
  } as JobManifest;
}
