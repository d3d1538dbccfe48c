import type {
  CheckIn,
  CheckInBatchResponse,
  CheckInFinish,
  CheckInStart,
  ValidationIssue,
} from '@cronfleet/core/api';
import { sql } from 'drizzle-orm';
import type { DatabaseHandle } from '../db/database.js';
import { notifyRowsExpression } from '../events/liveEventChannel.js';
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

/**
 * The end of each upsert below: answers the rows written (`written`, its CTE) and, in the same
 * statement and transaction, NOTIFYs the dashboard's live events of them: one notification per
 * 90 runs, evaluated once per statement (see notifyRowsExpression), none when nothing was written.
 */
const selectWrittenAndNotify = sql`select w.organization_id, w.run_id,
  ${notifyRowsExpression('run', sql`written`, sql`organization_id`, sql`run_id`)} as notified
  from written w`;

/** One agent's batch, as one request delivered it. */
export interface CheckInSubmission {
  agent: Pick<AgentPrincipal, 'organizationId' | 'agentId'>;
  checkIns: readonly CheckIn[];
}

/**
 * What became of one submission: recorded (with its counts), or refused whole because some of its
 * check-ins carry run ids that belong to another agent of the organization (one issue each).
 */
export type CheckInOutcome =
  { recorded: CheckInBatchResponse } | { foreignRunIds: ValidationIssue[] };

interface Keyed<Row> {
  /** Which submission the row came from. */
  submission: number;
  key: string;
  row: Row;
}

const rowKey = (organizationId: string, runId: string) => `${organizationId}/${runId}`;

const foreignRunId = (index: number, runId: string): ValidationIssue => ({
  path: `checkIns[${index}].runId`,
  message: `run id ${runId} belongs to a run of another agent of this organization; a run id is chosen at random for each run, so this check-in was copied from another agent's spool (a cloned host or state directory?): set it aside, and give each agent its own state directory`,
});

/**
 * Refuses the submissions that carry a run id of another agent: one that an earlier submission
 * of this group (of another agent) carries, or one recorded for another agent. A refused
 * submission writes nothing, so an agent can never change or add to another agent's run.
 */
async function findForeignRunIds(
  database: DatabaseHandle,
  submissions: readonly CheckInSubmission[],
): Promise<Map<number, ValidationIssue[]>> {
  const foreign = new Map<number, ValidationIssue[]>();
  const refuse = (submission: number, issue: ValidationIssue) => {
    const issues = foreign.get(submission) ?? [];
    issues.push(issue);
    foreign.set(submission, issues);
  };
  const ownerInGroup = new Map<string, string>();
  const keys: { organizationId: string; runId: string }[] = [];
  submissions.forEach(({ agent, checkIns }, submission) => {
    checkIns.forEach((checkIn, index) => {
      const key = rowKey(agent.organizationId, checkIn.runId);
      const owner = ownerInGroup.get(key);
      if (owner === undefined) {
        ownerInGroup.set(key, agent.agentId);
        keys.push({ organizationId: agent.organizationId, runId: checkIn.runId });
      } else if (owner !== agent.agentId) {
        refuse(submission, foreignRunId(index, checkIn.runId));
      }
    });
  });
  const recorded = await database.preparedRows<{
    organization_id: string;
    run_id: string;
    agent_id: string;
  }>(sql`
    select r.organization_id, r.run_id, r.agent_id
    from jsonb_to_recordset(${JSON.stringify(keys)}::jsonb) as k("organizationId" uuid, "runId" uuid)
    join runs r on r.organization_id = k."organizationId" and r.run_id = k."runId"`);
  const ownerRecorded = new Map(
    recorded.map((row) => [rowKey(row.organization_id, row.run_id), row.agent_id]),
  );
  if (ownerRecorded.size === 0) return foreign;
  submissions.forEach(({ agent, checkIns }, submission) => {
    checkIns.forEach((checkIn, index) => {
      const owner = ownerRecorded.get(rowKey(agent.organizationId, checkIn.runId));
      if (owner !== undefined && owner !== agent.agentId) {
        refuse(submission, foreignRunId(index, checkIn.runId));
      }
    });
  });
  return foreign;
}

/**
 * Keeps the first of each (run, kind) over the submissions not refused: a multi-row INSERT … ON
 * CONFLICT may touch a row only once. Later repeats, within a batch or across the batches of one
 * group, count as duplicates of the submission that carried them.
 */
