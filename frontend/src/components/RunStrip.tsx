import type { JobRecentRun, RunStatus } from '@cronfleet/core/contract';
import { Link } from 'react-router';
import { utcTimeText } from '../format/timeText.js';

/**
 * A job's last runs as a strip of small squares, oldest on the left and newest on the right (the
 * API gives them newest first). The whole strip is one link to the job's runs, so a table of
 * 10,000 jobs does not get 20 more tab stops per row; its label counts the runs by status, each
 * square's title gives its status and UTC time.
 */
const statusWord: Record<RunStatus, string> = {
  succeeded: 'succeeded',
  running: 'running',
  failed: 'failed',
  timed_out: 'timed out',
  lost: 'lost',
  skipped: 'skipped',
};

export function runStripLabel(runs: readonly JobRecentRun[]): string {
  if (runs.length === 0) return 'no runs yet';
  const counts = new Map<RunStatus, number>();
  for (const run of runs) counts.set(run.status, (counts.get(run.status) ?? 0) + 1);
  const parts = [...counts].map(([status, count]) => `${count} ${statusWord[status]}`);
  return `last ${runs.length} runs: ${parts.join(', ')}; newest ${statusWord[runs[0]!.status]}`;
}

export function RunStrip(props: { runs: readonly JobRecentRun[]; to: string; jobRef: string }) {
  const { runs, to, jobRef } = props;
  if (runs.length === 0) return <span className="muted small">no runs yet</span>;
  return (
    <Link to={to} className="run-strip" aria-label={`${jobRef}, ${runStripLabel(runs)}`}>
      {[...runs].reverse().map((run) => (
        <span
          key={run.runId}
          className={`run-strip-cell status-${run.status}`}
          title={`${statusWord[run.status]} · ${utcTimeText(run.startedAt)}`}
        />
      ))}
    </Link>
  );
}
