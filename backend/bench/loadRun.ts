/**
 * One measurement with autocannon: a warm-up run whose figures are thrown away, then the measured
 * run. Latency percentiles are computed exactly from every response's time (autocannon's
 * histogram has no p95 and rounds to whole milliseconds); for a fixed-rate run autocannon's own
 * p99, corrected for coordinated omission, is kept too and the worse of the two is reported.
 */
import autocannon, { type AutocannonRequest, type AutocannonResult } from 'autocannon';
import { postgresCpuMilliseconds, processCpuMilliseconds } from './processCpu.js';

export interface LoadSpec {
  title: string;
  /** The server's base URL, e.g. http://127.0.0.1:41234. */
  baseUrl: string;
  method: 'GET' | 'POST';
  path: string;
  /** Built for every request, so each can carry its own token and body (unique run ids). */
  makeRequest: () => { headers: Record<string, string>; body?: string };
  connections: number;
  durationSeconds: number;
  warmUpSeconds: number;
  /** Requests per second across all connections; absent: as fast as the server answers. */
  overallRate?: number;
  /** The server's process id, to measure its CPU time per request. */
  serverPid?: number;
}

export interface LoadResult {
  title: string;
  /** Responses received in the measured run (any status). */
  responses: number;
  requestsPerSecond: number;
  latencyMs: { p50: number; p95: number; p99: number; max: number; mean: number };
  /** autocannon's p99 (whole ms; corrected for coordinated omission in a fixed-rate run). */
  autocannonP99Ms: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  statusCodes: Record<string, number>;
  durationSeconds: number;
  /** Non-2xx, errors or timeouts in the warm-up run (also a failure). */
  warmUpFailures: number;
  /** 2xx responses in the warm-up and the measured run: what the server acknowledged. */
  acknowledged: number;
  /** The server process's CPU milliseconds (user + system) per response of the measured run. */
  serverCpuMsPerRequest: number | undefined;
  /**
   * CPU milliseconds of the machine's PostgreSQL processes per response of the measured run
   * (ended backends' time is lost: a rough figure when connections come and go).
   */
  databaseCpuMsPerRequest: number | undefined;
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const warmUp = spec.warmUpSeconds > 0 ? await runAutocannon(spec, spec.warmUpSeconds) : undefined;
  const cpuBefore =
    spec.serverPid === undefined ? undefined : processCpuMilliseconds(spec.serverPid);
  const databaseCpuBefore = postgresCpuMilliseconds();
  const measured = await runAutocannon(spec, spec.durationSeconds);
  const cpuAfter =
    spec.serverPid === undefined ? undefined : processCpuMilliseconds(spec.serverPid);
  const databaseCpuAfter = postgresCpuMilliseconds();
  const perResponse = (before: number | undefined, after: number | undefined) =>
    before === undefined || after === undefined || measured.count === 0
      ? undefined
      : (after - before) / measured.count;
  return {
    ...summarise(spec.title, measured),
    serverCpuMsPerRequest: perResponse(cpuBefore, cpuAfter),
    databaseCpuMsPerRequest: perResponse(databaseCpuBefore, databaseCpuAfter),
    warmUpFailures:
      warmUp === undefined
        ? 0
        : warmUp.result.non2xx + warmUp.result.errors + warmUp.result.timeouts,
    acknowledged:
      successes(measured.result) + (warmUp === undefined ? 0 : successes(warmUp.result)),
  };
}

function successes(result: AutocannonResult): number {
  return Object.entries(result.statusCodeStats)
    .filter(([status]) => status.startsWith('2'))
    .reduce((sum, [, stats]) => sum + stats.count, 0);
}

interface RawRun {
  result: AutocannonResult;
  latencies: Float64Array;
  count: number;
}

async function runAutocannon(spec: LoadSpec, durationSeconds: number): Promise<RawRun> {
  const first = spec.makeRequest();
  const instance = autocannon({
    url: spec.baseUrl,
    title: spec.title,
    connections: spec.connections,
    duration: durationSeconds,
    timeout: 10,
    ...(spec.overallRate === undefined ? {} : { overallRate: spec.overallRate }),
    requests: [
      {
        method: spec.method,
        path: spec.path,
        headers: first.headers,
        ...(first.body === undefined ? {} : { body: first.body }),
        setupRequest: (request: AutocannonRequest): AutocannonRequest => {
          const next = spec.makeRequest();
          return {
            ...request,
            headers: { ...next.headers },
            ...(next.body === undefined ? {} : { body: next.body }),
          };
        },
      },
    ],
  });
  let latencies = new Float64Array(1 << 16);
  let count = 0;
  instance.on('response', (_client, _statusCode, _bytes, responseTime) => {
    if (count === latencies.length) {
      const grown = new Float64Array(latencies.length * 2);
      grown.set(latencies);
      latencies = grown;
    }
    latencies[count] = responseTime;
    count += 1;
  });
  const result = await instance;
  return { result, latencies, count };
}

function summarise(
  title: string,
  run: RawRun,
): Omit<
  LoadResult,
  'warmUpFailures' | 'acknowledged' | 'serverCpuMsPerRequest' | 'databaseCpuMsPerRequest'
> {
  const sorted = run.latencies.slice(0, run.count).sort();
  const { result } = run;
  const statusCodes = Object.fromEntries(
    Object.entries(result.statusCodeStats).map(([status, stats]) => [status, stats.count]),
  );
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    title,
    responses: run.count,
    requestsPerSecond: run.count / result.duration,
    latencyMs: {
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
      p99: percentile(sorted, 99),
      max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN),
      mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
    },
    autocannonP99Ms: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    durationSeconds: result.duration,
  };
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: Float64Array, rank: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(
    sorted.length - 1,
    Math.max(0, Math.ceil((rank / 100) * sorted.length) - 1),
  );
  return sorted[index] ?? Number.NaN;
}
