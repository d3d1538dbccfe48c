/**
 * The dashboard benchmark's settings, parsed once from the environment and flags. The defaults
 * are the scale (10,000 jobs, 1,000,000 runs); the knobs exist for quick local runs.
 */
import { z } from 'zod';
import { parseBenchSettings } from '../../backend/bench/benchSettings.js';

export const measuredPages = ['empty', 'jobs', 'runs'] as const;
export type MeasuredPage = (typeof measuredPages)[number];

export const FrontendBenchConfig = z
  .object({
    /** The PostgreSQL server; a fresh database is created on it and dropped at the end. */
    databaseUrl: z
      .string()
      .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL')
      .default('postgres://postgres@127.0.0.1:5432/test'),
    /** Distinct jobs (namespace/name) across the fleet. */
    jobs: z.coerce.number().int().min(10).max(100_000).default(10_000),
    /** Rows in the runs table, spread over the jobs and over `runDays`. */
    runs: z.coerce.number().int().min(1000).max(100_000_000).default(1_000_000),
    /** Days of run history, newest now. */
    runDays: z.coerce.number().int().min(1).max(365).default(28),
    /** Agents the jobs are spread over (every 10th job runs on two of them). */
    agents: z.coerce.number().int().min(2).max(10_000).default(20),
    /** Warm loads of each page (a returning user: cached JavaScript); the median is judged. */
    warmLoads: z.coerce.number().int().min(1).max(50).default(5),
    /** Skip `tsc -p tsconfig.build.json` of core and backend (when dist is known to be current). */
    skipBuild: z.boolean().default(false),
    /** Measure only these (e.g. `--only=jobs,js`); the empty page is always loaded with a page. */
    only: z.array(z.enum(['empty', 'jobs', 'runs', 'js'])).optional(),
    /** Chromium, as the browser tests use it. */
    chromiumPath: z.string().min(1).default('/usr/bin/chromium'),
  })
  .refine((config) => config.agents <= config.jobs, {
    message: 'BENCH_FRONTEND_AGENTS must not exceed BENCH_FRONTEND_JOBS',
    path: ['agents'],
  });
export type FrontendBenchConfig = z.infer<typeof FrontendBenchConfig>;

export const frontendBenchUsage = `Usage: npm run bench -w frontend [-- --skip-build] [-- --only=empty,jobs,runs,js]

Environment: DATABASE_URL (a PostgreSQL server where this user may CREATE DATABASE; default
postgres://postgres@127.0.0.1:5432/test), BENCH_FRONTEND_JOBS (10000), BENCH_FRONTEND_RUNS
(1000000), BENCH_FRONTEND_RUN_DAYS (28), BENCH_FRONTEND_AGENTS (20), BENCH_FRONTEND_WARM_LOADS (5),
CHROMIUM_PATH (/usr/bin/chromium).`;

export function loadFrontendBenchConfig(
  environment: NodeJS.ProcessEnv = process.env,
  argv: readonly string[] = process.argv.slice(2),
): FrontendBenchConfig {
  return parseBenchSettings(
    FrontendBenchConfig,
    frontendBenchUsage,
    {
      databaseUrl: environment.DATABASE_URL,
      jobs: environment.BENCH_FRONTEND_JOBS,
      runs: environment.BENCH_FRONTEND_RUNS,
      runDays: environment.BENCH_FRONTEND_RUN_DAYS,
      agents: environment.BENCH_FRONTEND_AGENTS,
      warmLoads: environment.BENCH_FRONTEND_WARM_LOADS,
      chromiumPath: environment.CHROMIUM_PATH,
    },
    argv,
  );
}

/** Whether `--only` asks for this measurement (no `--only`: everything). */
export function wanted(config: FrontendBenchConfig, what: MeasuredPage | 'js'): boolean {
  return config.only === undefined || config.only.includes(what);
}
