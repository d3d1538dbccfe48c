import { useQuery } from '@tanstack/react-query';
import { Link, useParams, useSearchParams } from 'react-router';
import { callApi, DashboardApiError } from '../api/apiCall.js';
import { useRefreshInterval } from '../api/liveUpdates.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { RunStatusBadge } from '../components/StatusBadges.js';
import { TimeText } from '../components/TimeText.js';
import { durationText } from '../format/durationText.js';
import { jobPath } from './JobsPage.js';
import { usePageTitle } from './usePageTitle.js';

/**
 * One run: what happened, when, and its output's head and tail. The output is a job's bytes, so
 * it is only ever a text node inside <pre> (React escapes it): `<script>` in a job's output is
 * shown, never run.
 */
export function RunPage() {
  const { runId = '' } = useParams();
  usePageTitle('Run');
  const refreshInterval = useRefreshInterval('run');
  // Opened from "Run now": the run exists only once the agent's first check-in arrives (after
  // its next heartbeat), so a 404 means "not yet" and the page asks again every 5 s.
  const requested = useSearchParams()[0].get('requested') === '1';
  const run = useQuery({
    queryKey: ['run', runId],
    queryFn: ({ signal }) => callApi('getRun', { params: { runId } }, signal),
    // A running run gets its finish soon; a finished one never changes.
    refetchInterval: (query) =>
      query.state.data?.status === 'running'
        ? refreshInterval
        : requested && query.state.data === undefined
          ? 5_000
          : false,
  });
  if (
    requested &&
    run.isError &&
    run.error instanceof DashboardApiError &&
    run.error.status === 404
  ) {
    return (
      <>
        <h1>Requested run</h1>
        <p className="notice" role="status">
          Waiting for the agent: it starts the run at its next heartbeat and reports it here (this
          page checks every 5 s). A request no heartbeat picked up within 10 minutes is dropped.
        </p>
        <p>
          <code>{runId}</code> · <Link to="/runs">All runs</Link>
        </p>
      </>
    );
  }
  if (run.isPending) return <p className="loading">Loading the run…</p>;
  if (run.isError) {
    return (
      <>
        <h1>Run</h1>
        <ErrorMessage error={run.error} title="Could not load the run" />
        <p>
          <Link to="/runs">All runs</Link>
        </p>
      </>
    );
  }
  const r = run.data;
  const ref = `${r.namespace}/${r.name}`;
  return (
    <>
      <div className="page-head">
        <h1>
          Run of {ref} <RunStatusBadge status={r.status} />
        </h1>
        <p>
          <Link to={jobPath(r.namespace, r.name)}>Job {ref}</Link> ·{' '}
          <Link to={`/runs?job=${encodeURIComponent(ref)}`}>Other runs of {ref}</Link>
        </p>
      </div>
      <section className="card" aria-labelledby="run-facts">
        <h2 id="run-facts" className="visually-hidden">
          Facts
        </h2>
        <dl className="facts">
          <div>
            <dt>Status</dt>
            <dd data-testid="run-status">{r.status.replace('_', ' ')}</dd>
          </div>
          <div>
            <dt>{r.signal === null ? 'Exit code' : 'Signal'}</dt>
            <dd>{r.signal ?? r.exitCode ?? '—'}</dd>
          </div>
          <div>
            <dt>Attempt</dt>
            <dd>{r.attempt}</dd>
          </div>
          <div>
            <dt>Trigger</dt>
            <dd>{r.trigger}</dd>
          </div>
          <div>
            <dt>Agent</dt>
            <dd>
              <Link to={`/agents/${r.agentId}`}>{r.agentName}</Link>{' '}
              <Link to={`/runs?agentId=${r.agentId}`} className="small">
                (its runs)
              </Link>
            </dd>
          </div>
          <div>
            <dt>Scheduled</dt>
            <dd>
              <TimeText iso={r.scheduledAt} empty="not scheduled" />
            </dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>
              <TimeText iso={r.startedAt} />
            </dd>
          </div>
          <div>
            <dt>Finished</dt>
            <dd>
              <TimeText iso={r.finishedAt} empty={r.status === 'running' ? 'still running' : '—'} />
            </dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd>{durationText(r.durationMs)}</dd>
          </div>
          <div>
            <dt>Revision</dt>
            <dd>
              <code title={r.revision}>{r.revision.slice(0, 12)}</code>
            </dd>
          </div>
          {r.reason === null ? null : (
            <div className="wide">
              <dt>Reason</dt>
              <dd>{r.reason}</dd>
            </div>
          )}
          <div className="wide">
            <dt>Run id</dt>
            <dd>
              <code>{r.runId}</code>
            </dd>
          </div>
        </dl>
      </section>
      <section aria-labelledby="output-heading">
        <h2 id="output-heading">Output</h2>
        {r.outputHead === '' && r.outputTail === '' ? (
          <p className="empty">The run printed nothing{r.status === 'running' ? ' yet' : ''}.</p>
        ) : (
          <>
            <pre className="output" data-testid="output-head" tabIndex={0} aria-label="Output head">
              {r.outputHead}
            </pre>
            {r.outputTruncated ? (
              <p className="truncated" role="note">
                ✂ Output truncated: the middle was not kept (the job&apos;s{' '}
                <code>output.maxBytes</code>); the head is above, the tail below.
              </p>
            ) : null}
            {r.outputTail === '' ? null : (
              <pre
                className="output"
                data-testid="output-tail"
                tabIndex={0}
                aria-label="Output tail"
              >
                {r.outputTail}
              </pre>
            )}
          </>
        )}
      </section>
    </>
  );
}
