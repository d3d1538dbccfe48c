import type { Run } from '@cronfleet/core/contract';
import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { durationText } from '../format/durationText.js';

/**
 * The duration of a job's runs over time, one series per agent (uPlot, on a canvas). Only runs
 * with a start and a duration are drawn. A canvas says nothing to a screen reader: the job page
 * lists the same runs in a table.
 */
const seriesColors = ['--info', '--good', '--warn', '--bad', '--neutral', '--bad-2'];

interface Lanes {
  agents: string[];
  data: uPlot.AlignedData;
  /** The time axis in seconds: the first run to now, at least an hour (uPlot would otherwise
   * stretch a single run over years). */
  xRange: [number, number];
}

function lanes(runs: readonly Run[], now: number): Lanes {
  const timed = runs
    .filter((run) => run.startedAt !== null && run.durationMs !== null)
    .sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!));
  const agents = [...new Set(timed.map((run) => run.agentName))].sort();
  const x = timed.map((run) => Date.parse(run.startedAt!) / 1000);
  const ys = agents.map((agent) =>
    timed.map((run) => (run.agentName === agent ? run.durationMs! / 1000 : null)),
  );
  const last = Math.max(now / 1000, ...x);
  const first = Math.min(last - 3600, ...x);
  const pad = (last - first) * 0.02;
  return { agents, data: [x, ...ys], xRange: [first - pad, last + pad] };
}

export function RunDurationChart(props: { runs: readonly Run[]; now: number }) {
  const container = useRef<HTMLDivElement>(null);
  const { runs, now } = props;
  // To the minute: a re-render does not redraw the chart unless its runs or the minute changed.
  const minute = Math.ceil(now / 60_000) * 60_000;
  const { agents, data, xRange } = useMemo(() => lanes(runs, minute), [runs, minute]);
  useEffect(() => {
    const element = container.current;
    if (element === null || data[0].length === 0) return;
    const style = getComputedStyle(element);
    const color = (name: string) => style.getPropertyValue(name).trim() || '#888';
    const axisColor = color('--text-muted');
    const plot = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: 200,
        legend: { show: false },
        cursor: { show: false },
        scales: {
          x: { time: true, range: () => xRange },
          y: { range: (_plot, _min, max) => [0, Math.max(max * 1.1, 1)] },
        },
        series: [
          {},
          ...agents.map((agent, index): uPlot.Series => ({
            label: agent,
            stroke: color(seriesColors[index % seriesColors.length]!),
            width: 1.5,
            spanGaps: true,
            points: { show: true, size: 6 },
          })),
        ],
        axes: [
          { stroke: axisColor, grid: { show: false }, ticks: { stroke: axisColor } },
          {
            stroke: axisColor,
            grid: { stroke: color('--border') },
            ticks: { show: false },
            size: 60,
            values: (_plot, splits) => splits.map((seconds) => durationText(seconds * 1000)),
          },
        ],
      },
      data,
      element,
    );
    const observer = new ResizeObserver(() => {
      plot.setSize({ width: Math.max(element.clientWidth, 200), height: 200 });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [agents, data, xRange]);

  if (data[0].length === 0) {
    return <p className="empty">No finished run with a duration yet.</p>;
  }
  return (
    <figure className="chart">
      <div ref={container} className="chart-canvas duration-canvas" aria-hidden="true" />
      <figcaption>
        <ul className="legend">
          {agents.map((agent, index) => (
            <li key={agent}>
              <span
                className="swatch"
                style={{ background: `var(${seriesColors[index % seriesColors.length]})` }}
              />{' '}
              {agent}
            </li>
          ))}
        </ul>
      </figcaption>
    </figure>
  );
}
