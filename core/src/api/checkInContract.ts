import { z } from 'zod';
import { IsoDateTime, JobName, Namespace, Revision, Uuid } from './fieldContract.js';

/**
 * `POST /api/v1/check-ins`: batches of `start` and `finish` check-ins from the run wrapper's
 * spool. The backend ingests each check-in once by (runId, kind), so a batch may be resent.
 */

export const RunTrigger = z.enum(['scheduled', 'manual', 'retry']);
export type RunTrigger = z.infer<typeof RunTrigger>;

/**
 * How a finished run ended. `lost`: the wrapper could not report the end itself (it was killed);
 * the agent reports it for the wrapper, with the reason.
 */
export const FinishStatus = z.enum(['succeeded', 'failed', 'timed_out', 'skipped', 'lost']);
export type FinishStatus = z.infer<typeof FinishStatus>;

/** The longest output head or tail a check-in may carry, in characters. */
export const MAX_OUTPUT_CHARS = 1_048_576;

export const MAX_CHECK_INS_PER_BATCH = 1000;

const Attempt = z.number().int().min(1, 'attempt counts from 1').max(1000);

/** A check-in time the backend can store: ISO 8601 with an offset, from 1970 to 9999. */
const CheckInTime = IsoDateTime.refine(
  (time) => {
    const year = new Date(time).getUTCFullYear();
    return year >= 1970 && year <= 9999;
  },
  { error: 'must be between 1970 and 9999; check the clock of the agent host' },
);

/** Largest 32-bit integer: durations (24.8 days) and exit codes are stored as such. */
const MAX_INT32 = 2_147_483_647;

export const CheckInStart = z.object({
  kind: z.literal('start'),
  /** Chosen by the agent (a random UUID) when the run begins; shared by its start and finish. */
  runId: Uuid,
  namespace: Namespace,
  name: JobName,
  attempt: Attempt,
  trigger: RunTrigger,
  /** The fire time this run belongs to; null for manual runs. */
  scheduledAt: CheckInTime.nullable(),
  startedAt: CheckInTime,
  revision: Revision,
});
export type CheckInStart = z.infer<typeof CheckInStart>;

export const CheckInFinish = z.object({
  kind: z.literal('finish'),
  runId: Uuid,
  namespace: Namespace,
  name: JobName,
  attempt: Attempt,
  status: FinishStatus,
  finishedAt: CheckInTime,
  durationMs: z.number().int().min(0).max(MAX_INT32, `must be at most ${MAX_INT32} ms (24.8 days)`),
  /** The exit code; null when the process was killed by a signal or never started. */
  exitCode: z
    .number()
    .int()
    .min(-MAX_INT32 - 1)
    .max(MAX_INT32)
    .nullable(),
  /** The signal that ended the process, e.g. `SIGTERM`; null otherwise. */
  signal: z
    .string()
    .regex(/^SIG[A-Z0-9]+$/, 'must be a signal name such as SIGTERM')
    .nullable(),
  outputHead: z.string().max(MAX_OUTPUT_CHARS),
  outputTail: z.string().max(MAX_OUTPUT_CHARS),
  /** True when output was dropped between the head and the tail. */
  outputTruncated: z.boolean(),
  revision: Revision,
  /**
   * Why the run ended so, when the wrapper could not say it itself (a lost run: "the wrapper (pid
   * 123) was killed; its command's process group was stopped"), or why it was skipped.
   */
  reason: z.string().max(2048).nullable().optional(),
});
export type CheckInFinish = z.infer<typeof CheckInFinish>;

export const CheckIn = z.discriminatedUnion('kind', [CheckInStart, CheckInFinish]);
export type CheckIn = z.infer<typeof CheckIn>;

export const CheckInBatchRequest = z.object({
  checkIns: z
    .array(CheckIn)
    .min(1, 'send at least one check-in')
    .max(
      MAX_CHECK_INS_PER_BATCH,
      `send at most ${MAX_CHECK_INS_PER_BATCH} check-ins per batch; split the batch`,
    ),
});
export type CheckInBatchRequest = z.infer<typeof CheckInBatchRequest>;

export const CheckInBatchResponse = z.object({
  /** Check-ins recorded for the first time. */
  accepted: z.number().int().min(0),
  /** Check-ins already recorded (same runId and kind), ignored. */
  duplicates: z.number().int().min(0),
});
export type CheckInBatchResponse = z.infer<typeof CheckInBatchResponse>;
