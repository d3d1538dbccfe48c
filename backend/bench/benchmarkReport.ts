/**
 * The targets of issue 3 §5 and the table printed at the end of `npm run bench -w backend`.
 * A missed target is a measurement, not a failure; an error (a non-2xx response, a connection
 * error, a measurement that could not run) is.
 */
import type { LoadResult } from './loadRun.js';

export const benchmarkTargets = {
  /** (b) requests/s at least this share of (a)'s. */
  checkInShareOfCeiling: 0.6,
  /** (b) at a fixed 500 requests/s: p99 below this. */
  fixedRate: 500,
  fixedRateP99Ms: 50,
  /** (c) check-ins/s at least. */
  batchCheckInsPerSecond: 15_000,
  /** (d) p95 below this. */
  runsPageP95Ms: 30,
  /** (e) heartbeats/s at least. */
  heartbeatsPerSecond: 2_000,
} as const;

export type MeasurementId = 'a' | 'b' | 'b@500' | 'c' | 'd' | 'e';

export interface Measurement {
  id: MeasurementId;
  label: string;
  /** Check-ins (or other items) per request, for items/s. */
  itemsPerRequest: number;
  result?: LoadResult;
  /** Why it did not run (route missing, probe failed, …). */
  skipped?: string;
  /** The machine's 1-minute load average when the run began: other work skews the figures. */
  loadAverage?: number;
  /** Every round of a measurement taken in rounds, in order; `result` is the median one. */
  rounds?: LoadResult[];
}

const median = (values: readonly number[]) => {
  const sorted = [...values].sort((x, y) => x - y);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? Number.NaN;
};

/**
 * One measurement out of its rounds: the round with the median requests/s stands for it (its
 * latencies and CPU figures with it), and every round is kept for the (b)/(a) ratio.
 */
export function combineRounds(rounds: readonly Measurement[]): Measurement {
  const [first] = rounds;
  if (first === undefined) throw new Error('no rounds to combine');
  const skipped = rounds.find((round) => round.skipped !== undefined);
  if (skipped !== undefined) return skipped;
  const results = rounds.flatMap((round) => (round.result === undefined ? [] : [round.result]));
  const middle = median(results.map((result) => result.requestsPerSecond));
  const index = results.findIndex((result) => result.requestsPerSecond === middle);
  return {
    ...first,
    result: results[index],
    loadAverage: Math.max(...rounds.map((round) => round.loadAverage ?? 0)),
    rounds: results,
  };
}

/**
 * (b)/(a): the median of the per-round ratios when both were measured in alternating rounds
 * (each pair side by side, so the machine's drift cancels out), else the ratio of the two runs.
 */
export function checkInShareOfCeiling(
  measurements: readonly Measurement[],
): { ratio: number; pairs: [number, number][] } | undefined {
  const a = measurements.find((measurement) => measurement.id === 'a');
  const b = measurements.find((measurement) => measurement.id === 'b');
  if (a?.result === undefined || b?.result === undefined) return undefined;
  const aRounds = a.rounds ?? [a.result];
  const bRounds = b.rounds ?? [b.result];
  const pairs = aRounds.flatMap((aRound, index): [number, number][] => {
    const bRound = bRounds[index];
    return bRound === undefined ? [] : [[bRound.requestsPerSecond, aRound.requestsPerSecond]];
  });
  return { ratio: median(pairs.map(([bRate, aRate]) => bRate / aRate)), pairs };
}

export interface TargetOutcome {
  id: MeasurementId;
  target: string;
  actual: string;
  /** undefined: not measured. */
  pass: boolean | undefined;
}

function measured(measurements: readonly Measurement[], id: MeasurementId): LoadResult | undefined {
  return measurements.find((measurement) => measurement.id === id)?.result;
}

/** The p99 a fixed-rate run is judged by: the worse of the exact one and autocannon's corrected one. */
export function fixedRateP99(result: LoadResult): number {
  return Math.max(result.latencyMs.p99, result.autocannonP99Ms);
}

export function evaluateTargets(measurements: readonly Measurement[]): TargetOutcome[] {
  const t = benchmarkTargets;
  const ratio = checkInShareOfCeiling(measurements)?.ratio;
  const b500 = measured(measurements, 'b@500');
  const c = measured(measurements, 'c');
  const d = measured(measurements, 'd');
  const e = measured(measurements, 'e');
  const batchItems =
    measurements.find((measurement) => measurement.id === 'c')?.itemsPerRequest ?? 1;
  return [
    {
      id: 'b',
      target: `≥ ${percent(t.checkInShareOfCeiling)} of (a) req/s`,
      actual: ratio === undefined ? 'not measured' : `${percent(ratio)} of (a)`,
      pass: ratio === undefined ? undefined : ratio >= t.checkInShareOfCeiling,
    },
    {
      id: 'b@500',
      target: `p99 < ${t.fixedRateP99Ms} ms at ${t.fixedRate} req/s`,
      actual:
        b500 === undefined
          ? 'not measured'
          : `p99 ${ms(fixedRateP99(b500))} at ${whole(b500.requestsPerSecond)} req/s`,
      pass: b500 === undefined ? undefined : fixedRateP99(b500) < t.fixedRateP99Ms,
    },
    {
      id: 'c',
      target: `≥ ${whole(t.batchCheckInsPerSecond)} check-ins/s`,
      actual:
        c === undefined ? 'not measured' : `${whole(c.requestsPerSecond * batchItems)} check-ins/s`,
      pass:
        c === undefined ? undefined : c.requestsPerSecond * batchItems >= t.batchCheckInsPerSecond,
    },
    {
      id: 'd',
      target: `p95 < ${t.runsPageP95Ms} ms`,
      actual: d === undefined ? 'not measured' : `p95 ${ms(d.latencyMs.p95)}`,
      pass: d === undefined ? undefined : d.latencyMs.p95 < t.runsPageP95Ms,
    },
    {
      id: 'e',
      target: `≥ ${whole(t.heartbeatsPerSecond)} heartbeats/s`,
      actual: e === undefined ? 'not measured' : `${whole(e.requestsPerSecond)} heartbeats/s`,
      pass: e === undefined ? undefined : e.requestsPerSecond >= t.heartbeatsPerSecond,
    },
  ];
}

