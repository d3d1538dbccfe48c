import { z } from 'zod';
import { isValidTimeZone, validateCron } from '../cron/cron.js';
import { describeDurationProblem, durationSchema, parseDuration } from './duration.js';
import {
  dnsLabelHelp,
  dnsLabelPattern,
  labelKeyHelp,
  labelKeyPattern,
  labelValueHelp,
  labelValuePattern,
  notificationChannelNameHelp,
  notificationChannelNamePattern,
} from './namingRules.js';

export const manifestApiVersion = 'cronfleet.dev/v1';
export const manifestKind = 'Job';

export {
  dnsLabelHelp,
  dnsLabelPattern,
  labelKeyHelp,
  labelKeyPattern,
  labelValueHelp,
  labelValuePattern,
  notificationChannelNameHelp,
  notificationChannelNamePattern,
} from './namingRules.js';

export const environmentNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** POSIX absolute (`/var/backups`) or Windows absolute (`C:\backups`, `C:/backups`). */
export const absolutePathPattern = /^(?:\/|[A-Za-z]:[\\/])[^\0\r\n]*$/;

/** POSIX user names (useradd's rule) or a Windows `DOMAIN\user`. */
export const userPattern =
  /^(?:[a-z_][a-z0-9_-]{0,30}\$?|[A-Za-z0-9.][A-Za-z0-9._-]{0,62}\\[^"/\\[\]:;|=,+*?<>@\0\r\n]{1,104})$/;

const noNul = (text: string): boolean => !text.includes('\0');
const nulMessage = 'must not contain NUL characters';

const dnsLabel = z
  .string()
  .max(63, { error: `must be ${dnsLabelHelp}` })
  .regex(dnsLabelPattern, { error: (issue) => dnsLabelMessage(String(issue.input)) });

/** ` — try "nightly-backup"` for `Nightly_Backup`: the DNS label nearest to `input`, if any. */
function dnsLabelHint(input: string): string {
  const suggestion = input
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 63)
    .replace(/-+$/, '');
  return suggestion.length > 0 && suggestion !== input ? ` — try "${suggestion}"` : '';
}

/** The DNS-label error, with a corrected name when one is easy to derive. */
export function dnsLabelMessage(input: string): string {
  return `must be ${dnsLabelHelp}${dnsLabelHint(input)}`;
}

/** The channel-name error, with a corrected name when one is easy to derive. */
export function notificationChannelNameMessage(input: string): string {
  return `must be ${notificationChannelNameHelp}${dnsLabelHint(input)}`;
}

const labelsSchema = z
  .record(
    z.string().regex(labelKeyPattern, { error: `must be ${labelKeyHelp}` }),
    z.string().regex(labelValuePattern, { error: `must be ${labelValueHelp}` }),
  )
  .meta({
    description: 'Labels: identifying key/value pairs (Kubernetes rules for keys and values).',
  });

export const metadataSchema = z
  .strictObject({
    name: dnsLabel.meta({
      description: `The job's name, unique within its namespace; ${dnsLabelHelp}.`,
      examples: ['nightly-db-backup'],
    }),
    namespace: dnsLabel.optional().meta({
      description:
        'The namespace; default: the first folder of the file path in the repository, else "default". Same rule as name.',
      examples: ['production'],
    }),
    labels: labelsSchema.default({}),
    annotations: z
      .record(z.string(), z.string())
      .default({})
      .meta({ description: 'Annotations: free-form text (owner, runbook URL, …).' }),
  })
  .meta({ description: "The job's identity: name, namespace, labels and annotations." });

/** Schedules repeat across a repository; remember each verdict (message, or null when valid). */
const scheduleVerdicts = new Map<string, string | null>();
const maxRememberedSchedules = 10_000;

/** Why a schedule is invalid (the message zod reports), or null when it is valid. */
export function scheduleProblem(expression: string): string | null {
  const known = scheduleVerdicts.get(expression);
  if (known !== undefined) return known;
  const result = validateCron(expression);
  const verdict = result.valid ? null : result.message;
  if (scheduleVerdicts.size >= maxRememberedSchedules) scheduleVerdicts.clear();
  scheduleVerdicts.set(expression, verdict);
  return verdict;
}

const scheduleSchema = z
  .string()
  .superRefine((expression, context) => {
    const problem = scheduleProblem(expression);
    if (problem !== null) context.addIssue({ code: 'custom', message: problem, input: expression });
  })
  .meta({
    description:
      'When the job runs: 5 cron fields (minute hour day-of-month month day-of-week, Vixie cron semantics) or @yearly @monthly @weekly @daily @hourly @reboot. Quote it in YAML.',
    examples: ['0 2 * * *', '*/15 * * * 1-5', '@daily'],
  });

const timeZoneSchema = z
  .string()
  .refine(isValidTimeZone, {
    error: (issue) =>
      `"${String(issue.input)}" is not an IANA time zone name; use a name such as Europe/Paris, America/New_York or UTC`,
  })
  .meta({
    description: "IANA time zone of the schedule; default: the agent's zone.",
    examples: ['America/New_York', 'UTC'],
  });

const commandStringSchema = z
  .string()
  .min(1, { error: 'must not be empty: give the command to run' })
  .refine((text) => text.trim().length > 0, { error: 'must not be empty: give the command to run' })
  .refine(noNul, { error: nulMessage })
  .meta({
    description: 'A command line run by the shell (/bin/sh -c); may span lines.',
  });

const commandArgvSchema = z
  .array(
    z
      .string()
      .min(1, { error: 'must not be an empty string' })
      .refine(noNul, { error: nulMessage }),
  )
  .min(1, { error: 'must not be empty: give the program and its arguments' })
  .meta({ description: 'A program and its arguments, run without a shell.' });

const commandSchema = z
  .union([commandStringSchema, commandArgvSchema], {
    error:
      'must be a non-empty string (run by the shell) or a non-empty list of non-empty strings (run without a shell)',
  })
  .meta({
    description:
      'The command: a string run by the shell, or a list (program then arguments) run without a shell.',
    examples: ['/opt/scripts/backup.sh --compress', ['/usr/bin/pg_dump', '--format=custom']],
  });

const environmentSchema = z
  .record(
    z.string().regex(environmentNamePattern, {
      error:
        'must be an environment variable name: letters, digits and "_", not starting with a digit',
    }),
    z.string().refine(noNul, { error: nulMessage }),
  )
  .meta({
    description: 'Environment variables for the command; values are strings (quote numbers).',
  });

export const concurrencyPolicies = ['Allow', 'Forbid', 'Replace'] as const;
export const retryBackoffs = ['constant', 'exponential'] as const;
export const targetPlatforms = ['linux', 'darwin', 'windows'] as const;

export const retriesSchema = z
  .strictObject({
    limit: z
      .number()
      .int()
      .min(0)
      .max(10)
      .default(0)
      .meta({ description: 'How many times a failed run is retried (0–10).' }),
    delay: durationSchema.default('10s').meta({ description: 'Wait before the first retry.' }),
    backoff: z
      .enum(retryBackoffs)
      .default('exponential')
      .meta({ description: 'constant: always wait `delay`; exponential: double it each retry.' }),
  })
  .meta({ description: 'Retries of a failed run.' });

export const targetsSchema = z
  .strictObject({
    labels: labelsSchema.optional().meta({ description: 'Agent labels that must all match.' }),
    hostnames: z
      .array(z.string().min(1).max(253))
      .min(1, { error: 'must list at least one hostname, or leave hostnames out' })
      .optional()
      .meta({ description: 'Host names; the agent must be one of them.' }),
    platforms: z
      .array(z.enum(targetPlatforms))
      .min(1, { error: 'must list at least one platform, or leave platforms out' })
      .optional()
      .meta({ description: 'Platforms; the agent must run one of them.' }),
  })
  .meta({
    description: 'Which agents run the job; every criterion given must hold. Absent: every agent.',
  });

/** The most channels one job may notify. */
export const maxNotifyChannels = 20;
/** The shortest `realertEvery`: more often than once a minute is noise, not a reminder. */
export const minRealertMilliseconds = 60_000;

const notificationChannelName = z
  .string()
  .max(63, { error: `must be ${notificationChannelNameHelp}` })
  .regex(notificationChannelNamePattern, {
    error: (issue) => notificationChannelNameMessage(String(issue.input)),
  });

const notifySchema = z
  .array(notificationChannelName, {
    error: (issue) =>
      issue.input === undefined
        ? undefined
        : typeof issue.input === 'string'
          ? `must be a list of channel names: write [${issue.input}], not ${issue.input}`
          : 'must be a list of notification channel names, e.g. [ops-pager, dba-email]',
  })
  .min(1, {
    error:
      "must list at least one channel, or leave notify out to use the organization's default channels",
  })
  .max(maxNotifyChannels, {
    error: `must list at most ${maxNotifyChannels} channels; group the rest under fewer channels`,
  })
  .superRefine((names, context) => {
    const seen = new Set<string>();
    names.forEach((name, index) => {
      if (seen.has(name)) {
        context.addIssue({
          code: 'custom',
          path: [index],
          input: name,
          message: `"${name}" is listed twice; list each channel once`,
        });
      }
      seen.add(name);
    });
  })
  .meta({
    description: `Notification channels (by name) that receive this job's incidents, 1 to ${maxNotifyChannels}, each once; absent: the organization's default channels. A name that names no channel is not an error here: the backend warns about it and uses the default channels.`,
    examples: [['ops-pager'], ['dba-email', 'ops-slack']],
    // The JSON Schema's own rule for the superRefine above, so that editors flag a repeat too.
    uniqueItems: true,
  });

const realertEverySchema = durationSchema
  .superRefine((text, context) => {
    if (describeDurationProblem(text) !== null) return; // durationSchema says what is wrong
    if (parseDuration(text) < minRealertMilliseconds) {
      context.addIssue({
        code: 'custom',
        input: text,
        message: `"${text}" is shorter than the minimum of 1m: write 1m or more (e.g. 30m, 4h), or leave realertEvery out to be notified once`,
      });
    }
  })
  .meta({
    description:
      'While an incident stays open and unacknowledged, notify its channels again this often (at least 1m); absent: notify once.',
    examples: ['30m', '4h'],
  });

export const monitoringSchema = z
  .strictObject({
    grace: durationSchema
      .default('5m')
      .meta({ description: 'How late a run may start before it counts as late or missed.' }),
    maxRuntime: durationSchema
      .optional()
      .meta({ description: 'Alert when a run takes longer than this.' }),
    alertAfter: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1)
      .meta({ description: 'Consecutive failures before an incident opens.' }),
    recoverAfter: z
      .number()
      .int()
      .min(1)
      .max(1000)
      .default(1)
      .meta({ description: 'Consecutive successful runs that resolve a failing incident.' }),
    realertEvery: realertEverySchema.optional(),
    notify: notifySchema.optional(),
  })
  .meta({ description: 'How the backend watches the job, and whom it tells.' });

