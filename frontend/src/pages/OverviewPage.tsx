import { JobHealth } from '@cronfleet/core/contract';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { useRefreshInterval } from '../api/liveUpdates.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { RunsPerHourChart } from '../components/RunsPerHourChart.js';
import { HealthBadge } from '../components/StatusBadges.js';
import { TimeText } from '../components/TimeText.js';
import { usePageTitle } from './usePageTitle.js';

const incidentKinds = [
  ['failing', 'failing'],
  ['missed', 'missed'],
  ['overrun', 'overrun'],
  ['agent_offline', 'agent offline'],
] as const;

/** The organization at a glance: agents, jobs by health, open incidents, runs over 24 hours. */
export function OverviewPage() {
  usePageTitle('Overview');
  const stats = useQuery({
    queryKey: ['stats'],
    queryFn: ({ signal }) => callApi('getStats', {}, signal),
    refetchInterval: useRefreshInterval('overview'),
  });
  if (stats.isPending) return <p className="loading">Loading the overview…</p>;
  if (stats.isError)
    return <ErrorMessage error={stats.error} title="Could not load the overview" />;
  const { agents, jobsByHealth, jobs, openIncidents, runsPerHour, generatedAt } = stats.data;
  const total24h = runsPerHour.reduce(
    (sum, hour) => sum + Object.values(hour.counts).reduce((a, b) => a + b, 0),
    0,
  );
  return (
    <>
      <div className="page-head">
        <h1>Overview</h1>
        <p className="muted">
          As of <TimeText iso={generatedAt} />
        </p>
      </div>
      <div className="cards">
        <section className="card" aria-labelledby="agents-heading">
          <h2 id="agents-heading">Agents</h2>
          <dl className="counts" data-testid="agents-by-status">
            <div>
              <dt>
                <Link to="/agents?status=online">online</Link>
              </dt>
              <dd>{agents.online}</dd>
            </div>
            <div>
              <dt>
                <Link to="/agents?status=offline">offline</Link>
              </dt>
              <dd className={agents.offline > 0 ? 'text-warn' : ''}>{agents.offline}</dd>
            </div>
            <div>
              <dt>
                <Link to="/agents?status=revoked">revoked</Link>
              </dt>
              <dd>{agents.revoked}</dd>
            </div>
            <div>
              <dt>
                <Link to="/agents">total</Link>
              </dt>
              <dd>{agents.total}</dd>
            </div>
          </dl>
        </section>
        <section className="card" aria-labelledby="jobs-heading">
          <h2 id="jobs-heading">Jobs by health</h2>
          <dl className="counts" data-testid="jobs-by-health">
            {JobHealth.options.map((health) => (
              <div key={health}>
                <dt>
                  <Link to={`/jobs?health=${health}`} aria-label={`${health} jobs`}>
                    <HealthBadge health={health} />
                  </Link>
                </dt>
                <dd>{jobsByHealth[health] ?? 0}</dd>
              </div>
            ))}
            <div>
              <dt>total</dt>
              <dd>
                <Link to="/jobs">{jobs.total}</Link>
              </dd>
            </div>
          </dl>
        </section>
        <section className="card" aria-labelledby="incidents-heading">
          <h2 id="incidents-heading">Open incidents</h2>
          <dl className="counts" data-testid="open-incidents">
            {incidentKinds.map(([kind, label]) => (
              <div key={kind}>
                <dt>
                  <Link to={`/incidents?status=open&kind=${kind}`}>{label}</Link>
                </dt>
                <dd className={openIncidents[kind] > 0 ? 'text-bad' : ''}>{openIncidents[kind]}</dd>
              </div>
            ))}
            <div>
              <dt>
                <Link to="/incidents?status=open">total</Link>
              </dt>
              <dd className={openIncidents.total > 0 ? 'text-bad' : ''}>{openIncidents.total}</dd>
            </div>
          </dl>
        </section>
      </div>
      <section className="card" aria-labelledby="runs-heading">
        <h2 id="runs-heading">Runs per hour, last 24 hours ({total24h} runs)</h2>
        <RunsPerHourChart hours={runsPerHour} />
      </section>
    </>
  );
}
