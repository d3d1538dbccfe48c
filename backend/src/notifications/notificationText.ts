import type { IncidentKind, Notification, NotificationEvent } from './notification.js';

/** The words every channel kind shows: one module, so Slack, Teams and email say the same. */

export const incidentKindLabels = {
  missed: 'Missed run',
  failing: 'Failing',
  overrun: 'Running too long',
  agent_offline: 'Agent offline',
} as const satisfies Record<IncidentKind, string>;

export const eventLabels = {
  'incident.opened': 'Opened',
  'incident.updated': 'Still open',
  'incident.resolved': 'Resolved',
} as const satisfies Record<NotificationEvent, string>;

/** `production/nightly-db-backup on db-1`, or `agent db-1`. */
export function subjectOf(notification: Notification): string {
  const { job, agent } = notification;
  return job === undefined
    ? `agent ${agent.name}`
    : `${job.namespace}/${job.name} on ${agent.name}`;
}

/** One line: `Resolved: Missed run: production/nightly-db-backup on db-1`. */
export function summaryOf(notification: Notification): string {
  const kind = incidentKindLabels[notification.incident.kind];
  const prefix =
    notification.event === 'incident.opened' ? '' : `${eventLabels[notification.event]}: `;
  return `${prefix}${kind}: ${subjectOf(notification)}`;
}

/** The labelled facts of a notification, in the order every kind shows them. */
export function factsOf(notification: Notification): { label: string; value: string }[] {
  const facts = [];
  if (notification.job !== undefined) {
    facts.push({ label: 'Job', value: `${notification.job.namespace}/${notification.job.name}` });
  }
  facts.push(
    { label: 'Agent', value: notification.agent.name },
    { label: 'Expected', value: notification.expected },
    { label: 'What happened', value: notification.happened },
    { label: 'Incident', value: notification.incident.id },
    { label: 'Since', value: notification.incident.openedAt },
  );
  if (notification.incident.resolvedAt !== undefined) {
    facts.push({ label: 'Resolved at', value: notification.incident.resolvedAt });
  }
  return facts;
}

// ESC [ … final byte (CSI), ESC ] … BEL or ESC \ (OSC), and two-byte ESC sequences.
const terminalEscapes = new RegExp(
  String.raw`\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)?|\u001b[@-_]`,
  'g',
);
// Every C0 control but tab and newline, and DEL.
const controlCharacters = new RegExp(String.raw`[\u0000-\u0008\u000b-\u001f\u007f]`, 'g');

/**
 * Output as a reader should see it: terminal escapes (colours, cursor moves) and other control
 * characters removed, tabs and newlines kept, and only the last `maxCharacters` (a tail stays a
 * tail), marked when cut.
 */
export function displayableTail(text: string, maxCharacters: number): string {
  const clean = text.replace(terminalEscapes, '').replace(controlCharacters, '');
  if (clean.length <= maxCharacters) return clean;
  const marker = '…\n';
  return marker + clean.slice(clean.length - (maxCharacters - marker.length));
}

/** Cuts `text` to `maxCharacters`, ending with … when cut. */
export function shortened(text: string, maxCharacters: number): string {
  return text.length <= maxCharacters ? text : `${text.slice(0, maxCharacters - 1)}…`;
}

/** The plain-text body of an email; also what a receiver that shows text sees. */
export function plainTextOf(notification: Notification): string {
  const lines = [summaryOf(notification), ''];
  for (const fact of factsOf(notification)) lines.push(`${fact.label}: ${fact.value}`);
  if (notification.outputTail !== undefined && notification.outputTail !== '') {
    lines.push('', 'Last output:', displayableTail(notification.outputTail, 8_000));
  }
  lines.push('', `Open in Cronfleet: ${notification.dashboardUrl}`);
  return lines.join('\n');
}
