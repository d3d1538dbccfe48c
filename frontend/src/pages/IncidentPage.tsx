import type { IncidentActor } from '@cronfleet/core/contract';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { Link, useParams } from 'react-router';
import { callApi } from '../api/apiCall.js';
import { useRefreshInterval } from '../api/liveUpdates.js';
import { ErrorMessage } from '../components/ErrorMessage.js';
import {
  IncidentStateBadge,
  incidentKindText,
  incidentSubject,
} from '../components/IncidentBadges.js';
import { TimeText } from '../components/TimeText.js';
import { useSession } from '../layout/RequireSession.js';
import { jobPath } from './JobsPage.js';
import { usePageTitle } from './usePageTitle.js';

/**
 * One incident: what was expected and what happened, its timeline (oldest first), and, for
 * callers with the `write` permission, acknowledge and resolve (with an optional comment).
 */
function actorText(actor: IncidentActor): string {
  if (actor.type === 'system') return 'Cronfleet';
  return actor.name ?? `${actor.type} ${actor.id ?? ''}`.trim();
}

export function IncidentPage() {
  const { incidentId = '' } = useParams();
  usePageTitle('Incident');
  const incident = useQuery({
    queryKey: ['incidents', 'detail', incidentId],
    queryFn: ({ signal }) => callApi('getIncident', { params: { incidentId } }, signal),
    refetchInterval: useRefreshInterval('runs'),
  });
  if (incident.isPending) return <p className="loading">Loading the incident…</p>;
  if (incident.isError) {
    return (
      <>
        <h1>Incident</h1>
        <ErrorMessage error={incident.error} title="Could not load the incident" />
        <p>
          <Link to="/incidents">All incidents</Link>
        </p>
      </>
    );
  }
  const i = incident.data;
  const now = Date.now();
  return (
    <>
      <div className="page-head">
        <h1>
          {incidentKindText(i.kind)}: {incidentSubject(i)} <IncidentStateBadge incident={i} />
        </h1>
        <p>
          {i.job === null ? (
            <Link to={`/agents/${i.agent.id}`}>Agent {i.agent.name}</Link>
          ) : (
            <Link to={jobPath(i.job.namespace, i.job.name)}>
              Job {i.job.namespace}/{i.job.name}
            </Link>
          )}
        </p>
      </div>
      <section className="card" aria-labelledby="incident-facts">
        <h2 id="incident-facts" className="visually-hidden">
          Facts
        </h2>
        <dl className="facts">
          <div className="wide">
            <dt>Expected</dt>
            <dd>{i.expected}</dd>
          </div>
          <div className="wide">
            <dt>Happened</dt>
            <dd data-testid="incident-happened">{i.happened}</dd>
          </div>
          <div>
            <dt>Opened</dt>
            <dd>
              <TimeText iso={i.openedAt} relativeTo={now} />
            </dd>
          </div>
          <div>
            <dt>Occurrences</dt>
            <dd>{i.occurrences}</dd>
          </div>
          <div>
            <dt>Acknowledged</dt>
            <dd data-testid="incident-acknowledged">
              {i.acknowledgedAt === null ? (
                <span className="muted">not yet</span>
              ) : (
                <>
                  <TimeText iso={i.acknowledgedAt} />
                  {i.acknowledgedBy === null ? null : ` by ${actorText(i.acknowledgedBy)}`}
                </>
              )}
            </dd>
          </div>
          <div>
            <dt>Resolved</dt>
            <dd>
              {i.resolvedAt === null ? (
                <span className="muted">open</span>
              ) : (
                <TimeText iso={i.resolvedAt} />
              )}
            </dd>
          </div>
          {i.resolution === null ? null : (
            <div className="wide">
              <dt>Resolution</dt>
              <dd>{i.resolution}</dd>
            </div>
          )}
          {i.silenced ? (
            <div className="wide">
              <dt>Silenced</dt>
              <dd>
                A silence matched when it opened: it notified nobody.{' '}
                <Link to="/silences">Silences</Link>
              </dd>
            </div>
          ) : null}
        </dl>
      </section>
      <IncidentControls
        incidentId={i.id}
        open={i.status === 'open'}
        acknowledged={i.acknowledgedAt !== null}
      />
      <section aria-labelledby="incident-timeline">
        <h2 id="incident-timeline">Timeline</h2>
        <ol className="timeline-list" aria-label="Timeline">
          {i.events.map((event) => (
            <li key={event.id}>
              <TimeText iso={event.at} /> · <strong>{event.type}</strong>{' '}
              <span className="muted">by {actorText(event.actor)}</span>
              <div className="wrap-text">{event.message}</div>
            </li>
          ))}
        </ol>
      </section>
    </>
  );
}

function IncidentControls(props: { incidentId: string; open: boolean; acknowledged: boolean }) {
  const session = useSession();
  const queryClient = useQueryClient();
  const [comment, setComment] = useState('');
  const refresh = () => queryClient.invalidateQueries({ queryKey: ['incidents'] });
  const acknowledge = useMutation({
    mutationFn: () => callApi('acknowledgeIncident', { params: { incidentId: props.incidentId } }),
    onSuccess: () => void refresh(),
  });
  const resolve = useMutation({
    mutationFn: () =>
      callApi('resolveIncident', {
        params: { incidentId: props.incidentId },
        body: comment.trim() === '' ? {} : { comment },
      }),
    onSuccess: () => {
      setComment('');
      void refresh();
      void queryClient.invalidateQueries({ queryKey: ['jobs'] });
    },
  });
  if (!session.permissions.includes('write') || !props.open) return null;
  const submitResolve = (event: FormEvent) => {
    event.preventDefault();
    resolve.mutate();
  };
  return (
    <section aria-labelledby="incident-actions">
      <h2 id="incident-actions">Respond</h2>
      {acknowledge.isError ? (
        <ErrorMessage error={acknowledge.error} title="Could not acknowledge the incident" />
      ) : null}
      {resolve.isError ? (
        <ErrorMessage error={resolve.error} title="Could not resolve the incident" />
      ) : null}
      <div className="control-grid">
        <div className="card">
          <h3>Acknowledge</h3>
          <p className="muted small">Someone is on it: no more re-alerts for this incident.</p>
          <button
            type="button"
            onClick={() => acknowledge.mutate()}
            disabled={props.acknowledged || acknowledge.isPending}
          >
            {props.acknowledged ? 'Acknowledged' : 'Acknowledge'}
          </button>
        </div>
        <form className="card" onSubmit={submitResolve} aria-label="Resolve">
          <h3>Resolve</h3>
          <label>
            Comment (optional)
            <textarea value={comment} onChange={(event) => setComment(event.target.value)} />
          </label>
          <button type="submit" disabled={resolve.isPending}>
            Resolve
          </button>
        </form>
      </div>
    </section>
  );
}
