import type { ListRunsQuery, ListRunsResponse, Run, RunDetail } from '@cronfleet/core/api';
import { and, eq, gte, lt, or, sql, type AnyColumn, type SQL } from 'drizzle-orm';
import pLimit from 'p-limit';
import { isStatementTimeout, type DatabaseHandle } from '../db/database.js';
import { agents, runs } from '../db/schema.js';
import { badRequest, notFound } from '../http/apiError.js';
import { containsPattern } from '../db/likePattern.js';
import { decodeRunCursor, encodeRunCursor } from './runCursor.js';

/** A timestamp as the API writes it, `2024-05-01T06:00:00.412Z`, formatted by PostgreSQL. */
const isoTime = (column: SQL | AnyColumn) =>
  sql`to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')`;

/**
 * The columns of a run as the API shows it, under the contract's names. The runs page is the
 * dashboard's busiest read: it runs as a prepared statement with this select list written out,
 * so PostgreSQL plans it once per connection and formats the timestamps, and no ORM mapping
 * runs per row.
 */
const runColumns = sql`
  ${runs.id} as "id",
  ${runs.runId} as "runId",
  ${runs.agentId} as "agentId",
  ${agents.name} as "agentName",
  ${runs.namespace} as "namespace",
  ${runs.name} as "name",
  ${runs.attempt} as "attempt",
  ${runs.trigger} as "trigger",
  ${runs.status} as "status",
  ${isoTime(runs.scheduledAt)} as "scheduledAt",
  ${isoTime(runs.startedAt)} as "startedAt",
  ${isoTime(runs.finishedAt)} as "finishedAt",
  ${runs.durationMs} as "durationMs",
  ${runs.exitCode} as "exitCode",
  ${runs.signal} as "signal",
  ${runs.outputTruncated} as "outputTruncated",
  ${runs.revision} as "revision",
  ${runs.reason} as "reason"`;

/** A row of {@link runColumns}: `id` is a bigint, which the drivers hand over as text or number. */
interface RunRow extends Omit<Run, 'revision' | 'startedAt'> {
  id: string | number;
  startedAt: string;
  revision: string | null;
}

/** A revision is required by the contract; a run recorded without one shows 40 zeros. */
const unknownRevision = '0'.repeat(40);

function toRun(row: RunRow): Run {
  return {
    runId: row.runId,
    agentId: row.agentId,
    agentName: row.agentName,
    namespace: row.namespace,
    name: row.name,
    attempt: row.attempt,
    trigger: row.trigger,
    status: row.status,
    scheduledAt: row.scheduledAt,
    startedAt: row.startedAt,
    finishedAt: row.finishedAt,
    durationMs: row.durationMs,
    exitCode: row.exitCode,
    signal: row.signal,
    outputTruncated: row.outputTruncated,
    revision: row.revision ?? unknownRevision,
    reason: row.reason,
  };
}

/**
 * How text searches (`q`) are bounded on a replica. A search reads runs one by one until its page
 * is full, which for a rare text is the whole range of the other filters: each search is
 * cancelled after `timeoutMs`, and at most `concurrency` run at once (the others wait their
 * turn), so searches can never take the whole connection pool from the agents' check-ins.
 */
export class RunSearches {
  private readonly gate: pLimit.Limit;

  constructor(
    readonly timeoutMs: number,
    concurrency: number,
  ) {
    this.gate = pLimit(Math.max(1, concurrency));
  }

  /** Runs a search's query, or a 400 that says how to narrow it when it ran out of time. */
  async run<Row>(text: string, query: () => Promise<Row[]>): Promise<Row[]> {
    try {
      return await this.gate(query);
    } catch (error) {
      if (!isStatementTimeout(error)) throw error;
      const seconds = this.timeoutMs / 1000;
      throw badRequest(
        `q: the search for ${JSON.stringify(text)} read runs for ${seconds} s without filling the page; narrow it with job, agentId or from/to`,
        [{ path: 'q', message: `searched for longer than ${seconds} s; narrow the search` }],
      );
    }
  }
}

/**
 * A page of an organization's runs, newest first, by keyset on (started_at desc, id desc): a
 * run that arrives while a client pages never shifts the pages after the cursor. Every filter is
 * a bound parameter; `q` is matched with ILIKE with its pattern characters escaped.
 */
export async function listRuns(
  database: DatabaseHandle,
  organizationId: string,
  query: ListRunsQuery,
  searches: RunSearches,
): Promise<ListRunsResponse> {
  const conditions: (SQL | undefined)[] = [eq(runs.organizationId, organizationId)];
  if (query.job !== undefined) {
    const [namespace = '', name = ''] = query.job.split('/');
    conditions.push(eq(runs.namespace, namespace), eq(runs.name, name));
  }
  if (query.namespace !== undefined) conditions.push(eq(runs.namespace, query.namespace));
  if (query.agentId !== undefined) conditions.push(eq(runs.agentId, query.agentId));
  if (query.status !== undefined) conditions.push(eq(runs.status, query.status));
  if (query.from !== undefined) conditions.push(gte(runs.startedAt, new Date(query.from)));
  if (query.to !== undefined) conditions.push(lt(runs.startedAt, new Date(query.to)));
  if (query.q !== undefined) {
    const pattern = containsPattern(query.q);
    conditions.push(
      or(
        sql`${runs.outputHead} ilike ${pattern} escape '\\'`,
        sql`${runs.outputTail} ilike ${pattern} escape '\\'`,
      ),
    );
  }
  if (query.cursor !== undefined) {
    const cursor = decodeRunCursor(query.cursor);
    conditions.push(
      sql`(${runs.startedAt}, ${runs.id}) < (${cursor.startedAt.toISOString()}::timestamptz, ${cursor.id}::bigint)`,
    );
  }
  const statement = sql`
    select ${runColumns}
    from ${runs} join ${agents} on ${agents.id} = ${runs.agentId}
    where ${and(...conditions)}
    -- NULLS LAST as in the indexes (runs_org_*_started_idx), so PostgreSQL reads the index in
    -- order and stops after the page instead of sorting every matching run.
    order by ${runs.startedAt} desc nulls last, ${runs.id} desc nulls last
    limit ${query.limit + 1}`;
  const rows =
    query.q === undefined
      ? await database.preparedRows<RunRow>(statement)
      : await searches.run(query.q, () =>
          database.rowsWithin<RunRow>(searches.timeoutMs, statement),
        );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(toRun),
    nextCursor:
      rows.length > query.limit && last !== undefined
        ? encodeRunCursor({ startedAt: new Date(last.startedAt), id: Number(last.id) })
        : null,
  };
}

/** One run of the organization with its output, or a 404 (also for another organization's). */
export async function getRun(
  database: DatabaseHandle,
  organizationId: string,
  runId: string,
): Promise<RunDetail> {
  const [row] = await database.rows<RunRow & { outputHead: string; outputTail: string }>(sql`
    select ${runColumns}, ${runs.outputHead} as "outputHead", ${runs.outputTail} as "outputTail"
    from ${runs} join ${agents} on ${agents.id} = ${runs.agentId}
    where ${runs.organizationId} = ${organizationId} and ${runs.runId} = ${runId}
    -- A run id is unique per agent; should two agents report the same one, the first recorded wins.
    order by ${runs.id}
    limit 1`);
  if (row === undefined) throw notFound(`run ${runId}`);
  return { ...toRun(row), outputHead: row.outputHead, outputTail: row.outputTail };
}
