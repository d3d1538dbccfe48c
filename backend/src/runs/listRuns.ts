import type { ListRunsQuery, ListRunsResponse, Run, RunDetail } from '@cronfleet/core/api';
import { and, asc, eq, gte, lt, or, sql, type SQL } from 'drizzle-orm';
import type { Database } from '../db/database.js';
import { agents, runs } from '../db/schema.js';
import { notFound } from '../http/apiError.js';
import { containsPattern } from '../db/likePattern.js';
import { decodeRunCursor, encodeRunCursor } from './runCursor.js';

const runColumns = {
  id: runs.id,
  runId: runs.runId,
  agentId: runs.agentId,
  agentName: agents.name,
  namespace: runs.namespace,
  name: runs.name,
  attempt: runs.attempt,
  trigger: runs.trigger,
  status: runs.status,
  scheduledAt: runs.scheduledAt,
  startedAt: runs.startedAt,
  finishedAt: runs.finishedAt,
  durationMs: runs.durationMs,
  exitCode: runs.exitCode,
  signal: runs.signal,
  outputTruncated: runs.outputTruncated,
  revision: runs.revision,
};

type RunRow = {
  [Key in keyof typeof runColumns]: (typeof runColumns)[Key]['_']['data'] | null;
} & { id: number; startedAt: Date };

/** A revision is required by the contract; a run recorded without one shows 40 zeros. */
const unknownRevision = '0'.repeat(40);

function toRun(row: RunRow): Run {
  return {
    runId: row.runId ?? '',
    agentId: row.agentId ?? '',
    agentName: row.agentName ?? '',
    namespace: row.namespace ?? '',
    name: row.name ?? '',
    attempt: row.attempt ?? 1,
    trigger: row.trigger ?? 'scheduled',
    status: row.status ?? 'running',
    scheduledAt: row.scheduledAt?.toISOString() ?? null,
    startedAt: row.startedAt.toISOString(),
    finishedAt: row.finishedAt?.toISOString() ?? null,
    durationMs: row.durationMs,
    exitCode: row.exitCode,
    signal: row.signal,
    outputTruncated: row.outputTruncated ?? false,
    revision: row.revision ?? unknownRevision,
  };
}

/**
 * A page of an organization's runs, newest first, by keyset on (started_at desc, id desc): a
 * run that arrives while a client pages never shifts the pages after the cursor. Every filter is
 * a bound parameter; `q` is matched with ILIKE with its pattern characters escaped.
 */
export async function listRuns(
  db: Database,
  organizationId: string,
  query: ListRunsQuery,
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
  const rows = (await db
    .select(runColumns)
    .from(runs)
    .innerJoin(agents, eq(agents.id, runs.agentId))
    .where(and(...conditions))
    // NULLS LAST as in the indexes (runs_org_*_started_idx), so PostgreSQL reads the index in
    // order and stops after the page instead of sorting every matching run.
    .orderBy(sql`${runs.startedAt} desc nulls last`, sql`${runs.id} desc nulls last`)
    .limit(query.limit + 1)) as RunRow[];
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    items: page.map(toRun),
    nextCursor:
      rows.length > query.limit && last !== undefined
        ? encodeRunCursor({ startedAt: last.startedAt, id: last.id })
        : null,
  };
}

/** One run of the organization with its output, or a 404 (also for another organization's). */
export async function getRun(
  db: Database,
  organizationId: string,
  runId: string,
): Promise<RunDetail> {
  const [row] = await db
    .select({ ...runColumns, outputHead: runs.outputHead, outputTail: runs.outputTail })
    .from(runs)
    .innerJoin(agents, eq(agents.id, runs.agentId))
    .where(and(eq(runs.organizationId, organizationId), eq(runs.runId, runId)))
    // A run id is unique per agent; should two agents report the same one, the first recorded wins.
    .orderBy(asc(runs.id))
    .limit(1);
  if (row === undefined) throw notFound(`run ${runId}`);
  return { ...toRun(row as RunRow), outputHead: row.outputHead, outputTail: row.outputTail };
}
