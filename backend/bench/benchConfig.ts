/**
 * The benchmark's settings, parsed once from the environment and flags. Defaults give the run
 * of issue 3 §5 (about 2 minutes of load plus seeding); the knobs exist for quick local runs.
 */
import { z } from 'zod';
import { parseBenchSettings } from './benchSettings.js';

export const BenchConfig = z.object({
  /** The PostgreSQL server; a fresh database is created on it and dropped at the end. */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
    .default('postgres://postgres@127.0.0.1:5432/test'),
  durationSeconds: z.coerce.number().int().min(1).max(600).default(10),
  warmUpSeconds: z.coerce.number().int().min(0).max(60).default(2),
  /** Rounds of (a) and (b), measured in alternation; (b)/(a) is the median of their ratios. */
  rounds: z.coerce.number().int().min(1).max(15).default(3),
  /**
   * Concurrent connections of every run (the same for (a) and (b)): 10 saturates one Node
   * process on 2 cores and equals the backend's default database pool.
   */
  connections: z.coerce.number().int().min(1).max(1000).default(10),
  /** Rows in the runs table for (d). */
  historyRuns: z.coerce.number().int().min(1000).max(100_000_000).default(1_000_000),
  /** Jobs the history is spread over; the measured one gets historyRuns / historyJobs runs. */
  historyJobs: z.coerce.number().int().min(1).max(99).default(50),
  /** Agents the check-in and heartbeat load speaks for (round-robin). */
  agents: z.coerce.number().int().min(1).max(100_000).default(1000),
  /** Check-ins per request in (c). */
  batchSize: z.coerce.number().int().min(1).max(1000).default(100),
  /** Skip `tsc -p tsconfig.build.json` of core and backend (when dist is known to be current). */
  skipBuild: z.boolean().default(false),
  /** Run only these measurements (e.g. `--only=a,b`); default all. */
  only: z.array(z.enum(['a', 'b', 'b@500', 'c', 'd', 'e', 'm'])).optional(),
  /** (m): agents, job instances per agent, instances due in (m1), missed fires awaited in (m2). */
  monitorAgents: z.coerce.number().int().min(1).max(10_000).default(100),
  monitorInstancesPerAgent: z.coerce.number().int().min(1).max(10_000).default(1000),
  monitorDue: z.coerce.number().int().min(100).max(100_000).default(1000),
  monitorDetections: z.coerce.number().int().min(0).max(10).default(2),
  /** Extra Node flags for the backend server process, e.g. `--cpu-prof --cpu-prof-dir=prof`. */
  serverNodeArgs: z
    .string()
    .default('')
    .transform((text) => text.split(/\s+/).filter((word) => word !== '')),
});
export type BenchConfig = z.infer<typeof BenchConfig>;

const usage = `Usage: npm run bench -w backend [-- --skip-build] [-- --only=a,b,b@500,c,d,e,m]

Environment: DATABASE_URL (a PostgreSQL server; default postgres://postgres@127.0.0.1:5432/test),
BENCH_DURATION_SECONDS (10), BENCH_WARMUP_SECONDS (2), BENCH_ROUNDS (3), BENCH_CONNECTIONS (10),
BENCH_HISTORY_RUNS (1000000), BENCH_AGENTS (1000), BENCH_BATCH_SIZE (100),
BENCH_SERVER_NODE_ARGS (extra Node flags for the backend, e.g. --cpu-prof); for the monitoring
worker (m): BENCH_MONITOR_AGENTS (100), BENCH_MONITOR_INSTANCES_PER_AGENT (1000),
BENCH_MONITOR_DUE (1000), BENCH_MONITOR_DETECTIONS (2).`;

export function loadBenchConfig(
  environment: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): BenchConfig {
  return parseBenchSettings(
    BenchConfig,
    usage,
    {
      databaseUrl: environment.DATABASE_URL,
      durationSeconds: environment.BENCH_DURATION_SECONDS,
      warmUpSeconds: environment.BENCH_WARMUP_SECONDS,
      rounds: environment.BENCH_ROUNDS,
      connections: environment.BENCH_CONNECTIONS,
      historyRuns: environment.BENCH_HISTORY_RUNS,
      agents: environment.BENCH_AGENTS,
      batchSize: environment.BENCH_BATCH_SIZE,
      serverNodeArgs: environment.BENCH_SERVER_NODE_ARGS,
      monitorAgents: environment.BENCH_MONITOR_AGENTS,
      monitorInstancesPerAgent: environment.BENCH_MONITOR_INSTANCES_PER_AGENT,
      monitorDue: environment.BENCH_MONITOR_DUE,
      monitorDetections: environment.BENCH_MONITOR_DETECTIONS,
    },
    argv,
  );
}
