import type { JobHealth, RunStatus } from '@cronfleet/core/contract';

/**
 * Health and run status as a word with a colour: the word is always there, so the colour is
 * never the only carrier of meaning (WCAG 1.4.1).
 */
const healthTone: Record<JobHealth, string> = {
  up: 'good',
  new: 'neutral',
  missed: 'bad',
  failing: 'bad',
  overrun: 'warn',
  suspended: 'neutral',
  unknown: 'warn',
  silenced: 'neutral',
};

const statusTone: Record<RunStatus, string> = {
  succeeded: 'good',
  running: 'info',
  failed: 'bad',
  timed_out: 'bad',
  lost: 'warn',
  skipped: 'neutral',
};

export function HealthBadge(props: { health: JobHealth }) {
  return <span className={`badge tone-${healthTone[props.health]}`}>{props.health}</span>;
}

export function RunStatusBadge(props: { status: RunStatus }) {
  return (
    <span className={`badge tone-${statusTone[props.status]}`}>
      {props.status.replace('_', ' ')}
    </span>
  );
}
