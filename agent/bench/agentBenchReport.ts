/**
 * The table printed at the end of `npm run bench -w agent`: one row per measurement, with its
 * target and whether it was met. A missed target is a measurement, not a failure; an error is.
 */

export const agentBenchmarkTargets = {
  /** The sender draining a 100,000-check-in spool: check-ins/s at least. */
  drainCheckInsPerSecond: 10_000,
  /** Added latency of the run wrapper per run, in ms: at most. */
  wrapperAddedMs: 150,
  /** The wrapper's resident set, in MiB: at most. */
  wrapperRssMiB: 60,
  /** A tick with nothing changed: the agent's own CPU besides git, in ms: under. */
  noChangeTickCpuMs: 50,
  /** The daemon's resident set after 10 minutes idle, in MB (10^6 bytes, as the issue says): under. */
  idleRssMB: 80,
  /** First apply: 1,000 jobs under 1 s, 10,000 under 8 s (in between, linear). */
  firstApplyMsPerThousandJobs: (jobs: number): number =>
    jobs <= 1000 ? 1000 : 1000 + ((jobs - 1000) * 7000) / 9000,
};

export interface AgentBenchRow {
  /** What was measured, e.g. `spool drain (100,000 check-ins)`. */
  label: string;
  /** The figure, formatted, e.g. `23,456 check-ins/s`. */
  actual: string;
  /** The target, formatted, e.g. `≥ 10,000 check-ins/s`; empty when there is none. */
  target: string;
  /** Undefined when there is no target. */
  met?: boolean;
  /** Details shown under the table. */
  notes?: string[];
}

export function whole(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

export function formatAgentReport(rows: readonly AgentBenchRow[]): string {
  const header = ['measurement', 'result', 'target', ''];
  const cells = rows.map((row) => [
    row.label,
    row.actual,
    row.target,
    row.met === undefined ? '' : row.met ? 'met' : 'MISSED',
  ]);
  const widths = header.map((title, column) =>
    Math.max(title.length, ...cells.map((line) => line[column]?.length ?? 0)),
  );
  const format = (line: readonly string[]) =>
    line
      .map((cell, column) => cell.padEnd(widths[column] ?? 0))
      .join('  ')
      .trimEnd();
  const lines = [format(header), widths.map((width) => '-'.repeat(width)).join('  ')];
  for (const line of cells) lines.push(format(line));
  for (const row of rows) {
    for (const note of row.notes ?? []) lines.push(`  ${row.label}: ${note}`);
  }
  return lines.join('\n');
}