/** Problems that make the run an error: non-2xx responses, connection errors, timeouts, skips. */
export function measurementErrors(measurements: readonly Measurement[]): string[] {
  const problems: string[] = [];
  for (const measurement of measurements) {
    const name = `(${measurement.id}) ${measurement.label}`;
    if (measurement.skipped !== undefined) {
      problems.push(`${name}: not measured: ${measurement.skipped}`);
      continue;
    }
    const result = measurement.result;
    if (result === undefined) continue;
    if (result.non2xx > 0) {
      problems.push(
        `${name}: ${result.non2xx} non-2xx responses (status counts ${JSON.stringify(result.statusCodes)})`,
      );
    }
    if (result.errors > 0 || result.timeouts > 0) {
      problems.push(`${name}: ${result.errors} connection errors, ${result.timeouts} timeouts`);
    }
    if (result.warmUpFailures > 0) {
      problems.push(`${name}: ${result.warmUpFailures} failed requests during the warm-up`);
    }
  }
  return problems;
}

export function formatReport(measurements: readonly Measurement[]): string {
  const header = [
    '',
    'benchmark',
    'req/s',
    'items/s',
    'p50',
    'p95',
    'p99',
    'max',
    'server CPU/req',
    'db CPU/req',
    'failed',
    'load',
  ];
  const rows = measurements.map((measurement) => {
    const result = measurement.result;
    if (result === undefined) {
      return [
        `(${measurement.id})`,
        measurement.label,
        '—',
        '—',
        '—',
        '—',
        '—',
        '—',
        '—',
        '—',
        'skipped',
        '',
      ];
    }
    const p99 = measurement.id === 'b@500' ? fixedRateP99(result) : result.latencyMs.p99;
    return [
      `(${measurement.id})`,
      measurement.label,
      whole(result.requestsPerSecond),
      measurement.itemsPerRequest > 1
        ? whole(result.requestsPerSecond * measurement.itemsPerRequest)
        : '',
      ms(result.latencyMs.p50),
      ms(result.latencyMs.p95),
      ms(p99),
      ms(result.latencyMs.max),
      result.serverCpuMsPerRequest === undefined ? '—' : ms(result.serverCpuMsPerRequest),
      result.databaseCpuMsPerRequest === undefined ? '—' : ms(result.databaseCpuMsPerRequest),
      String(result.non2xx + result.errors + result.timeouts),
      measurement.loadAverage === undefined ? '' : measurement.loadAverage.toFixed(1),
    ];
  });
  const outcomes = evaluateTargets(measurements);
  const targetRows = outcomes.map((outcome) => [
    `(${outcome.id})`,
    outcome.target,
    outcome.actual,
    outcome.pass === undefined ? 'NOT MEASURED' : outcome.pass ? 'pass' : 'MISS',
  ]);
  const share = checkInShareOfCeiling(measurements);
  const pairText = ([bRate, aRate]: [number, number]) =>
    `${whole(bRate)} / ${whole(aRate)} = ${(bRate / aRate).toFixed(2)}`;
  const ratioLine =
    share === undefined
      ? '(b)/(a): not measured'
      : share.pairs.length === 1
        ? `(b)/(a): ${pairText(share.pairs[0] as [number, number])} req/s`
        : `(b)/(a): ${share.ratio.toFixed(2)}, the median of ${share.pairs.length} rounds measured side by side (req/s): ${share.pairs.map(pairText).join('; ')}`;
  return [
    table(header, rows),
    '',
    'Targets (issue 3 §5):',
    table(['', 'target', 'measured', 'result'], targetRows),
    '',
    ratioLine,
  ].join('\n');
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((cell, column) =>
    Math.max(cell.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: string[]) =>
    cells
      .map((cell, column) =>
        column <= 1 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [line(header), line(widths.map((width) => '-'.repeat(width))), ...rows.map(line)].join(
    '\n',
  );
}

function whole(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}

function ms(value: number): string {
  return Number.isFinite(value) ? `${value.toFixed(value < 10 ? 2 : 1)} ms` : '—';
}

function percent(value: number): string {
  return `${Math.round(value * 100)}%`;
}
