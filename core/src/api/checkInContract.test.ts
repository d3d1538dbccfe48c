import { describe, expect, it } from 'vitest';
import { apiExamples } from './apiExamples.js';
import { CheckIn, CheckInBatchRequest, MAX_CHECK_INS_PER_BATCH } from './checkInContract.js';
import { toValidationIssues } from './errorContract.js';

const [start, finish] = apiExamples.checkInBatchRequest.checkIns;
if (start?.kind !== 'start' || finish?.kind !== 'finish')
  throw new Error('example needs start, finish');

describe('CheckIn', () => {
  it('tells start and finish apart by kind', () => {
    expect(CheckIn.parse(start).kind).toBe('start');
    expect(CheckIn.parse(finish).kind).toBe('finish');
    const unknown = CheckIn.safeParse({ ...start, kind: 'heartbeat' });
    expect(toValidationIssues(unknown.error!)[0]?.path).toBe('kind');
  });

  it('validates the fields of the chosen kind', () => {
    // A start does not carry a status; a finish needs one.
    const { status: _status, ...finishWithoutStatus } = finish;
    expect(toValidationIssues(CheckIn.safeParse(finishWithoutStatus).error!)[0]?.path).toBe(
      'status',
    );
    const issues = toValidationIssues(
      CheckIn.safeParse({ ...start, attempt: 0, runId: 'run-1', trigger: 'cron' }).error!,
    );
    expect(issues.map((issue) => issue.path).sort()).toEqual(['attempt', 'runId', 'trigger']);
  });

  it('accepts a manual run without a scheduled time, and a killed run without exit code', () => {
    expect(CheckIn.safeParse({ ...start, trigger: 'manual', scheduledAt: null }).success).toBe(
      true,
    );
    expect(
      CheckIn.safeParse({ ...finish, status: 'timed_out', exitCode: null, signal: 'SIGKILL' })
        .success,
    ).toBe(true);
    expect(CheckIn.safeParse({ ...finish, signal: 'kill -9' }).success).toBe(false);
    expect(CheckIn.safeParse({ ...finish, durationMs: -1 }).success).toBe(false);
  });

  it('accepts a lost finish with the reason, and older finishes without a reason', () => {
    const lost = {
      ...finish,
      status: 'lost',
      exitCode: null,
      signal: null,
      reason: "the wrapper (pid 123) was killed; its command's process group was stopped",
    };
    expect(CheckIn.parse(lost)).toEqual(lost);
    const { reason: _reason, ...older } = finish;
    expect(CheckIn.safeParse(older).success).toBe(true);
    expect(CheckIn.safeParse({ ...finish, reason: null }).success).toBe(true);
    const tooLong = CheckIn.safeParse({ ...lost, reason: 'x'.repeat(2049) });
    expect(toValidationIssues(tooLong.error!)[0]?.path).toBe('reason');
  });

  it('accepts timestamps with an offset, not without', () => {
    expect(
      CheckIn.safeParse({ ...start, startedAt: '2024-05-01T08:00:00.412+02:00' }).success,
    ).toBe(true);
    expect(CheckIn.safeParse({ ...start, startedAt: '2024-05-01 06:00:00' }).success).toBe(false);
    expect(CheckIn.safeParse({ ...start, startedAt: 1714543200000 }).success).toBe(false);
  });
});

describe('CheckInBatchRequest', () => {
  it('takes 1 to 1000 check-ins', () => {
    expect(CheckInBatchRequest.safeParse({ checkIns: [] }).success).toBe(false);
    const full = Array.from({ length: MAX_CHECK_INS_PER_BATCH }, () => start);
    expect(CheckInBatchRequest.safeParse({ checkIns: full }).success).toBe(true);
    const over = CheckInBatchRequest.safeParse({ checkIns: [...full, start] });
    expect(toValidationIssues(over.error!)[0]?.message).toContain('split the batch');
  });

  it('locates an error inside a batch', () => {
    const result = CheckInBatchRequest.safeParse({
      checkIns: [start, { ...finish, namespace: 'Prod' }],
    });
    expect(toValidationIssues(result.error!)[0]?.path).toBe('checkIns[1].namespace');
  });
});
