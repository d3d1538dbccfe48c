import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgentStatus, apiErrorBody, RunStatus } from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import type { RequestHandler } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { onlineSlackSeconds } from '../agents/agentStatus.js';
import type { AppContext } from '../http/appContext.js';

/**
 * The Prometheus metrics of one app (GET /metrics), in a registry of its own rather than
 * prom-client's global one, so that several apps in one process (tests) never collide.
 *
 * - cronfleet_http_request_duration_seconds{method,route,status}: every request, by route
 *   template (`/api/v1/runs/:runId`), never by raw URL.
 * - cronfleet_check_ins_ingested_total{outcome}: check-ins recorded (`accepted`) or ignored as
 *   replays (`duplicate`) by this replica. The check-ins route calls recordCheckInsIngested.
 * - cronfleet_agents{status}, cronfleet_runs_running, cronfleet_runs_last_24h{status}: read from
 *   the database on scrape, summed over all organizations, cached for a few seconds so that
 *   frequent scrapes cost one query set per cache period.
 * - cronfleet_database_pool_max_connections, cronfleet_database_info{driver}: postgres.js has no
 *   public API for pool usage, so only the configured size is exposed (1 for embedded PGlite).
 * - cronfleet_database_up: whether the last refresh of the database gauges succeeded.
 * - the process's default metrics (CPU, memory, event loop lag, GC), prefixed cronfleet_.
 */
export interface AppMetrics {
  readonly registry: Registry;
  readonly httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  readonly checkInsIngested: Counter<'outcome'>;
}

/** How long the database gauges are reused between scrapes. */
export const databaseGaugeCacheMs = 5_000;

const metricsByContext = new WeakMap<AppContext, AppMetrics>();

/**
 * The metrics of the app built on `context`, created on first use. createApp and every route that
 * counts something get them through here, so nothing has to pass them around: the check-ins route
 * calls `recordCheckInsIngested(context, result)`.
 */
export function metricsFor(context: AppContext): AppMetrics {
  let metrics = metricsByContext.get(context);
  if (metrics === undefined) {
    metrics = createMetrics(context);
    metricsByContext.set(context, metrics);
  }
  return metrics;
}

/** Counts one ingested batch: `accepted` and `duplicates` as the check-ins route answers them. */
export function recordCheckInsIngested(
  context: AppContext,
  result: { accepted: number; duplicates: number },
): void {
  const { checkInsIngested } = metricsFor(context);
  if (result.accepted > 0) checkInsIngested.inc({ outcome: 'accepted' }, result.accepted);
  if (result.duplicates > 0) checkInsIngested.inc({ outcome: 'duplicate' }, result.duplicates);
}

interface FleetCounts {
  agents: Map<string, number>;
  runsRunning: number;
  runsLast24h: Map<string, number>;
}

/**
 * Agents by status with the agents list's rule (agentStatus.ts: online when not revoked and a
 * heartbeat arrived within twice its interval plus onlineSlackSeconds), running runs (the partial index runs_running_idx), and runs recorded
 * in the last 24 hours by status (the index runs_created_idx).
 */
async function readFleetCounts(context: AppContext): Promise<FleetCounts> {
  const now = context.now().toISOString();
  const { database } = context;
  const [agentRows, runningRows, recentRows] = await Promise.all([
    database.rows<{ status: string; count: number }>(sql`
      select case
          when revoked_at is not null then 'revoked'
          when last_heartbeat_at is not null
            and last_heartbeat_at > ${now}::timestamptz
              - make_interval(secs => 2 * heartbeat_interval_seconds + ${onlineSlackSeconds}) then 'online'
          else 'offline'
        end as status,
        count(*)::int as count
      from agents
      group by 1`),
    database.rows<{ count: number }>(
      sql`select count(*)::int as count from runs where status = 'running'`,
    ),
    database.rows<{ status: string; count: number }>(sql`
      select status::text as status, count(*)::int as count
      from runs
      where created_at > ${now}::timestamptz - interval '24 hours'
      group by status`),
  ]);
  const byStatus = (rows: { status: string; count: number }[]) =>
    new Map(rows.map((row) => [row.status, Number(row.count)]));
  return {
    agents: byStatus(agentRows),
    runsRunning: Number(runningRows[0]?.count ?? 0),
    runsLast24h: byStatus(recentRows),
  };
}

