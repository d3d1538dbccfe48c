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
}

function lanes(runs: readonly Run[]): Lanes {
  const timed = runs
    .filter((run) => run.startedAt !== null && run.durationMs !== null)
    .sort((a, b) => Date.parse(a.startedAt!) - Date.parse(b.startedAt!));
  const agents = [...new Set(timed.map((run) => run.agentName))].sort();
  const x = timed.map((run) => Date.parse(run.startedAt!) / 1000);
  const ys = agents.map((agent) =>
    timed.map((run) => (run.agentName === agent ? run.durationMs! / 1000 : null)),
  );
  return { agents, data: [x, ...ys] };
}

export function RunDurationChart(props: { runs: readonly Run[] }) {
  const container = useRef<HTMLDivElement>(null);
  const { agents, data } = useMemo(() => lanes(props.runs), [props.runs]);
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
          x: { time: true },
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
  }, [agents, data]);

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
