import { z } from 'zod';
import {
  JobName,
  Labels,
  Namespace,
  NotificationChannelName,
  Revision,
  Sha256Hex,
  singleLineText,
} from './fieldContract.js';

/**
 * `PUT /api/v1/agents/inventory`: the job instances an agent has applied. The backend replaces
 * the agent's whole inventory atomically with what it receives, so the call is idempotent.
 */

export const ConcurrencyPolicy = z.enum(['Allow', 'Forbid', 'Replace']);
export type ConcurrencyPolicy = z.infer<typeof ConcurrencyPolicy>;

/**
 * The native scheduler a job instance was installed into, by the one name used everywhere: the
 * agent's configuration and `--scheduler` flag, its messages, `plan --json`, status and this
 * inventory.
 */
export const SchedulerBackendName = z.enum([
  'crontab',
  'cron.d',
  'task-scheduler',
  'systemd',
  'launchd',
  'embedded',
]);
export type SchedulerBackendName = z.infer<typeof SchedulerBackendName>;

/** An IANA time zone name as written, e.g. `America/New_York`, `UTC`, `Etc/GMT+5`. */
export const TimeZoneName = z
  .string()
  .max(64)
  .regex(
    /^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/,
    'must be an IANA time zone name, e.g. America/New_York or UTC',
  );
export type TimeZoneName = z.infer<typeof TimeZoneName>;

/** A cron schedule as written in the manifest: 5 fields or a macro such as `@daily`. */
export const ScheduleExpression = singleLineText(256);

/** A path relative to the repository root, with forward slashes, e.g. `production/backup.yaml`. */
export const RepositoryPath = z
  .string()
  .min(1)
  .max(1024)
  .refine(
    (path) =>
      !path.startsWith('/') &&
      !path.includes('\\') &&
      !/[\p{Cc}]/u.test(path) &&
      path.split('/').every((segment) => segment !== '' && segment !== '.' && segment !== '..'),
    {
      error:
        'must be a path relative to the repository root with "/" separators, e.g. prod/backup.yaml',
    },
  );
export type RepositoryPath = z.infer<typeof RepositoryPath>;

/** The largest value the backend stores for a count or a number of seconds (a 32-bit integer). */
export const MAX_STORED_INTEGER = 2_147_483_647;
const storedInteger = (what: string) =>
  z.number().int().max(MAX_STORED_INTEGER, `must be at most ${MAX_STORED_INTEGER} ${what}`);

/** The most channels one job notifies (the manifest's limit of `monitoring.notify`). */
export const MAX_NOTIFY_CHANNELS = 20;

/**
 * The monitoring settings the backend needs to detect late, missed, failing and long runs, and
 * to route their incidents. The fields added after the first release have defaults, so that the
 * inventory of an agent that does not send them yet still parses, with the manifest's defaults.
 */
export const JobMonitoring = z.object({
  /** How long after the expected fire time a start may arrive before the run counts as late. */
  graceSeconds: storedInteger('seconds').min(0),
  /** A run still going after this long is reported; null for no limit. */
  maxRuntimeSeconds: storedInteger('seconds').min(1).nullable(),
  /** Alert after this many consecutive failures. */
  alertAfter: storedInteger('failures').min(1),
  /** A failing incident resolves after this many consecutive successful runs. */
  recoverAfter: storedInteger('successes').min(1).default(1),
  /** Notify again this often while an incident stays open and unacknowledged; null: never. */
  realertEverySeconds: storedInteger('seconds')
    .min(60, 'must be at least 60 seconds')
    .nullable()
    .default(null),
  /**
   * The channels (by name) this job's incidents go to; empty: the organization's default
   * channels. A name that names no channel of the organization is not refused: the backend
   * answers with a warning (InventoryResponse.warnings) and uses the default channels.
   */
  notify: z
    .array(NotificationChannelName)
    .max(MAX_NOTIFY_CHANNELS, `must list at most ${MAX_NOTIFY_CHANNELS} channels`)
    .refine((names) => new Set(names).size === names.length, {
      error: 'must list each channel once',
    })
    .default([]),
  /**
   * The manifest's `retries.limit`: a failed attempt below it is retried by the agent, so only
   * the last attempt of a run decides whether the run failed.
   */
  retryLimit: storedInteger('retries').min(0).default(0),
});
export type JobMonitoring = z.infer<typeof JobMonitoring>;

/** One job instance as applied on the agent. */
export const InventoryJob = z.object({
  namespace: Namespace,
  name: JobName,
  schedule: ScheduleExpression,
  /** The zone the schedule is evaluated in (the agent resolves the manifest's default). */
  timezone: TimeZoneName,
  /** SHA-256 of the command as applied (the command itself may hold secrets and is not sent). */
  commandDigest: Sha256Hex,
  sourcePath: RepositoryPath,
  revision: Revision,
  suspended: z.boolean(),
  monitoring: JobMonitoring,
  concurrencyPolicy: ConcurrencyPolicy,
  scheduler: SchedulerBackendName,
  /** The job's `metadata.labels` (silences match on them). */
  labels: Labels.default({}),
});
export type InventoryJob = z.infer<typeof InventoryJob>;

/** A schedule found in the native scheduler that Cronfleet does not manage (for discovery). */
export const UnmanagedEntry = z.object({
  schedule: ScheduleExpression,
  command: z.string().max(8192),
});
export type UnmanagedEntry = z.infer<typeof UnmanagedEntry>;

export const MAX_INVENTORY_JOBS = 10_000;

export const InventoryRequest = z.object({
  /** The revision the inventory was applied from; null when nothing has been applied yet. */
  revision: Revision.nullable(),
  jobs: z
    .array(InventoryJob)
    .max(MAX_INVENTORY_JOBS)
    .superRefine((jobs, ctx) => {
      const seen = new Set<string>();
      jobs.forEach((job, index) => {
        const id = `${job.namespace}/${job.name}`;
        if (seen.has(id)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'name'],
            message: `job ${id} appears more than once; an inventory lists each namespace/name once`,
          });
        }
        seen.add(id);
      });
    }),
  unmanaged: z.array(UnmanagedEntry).max(1000),
});
export type InventoryRequest = z.infer<typeof InventoryRequest>;

/** The most warnings one inventory answer carries. */
export const MAX_INVENTORY_WARNINGS = 10_000;

/**
 * Something about a reported job that the backend accepted but the agent's operator should know,
 * e.g. `monitoring.notify names "ops", which is no notification channel of this organization; its
 * incidents go to the default channels`. The agent logs each one.
 */
export const InventoryWarning = z.object({
  namespace: Namespace,
  name: JobName,
  message: singleLineText(2000),
});
export type InventoryWarning = z.infer<typeof InventoryWarning>;

export const InventoryResponse = z.object({
  /** How many job instances the backend now holds for this agent. */
  jobCount: z.number().int().min(0),
  unmanagedCount: z.number().int().min(0),
  /** Warnings about the reported jobs (empty from a backend that sends none). */
  warnings: z.array(InventoryWarning).max(MAX_INVENTORY_WARNINGS).default([]),
});
export type InventoryResponse = z.infer<typeof InventoryResponse>;
