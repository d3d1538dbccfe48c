/**
 * The agent benchmark's settings, parsed once from the environment and flags (issue 5 §8).
 */
import { z } from 'zod';
import { parseBenchSettings } from '../../backend/bench/benchSettings.js';

export const AgentBenchConfig = z.object({
  /** The PostgreSQL server; a fresh database is created on it and dropped at the end. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .default('postgres://postgres@127.0.0.1:5432/test'),
  /** Check-ins in the spool the sender drains (half start, half finish). */
  spoolCheckIns: z.coerce.number().int().min(2).max(10_000_000).default(100_000),
  /** Characters of output in each finish check-in's head. */
  outputChars: z.coerce.number().int().min(0).max(1_048_576).default(200),
  /** Batches the sender keeps in flight (default: the sender's own default). */
  senderConcurrency: z.coerce.number().int().min(1).max(16).optional(),
  /** Skip `tsc -p tsconfig.build.json` of core and backend (when dist is known to be current). */
  skipBuild: z.boolean().default(false),
  /** Run only these measurements (e.g. `--only=drain`); default all. */
  only: z.array(z.enum(['drain', 'wrapper', 'reconcile'])).optional(),
  /** The reconcile benchmark's repository sizes, in jobs (multiples of 50). */
  reconcileJobs: z
    .string()
    .regex(/^\d+(,\d+)*$/, 'must be job counts separated by commas, e.g. 1000,10000')
    .transform((text) => text.split(',').map(Number))
    .refine(
      (counts) => counts.every((count) => count >= 50 && count % 50 === 0),
      'each job count must be a multiple of 50',
    )
    .default([1000, 10_000]),
  /** How long the reconcile daemons idle before their resident set is read (0: no daemons). */
  idleMinutes: z.coerce.number().min(0).max(120).default(10),
  /** The daemons' poll interval, in seconds. */
  pollSeconds: z.coerce.number().int().min(1).max(600).default(10),
  /** Runs of the wrapper and of `sh -c` each in the latency measurement. */
  wrapperRuns: z.coerce.number().int().min(3).max(1000).default(30),
});
export type AgentBenchConfig = z.infer<typeof AgentBenchConfig>;

export const agentBenchUsage = `Usage: npm run bench -w agent [-- --skip-build] [-- --only=drain,wrapper,reconcile]

Environment: DATABASE_URL (a PostgreSQL server; default postgres://postgres@127.0.0.1:5432/test),
BENCH_SPOOL_CHECK_INS (100000), BENCH_OUTPUT_CHARS (200), BENCH_SENDER_CONCURRENCY (the sender's
default, 2), BENCH_WRAPPER_RUNS (30), BENCH_RECONCILE_JOBS (1000,10000), BENCH_IDLE_MINUTES (10),
BENCH_POLL_SECONDS (10). The reconcile benchmark needs root and crontab for its crontab half (a
throwaway user); it never touches /etc/cron.d or root's crontab.`;

export function loadAgentBenchConfig(
  environment: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): AgentBenchConfig {
  return parseBenchSettings(
    AgentBenchConfig,
    agentBenchUsage,
    {
      databaseUrl: environment.DATABASE_URL,
      spoolCheckIns: environment.BENCH_SPOOL_CHECK_INS,
      outputChars: environment.BENCH_OUTPUT_CHARS,
      senderConcurrency: environment.BENCH_SENDER_CONCURRENCY,
      wrapperRuns: environment.BENCH_WRAPPER_RUNS,
      reconcileJobs: environment.BENCH_RECONCILE_JOBS,
      idleMinutes: environment.BENCH_IDLE_MINUTES,
      pollSeconds: environment.BENCH_POLL_SECONDS,
    },
    argv,
  );
}
