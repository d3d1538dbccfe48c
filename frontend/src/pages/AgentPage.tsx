import type { AgentDetail } from '@cronfleet/core/contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { useRefreshInterval } from '../api/liveUpdates.js';
import { AgentStatusBadge, conditionText } from '../components/AgentBadges.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import { LabelList, labelsFromText, labelsText } from '../components/LabelList.js';
import { TimeText } from '../components/TimeText.js';
import { useSession } from '../layout/RequireSession.js';
import { usePageTitle } from './usePageTitle.js';

/**
 * One agent: its conditions (Ready, Reconciling, Stalled) with the located manifest errors of its
 * last heartbeat, revisions, repository, labels, heartbeat and version; and, for callers with the
 * `write` permission, rename, relabel, reconcile now and revoke (after a confirmation).
 */
export function AgentPage() {
  const { agentId = '' } = useParams();
  const refreshInterval = useRefreshInterval('jobs');
  const agent = useQuery({
    queryKey: ['agents', 'detail', agentId],
    queryFn: ({ signal }) => callApi('getAgent', { params: { agentId } }, signal),
    refetchInterval: refreshInterval,
  });
  usePageTitle(agent.data === undefined ? 'Agent' : `Agent ${agent.data.name}`);
  if (agent.isPending) return <p className="loading">Loading the agent…</p>;
  if (agent.isError) {
    return (
      <>
        <h1>Agent</h1>
        <ErrorMessage error={agent.error} title="Could not load the agent" />
        <p>
          <Link to="/agents">All agents</Link>
        </p>
      </>
    );
  }
  const a = agent.data;
  const now = Date.now();
  return (
    <>
      <div className="page-head">
        <h1>
          {a.name} <AgentStatusBadge status={a.status} />
        </h1>
        <p>
          <Link to={`/runs?agentId=${a.id}`}>Runs on {a.name}</Link>
        </p>
      </div>
      {a.revokedAt === null ? null : (
        <p className="error" role="note">
          Revoked <TimeText iso={a.revokedAt} />: {a.revokedReason ?? 'no reason given'}. Its calls
          are refused.
        </p>
      )}

      <section aria-labelledby="agent-conditions">
        <h2 id="agent-conditions">Conditions</h2>
        {a.conditions.length === 0 ? (
          <p className="empty">The agent has reported no condition yet.</p>
        ) : (
          <div className="table-scroll">
            <table aria-label="Conditions">
              <thead>
                <tr>
                  <th scope="col">Condition</th>
                  <th scope="col">Status</th>
                  <th scope="col">Reason</th>
                  <th scope="col">Message</th>
                  <th scope="col">Since</th>
                </tr>
              </thead>
              <tbody>
                {a.conditions.map((condition) => (
                  <tr key={condition.type}>
                    <th scope="row">{condition.type}</th>
                    <td>
                      <span
                        className={
                          (condition.type === 'Stalled' && condition.status === 'true') ||
                          (condition.type === 'Ready' && condition.status === 'false')
                            ? 'text-bad'
                            : undefined
                        }
                      >
                        {condition.status} ({conditionText(condition)})
                      </span>
                    </td>
                    <td>
                      <code>{condition.reason}</code>
                    </td>
                    <td className="wrap">{condition.message}</td>
                    <td>
                      <TimeText iso={condition.lastTransitionTime} relativeTo={now} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
        {a.errors.length === 0 ? null : (
          <>
            <h3>Manifest errors of the last heartbeat</h3>
            <ul className="manifest-errors" aria-label="Manifest errors">
              {a.errors.map((error, index) => (
                <li key={index}>
                  <code>
                    {error.file}
                    {error.line === null ? '' : `:${error.line}`}
                    {error.line !== null && error.column !== null ? `:${error.column}` : ''}
                  </code>
                  {error.job === null ? null : <span className="muted"> · job {error.job}</span>}
                  {error.path === null ? null : (
                    <>
                      {' '}
                      · <code>{error.path}</code>
                    </>
                  )}
                  <div>{error.message}</div>
                </li>
              ))}
            </ul>
          </>
        )}
      </section>

      <section className="card" aria-labelledby="agent-facts">
        <h2 id="agent-facts">Facts</h2>
        <dl className="facts">
          <div>
            <dt>Last heartbeat</dt>
            <dd>
              <TimeText iso={a.lastHeartbeatAt} relativeTo={now} empty="never" />
              <div className="muted small">every {a.heartbeatIntervalSeconds} s</div>
            </dd>
          </div>
          <div>
            <dt>Version</dt>
            <dd>{a.version}</dd>
          </div>
          <div>
            <dt>Host</dt>
            <dd>
              {a.hostname}
              <div className="muted small">
                {a.platform}/{a.arch}
              </div>
            </dd>
          </div>
          <div>
            <dt>Last applied revision</dt>
            <dd>
              {a.lastAppliedRevision === null ? (
                <span className="muted">none yet</span>
              ) : (
                <code title={a.lastAppliedRevision}>{a.lastAppliedRevision.slice(0, 12)}</code>
              )}
            </dd>
          </div>
          <div>
            <dt>Last attempted revision</dt>
            <dd>
              {a.lastAttemptedRevision === null ? (
                <span className="muted">none yet</span>
              ) : (
                <code
                  title={a.lastAttemptedRevision}
                  className={
                    a.lastAttemptedRevision === a.lastAppliedRevision ? undefined : 'text-warn'
                  }
                >
                  {a.lastAttemptedRevision.slice(0, 12)}
                </code>
              )}
            </dd>
          </div>
          <div>
            <dt>Job instances</dt>
            <dd>{a.jobInstanceCount}</dd>
          </div>
          <div className="wide">
            <dt>Repository</dt>
            <dd>
              {a.repository === null ? (
                <span className="muted">not reported yet</span>
              ) : (
                <>
                  <code>{a.repository.url}</code> <span className="muted">branch</span>{' '}
                  <code>{a.repository.branch}</code>
                </>
              )}
            </dd>
          </div>
          <div className="wide">
            <dt>Labels</dt>
            <dd>
              {Object.keys(a.labels).length === 0 ? (
                <span className="muted">none</span>
              ) : (
                <LabelList labels={a.labels} max={50} />
              )}
            </dd>
          </div>
          <div>
            <dt>Enrolled</dt>
            <dd>
              <TimeText iso={a.createdAt} />
            </dd>
          </div>
          {a.machineId === undefined ? null : (
            <div className="wide">
              <dt>Machine id (SHA-256)</dt>
              <dd>
                <code>{a.machineId}</code>
              </dd>
            </div>
          )}
          <div className="wide">
            <dt>Agent id</dt>
            <dd>
              <code>{a.id}</code>
            </dd>
          </div>
        </dl>
      </section>
      <AgentControls agent={a} />
    </>
  );
}

/** Rename, relabel, reconcile now, revoke: only for callers with the `write` permission. */
function AgentControls(props: { agent: AgentDetail }) {
  const { agent } = props;
  const session = useSession();
  const queryClient = useQueryClient();
  const [name, setName] = useState(agent.name);
  const [labels, setLabels] = useState(labelsText(agent.labels));
  const [labelError, setLabelError] = useState<string | null>(null);
  const [confirmRevoke, setConfirmRevoke] = useState(false);
  const [reason, setReason] = useState('');
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['agents'] });
  const update = useMutation({
    mutationFn: (body: { name?: string; labels?: Record<string, string> }) =>
      callApi('updateAgent', { params: { agentId: agent.id }, body }),
    onSuccess: (updated) => {
      queryClient.setQueryData(['agents', 'detail', agent.id], updated);
      void refresh();
    },
  });
  const reconcile = useMutation({
    mutationFn: () => callApi('reconcileAgent', { params: { agentId: agent.id } }),
  });
  const revoke = useMutation({
    mutationFn: () =>
      callApi('revokeAgent', { params: { agentId: agent.id }, body: { reason: reason.trim() } }),
    onSuccess: (updated) => {
      queryClient.setQueryData(['agents', 'detail', agent.id], updated);
      setConfirmRevoke(false);
      void refresh();
    },
  });
  if (!session.permissions.includes('write') || agent.status === 'revoked') return null;

  const rename = (event: FormEvent) => {
    event.preventDefault();
    update.mutate({ name: name.trim() });
  };
  const relabel = (event: FormEvent) => {
    event.preventDefault();
    const parsed = labelsFromText(labels);
    if ('error' in parsed) {
      setLabelError(parsed.error);
      return;
    }
    setLabelError(null);
    update.mutate({ labels: parsed.labels });
  };
  return (
    <section aria-labelledby="agent-controls">
      <h2 id="agent-controls">Manage</h2>
      {update.isError ? (
        <ErrorMessage error={update.error} title="Could not change the agent" />
      ) : null}
      {update.isSuccess ? (
        <p className="notice" role="status">
          Saved.
        </p>
      ) : null}
      <div className="control-grid">
        <form onSubmit={rename} className="card" aria-label="Rename">
          <h3>Rename</h3>
          <label>
            Name
            <input value={name} onChange={(event) => setName(event.target.value)} required />
          </label>
          <button type="submit" disabled={update.isPending || name.trim() === agent.name}>
            Rename
          </button>
        </form>
        <form onSubmit={relabel} className="card" aria-label="Relabel">
          <h3>Relabel</h3>
          <label>
            Labels, one key=value per line
            <textarea value={labels} onChange={(event) => setLabels(event.target.value)} />
          </label>
          {labelError === null ? null : (
            <p className="error" role="alert">
              {labelError}
            </p>
          )}
          <button type="submit" disabled={update.isPending}>
            Save labels
          </button>
        </form>
        <div className="card">
          <h3>Reconcile now</h3>
          <p className="muted small">
            The agent fetches the repository and applies its jobs at its next heartbeat, instead of
            waiting for its poll.
          </p>
          <button type="button" onClick={() => reconcile.mutate()} disabled={reconcile.isPending}>
            Reconcile now
          </button>
          {reconcile.isError ? (
            <ErrorMessage error={reconcile.error} title="Could not ask for a reconcile" />
          ) : null}
          {reconcile.data === undefined ? null : (
            <p className="notice" role="status">
              Asked: {agent.name} reconciles at its next heartbeat (the request expires{' '}
              <TimeText iso={reconcile.data.expiresAt} />
              ).
            </p>
          )}
        </div>
        <div className="card">
          <h3>Revoke</h3>
          <p className="muted small">
            Its token stops working at its next call. Its jobs stay in its scheduler, unmonitored.
            This cannot be undone: the host must enroll again.
          </p>
          {confirmRevoke ? (
            <form
              onSubmit={(event) => {
                event.preventDefault();
                revoke.mutate();
              }}
              aria-label="Confirm revocation"
            >
              <label>
                Reason (the agent is told)
                <input
                  value={reason}
                  onChange={(event) => setReason(event.target.value)}
                  required
                />
              </label>
              <div className="actions">
                <button type="submit" className="danger" disabled={revoke.isPending}>
                  Revoke {agent.name}
                </button>
                <button type="button" onClick={() => setConfirmRevoke(false)}>
                  Cancel
                </button>
              </div>
            </form>
          ) : (
            <button type="button" className="danger" onClick={() => setConfirmRevoke(true)}>
              Revoke…
            </button>
          )}
          {revoke.isError ? (
            <ErrorMessage error={revoke.error} title="Could not revoke the agent" />
          ) : null}
        </div>
      </div>
    </section>
  );
}
