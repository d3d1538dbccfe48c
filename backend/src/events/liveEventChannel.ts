import { sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';

/**
 * The NOTIFY channel of the dashboard's live events. Whatever changes a run, an agent's status or
 * conditions, or an incident sends, in the transaction that made the change, a compact payload
 * of ids on this channel: PostgreSQL delivers it to every replica's LISTEN at commit (and never
 * if the transaction rolls back). Each replica's LiveEventHub reads the rows it names and streams
 * them to the organization's clients.
 *
 * A payload is JSON: `{"k": kind, "i": [[organizationId, id], …]}`, plus `"a": action` for an
 * incident. NOTIFY payloads are limited to 8000 bytes: a pair is about 80 bytes, so the lists are
 * sent in chunks of {@link idsPerNotification}.
 */
export const liveEventsChannel = 'cronfleet_live_events';

/** Pairs per NOTIFY: 90 × ~80 bytes stays well under the 8000-byte limit. */
export const idsPerNotification = 90;

export type LiveEventKind = 'run' | 'agent' | 'incident';
export type IncidentAction = 'opened' | 'updated' | 'acknowledged' | 'resolved';

export interface LiveEventNotification {
  k: LiveEventKind;
  /** [organizationId, id] pairs: run ids, agent ids, incident ids. */
  i: [string, string][];
  a?: IncidentAction;
}

/** Reads a payload; null for one that is not ours (a newer replica's kind, garbage). */
export function parseLiveEventNotification(payload: string): LiveEventNotification | null {
  try {
    const parsed = JSON.parse(payload) as Partial<LiveEventNotification>;
    if (parsed.k !== 'run' && parsed.k !== 'agent' && parsed.k !== 'incident') return null;
    if (!Array.isArray(parsed.i)) return null;
    const pairs = parsed.i.filter(
      (pair): pair is [string, string] =>
        Array.isArray(pair) && typeof pair[0] === 'string' && typeof pair[1] === 'string',
    );
    return { k: parsed.k, i: pairs, ...(parsed.a === undefined ? {} : { a: parsed.a }) };
  } catch {
    return null;
  }
}

/**
 * A scalar SQL expression that NOTIFYs the rows of `rows` (a CTE or table with an
 * `organizationColumn` and an `idColumn`), in chunks, and evaluates to how many notifications it
 * sent. Put it in the select list of a statement that reads the CTE of a data-modifying statement:
 * uncorrelated, PostgreSQL evaluates it once (an InitPlan), so a batch costs one NOTIFY per
 * chunk, not one per row, and it is sent in the statement's own transaction.
 */
export function notifyRowsExpression(
  kind: LiveEventKind,
  rows: SQL,
  organizationColumn: SQL,
  idColumn: SQL,
  where: SQL = sql`true`,
): SQL {
  return sql`(select count(pg_notify(${liveEventsChannel},
      json_build_object('k', ${kind}::text, 'i', chunked.ids)::text))
    from (select json_agg(json_build_array(numbered.o, numbered.id)) as ids
      from (select ${organizationColumn} as o, ${idColumn} as id,
          (row_number() over () - 1) / ${sql.raw(String(idsPerNotification))} as chunk
        from ${rows} where ${where}) numbered
      group by numbered.chunk) chunked)`;
}

/** Sends one notification in the caller's transaction (delivered at its commit). */
async function notify(
  tx: Pick<Database, 'execute'>,
  message: LiveEventNotification,
): Promise<void> {
  await tx.execute(sql`select pg_notify(${liveEventsChannel}, ${JSON.stringify(message)})`);
}

/** An incident changed: call in the transaction that changed it. */
export function publishIncidentChange(
  tx: Pick<Database, 'execute'>,
  organizationId: string,
  incidentId: string,
  action: IncidentAction,
): Promise<void> {
  return notify(tx, { k: 'incident', a: action, i: [[organizationId, incidentId]] });
}

/** An agent's status or conditions changed: call in the transaction that changed it. */
export function publishAgentChange(
  tx: Pick<Database, 'execute'>,
  organizationId: string,
  agentId: string,
): Promise<void> {
  return notify(tx, { k: 'agent', i: [[organizationId, agentId]] });
}
