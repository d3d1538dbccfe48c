import { IncidentKind, IncidentStatus } from '@cronfleet/core/contract';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { useRefreshInterval } from '../api/liveUpdates.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import {
  IncidentStateBadge,
  incidentKindText,
  incidentSubject,
} from '../components/IncidentBadges.js';
import { TimeText } from '../components/TimeText.js';
import { keysetPageLinks, useAgentChoices } from './listPages.js';
import { usePageTitle } from './usePageTitle.js';

/**
 * Incidents, newest first, with every filter of the API (status, kind, namespace, job, agent)
 * and the keyset cursor in the URL: `/incidents?status=open&kind=failing&cursor=…`.
 */
const filterKeys = ['status', 'kind', 'namespace', 'job', 'agent'] as const;
type Filters = Record<(typeof filterKeys)[number], string>;

function readFilters(params: URLSearchParams): Filters {
  const status = params.get('status') ?? '';
  const kind = params.get('kind') ?? '';
  return {
    status: IncidentStatus.safeParse(status).success ? status : '',
    kind: IncidentKind.safeParse(kind).success ? kind : '',
    namespace: params.get('namespace') ?? '',
    job: params.get('job') ?? '',
    agent: params.get('agent') ?? '',
  };
}

export function IncidentsPage() {
  usePageTitle('Incidents');
  const [searchParams, setSearchParams] = useSearchParams();
  const filters = readFilters(searchParams);
  const cursor = searchParams.get('cursor') ?? '';
  const query = Object.fromEntries(
    [...filterKeys.map((key) => [key, filters[key]] as const), ['cursor', cursor] as const].filter(
      ([, value]) => value !== '',
    ),
  );
  const refreshInterval = useRefreshInterval('runs');
  const incidents = useQuery({
    queryKey: ['incidents', 'list', query],
    queryFn: ({ signal }) => callApi('listIncidents', { query }, signal),
    placeholderData: keepPreviousData,
    refetchInterval: cursor === '' ? refreshInterval : false,
  });
  const agents = useAgentChoices();
  const apply = (next: Filters) => {
    const params = new URLSearchParams();
    for (const key of filterKeys) if (next[key] !== '') params.set(key, next[key]);
    setSearchParams(params);
  };
  const { withCursor, firstPage } = keysetPageLinks(searchParams, '/incidents');
  const now = Date.now();

  return (
    <>
      <div className="page-head">
        <h1>Incidents</h1>
        <p className="muted">
          Newest first{cursor === '' ? '' : '; an older page, not refreshed'} ·{' '}
          <Link to="/silences">Silences</Link>
        </p>
      </div>
      <IncidentFilters
        key={searchParams.toString()}
        initial={filters}
        agents={agents.data?.items.map((agent) => ({ id: agent.id, name: agent.name })) ?? []}
        onApply={apply}
      />
      {incidents.isError ? (
        <ErrorMessage error={incidents.error} title="Could not load the incidents" />
      ) : null}
      {incidents.isPending ? <p className="loading">Loading the incidents…</p> : null}
      {incidents.data === undefined ? null : incidents.data.items.length === 0 ? (
        <p className="empty">No incident matches these filters.</p>
      ) : (
        <>
          <div className="table-scroll">
            <table aria-label="Incidents">
              <thead>
                <tr>
                  <th scope="col">State</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Job or agent</th>
                  <th scope="col">Opened</th>
                  <th scope="col">What happened</th>
                </tr>
              </thead>
              <tbody>
                {incidents.data.items.map((incident) => (
                  <tr key={incident.id}>
                    <td>
                      <IncidentStateBadge incident={incident} />
                    </td>
                    <td>{incidentKindText(incident.kind)}</td>
                    <td>
                      <Link to={`/incidents/${incident.id}`}>{incidentSubject(incident)}</Link>
                    </td>
                    <td>
                      <TimeText iso={incident.openedAt} relativeTo={now} />
                    </td>
                    <td className="wrap">{incident.happened}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages of incidents">
            {cursor === '' ? null : <Link to={firstPage()}>← Newest incidents</Link>}
            {incidents.data.nextCursor === null ? null : (
              <Link to={withCursor(incidents.data.nextCursor)}>Older incidents →</Link>
            )}
          </nav>
        </>
      )}
    </>
  );
}

function IncidentFilters(props: {
  initial: Filters;
  agents: { id: string; name: string }[];
  onApply: (next: Filters) => void;
}) {
  const [filters, setFilters] = useState(props.initial);
  const choose = (key: keyof Filters, value: string) => {
    const next = { ...filters, [key]: value };
    setFilters(next);
    props.onApply(next);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onApply(filters);
  };
  return (
    <form className="filters" onSubmit={submit} aria-label="Filter incidents">
      <label>
        Status
        <select value={filters.status} onChange={(event) => choose('status', event.target.value)}>
          <option value="">open and resolved</option>
          {IncidentStatus.options.map((status) => (
            <option key={status} value={status}>
              {status}
            </option>
          ))}
        </select>
      </label>
      <label>
        Kind
        <select value={filters.kind} onChange={(event) => choose('kind', event.target.value)}>
          <option value="">any</option>
          {IncidentKind.options.map((kind) => (
            <option key={kind} value={kind}>
              {kind.replace('_', ' ')}
            </option>
          ))}
        </select>
      </label>
      <label>
        Agent
        <select value={filters.agent} onChange={(event) => choose('agent', event.target.value)}>
          <option value="">any</option>
          {props.agents.map((agent) => (
            <option key={agent.id} value={agent.id}>
              {agent.name}
            </option>
          ))}
        </select>
      </label>
      <label>
        Namespace
        <input
          value={filters.namespace}
          onChange={(event) => setFilters({ ...filters, namespace: event.target.value.trim() })}
          placeholder="any"
        />
      </label>
      <label>
        Job name
        <input
          value={filters.job}
          onChange={(event) => setFilters({ ...filters, job: event.target.value.trim() })}
          placeholder="any"
        />
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}
