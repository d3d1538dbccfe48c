import { AuditActorType, type AuditEntry } from '@cronfleet/core/contract';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { callApi } from '../../api/apiCall.js';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { LocalDateTimeInput } from '../../components/LocalDateTimeInput.js';
import { TimeText } from '../../components/TimeText.js';
import { viewerTimeZone } from '../../format/timeText.js';
import { keysetPageLinks } from '../listPages.js';
import { usePageTitle } from '../usePageTitle.js';

/**
 * The organization's audit log (admins), newest first, with every filter of `GET /api/v1/audit`
 * (actor, actor type, action or `prefix.*`, target type and id, from and to) and its keyset
 * pages. Filters and cursor are the URL, as on the runs page.
 */
const filterKeys = [
  'actor',
  'actorType',
  'action',
  'targetType',
  'targetId',
  'from',
  'to',
  'limit',
] as const;
type FilterKey = (typeof filterKeys)[number];
type Filters = Record<FilterKey, string>;

/** Actions and target types the backend writes today, offered as suggestions. */
const knownActions = [
  'agent.*',
  'api_token.*',
  'enrollment_token.*',
  'incident.*',
  'job.run',
  'notification_channel.*',
  'organization.*',
  'session.*',
  'silence.*',
  'user.*',
];
const knownTargetTypes = [
  'agent',
  'api_token',
  'enrollment_token',
  'incident',
  'job',
  'notification_channel',
  'organization',
  'silence',
  'user',
];

const pageSizes = ['25', '50', '100', '200'];

function readFilters(params: URLSearchParams): Filters {
  return Object.fromEntries(filterKeys.map((key) => [key, params.get(key) ?? ''])) as Filters;
}

