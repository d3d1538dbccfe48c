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
  only: z.array(z.enum(['drain', 'wrapper'])).optional(),
  /** Runs of the wrapper and of `sh -c` each in the latency measurement. */
  wrapperRuns: z.coerce.number().int().min(3).max(1000).default(30),
});
export type AgentBenchConfig = z.infer<typeof AgentBenchConfig>;

export const agentBenchUsage = `Usage: npm run bench -w agent [-- --skip-build] [-- --only=drain,wrapper]

Environment: DATABASE_URL (a PostgreSQL server; default postgres://postgres@127.0.0.1:5432/test),
BENCH_SPOOL_CHECK_INS (100000), BENCH_OUTPUT_CHARS (200), BENCH_SENDER_CONCURRENCY (the sender's
default, 2), BENCH_WRAPPER_RUNS (30).`;

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
    },
    argv,
  );
}