/** Creates the registry and its metrics for one app. Prefer {@link metricsFor}. */
export function createMetrics(context: AppContext): AppMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'cronfleet_' });

  const httpRequestDuration = new Histogram({
    name: 'cronfleet_http_request_duration_seconds',
    help: 'HTTP request duration in seconds, by method, route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const checkInsIngested = new Counter({
    name: 'cronfleet_check_ins_ingested_total',
    help: 'Check-ins received by this replica: accepted (recorded) or duplicate (a replay, ignored).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });

  let cached: { at: number; counts: FleetCounts | undefined } | undefined;
  let inFlight: Promise<FleetCounts | undefined> | undefined;
  /** The fleet counts, at most databaseGaugeCacheMs old; undefined when the database failed. */
  const fleetCounts = (): Promise<FleetCounts | undefined> => {
    if (cached !== undefined && Date.now() - cached.at < databaseGaugeCacheMs) {
      return Promise.resolve(cached.counts);
    }
    inFlight ??= readFleetCounts(context)
      .catch((error: unknown) => {
        context.logger.warn({ err: error }, 'metrics: reading agent and run counts failed');
        return undefined;
      })
      .then((counts) => {
        cached = { at: Date.now(), counts };
        return counts;
      })
      .finally(() => {
        inFlight = undefined;
      });
    return inFlight;
  };

  new Gauge({
    name: 'cronfleet_database_up',
    help: 'Whether the last read of the database gauges succeeded (1) or failed (0).',
    registers: [registry],
    async collect() {
      this.set((await fleetCounts()) === undefined ? 0 : 1);
    },
  });
  new Gauge({
    name: 'cronfleet_agents',
    help: 'Agents of all organizations by status (online: a heartbeat within 2 intervals + 10 s).',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await fleetCounts();
      if (counts === undefined) return;
      for (const status of AgentStatus.options) {
        this.set({ status }, counts.agents.get(status) ?? 0);
      }
    },
  });
  new Gauge({
    name: 'cronfleet_runs_running',
    help: 'Runs of all organizations currently running (a start without a finish).',
    registers: [registry],
    async collect() {
      const counts = await fleetCounts();
      if (counts !== undefined) this.set(counts.runsRunning);
    },
  });
  new Gauge({
    name: 'cronfleet_runs_last_24h',
    help: 'Runs of all organizations recorded in the last 24 hours, by their current status.',
    labelNames: ['status'] as const,
    registers: [registry],
    async collect() {
      const counts = await fleetCounts();
      if (counts === undefined) return;
      for (const status of RunStatus.options) {
        this.set({ status }, counts.runsLast24h.get(status) ?? 0);
      }
    },
  });

  const poolSize = context.database.driver === 'pglite' ? 1 : context.config.databasePoolSize;
  new Gauge({
    name: 'cronfleet_database_pool_max_connections',
    help: 'Configured size of the database connection pool of this replica (1 for embedded PGlite; postgres.js exposes no usage figures).',
    registers: [registry],
  }).set(poolSize);
  new Gauge({
    name: 'cronfleet_database_info',
    help: 'The database driver in use: postgres (PostgreSQL through postgres.js) or pglite (embedded).',
    labelNames: ['driver'] as const,
    registers: [registry],
  }).set({ driver: context.database.driver }, 1);

  return { registry, httpRequestDuration, checkInsIngested };
}

/** The route template of a handled request, for the request histogram's `route` label. */
function routeLabel(request: IncomingMessage, response: ServerResponse): string {
  // Express's fields, which the lean lane (leanRoutes.ts) sets too for the routes it serves.
  const { route, baseUrl, originalUrl } = request as {
    route?: { path?: unknown };
    baseUrl?: string;
    originalUrl?: string;
  };
  if (route !== undefined && typeof route.path === 'string') return `${baseUrl ?? ''}${route.path}`;
  // The SPA fallback (a regular expression route) and the dashboard's static files.
  const url = originalUrl ?? request.url ?? '';
  const isApi = url.startsWith('/api/') || url === '/api';
  if (!isApi && response.statusCode < 400) return 'dashboard';
  return 'unmatched';
}

/**
 * Records a request's duration into cronfleet_http_request_duration_seconds: the `onEnd` of
 * requestLogging, which is mounted first and already listens for every request's end.
 */
export function observeRequestDuration(
  metrics: AppMetrics,
): (request: IncomingMessage, response: ServerResponse, seconds: number) => void {
  return (request, response, seconds) => {
    metrics.httpRequestDuration.observe(
      {
        method: request.method,
        route: routeLabel(request, response),
        status: String(response.statusCode),
      },
      seconds,
    );
  };
}

/**
 * GET /metrics in the Prometheus text format, never cached. With CRONFLEET_METRICS_TOKEN set, only
 * a scrape that sends `Authorization: Bearer <that token>` gets them (compared in constant time);
 * any other gets a 401. What the metrics expose: see docs/operations.md#metrics.
 */
export function metricsHandler(
  metrics: AppMetrics,
  context: Pick<AppContext, 'config'>,
): RequestHandler {
  const { metricsToken } = context.config;
  const expected = metricsToken === undefined ? undefined : digest(metricsToken);
  return async (request, response) => {
    response.setHeader('Cache-Control', 'no-store');
    if (expected !== undefined) {
      const match = /^Bearer\s+(\S+)\s*$/i.exec(request.headers.authorization ?? '');
      if (match === null || !timingSafeEqual(digest(match[1] ?? ''), expected)) {
        response.setHeader('WWW-Authenticate', 'Bearer realm="cronfleet-metrics"');
        response
          .status(401)
          .json(
            apiErrorBody(
              'unauthorized',
              'the metrics need the scrape token: send Authorization: Bearer <CRONFLEET_METRICS_TOKEN>',
            ),
          );
        return;
      }
    }
    const text = await metrics.registry.metrics();
    response.setHeader('Content-Type', metrics.registry.contentType);
    response.send(text);
  };
}

/** SHA-256 of a token: equal-length buffers for timingSafeEqual, whatever was sent. */
function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}
