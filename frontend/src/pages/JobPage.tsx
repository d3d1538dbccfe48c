import type { JobDetail, Run, RunJobResponse } from '@cronfleet/core/contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { useRefreshInterval } from '../api/liveUpdates.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { RunDurationChart } from '../components/RunDurationChart.js';
import { RunStrip } from '../components/RunStrip.js';
import { RunTimeline } from '../components/RunTimeline.js';
import { LabelList } from '../components/LabelList.js';
import { HealthBadge, RunStatusBadge } from '../components/StatusBadges.js';
import { TimeText } from '../components/TimeText.js';
import { durationText, percentText } from '../format/durationText.js';
import { useSession } from '../layout/RequireSession.js';
import { usePageTitle } from './usePageTitle.js';

/**
 * One job (namespace/name) across its instances: its runs as a timeline and a duration chart,
 * the next 10 fire times with daylight-saving notes, each instance with its agent, source and
 * health, its open incidents, and "Run now" for those who may (permission `write`).
 */
const timelineRuns = 200;

export function JobPage() {
  const { namespace = '', name = '' } = useParams();
  const ref = `${namespace}/${name}`;
  usePageTitle(ref);
  const refreshInterval = useRefreshInterval('jobs');
  // Keys under 'jobs' and 'runs', so the live events that refresh those lists refresh these.
  const job = useQuery({
    queryKey: ['jobs', 'detail', namespace, name],
    queryFn: ({ signal }) => callApi('getJob', { params: { namespace, name } }, signal),
    refetchInterval: refreshInterval,
  });
  const runs = useQuery({
    queryKey: ['runs', 'job', ref],
    queryFn: ({ signal }) =>
      callApi('listRuns', { query: { job: ref, limit: timelineRuns } }, signal),
    refetchInterval: refreshInterval,
  });

  if (job.isPending) return <p className="loading">Loading {ref}…</p>;
  if (job.isError) {
    return (
      <>
        <h1>{ref}</h1>
        <ErrorMessage error={job.error} title="Could not load the job" />
        <p>
          <Link to="/jobs">All jobs</Link>
        </p>
      </>
    );
  }
  const j = job.data;
  const now = Date.now();
  const runsLink = `/runs?job=${encodeURIComponent(ref)}`;
  return (
    <>
      <div className="page-head">
        <h1>
          <span className="muted">{j.namespace}/</span>
          {j.name} <HealthBadge health={j.health} />
        </h1>
        <LabelList labels={j.labels} max={20} />
      </div>
      <RunNow job={j} />
      <section className="card" aria-labelledby="job-facts">
        <h2 id="job-facts" className="visually-hidden">
          Summary
        </h2>
        <dl className="facts">
          <div className="wide">
            <dt>Schedule</dt>
            <dd>
              {j.schedules.map((s) => (
                <div key={`${s.schedule} ${s.timezone}`}>
                  <code>{s.schedule}</code>{' '}
                  <span className="muted">{s.timezone ?? "agent's zone"}</span> — {s.description}
                  {j.schedules.length > 1 ? (
                    <span className="text-warn small"> ({s.instances} instances)</span>
                  ) : null}
                </div>
              ))}
            </dd>
          </div>
          <div>
            <dt>Next run</dt>
            <dd>
              <TimeText
                iso={j.nextRunAt}
                relativeTo={now}
                empty={j.suspended ? 'suspended' : '—'}
              />
            </dd>
          </div>
          <div>
            <dt>Last run</dt>
            <dd>
              {j.lastRun === null ? (
                <span className="muted">never</span>
              ) : (
                <Link to={`/runs/${j.lastRun.runId}`}>
                  <RunStatusBadge status={j.lastRun.status} />
                </Link>
              )}
            </dd>
          </div>
          <div>
            <dt>Success 7 d</dt>
            <dd>
              {percentText(j.successRate7d)} <span className="muted">of {j.runs7d}</span>
            </dd>
          </div>
          <div>
            <dt>p50 / p95</dt>
            <dd>
              {durationText(j.p50DurationMs7d)} / {durationText(j.p95DurationMs7d)}
            </dd>
          </div>
          <div>
            <dt>Instances</dt>
            <dd>
              {j.instances}
              {j.suspendedInstances > 0 ? ` (${j.suspendedInstances} suspended)` : ''}
            </dd>
          </div>
          <div>
            <dt>Last 20 runs</dt>
            <dd>
              <RunStrip runs={j.recentRuns} to={runsLink} jobRef={ref} />
            </dd>
          </div>
        </dl>
      </section>

      {j.openIncidents.length === 0 ? null : (
        <section aria-labelledby="job-incidents">
          <h2 id="job-incidents">Open incidents</h2>
          <div className="table-scroll">
            <table>
              <thead>
                <tr>
                  <th scope="col">Kind</th>
                  <th scope="col">Agent</th>
                  <th scope="col">Opened</th>
                  <th scope="col">What happened</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {j.openIncidents.map((incident) => (
                  <tr key={incident.id}>
                    <td>{incident.kind.replace('_', ' ')}</td>
                    <td>{incident.agent.name}</td>
                    <td>
                      <TimeText iso={incident.openedAt} relativeTo={now} />
                    </td>
                    <td className="wrap">
                      {incident.happened}
                      <span className="muted"> (expected: {incident.expected})</span>
                    </td>
                    <td>
                      {incident.acknowledgedAt === null ? 'open' : 'acknowledged'}
                      {incident.silenced ? ' · silenced' : ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </section>
      )}

      <section aria-labelledby="job-runs">
        <div className="section-head">
          <h2 id="job-runs">Runs</h2>
          <Link to={runsLink}>All runs of {ref} with filters →</Link>
        </div>
        {runs.isError ? <ErrorMessage error={runs.error} title="Could not load the runs" /> : null}
        {runs.isPending ? <p className="loading">Loading the runs…</p> : null}
        {runs.data === undefined ? null : (
          <>
            <div className="card">
              <h3 className="small muted">
                Timeline of the last {runs.data.items.length} runs, by agent
              </h3>
              <RunTimeline runs={runs.data.items} now={now} />
              <h3 className="small muted">Duration</h3>
              <RunDurationChart runs={runs.data.items} now={now} />
            </div>
            <JobRunsTable runs={runs.data.items.slice(0, 20)} now={now} />
          </>
        )}
      </section>

      <section aria-labelledby="job-fire-times">
        <h2 id="job-fire-times">Next fire times</h2>
        {j.nextFireTimes.length === 0 ? (
          <p className="empty">
            {j.suspended
              ? 'Every instance is suspended: nothing is scheduled.'
              : 'No upcoming fire time (an @reboot schedule fires only when its server starts).'}
          </p>
        ) : (
          <div className="table-scroll">
            <table aria-label="Next fire times">
              <thead>
                <tr>
                  <th scope="col">When (your zone)</th>
                  <th scope="col">Schedule</th>
                  <th scope="col">Zone</th>
                  <th scope="col">Instances</th>
                  <th scope="col">Daylight saving</th>
                </tr>
              </thead>
              <tbody>
                {j.nextFireTimes.map((fire) => (
                  <tr key={`${fire.at} ${fire.schedule} ${fire.timezone}`}>
                    <td>
                      <TimeText iso={fire.at} relativeTo={now} />
                    </td>
                    <td>
                      <code>{fire.schedule}</code>
                    </td>
                    <td>
                      {fire.timezone ?? (
                        <span className="muted">agent&apos;s zone (UTC assumed)</span>
                      )}
                    </td>
                    <td>{fire.instances}</td>
                    <td className="dst-note">
                      {fire.daylightSavingNote === null ? (
                        <span className="muted">—</span>
                      ) : (
                        <span className="text-warn">{fire.daylightSavingNote}</span>
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <section aria-labelledby="job-instances">
        <h2 id="job-instances">Instances</h2>
        <div className="table-scroll">
          <table aria-label="Instances">
            <thead>
              <tr>
                <th scope="col">Agent</th>
                <th scope="col">Health</th>
                <th scope="col">Schedule</th>
                <th scope="col">Source</th>
                <th scope="col">Revision</th>
                <th scope="col">Monitoring</th>
              </tr>
            </thead>
            <tbody>
              {j.instanceDetails.map((instance) => (
                <tr key={instance.agent.id}>
                  <td>
                    <Link to={`/runs?job=${encodeURIComponent(ref)}&agentId=${instance.agent.id}`}>
                      {instance.agent.name}
                    </Link>
                    <br />
                    <span className="muted small">agent {instance.agent.status}</span>
                  </td>
                  <td>
                    <HealthBadge health={instance.health} />
                    <br />
                    <span className="muted small">
                      since <TimeText iso={instance.healthSince} />
                    </span>
                    {instance.warnings.map((warning) => (
                      <div key={warning} className="text-warn small wrap">
                        {warning}
                      </div>
                    ))}
                  </td>
                  <td>
                    <code>{instance.schedule}</code>{' '}
                    <span className="muted small">{instance.timezone ?? "agent's zone"}</span>
                    {instance.suspended ? (
                      <span className="badge tone-neutral">suspended</span>
                    ) : null}
                    <br />
                    <span className="small">{instance.scheduleDescription}</span>
                  </td>
                  <td>
                    <code>{instance.sourcePath}</code>
                  </td>
                  <td>
                    <code title={instance.revision}>{instance.revision.slice(0, 12)}</code>
                  </td>
                  <td className="small">
                    grace {durationText(instance.monitoring.graceSeconds * 1000)}
                    {instance.monitoring.maxRuntimeSeconds === null
                      ? ''
                      : ` · max ${durationText(instance.monitoring.maxRuntimeSeconds * 1000)}`}
                    <br />
                    alert after {instance.monitoring.alertAfter} ·{' '}
                    {instance.monitoring.notify.length === 0
                      ? 'default channels'
                      : instance.monitoring.notify.join(', ')}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>
    </>
  );
}

function JobRunsTable(props: { runs: readonly Run[]; now: number }) {
  if (props.runs.length === 0) return null;
  return (
    <div className="table-scroll">
      <table aria-label="Latest runs">
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Status</th>
            <th scope="col">Agent</th>
            <th scope="col">Trigger</th>
            <th scope="col">Duration</th>
          </tr>
        </thead>
        <tbody>
          {props.runs.map((run) => (
            <tr key={run.runId}>
              <td>
                <Link to={`/runs/${run.runId}`}>
                  <TimeText iso={run.startedAt ?? run.finishedAt} relativeTo={props.now} />
                </Link>
              </td>
              <td>
                <RunStatusBadge status={run.status} />
              </td>
              <td>{run.agentName}</td>
              <td>{run.trigger}</td>
              <td>{durationText(run.durationMs)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/**
 * Asks every agent that has the job (not revoked) to run it once, at its next heartbeat. Shown only
 * to callers with the `write` permission; the receipts link to the runs they will become (the
 * agent records the run under the request id).
 */
function RunNow(props: { job: JobDetail }) {
  const session = useSession();
  const queryClient = useQueryClient();
  const { namespace, name } = props.job;
  const runNow = useMutation({
    mutationFn: (): Promise<RunJobResponse> =>
      callApi('runJob', { params: { namespace, name }, body: {} }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['runs'] }),
  });
  if (!session.permissions.includes('write')) return null;
  return (
    <section aria-label="Run now" className="run-now">
      <div className="actions">
        <button type="button" onClick={() => runNow.mutate()} disabled={runNow.isPending}>
          {runNow.isPending ? 'Asking…' : 'Run now'}
        </button>
        <span className="muted small">
          Each agent that has the job runs it once, at its next heartbeat (within about 30 s).
        </span>
      </div>
      {runNow.isError ? <ErrorMessage error={runNow.error} title="Could not run the job" /> : null}
      {runNow.data === undefined ? null : (
        <div className="notice" role="status">
          Asked{' '}
          {runNow.data.requests.length === 1
            ? 'one agent'
            : `${runNow.data.requests.length} agents`}
          :
          <ul>
            {runNow.data.requests.map((request) => (
              <li key={request.requestId}>
                <Link to={`/runs/${request.requestId}?requested=1`}>
                  run on {request.agentName}
                </Link>{' '}
                <span className="muted small">
                  (the run appears once the agent reports it; the request expires{' '}
                  <TimeText iso={request.expiresAt} />)
                </span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </section>
  );
}
