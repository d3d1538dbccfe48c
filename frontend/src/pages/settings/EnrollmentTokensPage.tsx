import {
  EnrollmentTokenStatus,
  type CreateEnrollmentTokenRequest,
  type CreateEnrollmentTokenResponse,
  type EnrollmentTokenSummary,
} from '@cronfleet/core/contract';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { Link, useSearchParams } from 'react-router';
import { callApi } from '../../api/apiCall.js';
import { ConfirmButton } from '../../components/ConfirmButton.js';
import { CopyableText } from '../../components/CopyableText.js';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { ShownOnce } from '../../components/ShownOnce.js';
import { LabelList, labelsFromText } from '../../components/LabelList.js';
import { TimeText } from '../../components/TimeText.js';
import { keysetPageLinks } from '../listPages.js';
import { usePageTitle } from '../usePageTitle.js';

/**
 * Enrollment tokens (`cfe_…`, operators and admins): an agent exchanges one for its own token
 * once. A new token is shown once, with the `cronfleet-agent enroll` command that uses it
 * (docs/agent.md: `--backend URL --token cfe_…`). The backend URL is where this browser reaches
 * the backend, which serves the dashboard; it can be edited for agents that reach it elsewhere.
 * The list filters by status with the keyset cursor in the URL.
 */
const statusTone: Record<EnrollmentTokenStatus, string> = {
  active: 'good',
  expired: 'neutral',
  revoked: 'bad',
  used_up: 'neutral',
};

/** The command docs/agent.md gives, for a backend URL and a token (both need no shell quoting). */
export function enrollCommandText(backendUrl: string, token: string): string {
  return `cronfleet-agent enroll --backend ${backendUrl} --token ${token}`;
}

