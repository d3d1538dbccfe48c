import { JobHealth, type JobSummary } from '@cronfleet/core/contract';
import { keepPreviousData, useInfiniteQuery } from '@tanstack/react-query';
import { useWindowVirtualizer } from '@tanstack/react-virtual';
import {
  useEffect,
  useLayoutEffect,
  useMemo,
  useRef,
  useState,
  type CSSProperties,
  type FormEvent,
} from 'react';
import { Link, useSearchParams } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { useRefreshInterval } from '../api/liveUpdates.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { LabelList, parseLabelText } from '../components/LabelList.js';
import { RunStrip } from '../components/RunStrip.js';
import { HealthBadge, RunStatusBadge } from '../components/StatusBadges.js';
import { TimeText } from '../components/TimeText.js';
import { durationText, percentText } from '../format/durationText.js';
import { usePageTitle } from './usePageTitle.js';

/**
 * Every job (namespace/name) with its health, schedule, next and last run and 7-day figures. The
 * filters live in the URL (`?namespace=&health=&q=&label=team=data&label=…`), so a filtered view can be shared and the
 * Back button restores it. The API sends a page of jobs at a time and the next page loads as the
 * list scrolls near its end; only the rows on screen are in the DOM, so 10,000 jobs scroll freely.
 */
const rowHeight = 64;
/** Jobs per request: a screenful several times over, each page's run figures computed alone. */
const pageSize = 100;
/** Rows before the end of what is loaded at which the next page is asked for. */
const loadAhead = 30;
const columns = [
  'Job',
  'Health',
  'Schedule',
  'Next run',
  'Last run',
  'Last 20 runs',
  'Success 7 d',
  'p50 / p95',
  'Instances',
];

interface JobFilterValues {
  namespace: string;
  q: string;
  health: JobHealth | '';
  /** `key=value` selectors, every one must match (the API's repeatable `label`). */
  labels: string[];
}

function readFilters(params: URLSearchParams): JobFilterValues {
  const health = params.get('health');
  return {
    namespace: params.get('namespace') ?? '',
    q: params.get('q') ?? '',
    health: JobHealth.safeParse(health).success ? (health as JobHealth) : '',
    labels: params.getAll('label').filter((label) => label !== ''),
  };
}

export function JobsPage() {
  usePageTitle('Jobs');
  const [searchParams, setSearchParams] = useSearchParams();
  const filters = readFilters(searchParams);
  const jobs = useInfiniteQuery({
    queryKey: ['jobs', filters],
    queryFn: ({ signal, pageParam }) =>
      callApi(
        'listJobs',
        {
          query: {
            namespace: filters.namespace || undefined,
            q: filters.q || undefined,
            health: filters.health || undefined,
            label: filters.labels.length === 0 ? undefined : filters.labels,
            limit: pageSize,
            cursor: pageParam,
          },
        },
        signal,
      ),
    initialPageParam: undefined as string | undefined,
    getNextPageParam: (page) => page.nextCursor ?? undefined,
    placeholderData: keepPreviousData,
    refetchInterval: useRefreshInterval('jobs'),
  });
  const items = useMemo(() => jobs.data?.pages.flatMap((page) => page.items) ?? [], [jobs.data]);
  const total = jobs.data?.pages[0]?.total;

  return (
    <>
      <div className="page-head">
        <h1>Jobs</h1>
        {total === undefined ? null : (
          <p className="muted" aria-live="polite">
            {total.toLocaleString()} jobs
            {jobs.isFetching && !jobs.isFetchingNextPage ? ' · refreshing…' : ''}
          </p>
        )}
      </div>
      <JobFilters
        key={searchParams.toString()}
        initial={filters}
        onApply={(next) => {
          const params = new URLSearchParams();
          if (next.namespace !== '') params.set('namespace', next.namespace);
          if (next.health !== '') params.set('health', next.health);
          if (next.q !== '') params.set('q', next.q);
          for (const label of next.labels) params.append('label', label);
          setSearchParams(params);
        }}
      />
      {jobs.isError ? <ErrorMessage error={jobs.error} title="Could not load the jobs" /> : null}
      {jobs.isPending ? <p className="loading">Loading the jobs…</p> : null}
      {jobs.data === undefined ? null : items.length === 0 ? (
        <p className="empty">
          No job matches. Jobs appear here once an agent applies them from the job repository.
        </p>
      ) : (
        <JobsTable
          items={items}
          total={total ?? items.length}
          hasMore={jobs.hasNextPage}
          loadMore={() => {
            if (!jobs.isFetchingNextPage) void jobs.fetchNextPage();
          }}
        />
      )}
    </>
  );
}