export const outputSchema = z
  .strictObject({
    maxBytes: z
      .number()
      .int()
      .min(0)
      .max(10_485_760)
      .default(65_536)
      .meta({ description: 'Output bytes kept per run (head and tail), 0–10485760.' }),
  })
  .meta({ description: "What is kept of a run's output." });

export const jobSpecSchema = z
  .strictObject({
    schedule: scheduleSchema,
    timezone: timeZoneSchema.optional(),
    command: commandSchema,
    workingDir: z
      .string()
      .regex(absolutePathPattern, {
        error: 'must be an absolute path such as /var/backups or C:\\backups',
      })
      .optional()
      .meta({ description: 'Absolute working directory of the command.' }),
    env: environmentSchema.default({}),
    user: z
      .string()
      .regex(userPattern, {
        error:
          'must be a user name (lowercase letters, digits, "_" and "-", starting with a letter or "_", at most 32 characters) or a Windows DOMAIN\\user',
      })
      .optional()
      .meta({
        description: 'Run as this user; honoured only where the agent may switch users.',
        examples: ['postgres'],
      }),
    timeout: durationSchema
      .optional()
      .meta({ description: 'Stop a run that takes longer than this.' }),
    concurrencyPolicy: z.enum(concurrencyPolicies).default('Allow').meta({
      description:
        'When a run is due while the previous still runs: Allow (run both), Forbid (skip the new one), Replace (stop the old one).',
    }),
    retries: retriesSchema.default({ limit: 0, delay: '10s', backoff: 'exponential' }),
    suspend: z
      .boolean()
      .default(false)
      .meta({ description: 'true: keep the job installed but do not run it.' }),
    targets: targetsSchema.optional(),
    monitoring: monitoringSchema.default({ grace: '5m', alertAfter: 1, recoverAfter: 1 }),
    output: outputSchema.default({ maxBytes: 65_536 }),
  })
  .meta({ description: 'What runs, when, where and how.' });

/** Manifest v1: one Cronfleet job (a YAML document in the job repository). */
export const jobManifestSchema = z
  .strictObject({
    apiVersion: z.literal(manifestApiVersion).meta({ description: 'Always cronfleet.dev/v1.' }),
    kind: z.literal(manifestKind).meta({ description: 'Always Job.' }),
    metadata: metadataSchema,
    spec: jobSpecSchema,
  })
  .meta({ title: 'Cronfleet Job manifest v1' });

/** A validated manifest with defaults applied (durations kept as written; see parseDuration). */
export type JobManifest = z.output<typeof jobManifestSchema>;
/** A manifest as written: defaulted fields are optional. */
export type JobManifestInput = z.input<typeof jobManifestSchema>;