export function EnrollmentTokensPage() {
  usePageTitle('Enrollment tokens');
  const [searchParams, setSearchParams] = useSearchParams();
  const statusParam = searchParams.get('status') ?? '';
  const status = EnrollmentTokenStatus.safeParse(statusParam).success ? statusParam : '';
  const cursor = searchParams.get('cursor') ?? '';
  const tokens = useQuery({
    queryKey: ['enrollment-tokens', status, cursor],
    queryFn: ({ signal }) =>
      callApi(
        'listEnrollmentTokens',
        { query: { status: status || undefined, cursor: cursor || undefined } },
        signal,
      ),
    placeholderData: keepPreviousData,
  });
  const [created, setCreated] = useState<CreateEnrollmentTokenResponse | null>(null);
  const { withCursor, firstPage } = keysetPageLinks(searchParams, '/settings/enrollment-tokens');
  const now = Date.now();
  return (
    <>
      <div className="page-head">
        <h1>Enrollment tokens</h1>
        <p className="muted">
          An agent exchanges one for its own token once · <Link to="/agents">Agents</Link>
        </p>
      </div>
      {created === null ? null : (
        <NewEnrollmentToken created={created} onDone={() => setCreated(null)} />
      )}
      <CreateEnrollmentToken onCreated={setCreated} />
      <form
        className="filters"
        aria-label="Filter enrollment tokens"
        onSubmit={(e) => e.preventDefault()}
      >
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
            {EnrollmentTokenStatus.options.map((option) => (
              <option key={option} value={option}>
                {option.replace('_', ' ')}
              </option>
            ))}
          </select>
        </label>
      </form>
      {tokens.isError ? (
        <ErrorMessage error={tokens.error} title="Could not load the enrollment tokens" />
      ) : null}
      {tokens.isPending ? <p className="loading">Loading the enrollment tokens…</p> : null}
      {tokens.data === undefined ? null : tokens.data.items.length === 0 ? (
        <p className="empty">No enrollment token{status === '' ? '' : ` ${status}`}.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="Enrollment tokens">
            <thead>
              <tr>
                <th scope="col">Status</th>
                <th scope="col">Description</th>
                <th scope="col">Starts with</th>
                <th scope="col">Labels</th>
                <th scope="col">Uses</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.items.map((token) => (
                <tr key={token.id}>
                  <td>
                    <span className={`badge tone-${statusTone[token.status]}`}>
                      {token.status.replace('_', ' ')}
                    </span>
                  </td>
                  <td className="wrap">
                    {token.description === '' ? (
                      <span className="muted">none</span>
                    ) : (
                      token.description
                    )}
                    {token.replacesAgentId === null ? null : (
                      <div className="small">
                        replaces{' '}
                        <Link to={`/agents/${token.replacesAgentId}`}>
                          agent {token.replacesAgentId.slice(0, 8)}
                        </Link>
                      </div>
                    )}
                  </td>
                  <td>
                    <code>{token.tokenPrefix}…</code>
                  </td>
                  <td>
                    <LabelList labels={token.labels} />
                  </td>
                  <td>
                    {token.uses}
                    {token.maxUses === null ? '' : ` of ${token.maxUses}`}
                  </td>
                  <td className="small">
                    <TimeText iso={token.createdAt} />
                  </td>
                  <td className="small">
                    <TimeText iso={token.expiresAt} relativeTo={now} empty="never" />
                  </td>
                  <td>
                    {token.status === 'active' ? <RevokeEnrollmentToken token={token} /> : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="Pages of enrollment tokens">
        {cursor === '' ? null : <Link to={firstPage()}>← Newest tokens</Link>}
        {tokens.data?.nextCursor ? (
          <Link to={withCursor(tokens.data.nextCursor)}>Older tokens →</Link>
        ) : null}
      </nav>
    </>
  );
}

function NewEnrollmentToken(props: { created: CreateEnrollmentTokenResponse; onDone: () => void }) {
  const [backendUrl, setBackendUrl] = useState(window.location.origin);
  const url = backendUrl.trim().replace(/\/+$/, '');
  return (
    <ShownOnce
      title={`Enrollment token ${props.created.description === '' ? '' : `${props.created.description} `}created`}
    >
      <p>
        <strong>Copy the command now: you will not see this token again.</strong> Run it on the
        server as the user the agent runs as (root for <code>/etc/cron.d</code>); then start the
        daemon, <code>cronfleet-agent sync</code> (docs/agent.md).
      </p>
      <div className="stack">
        <label>
          Backend URL the agent reaches (this dashboard&apos;s address unless agents use another)
          <input
            type="url"
            value={backendUrl}
            onChange={(event) => setBackendUrl(event.target.value)}
          />
        </label>
        <CopyableText
          label="Enroll command"
          text={enrollCommandText(url, props.created.token)}
          multiline
        />
        <p className="small muted">
          <code>--token</code> is visible in the process list while the command runs; on a shared
          host write the token to a file and use <code>--enrollment-token-file FILE</code>, or set{' '}
          <code>CRONFLEET_ENROLLMENT_TOKEN</code>.
        </p>
        <CopyableText label="Token" text={props.created.token} />
      </div>
      <p>
        <button type="button" onClick={props.onDone}>
          Done, I copied it
        </button>
      </p>
    </ShownOnce>
  );
}

function CreateEnrollmentToken(props: {
  onCreated: (created: CreateEnrollmentTokenResponse) => void;
}) {
  const queryClient = useQueryClient();
  const details = useRef<HTMLDetailsElement>(null);
  const empty = { description: '', labels: '', maxUses: '1', expiresInHours: '24' };
  const [form, setForm] = useState(empty);
  const [formError, setFormError] = useState<string | null>(null);
  const create = useMutation({
    mutationFn: (body: CreateEnrollmentTokenRequest) => callApi('createEnrollmentToken', { body }),
    onSuccess: (created) => {
      props.onCreated(created);
      // The new secret above is what matters now; the form closes.
      if (details.current !== null) details.current.open = false;
      setForm(empty);
      create.reset();
      void queryClient.invalidateQueries({ queryKey: ['enrollment-tokens'] });
    },
  });
  const field = (key: keyof typeof form) => ({
    value: form[key],
    onChange: (event: { target: { value: string } }) =>
      setForm({ ...form, [key]: event.target.value }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    const labels = labelsFromText(form.labels);
    if ('error' in labels) {
      setFormError(`Labels: ${labels.error}`);
      return;
    }
    setFormError(null);
    create.mutate({
      description: form.description.trim(),
      labels: labels.labels,
      ...(form.maxUses === '' ? {} : { maxUses: Number(form.maxUses) }),
      ...(form.expiresInHours === '' ? {} : { expiresInHours: Number(form.expiresInHours) }),
    });
  };
  return (
    <details className="card" ref={details}>
      <summary>New enrollment token</summary>
      <form className="stack" aria-label="New enrollment token" onSubmit={submit}>
        <label>
          Description
          <input {...field('description')} placeholder="db hosts, rack 4" maxLength={200} />
        </label>
        <label>
          Labels for every agent enrolled with it, one key=value per line
          <textarea {...field('labels')} rows={3} />
        </label>
        <label>
          Uses (empty: unlimited)
          <input type="number" min={1} {...field('maxUses')} />
        </label>
        <label>
          Expires in hours (empty: never)
          <input type="number" min={1} step="any" {...field('expiresInHours')} />
        </label>
        {formError === null ? null : (
          <p className="error" role="alert">
            {formError}
          </p>
        )}
        {create.isError ? (
          <ErrorMessage error={create.error} title="Could not create the enrollment token" />
        ) : null}
        <div>
          <button type="submit" className="primary" disabled={create.isPending}>
            Create enrollment token
          </button>
        </div>
      </form>
    </details>
  );
}

function RevokeEnrollmentToken(props: { token: EnrollmentTokenSummary }) {
  const queryClient = useQueryClient();
  const name = props.token.description === '' ? props.token.tokenPrefix : props.token.description;
  const revoke = useMutation({
    mutationFn: () =>
      callApi('revokeEnrollmentToken', { params: { enrollmentTokenId: props.token.id } }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['enrollment-tokens'] }),
  });
  return (
    <>
      <ConfirmButton
        label="Revoke"
        subject={name}
        question="It enrolls no more agents; agents it enrolled stay."
        confirmLabel={`Revoke ${name}`}
        pending={revoke.isPending}
        onConfirm={() => revoke.mutate()}
      />
      {revoke.isError ? <ErrorMessage error={revoke.error} title="Could not revoke" /> : null}
    </>
  );
}
