import { z } from 'zod';
import { AgentStatus, ConditionStatus } from './agentContract.js';
import { JobName, Namespace, IsoDateTime, Uuid } from './fieldContract.js';
import { IncidentKind, IncidentStatus } from './incidentContract.js';
import { RunStatus } from './runContract.js';

/**
 * Live events (`GET /api/v1/events`): a Server-Sent Events stream of the caller's active
 * organization. Each message has an `id` (send it back as `Last-Event-ID` when reconnecting to
 * get what was missed), an `event` name below and a JSON `data` line of that event's schema.
 */

/** A run started or finished (or was marked lost). */
export const RunLiveEvent = z.object({
  runId: Uuid,
  namespace: Namespace,
  name: JobName,
  agentId: Uuid,
  status: RunStatus,
  startedAt: IsoDateTime.nullable(),
  finishedAt: IsoDateTime.nullable(),
});
export type RunLiveEvent = z.infer<typeof RunLiveEvent>;

/** An agent's status or conditions changed (it came back online, went offline, a condition changed). */
export const AgentLiveEvent = z.object({
  agentId: Uuid,
  name: z.string(),
  status: AgentStatus,
  online: z.boolean(),
  /** Each condition's status; `unknown` when the agent reported none of that type. */
  conditions: z.object({
    ready: ConditionStatus,
    reconciling: ConditionStatus,
    stalled: ConditionStatus,
  }),
});
export type AgentLiveEvent = z.infer<typeof AgentLiveEvent>;

export const IncidentLiveAction = z.enum(['opened', 'updated', 'acknowledged', 'resolved']);
export type IncidentLiveAction = z.infer<typeof IncidentLiveAction>;

/** An incident was opened, updated, acknowledged or resolved. */
export const IncidentLiveEvent = z.object({
  id: Uuid,
  action: IncidentLiveAction,
  kind: IncidentKind,
  status: IncidentStatus,
  acknowledged: z.boolean(),
  job: z.object({ namespace: Namespace, name: JobName }).nullable(),
  agent: z.object({ id: Uuid, name: z.string() }),
});
export type IncidentLiveEvent = z.infer<typeof IncidentLiveEvent>;

/**
 * Events may have been missed (the `Last-Event-ID` is too old or from another replica, or this
 * replica lost its notification connection for a moment): reload what is shown.
 */
export const RefetchLiveEvent = z.object({ reason: z.string() });
export type RefetchLiveEvent = z.infer<typeof RefetchLiveEvent>;

/** The `data` schema of each event name. */
export const liveEventSchemas = {
  run: RunLiveEvent,
  agent: AgentLiveEvent,
  incident: IncidentLiveEvent,
  refetch: RefetchLiveEvent,
} as const;
export type LiveEventName = keyof typeof liveEventSchemas;
export const liveEventNames = Object.keys(liveEventSchemas) as LiveEventName[];

/** One message of the stream, as a client handles it after parsing its data. */
export type LiveEvent = {
  [Name in LiveEventName]: {
    id: string;
    event: Name;
    data: z.infer<(typeof liveEventSchemas)[Name]>;
  };
}[LiveEventName];

/**
 * Validates one SSE message (its `event` name and its `data` text) against its schema; null for
 * an event name this version does not know (a newer backend's: ignore it).
 */
export function parseLiveEvent(id: string, event: string, data: string): LiveEvent | null {
  if (!(event in liveEventSchemas)) return null;
  const name = event as LiveEventName;
  return { id, event: name, data: liveEventSchemas[name].parse(JSON.parse(data)) } as LiveEvent;
}

/**
 * The response "schema" of the stream for the route table and the OpenAPI document: the body is
 * `text/event-stream`, not JSON. Its example, in apiExamples.ts, is a short stretch of a stream.
 */
export const LiveEventStream = z
  .string()
  .describe(
    'text/event-stream. Messages: `retry: 5000`; `id: <replica>.<n>` + `event: run|agent|incident|refetch` + `data: <JSON>`; `: keep-alive` comments every 15 s.',
  );
export type LiveEventStream = z.infer<typeof LiveEventStream>;
