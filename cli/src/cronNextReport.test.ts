import { describe, expect, it } from 'vitest';
import {
  CronNextResult,
  computeCronNext,
  parseIsoInstant,
  renderCronNext,
} from './cronNextReport.js';
import { createTerminalStyle } from './terminalStyle.js';
import { UsageError } from './usageError.js';

const plain = createTerminalStyle(false);
const from = new Date('2025-01-03T08:00:00Z');

describe('parseIsoInstant', () => {
  it('accepts date-times with Z or an offset', () => {
    expect(parseIsoInstant('2025-03-29T00:00:00Z')?.toISOString()).toBe('2025-03-29T00:00:00.000Z');
    expect(parseIsoInstant('2025-03-29T01:00:00+01:00')?.toISOString()).toBe(
      '2025-03-29T00:00:00.000Z',
    );
    expect(parseIsoInstant('2025-03-29T00:00:00.250Z')?.toISOString()).toBe(
      '2025-03-29T00:00:00.250Z',
    );
  });

  it('rejects local times, bare dates, impossible dates and prose', () => {
    for (const text of ['2025-03-29T01:00:00', '2025-03-29', '2025-02-30T00:00:00Z', 'now', '']) {
      expect(parseIsoInstant(text), text).toBeNull();
    }
  });
});

describe('computeCronNext', () => {
  it('returns the next fire times strictly after from, in UTC', () => {
    const outcome = computeCronNext({
      expression: '0 9 * * 1-5',
      timezone: 'Europe/Berlin',
      from,
      count: 2,
    });
    expect(outcome.note).toBeNull();
    expect(outcome.result.next).toEqual(['2025-01-06T08:00:00.000Z', '2025-01-07T08:00:00.000Z']);
    expect(CronNextResult.parse(outcome.result)).toEqual(outcome.result);
  });

  it('throws a UsageError for a count outside 1..1000', () => {
    for (const count of [0, 1001, -1, 2.5]) {
      expect(() =>
        computeCronNext({ expression: '* * * * *', timezone: 'UTC', from, count }),
      ).toThrow(UsageError);
    }
  });

  it('throws a UsageError for an unknown zone and for an invalid expression', () => {
    expect(() =>
      computeCronNext({ expression: '* * * * *', timezone: 'Nowhere/City', from, count: 1 }),
    ).toThrow(/Unknown time zone "Nowhere\/City"/);
    expect(() => computeCronNext({ expression: '* * *', timezone: 'UTC', from, count: 1 })).toThrow(
      /Invalid cron expression "\* \* \*": /,
    );
  });

  it('gives @reboot a description, no fire time and a reason', () => {
    const outcome = computeCronNext({ expression: '@reboot', timezone: 'UTC', from, count: 3 });
    expect(outcome.result.next).toEqual([]);
    expect(outcome.result.description).not.toBe('');
    expect(outcome.note).toContain('@reboot has no fire time');
  });

  it('notes when a schedule has fewer fire times than asked (day 30 of February)', () => {
    const outcome = computeCronNext({ expression: '0 0 30 2 *', timezone: 'UTC', from, count: 2 });
    expect(outcome.result.next).toEqual([]);
    expect(outcome.note).toContain('Only 0 of 2 fire times within the next 100 years');
  });
});

describe('renderCronNext', () => {
  it('prints description, zone, a header and aligned local and UTC columns', () => {
    const outcome = computeCronNext({
      expression: '0 9 * * 1-5',
      timezone: 'Asia/Kolkata',
      from,
      count: 2,
    });
    const lines = renderCronNext(outcome, plain).split('\n');
    expect(lines.slice(1)).toEqual([
      'Time zone: Asia/Kolkata',
      '',
      `${'Local time (Asia/Kolkata)'.padEnd(30)}  UTC`,
      'Mon 2025-01-06 09:00:00 +05:30  2025-01-06T03:30:00.000Z',
      'Tue 2025-01-07 09:00:00 +05:30  2025-01-07T03:30:00.000Z',
    ]);
  });

  it('prints the reason instead of a table when there is no fire time', () => {
    const outcome = computeCronNext({ expression: '@reboot', timezone: 'UTC', from, count: 1 });
    const lines = renderCronNext(outcome, plain).split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[1]).toBe('Time zone: UTC');
    expect(lines[2]).toContain('@reboot has no fire time');
  });
});
