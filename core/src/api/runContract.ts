import { z } from 'zod';
import { RunTrigger } from './checkInContract.js';
import {
  IsoDateTime,
  JobName,
  JobRef,
  LabelSelector,
  Labels,
  Namespace,
  Revision,
  TimeFilter,
  Uuid,
} from './fieldContract.js';
import { Cursor, PageLimit, paginatedResponse } from './paginationContract.js';

/** Run history: `GET /api/v1/runs` and `GET /api/v1/runs/:runId`. */

/** A run's state: `running` until its finish arrives, `lost` when it never will. */
export const RunStatus = z.enum(['running', 'succeeded', 'failed', 'timed_out', 'skipped', 'lost']);
export type RunStatus = z.infer<typeof RunStatus>;

/** A run as the runs list shows it (without its output). */
export const Run = z.object({
  runId: Uuid,
  agentId: Uuid,
  agentName: z.string(),
  namespace: Namespace,
  name: JobName,
  attempt: z.number().int().min(1),
  trigger: RunTrigger,
  status: RunStatus,
  scheduledAt: IsoDateTime.nullable(),
  /** null when only a finish arrived (e.g. a skipped run). */
  startedAt: IsoDateTime.nullable(),
  finishedAt: IsoDateTime.nullable(),
  durationMs: z.number().int().min(0).nullable(),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  outputTruncated: z.boolean(),
  revision: Revision,
  /**
   * Why the run ended so, when its output cannot say: the reason of a lost or skipped run, from
   * the agent or from the backend (e.g. "the agent stopped reporting this run as running"); null
   * otherwise.
   */
  reason: z.string().nullable(),
});
export type Run = z.infer<typeof Run>;

/** A run with the head and tail of its output. */
export const RunDetail = Run.extend({
  outputHead: z.string(),
  outputTail: z.string(),
});
export type RunDetail = z.infer<typeof RunDetail>;

/** `GET /api/v1/runs` query; values arrive as strings. Newest runs first. */
export const ListRunsQuery = z
  .object({
    /** One job, written `namespace/name`. */
    job: JobRef.optional(),
    namespace: Namespace.optional(),
    agentId: Uuid.optional(),
    status: RunStatus.optional(),
    /** Runs started (or, without a start, finished) at or after this time. */
    from: TimeFilter.optional(),
    /** Runs started before this time. */
    to: TimeFilter.optional(),
    /** Text searched in the output head and tail. */
    q: z.string().min(1).max(200).optional(),
    limit: PageLimit,
    cursor: Cursor.optional(),
  })
  .superRefine((query, ctx) => {
    if (query.from !== undefined && query.to !== undefined) {
      if (Date.parse(query.from) > Date.parse(query.to)) {
        ctx.addIssue({
          code: 'custom',
          path: ['to'],
          message: `to (${query.to}) is before from (${query.from}); swap them`,
        });
      }
    }
  });
export type ListRunsQuery = z.infer<typeof ListRunsQuery>;

export const ListRunsResponse = paginatedResponse(Run);
export type ListRunsResponse = z.infer<typeof ListRunsResponse>;

/** `GET /api/v1/runs/:runId` path parameters. */
export const RunPathParams = z.object({ runId: Uuid });
export type RunPathParams = z.infer<typeof RunPathParams>;

/** The last run of a job, as the jobs view shows it. */
export const JobLastRun = z.object({
  runId: Uuid,
  agentId: Uuid,
  status: RunStatus,
  startedAt: IsoDateTime.nullable(),
  finishedAt: IsoDateTime.nullable(),
  durationMs: z.number().int().min(0).nullable(),
});
export type JobLastRun = z.infer<typeof JobLastRun>;

/** One of the schedules a job's instances report, with how many instances report it. */
export const JobSchedule = z.object({
  /** The cron expression as applied, e.g. `0 2 * * *` or `@daily`. */
  schedule: z.string(),
  /** In words, e.g. `At 02:00 every day` (the expression itself when it cannot be described). */
  description: z.string(),
  /** IANA zone; null: the agent's own zone. */
  timezone: z.string().nullable(),
  instances: z.number().int().min(1),
});
export type JobSchedule = z.infer<typeof JobSchedule>;

/**
 * A job instance's health as the monitoring worker judges it (docs/monitoring.md): `new` (it never
 * ran), `up`, `missed` (no start within grace of a fire time), `failing` (alertAfter failed runs
 * in a row), `overrun` (a run past maxRuntime), `suspended`, `unknown` (its agent is offline or
 * revoked), and `silenced` (a problem whose incidents a silence covers).
 */
export const JobHealth = z.enum([
  'new',
  'up',
  'missed',
  'failing',
  'overrun',
  'suspended',
  'unknown',
  'silenced',
]);
export type JobHealth = z.infer<typeof JobHealth>;

/** One job instance's health: the job on one agent. */
export const JobInstanceHealth = z.object({
  agentId: z.string(),
  agentName: z.string(),
  health: JobHealth,
  /** Since when it has had this health (`silenced`: the problem's own). */
  healthSince: IsoDateTime,
  /** What the backend found wrong with the instance's settings, e.g. an unknown notify channel. */
  warnings: z.array(z.string()),
});
export type JobInstanceHealth = z.infer<typeof JobInstanceHealth>;

