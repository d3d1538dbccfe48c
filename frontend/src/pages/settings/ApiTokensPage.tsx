import type {
  ApiTokenSummary,
  CreateApiTokenRequest,
  CreateApiTokenResponse,
  PermissionName,
} from '@cronfleet/core/contract';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useRef, useState, type FormEvent } from 'react';
import { useSearchParams } from 'react-router';
import { callApi } from '../../api/apiCall.js';
import { ConfirmButton } from '../../components/ConfirmButton.js';
import { CopyableText } from '../../components/CopyableText.js';
import { ErrorMessage } from '../../components/ErrorMessage.js';
import { ShownOnce } from '../../components/ShownOnce.js';
import { TimeText } from '../../components/TimeText.js';
import { useSession } from '../../layout/RequireSession.js';
import { usePageTitle } from '../usePageTitle.js';

/**
 * Personal API tokens (`cfp_…`) for the CLI and automation. Every member may create, list and
 * revoke their own, with at most the permissions they have (a viewer: read); admins also see and
 * revoke everyone's (`?all=true`). A new token is shown once, right after it is created, and
 * only held in this page's state: navigating away or reloading forgets it.
 */
export function ApiTokensPage() {
  usePageTitle('API tokens');
  const session = useSession();
  const isAdmin = session.permissions.includes('admin');
  const [searchParams, setSearchParams] = useSearchParams();
  const everyone = isAdmin && searchParams.get('all') === 'true';
  const includeRevoked = searchParams.get('revoked') === 'true';
  const tokens = useQuery({
    queryKey: ['api-tokens', everyone, includeRevoked],
    queryFn: ({ signal }) =>
      callApi(
        'listApiTokens',
        {
          query: {
            all: everyone ? 'true' : undefined,
            includeRevoked: includeRevoked ? 'true' : undefined,
          },
        },
        signal,
      ),
    placeholderData: keepPreviousData,
  });
  const [created, setCreated] = useState<CreateApiTokenResponse | null>(null);
  const setFilter = (key: string, on: boolean) => {
    const params = new URLSearchParams(searchParams);
    if (on) params.set(key, 'true');
    else params.delete(key);
    setSearchParams(params);
  };
  const now = Date.now();
  return (
    <>
      <div className="page-head">
        <h1>API tokens</h1>
        <p className="muted">
          Bearer tokens for the <code>cronfleet</code> CLI and automation, acting as you
        </p>
      </div>
      {created === null ? null : (
        <NewTokenSecret created={created} onDone={() => setCreated(null)} />
      )}
      <CreateApiToken permissions={session.permissions} onCreated={setCreated} />
      <form className="filters" aria-label="Filter API tokens" onSubmit={(e) => e.preventDefault()}>
        {isAdmin ? (
          <label>
            Whose
            <select
              value={everyone ? 'all' : 'mine'}
              onChange={(event) => setFilter('all', event.target.value === 'all')}
            >
              <option value="mine">mine</option>
              <option value="all">everyone's in {session.organization.name}</option>
            </select>
          </label>
        ) : null}
        <label>
          Revoked tokens
          <select
            value={includeRevoked ? 'shown' : 'hidden'}
            onChange={(event) => setFilter('revoked', event.target.value === 'shown')}
          >
            <option value="hidden">hidden</option>
            <option value="shown">shown</option>
          </select>
        </label>
      </form>
      {tokens.isError ? (
        <ErrorMessage error={tokens.error} title="Could not load the API tokens" />
      ) : null}
      {tokens.isPending ? <p className="loading">Loading the API tokens…</p> : null}
      {tokens.data === undefined ? null : tokens.data.items.length === 0 ? (
        <p className="empty">No API token{everyone ? ' in this organization' : ' of yours'}.</p>
      ) : (
        <div className="table-scroll">
          <table aria-label="API tokens">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Starts with</th>
                {everyone ? <th scope="col">Owner</th> : null}
                <th scope="col">Scopes</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Action</th>
              </tr>
            </thead>
            <tbody>
              {tokens.data.items.map((token) => (
                <tr key={token.id}>
                  <td>{token.name}</td>
                  <td>
                    <code>{token.tokenPrefix}…</code>
                  </td>
                  {everyone ? <td>{token.userEmail}</td> : null}
                  <td>{token.scopes.join(', ')}</td>
                  <td className="small">
                    <TimeText iso={token.createdAt} />
                  </td>
                  <td className="small">
                    <TimeText iso={token.expiresAt} relativeTo={now} empty="never" />
                  </td>
                  <td className="small">
                    <TimeText iso={token.lastUsedAt} empty="never" />
                  </td>
                  <td>
                    {token.revokedAt === null ? (
                      <RevokeApiToken token={token} />
                    ) : (
                      <span className="small">
                        revoked <TimeText iso={token.revokedAt} />
                      </span>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function NewTokenSecret(props: { created: CreateApiTokenResponse; onDone: () => void }) {
  return (
    <ShownOnce title={`API token ${props.created.apiToken.name} created`}>
      <p>
        <strong>Copy it now: you will not see it again.</strong> Cronfleet keeps only its hash. Send
        it as the bearer token (<code>Authorization: Bearer cfp_…</code>).
      </p>
      <CopyableText label="Token" text={props.created.token} />
      <p>
        <button type="button" onClick={props.onDone}>
          Done, I stored it
        </button>
      </p>
    </ShownOnce>
  );
}

function CreateApiToken(props: {
  permissions: readonly PermissionName[];
  onCreated: (created: CreateApiTokenResponse) => void;
}) {
  const queryClient = useQueryClient();
  const details = useRef<HTMLDetailsElement>(null);
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<PermissionName[]>(['read']);
  const [expiresInDays, setExpiresInDays] = useState('90');
  const create = useMutation({
    mutationFn: (body: CreateApiTokenRequest) => callApi('createApiToken', { body }),
    onSuccess: (created) => {
      props.onCreated(created);
      // The new secret above is what matters now; the form closes.
      if (details.current !== null) details.current.open = false;
      setName('');
      // The secret lives in the page's state only, not in the mutation cache.
      create.reset();
      void queryClient.invalidateQueries({ queryKey: ['api-tokens'] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate({
      name: name.trim(),
      scopes,
      ...(expiresInDays === '' ? {} : { expiresInDays: Number(expiresInDays) }),
    });
  };
  return (
    <details className="card" ref={details}>
      <summary>New API token</summary>
      <form className="stack" aria-label="New API token" onSubmit={submit}>
        <label>
          Name (what it is for)
          <input
            value={name}
            onChange={(event) => setName(event.target.value)}
            placeholder="ci-deploy"
            required
            maxLength={100}
          />
        </label>
        <fieldset>
          <legend>Scopes (at most your own permissions)</legend>
          {props.permissions.map((permission) => (
            <label key={permission}>
              <input
                type="checkbox"
                checked={scopes.includes(permission)}
                onChange={(event) =>
                  setScopes(
                    event.target.checked
                      ? [...scopes, permission]
                      : scopes.filter((scope) => scope !== permission),
                  )
                }
              />{' '}
              {permission}
            </label>
          ))}
        </fieldset>
        <label>
          Expires in days (empty: never; revoke it when done)
          <input
            type="number"
            min={1}
            max={3650}
            value={expiresInDays}
            onChange={(event) => setExpiresInDays(event.target.value)}
          />
        </label>
        {create.isError ? (
          <ErrorMessage error={create.error} title="Could not create the API token" />
        ) : null}
        <div>
          <button type="submit" className="primary" disabled={create.isPending}>
            Create API token
          </button>
        </div>
      </form>
    </details>
  );
}

function RevokeApiToken(props: { token: ApiTokenSummary }) {
  const queryClient = useQueryClient();
  const revoke = useMutation({
    mutationFn: () => callApi('revokeApiToken', { params: { tokenId: props.token.id } }),
    onSuccess: () => void queryClient.invalidateQueries({ queryKey: ['api-tokens'] }),
  });
  return (
    <>
      <ConfirmButton
        label="Revoke"
        subject={props.token.name}
        question={`Calls with ${props.token.tokenPrefix}… fail from now on, as do tokens it created.`}
        confirmLabel={`Revoke ${props.token.name}`}
        pending={revoke.isPending}
        onConfirm={() => revoke.mutate()}
      />
      {revoke.isError ? <ErrorMessage error={revoke.error} title="Could not revoke" /> : null}
    </>
  );
}