function JobFilters(props: {
  initial: JobFilterValues;
  onApply: (filters: JobFilterValues) => void;
}) {
  const [filters, setFilters] = useState(props.initial);
  const [labelText, setLabelText] = useState(props.initial.labels.join(', '));
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onApply({ ...filters, labels: parseLabelText(labelText) });
  };
  return (
    <form className="filters" onSubmit={submit} aria-label="Filter jobs">
      <label>
        Namespace
        <input
          name="namespace"
          value={filters.namespace}
          onChange={(event) => setFilters({ ...filters, namespace: event.target.value.trim() })}
          placeholder="any"
        />
      </label>
      <label>
        Health
        <select
          name="health"
          value={filters.health}
          onChange={(event) => {
            const next = { ...filters, health: event.target.value as JobHealth | '' };
            setFilters(next);
            props.onApply({ ...next, labels: parseLabelText(labelText) });
          }}
        >
          <option value="">any</option>
          {JobHealth.options.map((health) => (
            <option key={health} value={health}>
              {health}
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
          placeholder="team=data, tier=1"
          aria-describedby="label-filter-help"
        />
        <span id="label-filter-help" className="visually-hidden">
          key=value pairs separated by commas; a job must have every one
        </span>
      </label>
      <label className="grow">
        Search
        <input
          type="search"
          name="q"
          value={filters.q}
          onChange={(event) => setFilters({ ...filters, q: event.target.value })}
          placeholder="namespace or name"
        />
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}

function ScheduleCell(props: { job: JobSummary }) {
  const { job } = props;
  if (job.schedules.length > 1) {
    return (
      <span
        title={job.schedules
          .map((s) => `${s.schedule} (${s.timezone ?? "agent's zone"}) × ${s.instances}`)
          .join('\n')}
      >
        <span className="text-warn">{job.schedules.length} schedules</span>
        <span className="muted small"> instances disagree</span>
      </span>
    );
  }
  const [schedule] = job.schedules;
  if (schedule === undefined) return null;
  return (
    <span>
      <code>{schedule.schedule}</code>{' '}
      <span className="muted small">{schedule.timezone ?? "agent's zone"}</span>
      <br />
      <span className="small">{schedule.description}</span>
    </span>
  );
}

/** A job's page: `/jobs/:namespace/:name`. */
export function jobPath(namespace: string, name: string): string {
  return `/jobs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** A row of the virtual list, placed `top` pixels down the list. */
function rowStyle(top: number): CSSProperties {
  return {
    position: 'absolute',
    top: 0,
    left: 0,
    right: 0,
    height: rowHeight,
    transform: `translateY(${top}px)`,
  };
}

function JobsTable(props: {
  items: readonly JobSummary[];
  /** Every job that matches, loaded or not. */
  total: number;
  hasMore: boolean;
  loadMore: () => void;
}) {
  const { items, total, hasMore, loadMore } = props;
  const listRef = useRef<HTMLDivElement>(null);
  const [scrollMargin, setScrollMargin] = useState(0);
  useLayoutEffect(() => {
    setScrollMargin(listRef.current?.offsetTop ?? 0);
  }, []);
  // One more row while more pages exist: it says so, and scrolling near it loads the next page.
  const virtualizer = useWindowVirtualizer({
    count: items.length + (hasMore ? 1 : 0),
    estimateSize: () => rowHeight,
    overscan: 8,
    scrollMargin,
  });
  const lastShown = virtualizer.getVirtualItems().at(-1)?.index ?? 0;
  useEffect(() => {
    if (hasMore && lastShown >= items.length - loadAhead) loadMore();
  }, [hasMore, lastShown, items.length, loadMore]);
  const now = Date.now();
  return (
    <div className="table-scroll">
      <div
        role="table"
        aria-label="Jobs"
        aria-rowcount={total + 1}
        className="grid-table jobs-grid"
      >
        <div role="rowgroup">
          <div role="row" aria-rowindex={1} className="grid-row grid-head">
            {columns.map((column) => (
              <div role="columnheader" key={column}>
                {column}
              </div>
            ))}
          </div>
        </div>
        <div
          role="rowgroup"
          ref={listRef}
          style={{ height: virtualizer.getTotalSize(), position: 'relative' }}
        >
          {virtualizer.getVirtualItems().map((row) => {
            const job = items[row.index];
            if (job === undefined) {
              return (
                <div
                  role="row"
                  aria-rowindex={row.index + 2}
                  key="more"
                  className="grid-row"
                  style={rowStyle(row.start - scrollMargin)}
                >
                  <div role="cell" className="loading">
                    Loading more jobs… ({items.length.toLocaleString()} of {total.toLocaleString()})
                  </div>
                </div>
              );
            }
            const ref = `${job.namespace}/${job.name}`;
            return (
              <div
                role="row"
                aria-rowindex={row.index + 2}
                key={ref}
                className="grid-row"
                style={rowStyle(row.start - scrollMargin)}
              >
                <div role="cell" className="job-name">
                  <Link to={jobPath(job.namespace, job.name)}>
                    <span className="muted">{job.namespace}/</span>
                    {job.name}
                  </Link>
                  <LabelList labels={job.labels} />
                </div>
                <div role="cell">
                  <HealthBadge health={job.health} />
                </div>
                <div role="cell">
                  <ScheduleCell job={job} />
                </div>
                <div role="cell" className="small">
                  <TimeText
                    iso={job.nextRunAt}
                    relativeTo={now}
                    empty={job.suspended ? 'suspended' : '—'}
                  />
                </div>
                <div role="cell" className="small">
                  {job.lastRun === null ? (
                    <span className="muted">never</span>
                  ) : (
                    <Link
                      to={`/runs/${job.lastRun.runId}`}
                      aria-label={`Last run of ${ref}: ${job.lastRun.status}`}
                    >
                      <RunStatusBadge status={job.lastRun.status} />
                    </Link>
                  )}{' '}
                  {job.lastRun === null ? null : (
                    <TimeText
                      iso={job.lastRun.startedAt ?? job.lastRun.finishedAt}
                      relativeTo={now}
                    />
                  )}
                </div>
                <div role="cell">
                  <RunStrip
                    runs={job.recentRuns}
                    to={`/runs?job=${encodeURIComponent(ref)}`}
                    jobRef={ref}
                  />
                </div>
                <div role="cell">
                  {percentText(job.successRate7d)}
                  <span className="muted small"> of {job.runs7d}</span>
                </div>
                <div role="cell" className="small">
                  {durationText(job.p50DurationMs7d)} / {durationText(job.p95DurationMs7d)}
                </div>
                <div
                  role="cell"
                  title={job.instanceHealth.map((i) => `${i.agentName}: ${i.health}`).join('\n')}
                >
                  {job.instances}
                  {job.suspendedInstances > 0 ? (
                    <span className="muted small"> ({job.suspendedInstances} suspended)</span>
                  ) : null}
                </div>
              </div>
            );
          })}
        </div>
      </div>
    </div>
  );
}