/** One of a job's recent runs, as the strip of its last runs shows it. */
export const JobRecentRun = z.object({
  runId: z.string(),
  status: RunStatus,
  startedAt: IsoDateTime,
});
export type JobRecentRun = z.infer<typeof JobRecentRun>;

/**
 * One job (namespace/name) across the agents that applied it (their job instances), with its
 * run statistics. Statistics count the runs that started in the last 7 days.
 */
export const JobSummary = z.object({
  namespace: Namespace,
  name: JobName,
  /** The schedule when every instance agrees; null when they disagree (see `schedules`). */
  schedule: z.string().nullable(),
  /** Its description; null when the instances disagree. */
  scheduleDescription: z.string().nullable(),
  /** Every distinct schedule and time zone the instances report; more than one: they disagree. */
  schedules: z.array(JobSchedule).min(1),
  /** The earliest next fire time over the instances not suspended; null for @reboot or suspended. */
  nextRunAt: IsoDateTime.nullable(),
  lastRun: JobLastRun.nullable(),
  /** Runs that started in the last 7 days (any status). */
  runs7d: z.number().int().min(0),
  /**
   * Succeeded ÷ (succeeded + failed + timed_out + lost) over 7 days, from 0 to 1; null when no
   * run ended in that time (running and skipped runs do not count).
   */
  successRate7d: z.number().min(0).max(1).nullable(),
  /** Median duration (whole ms) of the runs that succeeded, failed or timed out in the last 7 days; null without any. */
  p50DurationMs7d: z.number().min(0).nullable(),
  p95DurationMs7d: z.number().min(0).nullable(),
  /** How many agents applied this job. */
  instances: z.number().int().min(1),
  /** How many of them have it suspended. */
  suspendedInstances: z.number().int().min(0),
  /** True when every instance is suspended. */
  suspended: z.boolean(),
  /**
   * The job as a whole: the worst of its instances, in the order failing, overrun, missed,
   * unknown, silenced, up, new, suspended (suspended only when every instance is).
   */
  health: JobHealth,
  /** Each instance's health, by agent name. */
  instanceHealth: z.array(JobInstanceHealth).min(1),
  /** The job's metadata.labels (as its first instance by agent name reports them). */
  labels: Labels,
  /** Its last 20 runs over every instance, newest first: the dashboard's strip. */
  recentRuns: z.array(JobRecentRun).max(20),
});
export type JobSummary = z.infer<typeof JobSummary>;

/** `GET /api/v1/jobs` query. Jobs are ordered by namespace, then name. */
export const ListJobsQuery = z.object({
  namespace: Namespace.optional(),
  /** Text searched in the job's namespace and name. */
  q: z.string().min(1).max(200).optional(),
  /** Only the jobs whose health (as a whole) is this. */
  health: JobHealth.optional(),
  /** `key=value` on the job's labels (repeatable: every one must match, on some instance). */
  label: z
    .union([LabelSelector, z.array(LabelSelector)])
    .transform((value) => (Array.isArray(value) ? value : [value]))
    .optional(),
  /** Jobs per page, in namespace/name order. */
  limit: PageLimit,
  cursor: Cursor.optional(),
});
export type ListJobsQuery = z.infer<typeof ListJobsQuery>;

/** A page of jobs, the cursor of the next, and how many jobs match the filters in all. */
export const ListJobsResponse = paginatedResponse(JobSummary).extend({
  total: z.number().int().min(0),
});
export type ListJobsResponse = z.infer<typeof ListJobsResponse>;

const Count = z.number().int().min(0);

/** Runs of one hour by status. */
export const RunsPerHour = z.object({
  /** The start of the hour (UTC, on the hour). */
  hourStart: IsoDateTime,
  counts: z.record(RunStatus, Count),
});
export type RunsPerHour = z.infer<typeof RunsPerHour>;

/** `GET /api/v1/stats`: the overview of the organization. */
export const StatsResponse = z.object({
  generatedAt: IsoDateTime,
  /**
   * Agents by status: online = not revoked and a heartbeat within twice its interval plus 10 s;
   * offline = not revoked otherwise; revoked.
   */
  agents: z.object({ online: Count, offline: Count, revoked: Count, total: Count }),
  /**
   * Jobs (namespace/name applied by an agent that is not revoked) by the outcome of their last
   * run that was not skipped: healthy (succeeded), failing (failed, timed_out or lost), running,
   * neverRun.
   */
  jobs: z.object({
    healthy: Count,
    failing: Count,
    running: Count,
    neverRun: Count,
    total: Count,
  }),
  /** The same jobs by their health as a whole (see JobSummary.health), every health present. */
  jobsByHealth: z.record(JobHealth, Count),
  /** Open incidents by kind, and in all. */
  openIncidents: z.object({
    missed: Count,
    failing: Count,
    overrun: Count,
    agent_offline: Count,
    total: Count,
  }),
  /** Runs by the hour they started in: 24 hours, oldest first, the last one the current hour. */
  runsPerHour: z.array(RunsPerHour).length(24),
});
export type StatsResponse = z.infer<typeof StatsResponse>;
