import type { Incident } from '@cronfleet/core/contract';

/** An incident's state in words: open, acknowledged, resolved (and silenced, which notified nobody). */
export function IncidentStateBadge(props: { incident: Incident }) {
  const { incident } = props;
  const [text, tone] =
    incident.status === 'resolved'
      ? ['resolved', 'good']
      : incident.acknowledgedAt === null
        ? ['open', 'bad']
        : ['acknowledged', 'warn'];
  return (
    <span className="badge-row">
      <span className={`badge tone-${tone}`}>{text}</span>
      {incident.silenced ? <span className="badge tone-neutral">silenced</span> : null}
    </span>
  );
}

export function incidentKindText(kind: Incident['kind']): string {
  return kind.replace('_', ' ');
}

/** `reports/daily-report on web-1`, or `agent web-1` for an agent's own incident. */
export function incidentSubject(incident: Incident): string {
  return incident.job === null
    ? `agent ${incident.agent.name}`
    : `${incident.job.namespace}/${incident.job.name} on ${incident.agent.name}`;
}
