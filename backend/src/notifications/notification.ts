import { z } from 'zod';

/**
 * One notification, as every channel kind receives it: an event in an incident's life, with what
 * a person needs to act on it. Incidents are not built yet (issue 12 §3); their worker will make
 * these. The kinds of incident follow issue 12 §1–2.
 */

export const incidentKinds = ['missed', 'failing', 'overrun', 'agent_offline'] as const;
export type IncidentKind = (typeof incidentKinds)[number];

export const notificationEvents = [
  'incident.opened',
  'incident.updated',
  'incident.resolved',
] as const;
export type NotificationEvent = (typeof notificationEvents)[number];

/** What an output tail may hold at most (its end is kept); each kind cuts further to fit. */
export const maxOutputTailCharacters = 16_384;

export const Notification = z.object({
  /**
   * Stable across every retry of this notification, unique per notification: the webhook-id of a
   * signed webhook, the Message-ID of an email. No dot, as the Standard Webhooks spec requires.
   */
  idempotencyKey: z
    .string()
    .regex(/^[A-Za-z0-9_:-]{1,200}$/, 'must be 1 to 200 letters, digits, _, : or -'),
  event: z.enum(notificationEvents),
  incident: z.object({
    /** Also the PagerDuty dedup_key's source: every event of one incident shares it. */
    id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/, 'must be 1 to 100 letters, digits, _ or -'),
    kind: z.enum(incidentKinds),
    openedAt: z.iso.datetime({ offset: true }),
    resolvedAt: z.iso.datetime({ offset: true }).optional(),
  }),
  /** Absent for an incident about an agent (agent_offline). */
  job: z.object({ namespace: z.string().min(1), name: z.string().min(1) }).optional(),
  agent: z.object({ id: z.string().min(1), name: z.string().min(1) }),
  /** What should have happened, in a sentence: "a start by 02:10 (America/New_York)". */
  expected: z.string().max(1000),
  /** What happened, in a sentence: "no run started". */
  happened: z.string().max(1000),
  /** The end of the last run's output, for failures. */
  outputTail: z.string().max(maxOutputTailCharacters).optional(),
  dashboardUrl: z.url({ protocol: /^https?$/ }),
  /** When the event happened (not when it is delivered). */
  occurredAt: z.iso.datetime({ offset: true }),
});
export type Notification = z.output<typeof Notification>;
