import type { AgentStatus, Condition } from '@cronfleet/core/contract';

/**
 * An agent's status and its conditions as words with a colour. A condition reads as Flux's do:
 * Ready true is good; Reconciling true is work in progress; Stalled true needs a human (a bad
 * manifest), so it is the loudest.
 */
const agentTone: Record<AgentStatus, string> = {
  online: 'good',
  offline: 'warn',
  revoked: 'neutral',
};

export function AgentStatusBadge(props: { status: AgentStatus }) {
  return <span className={`badge tone-${agentTone[props.status]}`}>{props.status}</span>;
}

function conditionTone(condition: Condition): string {
  if (condition.status === 'unknown') return 'neutral';
  const on = condition.status === 'true';
  switch (condition.type) {
    case 'Ready':
      return on ? 'good' : 'bad';
    case 'Reconciling':
      return on ? 'info' : 'neutral';
    case 'Stalled':
      return on ? 'bad' : 'neutral';
  }
}

/** `Ready`, `not Ready`, `Stalled`…: the condition's type, negated when false. */
export function conditionText(condition: Condition): string {
  if (condition.status === 'unknown') return `${condition.type}?`;
  return condition.status === 'true' ? condition.type : `not ${condition.type}`;
}

export function ConditionBadge(props: { condition: Condition }) {
  const { condition } = props;
  return (
    <span
      className={`badge tone-${conditionTone(condition)}`}
      title={`${condition.type}=${condition.status} (${condition.reason}): ${condition.message}`}
    >
      {conditionText(condition)}
    </span>
  );
}

/** The conditions worth a glance in a list: Ready, and Reconciling or Stalled when true. */
export function ConditionBadges(props: { conditions: readonly Condition[] }) {
  const shown = props.conditions.filter(
    (condition) => condition.type === 'Ready' || condition.status === 'true',
  );
  if (shown.length === 0) return <span className="muted small">none reported</span>;
  return (
    <span className="badge-row">
      {shown.map((condition) => (
        <ConditionBadge key={condition.type} condition={condition} />
      ))}
    </span>
  );
}
