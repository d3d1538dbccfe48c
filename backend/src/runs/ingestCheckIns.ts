import type {
  CheckIn,
  CheckInBatchResponse,
  CheckInFinish,
  CheckInStart,
} from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../db/database.js';
import type { AgentPrincipal } from '../http/authenticate.js';

/** PostgreSQL text cannot hold NUL; a job's output may. */
function storableText(text: string): string {
  return text.includes('\u0000') ? text.replaceAll('\u0000', '\uFFFD') : text;
}

/**
 * A time as UTC with millisecond precision, the precision of the whole backend: the runs-list
 * cursor carries started_at in milliseconds, so a stored microsecond would break its keyset.
 */
const utcMilliseconds = (time: string) => new Date(time).toISOString();

/** One agent's batch, as one request delivered it. */
export interface CheckInSubmission {
  agent: Pick<AgentPrincipal, 'organizationId' | 'agentId'>;
  checkIns: readonly CheckIn[];
}

interface Keyed<Row> {
  /** Which submission the row came from. */
  submission: number;
  key: string;
  row: Row;
}

const rowKey = (agentId: string, runId: string) => `${agentId}/${runId}`;

/**
 * Keeps the first of each (agent, runId, kind) over all submissions: a multi-row INSERT … ON
 * CONFLICT may touch a row only once. Later repeats, within a batch or across the batches of one
 * group, count as duplicates of the submission that carried them.
 */
function splitSubmissions(submissions: readonly CheckInSubmission[]): {
  starts: Keyed<CheckInStart>[];
  finishes: Keyed<CheckInFinish>[];
} {
  const seenStarts = new Set<string>();
  const seenFinishes = new Set<string>();
  const starts: Keyed<CheckInStart>[] = [];
  const finishes: Keyed<CheckInFinish>[] = [];
  submissions.forEach(({ agent, checkIns }, submission) => {
    for (const checkIn of checkIns) {
      const key = rowKey(agent.agentId, checkIn.runId);
      const seen = checkIn.kind === 'start' ? seenStarts : seenFinishes;
      if (seen.has(key)) continue;
      seen.add(key);
      if (checkIn.kind === 'start') starts.push({ submission, key, row: checkIn });
      else finishes.push({ submission, key, row: checkIn });
    }
  });
  return { starts, finishes };
}

/**
 * Records the check-ins of several submissions (of one or several agents): one INSERT … ON
 * CONFLICT per kind, whatever the number of check-ins. The rows travel as one JSON parameter
 * (jsonb_to_recordset), so the statement text never changes and PostgreSQL plans it once per
 * connection. Answers each submission's own counts.
 *
 * - A run row is keyed by (agent, runId), and each row carries its submission's agent and
 *   organization, so an agent only ever touches its own runs.
 * - Whichever check-in arrives first creates the row. A finish first derives startedAt from
 *   finishedAt − durationMs; the later start fills trigger and scheduledAt but keeps the status
 *   and startedAt (a run's place in the runs list never moves).
 * - A check-in already recorded (start_received / finish_received) changes nothing and counts as
 *   a duplicate. Jobs not in the agent's inventory are recorded like any other.
 */
