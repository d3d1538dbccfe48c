import type { Run, RunStatus } from '@cronfleet/core/contract';
import { useNavigate } from 'react-router';
import { localTimeText, utcTimeText } from '../format/timeText.js';

/**
 * A job's runs across its instances: one lane per agent, each run a mark at its start time
 * (failed, timed-out and lost runs are taller, so the colour is not the only sign). Drawn in SVG
 * for the eye and hidden from screen readers; the job page's runs table says the same with
 * links, and clicking a mark opens its run.
 */
const laneHeight = 28;
const problem: ReadonlySet<RunStatus> = new Set(['failed', 'timed_out', 'lost']);

export function RunTimeline(props: { runs: readonly Run[]; now: number }) {
  const navigate = useNavigate();
  const runs = props.runs.filter((run) => run.startedAt !== null || run.finishedAt !== null);
  if (runs.length === 0) return <p className="empty">No runs yet.</p>;
  const at = (run: Run) => Date.parse(run.startedAt ?? run.finishedAt!);
  const agents = [...new Set(runs.map((run) => run.agentName))].sort();
  // At least the last hour, as the duration chart below, so both read on the same axis.
  const end = Math.max(props.now, ...runs.map(at));
  const start = Math.min(end - 3_600_000, ...runs.map(at));
  const span = end - start;
  // Percentages keep the marks in place at any width without stretching text.
  const x = (time: number) => `${(1 + ((time - start) / span) * 98).toFixed(3)}%`;
  return (
    <figure className="chart timeline" aria-hidden="true">
      {agents.map((agent) => (
        <div key={agent} className="timeline-row">
          <span className="timeline-agent" title={agent}>
            {agent}
          </span>
          <svg className="timeline-svg" height={laneHeight}>
            <line
              x1="0"
              x2="100%"
              y1={laneHeight / 2}
              y2={laneHeight / 2}
              className="timeline-lane"
            />
            {runs
              .filter((run) => run.agentName === agent)
              .map((run) => {
                const tall = problem.has(run.status);
                return (
                  <rect
                    key={run.runId}
                    x={x(at(run))}
                    y={tall ? 3 : 7}
                    width={4}
                    height={tall ? laneHeight - 6 : laneHeight - 14}
                    className={`timeline-mark status-${run.status}`}
                    onClick={() => void navigate(`/runs/${run.runId}`)}
                  >
                    <title>{`${run.status.replace('_', ' ')} · ${utcTimeText(run.startedAt ?? run.finishedAt!)}`}</title>
                  </rect>
                );
              })}
          </svg>
        </div>
      ))}
      <div className="timeline-row timeline-axis muted small">
        <span />
        <span>
          <span>{localTimeText(new Date(start).toISOString())}</span>
          <span>now</span>
        </span>
      </div>
    </figure>
  );
}