function splitSubmissions(
  submissions: readonly CheckInSubmission[],
  refused: ReadonlyMap<number, unknown>,
): {
  starts: Keyed<CheckInStart>[];
  finishes: Keyed<CheckInFinish>[];
} {
  const seenStarts = new Set<string>();
  const seenFinishes = new Set<string>();
  const starts: Keyed<CheckInStart>[] = [];
  const finishes: Keyed<CheckInFinish>[] = [];
  submissions.forEach(({ agent, checkIns }, submission) => {
    if (refused.has(submission)) return;
    for (const checkIn of checkIns) {
      const key = rowKey(agent.organizationId, checkIn.runId);
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
 * - A run id is unique in its organization. A submission with a run id of another agent is
 *   refused whole and writes nothing (the route answers 409); the others of the group are
 *   recorded. Each row carries its submission's agent and organization, and the upserts touch
 *   only a row of the same agent, so even a run id that another agent records at the same moment
 *   (after the check) is never written by the second one (it counts as a duplicate then).
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
): Promise<CheckInOutcome[]> {
  const refused = await findForeignRunIds(database, submissions);
  const { starts, finishes } = splitSubmissions(submissions, refused);
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
    const inserted = await database.preparedRows<{ organization_id: string; run_id: string }>(sql`
      with written as (
      insert into runs as r (run_id, organization_id, agent_id, namespace, name, attempt, trigger,
        status, scheduled_at, started_at, revision, start_received, finish_received, created_at, updated_at)
      select u."runId", u."organizationId", u."agentId", u.namespace, u.name,
        u.attempt, u.trigger::run_trigger, 'running', u."scheduledAt", u."startedAt", u.revision,
        true, false, ${nowText}::timestamptz, ${nowText}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as u("organizationId" uuid,
        "agentId" uuid, "runId" uuid, namespace text, name text, attempt int, trigger text,
        "scheduledAt" timestamptz, "startedAt" timestamptz, revision text)
      on conflict (organization_id, run_id) do update set
        trigger = excluded.trigger,
        scheduled_at = excluded.scheduled_at,
        start_received = true,
        updated_at = excluded.updated_at
      where r.start_received = false and r.agent_id = excluded.agent_id
      returning r.organization_id, r.run_id)
      ${selectWrittenAndNotify}`);
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
      reason:
        finish.reason === undefined || finish.reason === null ? null : storableText(finish.reason),
    }));
    const inserted = await database.preparedRows<{ organization_id: string; run_id: string }>(sql`
      with written as (
      insert into runs as r (run_id, organization_id, agent_id, namespace, name, attempt, status,
        started_at, finished_at, duration_ms, exit_code, signal, output_head, output_tail,
        output_truncated, revision, reason, start_received, finish_received, created_at, updated_at)
      select u."runId", u."organizationId", u."agentId", u.namespace, u.name,
        u.attempt, u.status::run_status, u."finishedAt" - u."durationMs" * interval '1 millisecond',
        u."finishedAt", u."durationMs", u."exitCode", u.signal, u."outputHead", u."outputTail",
        u."outputTruncated", u.revision, u.reason, false, true, ${nowText}::timestamptz,
        ${nowText}::timestamptz
      from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as u("organizationId" uuid,
        "agentId" uuid, "runId" uuid, namespace text, name text, attempt int, status text,
        "finishedAt" timestamptz, "durationMs" int, "exitCode" int, signal text, "outputHead" text,
        "outputTail" text, "outputTruncated" bool, revision text, reason text)
      on conflict (organization_id, run_id) do update set
        status = excluded.status,
        finished_at = excluded.finished_at,
        duration_ms = excluded.duration_ms,
        exit_code = excluded.exit_code,
        signal = excluded.signal,
        output_head = excluded.output_head,
        output_tail = excluded.output_tail,
        output_truncated = excluded.output_truncated,
        revision = excluded.revision,
        reason = excluded.reason,
        finish_received = true,
        updated_at = excluded.updated_at
      where r.finish_received = false and r.agent_id = excluded.agent_id
      returning r.organization_id, r.run_id)
      ${selectWrittenAndNotify}`);
    countAccepted(finishes, inserted, accepted);
  }
  return submissions.map((submission, index): CheckInOutcome => {
    const foreignRunIds = refused.get(index);
    if (foreignRunIds !== undefined) return { foreignRunIds };
    const count = accepted[index] ?? 0;
    return { recorded: { accepted: count, duplicates: submission.checkIns.length - count } };
  });
}

function countAccepted(
  rows: readonly Keyed<unknown>[],
  inserted: readonly { organization_id: string; run_id: string }[],
  accepted: number[],
): void {
  const written = new Set(inserted.map((row) => rowKey(row.organization_id, row.run_id)));
  for (const { submission, key } of rows) {
    if (written.has(key)) accepted[submission] = (accepted[submission] ?? 0) + 1;
  }
}