export async function ingestCheckInSubmissions(
  database: DatabaseHandle,
  submissions: readonly CheckInSubmission[],
  now: Date,
): Promise<CheckInBatchResponse[]> {
  const { starts, finishes } = splitSubmissions(submissions);
  const nowText = now.toISOString();
  const accepted = submissions.map(() => 0);
  const owner = (submission: number) => submissions[submission]?.agent;
  if (starts.length > 0) {
    const rows = starts.map(({ submission, row: start }) => ({
      organizationId: owner(submission)?.organizationId,
      agentId: owner(submission)?.agentId,
      runId: start.runId,
      namespace: start.namespace,
      name: start.name,
      attempt: start.attempt,
      trigger: start.trigger,
      scheduledAt: start.scheduledAt === null ? null : utcMilliseconds(start.scheduledAt),
      startedAt: utcMilliseconds(start.startedAt),
      revision: start.revision,
    }));
    const inserted = await database.preparedRows<{ agent_id: string; run_id: string }>(sql`
      insert into runs as r (run_id, organization_id, agent_id, namespace, name, attempt, trigger,
        status, scheduled_at, started_at, revision, start_received, finish_received, created_at, updated_at)
      select u."runId", u."organizationId", u."agentId", u.namespace, u.name,
        u.attempt, u.trigger::run_trigger, 'running', u."scheduledAt", u."startedAt", u.revision,
        true, false, ${nowText}::timestamptz, ${nowText}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as u("organizationId" uuid,
        "agentId" uuid, "runId" uuid, namespace text, name text, attempt int, trigger text,
        "scheduledAt" timestamptz, "startedAt" timestamptz, revision text)
      on conflict (agent_id, run_id) do update set
        trigger = excluded.trigger,
        scheduled_at = excluded.scheduled_at,
        start_received = true,
        updated_at = excluded.updated_at
      where r.start_received = false
      returning r.agent_id, r.run_id`);
    countAccepted(starts, inserted, accepted);
  }
  if (finishes.length > 0) {
    const rows = finishes.map(({ submission, row: finish }) => ({
      organizationId: owner(submission)?.organizationId,
      agentId: owner(submission)?.agentId,
      runId: finish.runId,
      namespace: finish.namespace,
      name: finish.name,
      attempt: finish.attempt,
      status: finish.status,
      finishedAt: utcMilliseconds(finish.finishedAt),
      durationMs: finish.durationMs,
      exitCode: finish.exitCode,
      signal: finish.signal,
      outputHead: storableText(finish.outputHead),
      outputTail: storableText(finish.outputTail),
      outputTruncated: finish.outputTruncated,
      revision: finish.revision,
    }));
    const inserted = await database.preparedRows<{ agent_id: string; run_id: string }>(sql`
      insert into runs as r (run_id, organization_id, agent_id, namespace, name, attempt, status,
        started_at, finished_at, duration_ms, exit_code, signal, output_head, output_tail,
        output_truncated, revision, start_received, finish_received, created_at, updated_at)
      select u."runId", u."organizationId", u."agentId", u.namespace, u.name,
        u.attempt, u.status::run_status, u."finishedAt" - u."durationMs" * interval '1 millisecond',
        u."finishedAt", u."durationMs", u."exitCode", u.signal, u."outputHead", u."outputTail",
        u."outputTruncated", u.revision, false, true, ${nowText}::timestamptz, ${nowText}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as u("organizationId" uuid,
        "agentId" uuid, "runId" uuid, namespace text, name text, attempt int, status text,
        "finishedAt" timestamptz, "durationMs" int, "exitCode" int, signal text, "outputHead" text,
        "outputTail" text, "outputTruncated" bool, revision text)
      on conflict (agent_id, run_id) do update set
        status = excluded.status,
        finished_at = excluded.finished_at,
        duration_ms = excluded.duration_ms,
        exit_code = excluded.exit_code,
        signal = excluded.signal,
        output_head = excluded.output_head,
        output_tail = excluded.output_tail,
        output_truncated = excluded.output_truncated,
        revision = excluded.revision,
        finish_received = true,
        updated_at = excluded.updated_at
      where r.finish_received = false
      returning r.agent_id, r.run_id`);
    countAccepted(finishes, inserted, accepted);
  }
  return submissions.map((submission, index) => {
    const count = accepted[index] ?? 0;
    return { accepted: count, duplicates: submission.checkIns.length - count };
  });
}

function countAccepted(
  rows: readonly Keyed<unknown>[],
  inserted: readonly { agent_id: string; run_id: string }[],
  accepted: number[],
): void {
  const written = new Set(inserted.map((row) => rowKey(row.agent_id, row.run_id)));
  for (const { submission, key } of rows) {
    if (written.has(key)) accepted[submission] = (accepted[submission] ?? 0) + 1;
  }
}