export function AuditLogPage() {
  usePageTitle('Audit log');
  const [searchParams, setSearchParams] = useSearchParams();
  const filters = readFilters(searchParams);
  const cursor = searchParams.get('cursor') ?? '';
  const query = Object.fromEntries(
    [...filterKeys.map((key) => [key, filters[key]] as const), ['cursor', cursor] as const].filter(
      ([, value]) => value !== '',
    ),
  );
  const entries = useQuery({
    queryKey: ['audit', query],
    queryFn: ({ signal }) => callApi('listAudit', { query }, signal),
    placeholderData: keepPreviousData,
  });
  const users = useQuery({
    queryKey: ['users'],
    queryFn: ({ signal }) => callApi('listUsers', {}, signal),
    staleTime: 60_000,
  });
  const emailOf = new Map(users.data?.items.map((user) => [user.id, user.email]));
  const apply = (next: Filters) => {
    const params = new URLSearchParams();
    for (const key of filterKeys) if (next[key] !== '') params.set(key, next[key]);
    setSearchParams(params);
  };
  const { withCursor, firstPage } = keysetPageLinks(searchParams, '/settings/audit');
  return (
    <>
      <div className="page-head">
        <h1>Audit log</h1>
        <p className="muted">
          Who changed what, newest first{cursor === '' ? '' : '; an older page'}
        </p>
      </div>
      <AuditFilters
        key={searchParams.toString()}
        initial={filters}
        users={users.data?.items.map((user) => ({ id: user.id, email: user.email })) ?? []}
        onApply={apply}
      />
      {entries.isError ? (
        <ErrorMessage error={entries.error} title="Could not load the audit log" />
      ) : null}
      {entries.isPending ? <p className="loading">Loading the audit log…</p> : null}
      {entries.data === undefined ? null : entries.data.items.length === 0 ? (
        <p className="empty">No entry matches these filters.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Audit log">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Who</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">Details</th>
                <th scope="col">From</th>
              </tr>
            </thead>
            <tbody>
              {entries.data.items.map((entry) => (
                <tr key={entry.id}>
                  <td className="small">
                    <TimeText iso={entry.createdAt} />
                  </td>
                  <td>
                    <Actor entry={entry} emailOf={emailOf} />
                  </td>
                  <td>
                    <code>{entry.action}</code>
                  </td>
                  <td className="small">
                    <Target entry={entry} />
                  </td>
                  <td>
                    <pre className="audit-details">{detailsText(entry.details)}</pre>
                  </td>
                  <td className="small" title={entry.userAgent ?? undefined}>
                    {entry.ip ?? '—'}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages of the audit log">
        {cursor === '' ? null : <Link to={firstPage()}>← Newest entries</Link>}
        {entries.data?.nextCursor ? (
          <Link to={withCursor(entries.data.nextCursor)}>Older entries →</Link>
        ) : null}
      </nav>
    </>
  );
}

/** `key: value` per line; nested values as JSON. Text, never markup. */
function detailsText(details: Record<string, unknown>): string {
  const lines = Object.entries(details).map(
    ([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`,
  );
  return lines.length === 0 ? '—' : lines.join('\n');
}

function Actor(props: { entry: AuditEntry; emailOf: Map<string, string> }) {
  const { entry, emailOf } = props;
  if (entry.actorId === null) return <span className="muted">{entry.actorType}</span>;
  if (entry.actorType === 'agent') {
    return <Link to={`/agents/${entry.actorId}`}>agent {entry.actorId.slice(0, 8)}</Link>;
  }
  const who = emailOf.get(entry.actorId) ?? entry.actorId;
  return (
    <span>
      {who}
      {entry.actorType === 'api_token' ? <span className="muted"> (API token)</span> : null}
    </span>
  );
}

function Target(props: { entry: AuditEntry }) {
  const { targetType, targetId } = props.entry;
  if (targetType === null) return <span className="muted">—</span>;
  const path =
    targetId === null
      ? null
      : targetType === 'agent'
        ? `/agents/${targetId}`
        : targetType === 'incident'
          ? `/incidents/${targetId}`
          : null;
  return (
    <span>
      {targetType}{' '}
      {targetId === null ? null : path === null ? (
        <code>{targetId}</code>
      ) : (
        <Link to={path}>
          <code>{targetId}</code>
        </Link>
      )}
    </span>
  );
}

function AuditFilters(props: {
  initial: Filters;
  users: { id: string; email: string }[];
  onApply: (filters: Filters) => void;
}) {
  const [filters, setFilters] = useState<Filters>(props.initial);
  const set = (key: FilterKey) => (event: { target: { value: string } }) =>
    setFilters({ ...filters, [key]: event.target.value });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    props.onApply({
      ...filters,
      action: filters.action.trim(),
      targetId: filters.targetId.trim(),
    });
  };
  return (
    <form className="filters" onSubmit={submit} aria-label="Filter the audit log">
      <label>
        Actor
        <select name="actor" value={filters.actor} onChange={set('actor')}>
          <option value="">anyone</option>
          {props.users.map((user) => (
            <option key={user.id} value={user.id}>
              {user.email}
            </option>
          ))}
          {filters.actor !== '' && !props.users.some((user) => user.id === filters.actor) ? (
            <option value={filters.actor}>{filters.actor}</option>
          ) : null}
        </select>
      </label>
      <label>
        Actor type
        <select name="actorType" value={filters.actorType} onChange={set('actorType')}>
          <option value="">any</option>
          {AuditActorType.options.map((type) => (
            <option key={type} value={type}>
              {type.replace('_', ' ')}
            </option>
          ))}
        </select>
      </label>
      <label>
        Action
        <input
          name="action"
          list="audit-actions"
          value={filters.action}
          onChange={set('action')}
          placeholder="api_token.* or user.add"
        />
        <datalist id="audit-actions">
          {knownActions.map((action) => (
            <option key={action} value={action} />
          ))}
        </datalist>
      </label>
      <label>
        Target type
        <select name="targetType" value={filters.targetType} onChange={set('targetType')}>
          <option value="">any</option>
          {knownTargetTypes.map((type) => (
            <option key={type} value={type}>
              {type.replace('_', ' ')}
            </option>
          ))}
          {filters.targetType !== '' && !knownTargetTypes.includes(filters.targetType) ? (
            <option value={filters.targetType}>{filters.targetType}</option>
          ) : null}
        </select>
      </label>
      <label>
        Target id
        <input name="targetId" value={filters.targetId} onChange={set('targetId')} />
      </label>
      <label>
        From ({viewerTimeZone})
        <LocalDateTimeInput
          name="from"
          iso={filters.from}
          onChange={(iso) => setFilters({ ...filters, from: iso })}
        />
      </label>
      <label>
        To ({viewerTimeZone})
        <LocalDateTimeInput
          name="to"
          iso={filters.to}
          onChange={(iso) => setFilters({ ...filters, to: iso })}
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
          {filters.limit !== '' && !pageSizes.includes(filters.limit) ? (
            <option value={filters.limit}>{filters.limit}</option>
          ) : null}
        </select>
      </label>
      <button type="submit">Filter</button>
    </form>
  );
}
