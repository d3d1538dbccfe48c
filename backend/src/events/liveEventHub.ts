import { randomBytes } from 'node:crypto';
import type {
  AgentLiveEvent,
  Condition,
  IncidentLiveEvent,
  LiveEventName,
  RunLiveEvent,
  RunStatus,
} from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import type { Logger } from 'pino';
import { agentStatus } from '../agents/agentStatus.js';
import type { DatabaseHandle } from '../db/database.js';
import {
  liveEventsChannel,
  parseLiveEventNotification,
  type LiveEventNotification,
} from './liveEventChannel.js';

/** One event as the stream sends it: `id`, `event` and the JSON text of its `data`. */
export interface LiveEventEntry {
  seq: number;
  id: string;
  organizationId: string;
  event: LiveEventName;
  data: string;
  at: number;
}

export type LiveEventListener = (entry: LiveEventEntry) => void;

/** What a subscriber gets first: the events it missed, or the news that it must reload. */
export type Resumption =
  | { kind: 'fresh' }
  | { kind: 'replay'; entries: LiveEventEntry[] }
  | { kind: 'refetch'; reason: string };

export interface LiveEventHubOptions {
  /** Events kept for resuming clients, at most. */
  maxEvents?: number;
  /** …and for at most this long (ms). */
  maxAgeMs?: number;
  clock?: () => number;
}

interface Watch {
  listeners: Set<LiveEventListener>;
  /** A client resuming from an id below this missed events of this organization. */
  floor: number;
  /** When the last listener left (epoch ms); the organization is still watched for maxAgeMs. */
  idleSince: number | null;
}

/**
 * One replica's live events: it LISTENs on the channel (liveEventChannel.ts), reads the rows each
 * notification names, and hands the events to the subscribed streams of their organization.
 * Kept per replica, a bounded ring of recent events (the last `maxEvents`, at most `maxAgeMs`
 * old) lets a client that reconnects with `Last-Event-ID` get what it missed.
 *
 * - Ids are `<replica>.<sequence>`. An id of another replica (the load balancer sent the client
 *   elsewhere), an id older than the ring, or one from before this replica lost its notification
 *   connection (notifications sent meanwhile are lost) answers `refetch`: the client reloads.
 * - Only organizations with a stream on this replica, now or within `maxAgeMs`, are read: a
 *   replica nobody watches reads nothing.
 * - PostgreSQL: `DatabaseHandle.listen`, across replicas. Embedded PGlite (one process) delivers
 *   its own NOTIFYs to its LISTEN in process, at commit, as PostgreSQL does: the same path.
 * - Notifications are handled one at a time, in order, so events keep the order of the commits.
 */
export class LiveEventHub {
  readonly replicaId = randomBytes(4).toString('hex');
  private sequence = 0;
  /** A resume from below this (any organization) missed events. */
  private floor = 0;
  private readonly ring: LiveEventEntry[] = [];
  private readonly watches = new Map<string, Watch>();
  private listening: Promise<() => Promise<void>> | undefined;
  private queue: Promise<void> = Promise.resolve();
  private readonly maxEvents: number;
  private readonly maxAgeMs: number;
  private readonly clock: () => number;

  constructor(
    private readonly database: DatabaseHandle,
    private readonly logger: Logger,
    private readonly now: () => Date,
    options: LiveEventHubOptions = {},
  ) {
    this.maxEvents = options.maxEvents ?? 5_000;
    this.maxAgeMs = options.maxAgeMs ?? 5 * 60_000;
    this.clock = options.clock ?? Date.now;
  }

  /** The id of the latest event (`<replica>.0` before any): a new stream starts from here. */
  get lastId(): string {
    return `${this.replicaId}.${this.sequence}`;
  }

  /** Starts listening (once); resolves when the subscription is in place. */
  start(): Promise<void> {
    if (this.listening === undefined) {
      const listening = this.listen();
      this.listening = listening;
      // A failed LISTEN (the database unreachable) is tried again by the next stream.
      listening.catch(() => {
        if (this.listening === listening) this.listening = undefined;
      });
    }
    return this.listening.then(() => undefined);
  }

  /** Stops listening. */
  async stop(): Promise<void> {
    const listening = this.listening;
    this.listening = undefined;
    if (listening !== undefined) await (await listening)();
  }

