import type { RunStatus, RunsPerHour } from '@cronfleet/core/contract';
import { useEffect, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { hourText, utcTimeText } from '../format/timeText.js';

/**
 * Runs per hour over 24 hours, stacked by outcome, drawn by uPlot on a canvas. A canvas says
 * nothing to a screen reader, so the same numbers follow in a table (visually hidden unless
 * opened), which is also what the browser tests read.
 */
const stackOrder: { status: RunStatus; label: string; colorVar: string }[] = [
  { status: 'succeeded', label: 'succeeded', colorVar: '--good' },
  { status: 'running', label: 'running', colorVar: '--info' },
  { status: 'skipped', label: 'skipped', colorVar: '--neutral' },
  { status: 'lost', label: 'lost', colorVar: '--warn' },
  { status: 'timed_out', label: 'timed out', colorVar: '--bad-2' },
  { status: 'failed', label: 'failed', colorVar: '--bad' },
];

function stacked(hours: readonly RunsPerHour[]): uPlot.AlignedData {
  const x = hours.map((hour) => Date.parse(hour.hourStart) / 1000);
  const cumulative = hours.map(() => 0);
  const layers: number[][] = [];
  for (const { status } of stackOrder) {
    hours.forEach((hour, index) => {
      cumulative[index] = (cumulative[index] ?? 0) + (hour.counts[status] ?? 0);
    });
    layers.push([...cumulative]);
  }
  // Drawn from the highest layer down, each bar from zero: the result looks stacked.
  return [x, ...layers.reverse()];
}

export function RunsPerHourChart(props: { hours: readonly RunsPerHour[] }) {
  const container = useRef<HTMLDivElement>(null);
  const { hours } = props;
  useEffect(() => {
    const element = container.current;
    if (element === null) return;
    const style = getComputedStyle(element);
    const color = (name: string) => style.getPropertyValue(name).trim() || '#888';
    const bars = uPlot.paths.bars?.({ size: [0.8, 40] });
    const series: uPlot.Series[] = [
      {
        label: 'hour',
        value: (_plot, value) => (value === null ? '' : hourText(new Date(value * 1000))),
      },
      ...[...stackOrder].reverse().map(({ label, colorVar }): uPlot.Series => ({
        label,
        fill: color(colorVar),
        stroke: color(colorVar),
        width: 0,
        ...(bars === undefined ? {} : { paths: bars }),
        points: { show: false },
      })),
    ];
    const axisColor = color('--text-muted');
    const plot = new uPlot(
      {
        width: Math.max(element.clientWidth, 200),
        height: 220,
        series,
        legend: { show: false },
        cursor: { show: false },
        scales: { x: { time: true }, y: { range: (_plot, _min, max) => [0, Math.max(max, 4)] } },
        axes: [
          { stroke: axisColor, grid: { show: false }, ticks: { stroke: axisColor } },
          {
            stroke: axisColor,
            grid: { stroke: color('--border') },
            ticks: { show: false },
            size: 40,
          },
        ],
      },
      stacked(hours),
      element,
    );
    const observer = new ResizeObserver(() => {
      plot.setSize({ width: Math.max(element.clientWidth, 200), height: 220 });
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      plot.destroy();
    };
  }, [hours]);

  return (
    <figure className="chart">
      <div ref={container} className="chart-canvas" aria-hidden="true" />
      <figcaption>
        <ul className="legend">
          {stackOrder.map(({ status, label, colorVar }) => (
            <li key={status}>
              <span className="swatch" style={{ background: `var(${colorVar})` }} /> {label}
            </li>
          ))}
        </ul>
      </figcaption>
      <details>
        <summary>The runs per hour as a table</summary>
        <div className="table-scroll">
          <table className="compact" aria-label="Runs per hour">
            <thead>
              <tr>
                <th scope="col">Hour</th>
                {stackOrder.map(({ status, label }) => (
                  <th scope="col" key={status}>
                    {label}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {hours.map((hour) => (
                <tr key={hour.hourStart}>
                  <th scope="row" title={utcTimeText(hour.hourStart)}>
                    {hourText(new Date(hour.hourStart))}
                  </th>
                  {stackOrder.map(({ status }) => (
                    <td key={status}>{hour.counts[status] ?? 0}</td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
