import { z } from 'zod';
import { AgentStatus } from './agentContract.js';
import { IsoDateTime, JobName, Namespace, Revision } from './fieldContract.js';
import { Incident } from './incidentContract.js';
import { JobHealth, JobSummary } from './runContract.js';

/** `GET /api/v1/jobs/:namespace/:name`: one job, its instances, its next fire times. */

export const JobPathParams = z.object({ namespace: Namespace, name: JobName });
export type JobPathParams = z.infer<typeof JobPathParams>;

/** One job instance: the job as one agent applied it, with the worker's judgement of it. */
export const JobInstanceDetail = z.object({
  agent: z.object({ id: z.string(), name: z.string(), status: AgentStatus }),
  schedule: z.string(),
  /** Described in words; the expression itself when the evaluator cannot read it. */
  scheduleDescription: z.string(),
  /** null: the agent's own zone, which the backend does not know (fire times assume UTC). */
  timezone: z.string().nullable(),
  suspended: z.boolean(),
  /** The manifest's path in the job repository, and the revision applied. */
  sourcePath: z.string(),
  revision: Revision,
  health: JobHealth,
  healthSince: IsoDateTime,
  warnings: z.array(z.string()),
  monitoring: z.object({
    graceSeconds: z.number().int().min(0),
    maxRuntimeSeconds: z.number().int().min(1).nullable(),
    alertAfter: z.number().int().min(1),
    recoverAfter: z.number().int().min(1),
    realertEverySeconds: z.number().int().nullable(),
    /** Channel names; empty: the organization's default channels. */
    notify: z.array(z.string()),
  }),
});
export type JobInstanceDetail = z.infer<typeof JobInstanceDetail>;

/**
 * One upcoming fire time of a schedule (the reference evaluator, in the schedule's zone), with a
 * daylight-saving note when it falls on a day whose clocks change, e.g. `clocks go forward 1 h
 * in America/New_York at 02:00 EST: 02:00–02:59 does not exist, a job due then runs at 03:00 EDT`.
 */
export const JobFireTime = z.object({
  at: IsoDateTime,
  schedule: z.string(),
  timezone: z.string().nullable(),
  /** How many instances (not suspended) fire then with this schedule. */
  instances: z.number().int().min(1),
  daylightSavingNote: z.string().nullable(),
});
export type JobFireTime = z.infer<typeof JobFireTime>;

export const JobDetail = JobSummary.extend({
  /** Each instance, by agent name. */
  instanceDetails: z.array(JobInstanceDetail).min(1),
  /**
   * The next 10 fire times over the instances not suspended, merged and in order (instances
   * that agree on schedule and zone count once); empty for @reboot or when every one is suspended.
   */
  nextFireTimes: z.array(JobFireTime).max(10),
  /** The job's open incidents (its instances'), newest first. */
  openIncidents: z.array(Incident),
});
export type JobDetail = z.infer<typeof JobDetail>;
