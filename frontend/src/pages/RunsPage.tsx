import { RunStatus } from '@cronfleet/core/contract';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { useRefreshInterval } from '../api/liveUpdates.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { RunStatusBadge } from '../components/StatusBadges.js';
import { TimeText } from '../components/TimeText.js';
import { durationText } from '../format/durationText.js';
import { keysetPageLinks, useAgentChoices } from './listPages.js';
import { usePageTitle } from './usePageTitle.js';

/**
 * Runs, newest first, with every filter of `GET /api/v1/runs` and its keyset pages. The filters
 * and the page's cursor are the URL's query, so a link shows the same runs and Back returns to
 * the newer page.
 */
const filterKeys = ['job', 'namespace', 'agentId', 'status', 'from', 'to', 'q', 'limit'] as const;
type FilterKey = (typeof filterKeys)[number];
type Filters = Record<FilterKey, string>;
const pageSizes = ['25', '50', '100', '200'];

function readFilters(params: URLSearchParams): Filters {
  return Object.fromEntries(filterKeys.map((key) => [key, params.get(key) ?? ''])) as Filters;
}

/** `datetime-local` holds a local time without a zone; the API wants ISO 8601 with an offset. */
function toIso(local: string): string {
  if (local === '') return '';
  const date = new Date(local);
  return Number.isNaN(date.getTime()) ? local : date.toISOString();
}

function toLocalInput(iso: string): string {
  const date = new Date(iso);
  if (iso === '' || Number.isNaN(date.getTime())) return '';
  const shifted = new Date(date.getTime() - date.getTimezoneOffset() * 60_000);
  return shifted.toISOString().slice(0, 16);
}

export function RunsPage() {
  usePageTitle('Runs');
  const [searchParams, setSearchParams] = useSearchParams();
  const filters = readFilters(searchParams);
  const cursor = searchParams.get('cursor') ?? '';
  const query = Object.fromEntries(
    [...filterKeys.map((key) => [key, filters[key]] as const), ['cursor', cursor] as const].filter(
      ([, value]) => value !== '',
    ),
  );
  const refreshInterval = useRefreshInterval('runs');
  const runs = useQuery({
    queryKey: ['runs', query],
    queryFn: ({ signal }) => callApi('listRuns', { query }, signal),
    placeholderData: keepPreviousData,
    // Only the newest page changes by itself; an older page is a fixed window of history.
    refetchInterval: cursor === '' ? refreshInterval : false,
  });
  const agents = useAgentChoices();

  const apply = (next: Filters) => {
    const params = new URLSearchParams();
    for (const key of filterKeys) if (next[key] !== '') params.set(key, next[key]);
    setSearchParams(params);
  };
  const { withCursor, firstPage } = keysetPageLinks(searchParams, '/runs');

  return (
    <>
      <div className="page-head">
        <h1>Runs</h1>
        <p className="muted">Newest first{cursor === '' ? '' : '; an older page, not refreshed'}</p>
      </div>
      <RunFilters
        key={searchParams.toString()}
        initial={filters}
        agents={agents.data?.items.map((agent) => ({ id: agent.id, name: agent.name })) ?? []}
        onApply={apply}
      />
      {agents.isError ? (
        <ErrorMessage error={agents.error} title="Could not load the agents for the filter" />
      ) : null}
      {runs.isError ? <ErrorMessage error={runs.error} title="Could not load the runs" /> : null}
      {runs.isPending ? <p className="loading">Loading the runs…</p> : null}
      {runs.data === undefined ? null : runs.data.items.length === 0 ? (
        <p className="empty">No run matches these filters.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Runs" className="runs-table">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Job</th>
                <th scope="col">Agent</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">Exit</th>
                <th scope="col">Trigger · attempt</th>
              </tr>
            </thead>
            <tbody>
              {runs.data.items.map((run) => (
                <tr key={run.runId}>
                  <td>
                    <Link
                      to={`/runs/${run.runId}`}
                      aria-label={`Run ${run.runId} of ${run.namespace}/${run.name}: ${run.status}`}
                    >
                      <RunStatusBadge status={run.status} />
                    </Link>
                  </td>
                  <td>
                    <Link to={`/runs/${run.runId}`}>
                      <span className="muted">{run.namespace}/</span>
                      {run.name}
                    </Link>
                  </td>
                  <td>{run.agentName}</td>
                  <td className="small">
                    <TimeText iso={run.startedAt ?? run.finishedAt} />
                  </td>
                  <td className="small">{durationText(run.durationMs)}</td>
                  <td>{run.signal ?? run.exitCode ?? '—'}</td>
                  <td className="small">
                    {run.trigger} · {run.attempt}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages of runs">
        {cursor === '' ? null : <Link to={firstPage()}>← Newest runs</Link>}
        {runs.data?.nextCursor ? (
          <Link to={withCursor(runs.data.nextCursor)}>Older runs →</Link>
        ) : null}
      </nav>
    </>
  );
}

function RunFilters(props: {
  initial: Filters;
  agents: { id: string; name: string }[];
  onApply: (filters: Filters) => void;
}) {
  const [filters, setFilters] = useState<Filters>({
    ...props.initial,
    from: toLocalInput(props.initial.from),
    to: toLocalInput(props.initial.to),
  });
  const set = (key: FilterKey) => (event: { target: { value: string } }) =>
    setFilters({ ...filters, [key]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onApply({
      ...filters,
      job: filters.job.trim(),
      namespace: filters.namespace.trim(),
      from: toIso(filters.from),
      to: toIso(filters.to),
    });
  };
  return (
    <form className="filters" onSubmit={submit} aria-label="Filter runs">
      <label>
        Job
        <input name="job" value={filters.job} onChange={set('job')} placeholder="namespace/name" />
      </label>
      <label>
        Namespace
        <input
          name="namespace"
          value={filters.namespace}
          onChange={set('namespace')}
          placeholder="any"
        />
      </label>
      <label>
        Agent
        <select name="agentId" value={filters.agentId} onChange={set('agentId')}>
          <option value="">any</option>
          {props.agents.map((agent) => (
            <option key={agent.id} value={agent.id}>
              {agent.name}
            </option>
          ))}
          {filters.agentId !== '' && !props.agents.some((agent) => agent.id === filters.agentId) ? (
            <option value={filters.agentId}>{filters.agentId}</option>
          ) : null}
        </select>
      </label>
      <label>
        Status
        <select name="status" value={filters.status} onChange={set('status')}>
          <option value="">any</option>
          {RunStatus.options.map((status) => (
            <option key={status} value={status}>
              {status.replace('_', ' ')}
            </option>
          ))}
        </select>
      </label>
      <label>
        From
        <input type="datetime-local" name="from" value={filters.from} onChange={set('from')} />
      </label>
      <label>
        To
        <input type="datetime-local" name="to" value={filters.to} onChange={set('to')} />
      </label>
      <label className="grow">
        Output contains
        <input
          type="search"
          name="q"
          value={filters.q}
          onChange={set('q')}
          placeholder="text in the output"
        />
      </label>
      <label>
        Per page
        <select
          name="limit"
          value={filters.limit === '' ? '50' : filters.limit}
          onChange={set('limit')}
        >
          {pageSizes.map((size) => (
            <option key={size} value={size}>
              {size}
            </option>
          ))}
        </select>
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}
