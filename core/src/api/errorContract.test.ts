import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  ApiErrorBody,
  ApiErrorCode,
  apiErrorBody,
  apiErrorStatus,
  formatIssuePath,
  toValidationIssues,
} from './errorContract.js';

describe('formatIssuePath', () => {
  it('writes paths as people read them', () => {
    expect(formatIssuePath([])).toBe('(root)');
    expect(formatIssuePath(['checkIns', 3, 'runId'])).toBe('checkIns[3].runId');
    expect(formatIssuePath([0, 'type'])).toBe('[0].type');
    expect(formatIssuePath(['labels', 'team'])).toBe('labels.team');
  });
});

describe('toValidationIssues', () => {
  it('lists each issue with its path and message', () => {
    const schema = z.object({ items: z.array(z.object({ n: z.number() })) });
    const result = schema.safeParse({ items: [{ n: 1 }, { n: 'x' }] });
    expect(toValidationIssues(result.error!)).toEqual([
      { path: 'items[1].n', message: expect.stringContaining('expected number') },
    ]);
  });
});

describe('ApiErrorBody', () => {
  it('round-trips the bodies the backend builds', () => {
    const body = apiErrorBody('validation_failed', 'bad', [{ path: 'a', message: 'b' }]);
    expect(ApiErrorBody.parse(JSON.parse(JSON.stringify(body)))).toEqual(body);
    expect(apiErrorBody('not_found', 'no such run')).toEqual({
      error: { code: 'not_found', message: 'no such run' },
    });
  });

  it('accepts a code this client does not know yet, but not an empty one', () => {
    expect(
      ApiErrorBody.safeParse({ error: { code: 'quota_exceeded', message: 'x' } }).success,
    ).toBe(true);
    expect(ApiErrorBody.safeParse({ error: { code: '', message: 'x' } }).success).toBe(false);
    expect(ApiErrorBody.safeParse({ message: 'x' }).success).toBe(false);
  });

  it('maps each known code to a 4xx or 5xx status', () => {
    for (const code of ApiErrorCode.options) {
      expect(apiErrorStatus[code]).toBeGreaterThanOrEqual(400);
    }
    expect(apiErrorStatus.rate_limited).toBe(429);
  });
});
