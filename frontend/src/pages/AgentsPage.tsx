import { AgentStatus } from '@cronfleet/core/contract';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { useRefreshInterval } from '../api/liveUpdates.js';
import { AgentStatusBadge, ConditionBadges } from '../components/AgentBadges.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { LabelList, parseLabelText } from '../components/LabelList.js';
import { TimeText } from '../components/TimeText.js';
import { keysetPageLinks } from './listPages.js';
import { usePageTitle } from './usePageTitle.js';

/**
 * The agents: status, conditions (Ready, Reconciling, Stalled), version, revisions, labels and
 * last heartbeat. Filters and the keyset cursor live in the URL
 * (`/agents?status=offline&label=role=db&q=web&cursor=…`).
 */
interface AgentFilters {
  status: AgentStatus | '';
  q: string;
  labels: string[];
}

function readFilters(params: URLSearchParams): AgentFilters {
  const status = params.get('status');
  return {
    status: AgentStatus.safeParse(status).success ? (status as AgentStatus) : '',
    q: params.get('q') ?? '',
    labels: params.getAll('label').filter((label) => label !== ''),
  };
}

export function AgentsPage() {
  usePageTitle('Agents');
  const [searchParams, setSearchParams] = useSearchParams();
  const filters = readFilters(searchParams);
  const cursor = searchParams.get('cursor') ?? '';
  const agents = useQuery({
    queryKey: ['agents', 'list', filters, cursor],
    queryFn: ({ signal }) =>
      callApi(
        'listAgents',
        {
          query: {
            status: filters.status || undefined,
            q: filters.q || undefined,
            label: filters.labels.length === 0 ? undefined : filters.labels,
            cursor: cursor || undefined,
            limit: 100,
          },
        },
        signal,
      ),
    placeholderData: keepPreviousData,
    refetchInterval: useRefreshInterval('jobs'),
  });
  const apply = (next: AgentFilters) => {
    const params = new URLSearchParams();
    if (next.status !== '') params.set('status', next.status);
    if (next.q !== '') params.set('q', next.q);
    for (const label of next.labels) params.append('label', label);
    setSearchParams(params);
  };
  const { withCursor, firstPage } = keysetPageLinks(searchParams, '/agents');
  const now = Date.now();

  return (
    <>
      <div className="page-head">
        <h1>Agents</h1>
        <p className="muted">By name{cursor === '' ? '' : '; a later page'}</p>
      </div>
      <AgentFilterForm key={searchParams.toString()} initial={filters} onApply={apply} />
      {agents.isError ? (
        <ErrorMessage error={agents.error} title="Could not load the agents" />
      ) : null}
      {agents.isPending ? <p className="loading">Loading the agents…</p> : null}
      {agents.data === undefined ? null : agents.data.items.length === 0 ? (
        <p className="empty">
          No agent matches. An agent appears here once it enrolls with an enrollment token (
          <code>cronfleet-agent enroll</code>).
        </p>
      ) : (
        <>
          <div className="table-scroll">
            <table aria-label="Agents">
              <thead>
                <tr>
                  <th scope="col">Agent</th>
                  <th scope="col">Status</th>
                  <th scope="col">Conditions</th>
                  <th scope="col">Last heartbeat</th>
                  <th scope="col">Applied revision</th>
                  <th scope="col">Version</th>
                  <th scope="col">Labels</th>
                </tr>
              </thead>
              <tbody>
                {agents.data.items.map((agent) => (
                  <tr key={agent.id}>
                    <td>
                      <Link to={`/agents/${agent.id}`}>{agent.name}</Link>
                      <br />
                      <span className="muted small">
                        {agent.hostname} · {agent.platform}/{agent.arch}
                      </span>
                    </td>
                    <td>
                      <AgentStatusBadge status={agent.status} />
                    </td>
                    <td>
                      <ConditionBadges conditions={agent.conditions} />
                    </td>
                    <td>
                      <TimeText iso={agent.lastHeartbeatAt} relativeTo={now} empty="never" />
                    </td>
                    <td>
                      {agent.lastAppliedRevision === null ? (
                        <span className="muted">none yet</span>
                      ) : (
                        <code title={agent.lastAppliedRevision}>
                          {agent.lastAppliedRevision.slice(0, 12)}
                        </code>
                      )}
                      {agent.lastAttemptedRevision !== null &&
                      agent.lastAttemptedRevision !== agent.lastAppliedRevision ? (
                        <span
                          className="text-warn small"
                          title={`attempted ${agent.lastAttemptedRevision}`}
                        >
                          {' '}
                          (attempted {agent.lastAttemptedRevision.slice(0, 12)})
                        </span>
                      ) : null}
                    </td>
                    <td>{agent.version}</td>
                    <td>
                      <LabelList labels={agent.labels} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages of agents">
            {cursor === '' ? null : <Link to={firstPage()}>← First page</Link>}
            {agents.data.nextCursor === null ? null : (
              <Link to={withCursor(agents.data.nextCursor)}>Next agents →</Link>
            )}
          </nav>
        </>
      )}
    </>
  );
}

function AgentFilterForm(props: { initial: AgentFilters; onApply: (next: AgentFilters) => void }) {
  const [filters, setFilters] = useState(props.initial);
  const [labelText, setLabelText] = useState(props.initial.labels.join(', '));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onApply({ ...filters, labels: parseLabelText(labelText) });
  };
  return (
    <form className="filters" onSubmit={submit} aria-label="Filter agents">
      <label>
        Status
        <select
          name="status"
          value={filters.status}
          onChange={(event) => {
            const next = { ...filters, status: event.target.value as AgentStatus | '' };
            setFilters(next);
            props.onApply({ ...next, labels: parseLabelText(labelText) });
          }}
        >
          <option value="">any</option>
          {AgentStatus.options.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </label>
      <label>
        Labels
        <input
          name="label"
          value={labelText}
          onChange={(event) => setLabelText(event.target.value)}
          placeholder="role=db, env=prod"
        />
      </label>
      <label className="grow">
        Search
        <input
          type="search"
          name="q"
          value={filters.q}
          onChange={(event) => setFilters({ ...filters, q: event.target.value })}
          placeholder="name or hostname"
        />
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}
