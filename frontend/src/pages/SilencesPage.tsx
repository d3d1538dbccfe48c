import { SilenceStatus, type CreateSilenceRequest, type Silence } from '@cronfleet/core/contract';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { LabelList, labelsFromText } from '../components/LabelList.js';
import { TimeText } from '../components/TimeText.js';
import { viewerTimeZone } from '../format/timeText.js';
import { useSession } from '../layout/RequireSession.js';
import { keysetPageLinks, useAgentChoices } from './listPages.js';
import { usePageTitle } from './usePageTitle.js';

/**
 * Silences (maintenance windows): incidents that open while one matches notify nobody. The list
 * filters by status with the keyset cursor in the URL; operators and admins create one (matchers
 * namespace, job, labels, agent; start and end in their own zone, sent in UTC; a comment) and
 * expire one early.
 */
const statusTone: Record<SilenceStatus, string> = {
  pending: 'info',
  active: 'warn',
  expired: 'neutral',
};

export function SilencesPage() {
  usePageTitle('Silences');
  const session = useSession();
  const canWrite = session.permissions.includes('write');
  const [searchParams, setSearchParams] = useSearchParams();
  const statusParam = searchParams.get('status') ?? '';
  const status = SilenceStatus.safeParse(statusParam).success ? statusParam : '';
  const cursor = searchParams.get('cursor') ?? '';
  const silences = useQuery({
    queryKey: ['silences', status, cursor],
    queryFn: ({ signal }) =>
      callApi(
        'listSilences',
        { query: { status: status || undefined, cursor: cursor || undefined } },
        signal,
      ),
    placeholderData: keepPreviousData,
  });
  const { withCursor } = keysetPageLinks(searchParams, '/silences');
  const now = Date.now();
  return (
    <>
      <div className="page-head">
        <h1>Silences</h1>
        <p className="muted">
          Incidents that open while a silence matches notify nobody ·{' '}
          <Link to="/incidents">Incidents</Link>
        </p>
      </div>
      {canWrite ? <CreateSilence /> : null}
      <form className="filters" aria-label="Filter silences" onSubmit={(e) => e.preventDefault()}>
        <label>
          Status
          <select
            value={status}
            onChange={(event) => {
              const params = new URLSearchParams();
              if (event.target.value !== '') params.set('status', event.target.value);
              setSearchParams(params);
            }}
          >
            <option value="">any</option>
            {SilenceStatus.options.map((option) => (
              <option key={option} value={option}>
                {option}
              </option>
            ))}
          </select>
        </label>
      </form>
      {silences.isError ? (
        <ErrorMessage error={silences.error} title="Could not load the silences" />
      ) : null}
      {silences.isPending ? <p className="loading">Loading the silences…</p> : null}
      {silences.data === undefined ? null : silences.data.items.length === 0 ? (
        <p className="empty">No silence{status === '' ? '' : ` ${status}`}.</p>
      ) : (
        <>
          <div className="table-scroll">
            <table aria-label="Silences">
              <thead>
                <tr>
                  <th scope="col">Status</th>
                  <th scope="col">Matches</th>
                  <th scope="col">Starts</th>
                  <th scope="col">Ends</th>
                  <th scope="col">Comment</th>
                  <th scope="col">By</th>
                  {canWrite ? <th scope="col">Action</th> : null}
                </tr>
              </thead>
              <tbody>
                {silences.data.items.map((silence) => (
                  <tr key={silence.id}>
                    <td>
                      <span className={`badge tone-${statusTone[silence.status]}`}>
                        {silence.status}
                      </span>
                    </td>
                    <td>
                      <Matchers silence={silence} />
                    </td>
                    <td>
                      <TimeText iso={silence.startsAt} relativeTo={now} />
                    </td>
                    <td>
                      <TimeText iso={silence.endsAt} relativeTo={now} />
                    </td>
                    <td className="wrap">{silence.comment}</td>
                    <td>{silence.createdBy.name}</td>
                    {canWrite ? (
                      <td>
                        {silence.status === 'expired' ? null : <ExpireSilence silence={silence} />}
                      </td>
                    ) : null}
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <nav className="pager" aria-label="Pages of silences">
            {cursor === '' ? null : (
              <Link to={status === '' ? '/silences' : `?status=${status}`}>← First page</Link>
            )}
            {silences.data.nextCursor === null ? null : (
              <Link to={withCursor(silences.data.nextCursor)}>More silences →</Link>
            )}
          </nav>
        </>
      )}
    </>
  );
}

function Matchers(props: { silence: Silence }) {
  const { matchers } = props.silence;
  return (
    <span className="small">
      {matchers.namespace === undefined ? null : <div>namespace {matchers.namespace}</div>}
      {matchers.job === undefined ? null : <div>job {matchers.job}</div>}
      {matchers.agentId === undefined ? null : (
        <div>
          agent <Link to={`/agents/${matchers.agentId}`}>{matchers.agentId.slice(0, 8)}</Link>
        </div>
      )}
      {Object.keys(matchers.labels).length === 0 ? null : <LabelList labels={matchers.labels} />}
    </span>
  );
}

function ExpireSilence(props: { silence: Silence }) {
  const queryClient = useQueryClient();
  const expire = useMutation({
    mutationFn: () => callApi('expireSilence', { params: { silenceId: props.silence.id } }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['silences'] }),
  });
  return (
    <>
      <button type="button" onClick={() => expire.mutate()} disabled={expire.isPending}>
        Expire
      </button>
      {expire.isError ? <ErrorMessage error={expire.error} title="Could not expire" /> : null}
    </>
  );
}

/** A `datetime-local` value (the viewer's zone) as an ISO instant; '' stays ''. */
function localInputToIso(value: string): string {
  return value === '' ? '' : new Date(value).toISOString();
}

function CreateSilence() {
  const queryClient = useQueryClient();
  const agents = useAgentChoices();
  const [form, setForm] = useState({
    namespace: '',
    job: '',
    labels: '',
    agentId: '',
    startsAt: '',
    endsAt: '',
    comment: '',
  });
  const [formError, setFormError] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: CreateSilenceRequest) => callApi('createSilence', { body }),
    onSuccess: () => {
      setForm({
        namespace: '',
        job: '',
        labels: '',
        agentId: '',
        startsAt: '',
        endsAt: '',
        comment: '',
      });
      void queryClient.invalidateQueries({ queryKey: ['silences'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const labels = labelsFromText(form.labels);
    if ('error' in labels) {
      setFormError(`Labels: ${labels.error}`);
      return;
    }
    setFormError(null);
    const startsAt = localInputToIso(form.startsAt);
    create.mutate({
      matchers: {
        ...(form.namespace.trim() === '' ? {} : { namespace: form.namespace.trim() }),
        ...(form.job.trim() === '' ? {} : { job: form.job.trim() }),
        ...(form.agentId === '' ? {} : { agentId: form.agentId }),
        labels: labels.labels,
      },
      ...(startsAt === '' ? {} : { startsAt }),
      endsAt: localInputToIso(form.endsAt),
      comment: form.comment,
    });
  };
  const field = (key: keyof typeof form) => ({
    value: form[key],
    onChange: (event: { target: { value: string } }) =>
      setForm({ ...form, [key]: event.target.value }),
  });
  return (
    <details className="card create-silence">
      <summary>New silence</summary>
      <form onSubmit={submit} aria-label="New silence" className="control-grid">
        <label>
          Namespace
          <input {...field('namespace')} placeholder="any" />
        </label>
        <label>
          Job name
          <input {...field('job')} placeholder="any" />
        </label>
        <label>
          Agent
          <select {...field('agentId')}>
            <option value="">any</option>
            {agents.data?.items.map((agent) => (
              <option key={agent.id} value={agent.id}>
                {agent.name}
              </option>
            ))}
          </select>
        </label>
        <label>
          Job labels, one key=value per line
          <textarea {...field('labels')} />
        </label>
        <label>
          Starts ({viewerTimeZone}; empty: now)
          <input type="datetime-local" {...field('startsAt')} />
        </label>
        <label>
          Ends ({viewerTimeZone})
          <input type="datetime-local" {...field('endsAt')} required />
        </label>
        <label>
          Comment (why: the change, the ticket)
          <textarea {...field('comment')} required />
        </label>
        <div>
          {formError === null ? null : (
            <p className="error" role="alert">
              {formError}
            </p>
          )}
          {create.isError ? (
            <ErrorMessage error={create.error} title="Could not create the silence" />
          ) : null}
          <button type="submit" className="primary" disabled={create.isPending}>
            Create silence
          </button>
        </div>
      </form>
    </details>
  );
}