  /**
   * Subscribes a stream to an organization's events, and says what it missed since
   * `lastEventId` (absent: nothing to resume). Returns the unsubscribe function.
   */
  subscribe(
    organizationId: string,
    lastEventId: string | undefined,
    listener: LiveEventListener,
  ): { resumption: Resumption; unsubscribe: () => void } {
    this.expireIdleWatches();
    let watch = this.watches.get(organizationId);
    if (watch === undefined) {
      watch = { listeners: new Set(), floor: this.sequence, idleSince: null };
      this.watches.set(organizationId, watch);
    }
    const resumption = this.resumptionOf(organizationId, watch, lastEventId);
    watch.listeners.add(listener);
    watch.idleSince = null;
    const subscribed = watch;
    return {
      resumption,
      unsubscribe: () => {
        subscribed.listeners.delete(listener);
        if (subscribed.listeners.size === 0) subscribed.idleSince = this.clock();
      },
    };
  }

  /** How many streams are subscribed (for tests and metrics). */
  get subscriberCount(): number {
    let count = 0;
    for (const watch of this.watches.values()) count += watch.listeners.size;
    return count;
  }

  private resumptionOf(
    organizationId: string,
    watch: Watch,
    lastEventId: string | undefined,
  ): Resumption {
    if (lastEventId === undefined || lastEventId === '') return { kind: 'fresh' };
    const match = /^([0-9a-f]{8})\.(\d{1,15})$/.exec(lastEventId);
    if (match === null || match[1] !== this.replicaId) {
      return {
        kind: 'refetch',
        reason: 'the Last-Event-ID is not one of this server replica: events may have been missed',
      };
    }
    const seq = Number(match[2]);
    this.evictOld();
    if (seq > this.sequence || seq < this.floor || seq < watch.floor) {
      return {
        kind: 'refetch',
        reason: 'the Last-Event-ID is too old: events may have been missed',
      };
    }
    return {
      kind: 'replay',
      entries: this.ring.filter(
        (entry) => entry.seq > seq && entry.organizationId === organizationId,
      ),
    };
  }

  private async listen(): Promise<() => Promise<void>> {
    const onMessage = (payload: string) => {
      const notification = parseLiveEventNotification(payload);
      if (notification === null) return;
      this.queue = this.queue
        .then(() => this.deliver(notification))
        .catch((error: unknown) => {
          this.logger.error({ err: error }, 'live events: a notification could not be read');
        });
    };
    let listens = 0;
    const onListen = () => {
      listens += 1;
      if (listens > 1) this.lostNotifications();
    };
    if (this.database.listen !== undefined) {
      return this.database.listen(liveEventsChannel, onMessage, onListen);
    }
    // Embedded PGlite: its client delivers the NOTIFYs of its own (one) connection in process.
    const client = (this.database.db as unknown as { $client?: PgliteNotifications }).$client;
    if (client?.listen === undefined) {
      throw new Error('live events need PostgreSQL LISTEN or PGlite; this database has neither');
    }
    const unlisten = await client.listen(liveEventsChannel, onMessage);
    onListen();
    return unlisten;
  }

  /**
   * The notification connection dropped and came back: whatever was sent meanwhile is lost.
   * Every stream is told to reload, and no id from before resumes.
   */
  private lostNotifications(): void {
    this.sequence += 1;
    this.floor = this.sequence;
    this.ring.length = 0;
    this.logger.warn('live events: the notification connection was re-established; clients reload');
    for (const [organizationId, watch] of this.watches) {
      for (const listener of watch.listeners) {
        listener({
          seq: this.sequence,
          id: this.lastId,
          organizationId,
          event: 'refetch',
          data: JSON.stringify({ reason: 'the server lost its event feed for a moment' }),
          at: this.clock(),
        });
      }
    }
  }

  private watched(organizationId: string): boolean {
    const watch = this.watches.get(organizationId);
    if (watch === undefined) return false;
    return watch.idleSince === null || this.clock() - watch.idleSince < this.maxAgeMs;
  }

  private expireIdleWatches(): void {
    for (const [organizationId, watch] of this.watches) {
      if (watch.idleSince !== null && this.clock() - watch.idleSince >= this.maxAgeMs) {
        this.watches.delete(organizationId);
      }
    }
  }

  private async deliver(notification: LiveEventNotification): Promise<void> {
    const pairs = notification.i.filter(([organizationId]) => this.watched(organizationId));
    if (pairs.length === 0) return;
    const events = await this.read(notification, pairs);
    for (const { organizationId, event, data } of events) this.emit(organizationId, event, data);
  }

  private emit(organizationId: string, event: LiveEventName, data: unknown): void {
    this.sequence += 1;
    const entry: LiveEventEntry = {
      seq: this.sequence,
      id: `${this.replicaId}.${this.sequence}`,
      organizationId,
      event,
      data: JSON.stringify(data),
      at: this.clock(),
    };
    this.ring.push(entry);
    this.evictOld();
    for (const listener of this.watches.get(organizationId)?.listeners ?? []) listener(entry);
  }

