/**
 * The targets of the dashboard benchmark and the table printed at the end of
 * `npm run bench -w frontend`. A missed target is a measurement, not a failure; an error is.
 */
import type { MeasuredPage } from './frontendBenchConfig.js';
import type { InitialJavaScript } from './initialJavaScript.js';
import type { PageLoad } from './pageLoadBenchmark.js';

export const frontendBenchmarkTargets = {
  /** The jobs page (10,000 jobs) and the runs page (1,000,000 runs): interactive within. */
  interactiveMs: 1000,
  /** The JavaScript the index page loads before any lazy chunk, gzipped, in kB: under. */
  initialJavaScriptGzipKb: 250,
} as const;

export interface FrontendBenchRow {
  label: string;
  measured: string;
  target: string;
  /** Undefined: no target (a reference figure). */
  met?: boolean;
  /** The figure ÷ the empty page's same figure, e.g. `6.2×`. */
  ratio: string;
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((x, y) => x - y);
  if (sorted.length === 0) return Number.NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

const pageLabels: Record<MeasuredPage, (scale: { jobs: number; runs: number }) => string> = {
  empty: () => 'empty page (404, no data fetch)',
  jobs: (scale) => `jobs page, ${whole(scale.jobs)} jobs`,
  runs: (scale) => `runs page, ${whole(scale.runs)} runs`,
};

/** The rows of the table: per page its warm median and its cold load, then the JavaScript. */
export function frontendBenchRows(
  loads: readonly PageLoad[],
  javaScript: InitialJavaScript | undefined,
  scale: { jobs: number; runs: number },
): FrontendBenchRow[] {
  const rows: FrontendBenchRow[] = [];
  const figure = (page: MeasuredPage, cold: boolean) =>
    median(
      loads.filter((load) => load.page === page && load.cold === cold).map((l) => l.interactiveMs),
    );
  for (const page of ['jobs', 'runs', 'empty'] as const) {
    for (const cold of [false, true]) {
      const count = loads.filter((load) => load.page === page && load.cold === cold).length;
      if (count === 0) continue;
      const value = figure(page, cold);
      const reference = figure('empty', cold);
      const judged = page !== 'empty' && !cold;
      rows.push({
        label: `${pageLabels[page](scale)}: interactive, ${cold ? 'cold' : `warm (median of ${count})`}`,
        measured: ms(value),
        target: judged ? `< ${whole(frontendBenchmarkTargets.interactiveMs)} ms` : '',
        ...(judged ? { met: value < frontendBenchmarkTargets.interactiveMs } : {}),
        ratio:
          page === 'empty' || !Number.isFinite(reference)
            ? ''
            : `${(value / reference).toFixed(1)}×`,
      });
    }
  }
  if (javaScript !== undefined) {
    const kb = javaScript.gzipBytes / 1000;
    rows.push({
      label: `initial JavaScript, gzipped (${javaScript.scripts.length} file${javaScript.scripts.length === 1 ? '' : 's'})`,
      measured: `${kb.toFixed(1)} kB (${(javaScript.bytes / 1000).toFixed(1)} kB raw)`,
      target: `< ${frontendBenchmarkTargets.initialJavaScriptGzipKb} kB`,
      met: kb < frontendBenchmarkTargets.initialJavaScriptGzipKb,
      ratio: '',
    });
  }
  return rows;
}

export function formatFrontendReport(rows: readonly FrontendBenchRow[]): string {
  const header = ['measurement', 'measured', 'target', 'result', 'vs empty page'];
  const cells = rows.map((row) => [
    row.label,
    row.measured,
    row.target,
    row.met === undefined ? '' : row.met ? 'met' : 'MISSED',
    row.ratio,
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]?.length ?? 0)),
  );
  const format = (line: readonly string[]) =>
    line
      .map((cell, column) =>
        column === 1 ? cell.padStart(widths[column] ?? 0) : cell.padEnd(widths[column] ?? 0),
      )
      .join('  ')
      .trimEnd();
  return [
    format(header),
    widths.map((width) => '-'.repeat(width)).join('  '),
    ...cells.map(format),
  ].join('\n');
}

/**
 * Every load of a page, and where the median warm load's time went: the JavaScript run
 * (DOMContentLoaded), the page's API call (start → response end, body size), rows painted,
 * interactive.
 */
export function formatLoadDetails(loads: readonly PageLoad[]): string {
  const lines: string[] = [];
  for (const page of ['jobs', 'runs', 'empty'] as const) {
    const ofPage = loads.filter((load) => load.page === page);
    if (ofPage.length === 0) continue;
    const warm = ofPage.filter((load) => !load.cold);
    const cold = ofPage.filter((load) => load.cold);
    const list = (items: readonly PageLoad[]) =>
      items.map((load) => whole(load.interactiveMs)).join(', ');
    lines.push(
      `${page}: interactive (ms) warm ${list(warm) || '—'}; cold ${list(cold) || '—'}`,
      ...[...warm, ...cold]
        .filter((load) => load === middleLoad(warm) || load.cold)
        .map((load) => `  ${load.cold ? 'cold' : 'median warm'} load: ${breakdown(load)}`),
    );
  }
  return lines.join('\n');
}

function middleLoad(loads: readonly PageLoad[]): PageLoad | undefined {
  const sorted = [...loads].sort((x, y) => x.interactiveMs - y.interactiveMs);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

function breakdown(load: PageLoad): string {
  const parts = [
    `HTML ${whole(load.documentEndMs)}`,
    `scripts ${whole(load.scriptsEndMs)} (${load.scriptsTransferBytes === 0 ? 'from the cache' : `${(load.scriptsTransferBytes / 1000).toFixed(0)} kB fetched`})`,
    `DOMContentLoaded ${whole(load.domContentLoadedMs)}`,
  ];
  if (load.apiStartMs !== undefined && load.apiEndMs !== undefined) {
    parts.push(
      `API ${whole(load.apiStartMs)} → ${whole(load.apiEndMs)} (${whole(load.apiEndMs - load.apiStartMs)} ms, ${((load.apiBytes ?? 0) / 1000).toFixed(0)} kB)`,
    );
  }
  parts.push(`rows painted ${whole(load.readyMs)}`, `interactive ${whole(load.interactiveMs)}`);
  return `${parts.join(', ')} ms from navigation start`;
}

export function whole(value: number): string {
  return Number.isFinite(value) ? Math.round(value).toLocaleString('en-US') : '—';
}

function ms(value: number): string {
  return Number.isFinite(value) ? `${whole(value)} ms` : '—';
}
