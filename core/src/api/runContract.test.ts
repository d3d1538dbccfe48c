import { describe, expect, it } from 'vitest';
import { apiExamples } from './apiExamples.js';
import { toValidationIssues } from './errorContract.js';
import { ListRunsQuery, Run, RunDetail } from './runContract.js';

describe('ListRunsQuery', () => {
  it('parses query-string values and defaults the limit', () => {
    expect(ListRunsQuery.parse({})).toEqual({ limit: 50 });
    expect(
      ListRunsQuery.parse({
        job: 'production/nightly-db-backup',
        status: 'lost',
        agentId: apiExamples.run.agentId,
        limit: '1',
      }),
    ).toEqual({
      job: 'production/nightly-db-backup',
      status: 'lost',
      agentId: apiExamples.run.agentId,
      limit: 1,
    });
  });

  it('rejects a job without namespace, an unknown status and an inverted time range', () => {
    const result = ListRunsQuery.safeParse({
      job: 'nightly-db-backup',
      status: 'ok',
      from: '2024-05-02T00:00:00Z',
      to: '2024-05-01T00:00:00Z',
    });
    const issues = toValidationIssues(result.error!);
    expect(issues.map((issue) => issue.path)).toEqual(['job', 'status']);
    const inverted = toValidationIssues(
      ListRunsQuery.safeParse({ from: '2024-05-02T00:00:00Z', to: '2024-05-01T00:00:00Z' }).error!,
    );
    expect(inverted).toEqual([{ path: 'to', message: expect.stringContaining('swap them') }]);
  });

  it('compares from and to as instants, whatever their offsets', () => {
    expect(
      ListRunsQuery.safeParse({ from: '2024-05-01T02:00:00+02:00', to: '2024-05-01T01:00:00Z' })
        .success,
    ).toBe(true);
  });
});

describe('Run', () => {
  it('keeps output out of the list item and in the detail', () => {
    expect(Run.parse(apiExamples.runDetail)).not.toHaveProperty('outputHead');
    expect(RunDetail.parse(apiExamples.runDetail).outputTail).toBe(
      apiExamples.runDetail.outputTail,
    );
  });

  it('allows a running run without finish fields', () => {
    const running = {
      ...apiExamples.run,
      status: 'running',
      finishedAt: null,
      durationMs: null,
      exitCode: null,
    };
    expect(Run.safeParse(running).success).toBe(true);
  });
});