  private evictOld(): void {
    const oldest = this.clock() - this.maxAgeMs;
    let drop = 0;
    while (
      drop < this.ring.length &&
      (this.ring.length - drop > this.maxEvents || (this.ring[drop] as LiveEventEntry).at < oldest)
    ) {
      drop += 1;
    }
    if (drop === 0) return;
    this.floor = Math.max(this.floor, (this.ring[drop - 1] as LiveEventEntry).seq);
    this.ring.splice(0, drop);
  }

  /** The rows a notification names, as events (rows of another organization are not read). */
  private async read(
    notification: LiveEventNotification,
    pairs: [string, string][],
  ): Promise<{ organizationId: string; event: LiveEventName; data: unknown }[]> {
    const keys = JSON.stringify(pairs.map(([o, id]) => ({ o, id })));
    if (notification.k === 'run') {
      const rows = await this.database.rows<RunRow>(sql`
        select r.organization_id, r.run_id, r.namespace, r.name, r.agent_id, r.status,
          r.started_at, r.finished_at
        from jsonb_to_recordset(${keys}::jsonb) as k(o uuid, id uuid)
        join runs r on r.organization_id = k.o and r.run_id = k.id`);
      return rows.map((row) => ({
        organizationId: row.organization_id,
        event: 'run' as const,
        data: {
          runId: row.run_id,
          namespace: row.namespace,
          name: row.name,
          agentId: row.agent_id,
          status: row.status,
          startedAt: isoOrNull(row.started_at),
          finishedAt: isoOrNull(row.finished_at),
        } satisfies RunLiveEvent,
      }));
    }
    if (notification.k === 'agent') {
      const rows = await this.database.rows<AgentRow>(sql`
        select a.organization_id, a.id, a.name, a.conditions, a.revoked_at, a.last_heartbeat_at,
          a.heartbeat_interval_seconds
        from jsonb_to_recordset(${keys}::jsonb) as k(o uuid, id uuid)
        join agents a on a.organization_id = k.o and a.id = k.id`);
      const now = this.now();
      return rows.map((row) => {
        const status = agentStatus(
          {
            revokedAt: dateOrNull(row.revoked_at),
            lastHeartbeatAt: dateOrNull(row.last_heartbeat_at),
            heartbeatIntervalSeconds: row.heartbeat_interval_seconds,
          },
          now,
        );
        const conditionOf = (type: Condition['type']) =>
          (row.conditions ?? []).find((condition) => condition.type === type)?.status ?? 'unknown';
        return {
          organizationId: row.organization_id,
          event: 'agent' as const,
          data: {
            agentId: row.id,
            name: row.name,
            status,
            online: status === 'online',
            conditions: {
              ready: conditionOf('Ready'),
              reconciling: conditionOf('Reconciling'),
              stalled: conditionOf('Stalled'),
            },
          } satisfies AgentLiveEvent,
        };
      });
    }
    const rows = await this.database.rows<IncidentRow>(sql`
      select i.organization_id, i.id, i.kind, i.resolved_at, i.acknowledged_at, i.namespace,
        i.name, i.agent_id, a.name as agent_name
      from jsonb_to_recordset(${keys}::jsonb) as k(o uuid, id uuid)
      join incidents i on i.organization_id = k.o and i.id = k.id
      join agents a on a.id = i.agent_id`);
    return rows.map((row) => ({
      organizationId: row.organization_id,
      event: 'incident' as const,
      data: {
        id: row.id,
        action: notification.a ?? 'updated',
        kind: row.kind,
        status: row.resolved_at === null ? 'open' : 'resolved',
        acknowledged: row.acknowledged_at !== null,
        job:
          row.namespace === null || row.name === null
            ? null
            : { namespace: row.namespace, name: row.name },
        agent: { id: row.agent_id, name: row.agent_name },
      } satisfies IncidentLiveEvent,
    }));
  }
}

interface PgliteNotifications {
  listen?(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>;
}

interface RunRow {
  organization_id: string;
  run_id: string;
  namespace: string;
  name: string;
  agent_id: string;
  status: RunStatus;
  started_at: Date | string | null;
  finished_at: Date | string | null;
}

interface AgentRow {
  organization_id: string;
  id: string;
  name: string;
  conditions: Condition[] | null;
  revoked_at: Date | string | null;
  last_heartbeat_at: Date | string | null;
  heartbeat_interval_seconds: number;
}

interface IncidentRow {
  organization_id: string;
  id: string;
  kind: IncidentLiveEvent['kind'];
  resolved_at: Date | string | null;
  acknowledged_at: Date | string | null;
  namespace: string | null;
  name: string | null;
  agent_id: string;
  agent_name: string;
}

const dateOrNull = (value: Date | string | null): Date | null =>
  value === null ? null : new Date(value);
const isoOrNull = (value: Date | string | null): string | null =>
  value === null ? null : new Date(value).toISOString();
