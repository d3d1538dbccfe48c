import { createHash } from 'node:crypto';
import { canonicalJson, specContentDigest } from './specDigest.js';
import type { LoadedJob } from '@cronfleet/core/manifest';
import { parseDuration } from '@cronfleet/core/duration';
import { z } from 'zod';
import type { NativeSchedule } from '../scheduler/schedulerBackend.js';

/**
 * A job's run spec: everything the run wrapper needs, resolved from the manifest as applied
 * (defaults filled in, durations in milliseconds, the time zone and the native schedule decided).
 * The agent writes one per job and revision into its state directory; the wrapper reads it and
 * never the working copy of the repository, so a job runs exactly what was applied even while
 * the checkout moves on or holds a broken manifest.
 */
export const RunSpec = z.object({
  version: z.literal(1),
  /** `namespace/name` */
  id: z.string().min(3),
  namespace: z.string().min(1),
  name: z.string().min(1),
  revision: z.string().min(1),
  /** The manifest's file, relative to the repository root. */
  sourcePath: z.string().min(1),
  schedule: z.string().min(1),
  /** The zone the schedule is evaluated in: the manifest's, or the agent's when it names none. */
  timezone: z.string().min(1),
  /** What the native scheduler was given; the wrapper's skip rule needs it. */
  native: z.object({
    expression: z.string().min(1),
    timezone: z.string().min(1),
    exact: z.boolean(),
  }),
  command: z.union([z.string().min(1), z.array(z.string()).min(1)]),
  workingDir: z.string().nullable(),
  env: z.record(z.string(), z.string()),
  user: z.string().nullable(),
  timeoutMs: z.number().int().positive().nullable(),
  concurrencyPolicy: z.enum(['Allow', 'Forbid', 'Replace']),
  retries: z.object({
    limit: z.number().int().min(0),
    delayMs: z.number().int().min(0),
    backoff: z.enum(['constant', 'exponential']),
  }),
  suspend: z.boolean(),
  monitoring: z.object({
    graceMs: z.number().int().min(0),
    maxRuntimeMs: z.number().int().positive().nullable(),
    alertAfter: z.number().int().min(1),
    // The three below came after the first specs were written, and each is written only when
    // the manifest departs from its default (see buildRunSpec): absent, a spec means what it
    // meant before them, so an upgraded agent keeps every spec and its digest as they were.
    /** Consecutive successes that resolve a failing incident; absent: 1. */
    recoverAfter: z.number().int().min(1).optional(),
    /** Notify again this often while an incident is open and unacknowledged; absent: never. */
    realertEveryMs: z.number().int().min(60_000).optional(),
    /** The notification channels of the job's incidents; absent: the default channels. */
    notify: z.array(z.string().min(1)).min(1).optional(),
  }),
  outputMaxBytes: z.number().int().min(0),
  labels: z.record(z.string(), z.string()),
});
export type RunSpec = z.infer<typeof RunSpec>;

/** Builds the run spec of a loaded job for `revision`, in `timezone`, installed as `native`. */
export function buildRunSpec(
  job: LoadedJob,
  revision: string,
  timezone: string,
  native: NativeSchedule,
): RunSpec {
  const { metadata, spec } = job.manifest;
  const optionalDuration = (text: string | undefined) =>
    text === undefined ? null : parseDuration(text);
  return {
    version: 1,
    id: job.id,
    namespace: job.namespace,
    name: job.name,
    revision,
    sourcePath: job.file,
    schedule: spec.schedule,
    timezone,
    native: { ...native },
    command: spec.command,
    workingDir: spec.workingDir ?? null,
    env: { ...spec.env },
    user: spec.user ?? null,
    timeoutMs: optionalDuration(spec.timeout),
    concurrencyPolicy: spec.concurrencyPolicy,
    retries: {
      limit: spec.retries.limit,
      delayMs: parseDuration(spec.retries.delay),
      backoff: spec.retries.backoff,
    },
    suspend: spec.suspend,
    monitoring: {
      graceMs: parseDuration(spec.monitoring.grace),
      maxRuntimeMs: optionalDuration(spec.monitoring.maxRuntime),
      alertAfter: spec.monitoring.alertAfter,
      // Left out at their defaults: a spec's digest decides whether the job is written and
      // installed again, and a manifest that does not use them must not reinstall every job.
      ...(spec.monitoring.recoverAfter === 1 ? {} : { recoverAfter: spec.monitoring.recoverAfter }),
      ...(spec.monitoring.realertEvery === undefined
        ? {}
        : { realertEveryMs: parseDuration(spec.monitoring.realertEvery) }),
      ...(spec.monitoring.notify === undefined ? {} : { notify: [...spec.monitoring.notify] }),
    },
    outputMaxBytes: spec.output.maxBytes,
    labels: { ...(metadata.labels ?? {}) },
  };
}

/** SHA-256 of what the job does, independent of the revision it came from (see specDigest.ts). */
export function runSpecDigest(spec: RunSpec): string {
  return specContentDigest(spec);
}

/** SHA-256 of the command as applied (the inventory reports it; the command may hold secrets). */
export function commandDigest(spec: RunSpec): string {
  return createHash('sha256').update(canonicalJson(spec.command)).digest('hex');
}
