import { CronSyntaxError, InvalidTimeZoneError, matches } from '@cronfleet/core/cron';
import { describe, expect, it } from 'vitest';
import { translateSchedule } from './nativeSchedule.js';

const from = new Date('2026-01-01T00:00:00Z');
const translate = (schedule: string, jobZone: string, nativeZone: string) =>
  translateSchedule(schedule, jobZone, nativeZone, { from });

describe('translateSchedule', () => {
  it('installs the expression as it is, macros expanded, when the zones agree', () => {
    expect(translate('@daily', 'Europe/Berlin', 'Europe/Berlin')).toEqual({
      expression: '0 0 * * *',
      timezone: 'Europe/Berlin',
      exact: true,
    });
    // Different names, identical offsets over the whole horizon.
    expect(translate('30 2 * * MON-FRI', 'Europe/Paris', 'Europe/Berlin')).toEqual({
      expression: '30 2 * * MON-FRI',
      timezone: 'Europe/Berlin',
      exact: true,
    });
    expect(translate(' @reboot ', 'Asia/Kolkata', 'UTC')).toEqual({
      expression: '@reboot',
      timezone: 'UTC',
      exact: true,
    });
  });

  it('covers a fixed-time job in a DST gap with one superset in the native zone', () => {
    // 02:30 New York: 07:30 UTC (EST), 06:30 UTC (EDT), and 07:00 UTC on 8 March 2026, when
    // 02:30 does not exist and cronie runs the job right after the gap (03:00 EDT).
    expect(translate('30 2 * * *', 'America/New_York', 'UTC')).toEqual({
      expression: '0,30 6,7 * * *',
      timezone: 'UTC',
      exact: false,
    });
  });

  it('restricts the days of the week or of the month, whichever matches fewer days', () => {
    expect(translate('0 1 * * 0', 'America/New_York', 'UTC').expression).toBe('0 5,6 * * 0');
    // Sunday 01:00 in Berlin is Saturday evening in New York.
    expect(translate('0 1 * * 0', 'Europe/Berlin', 'America/New_York').expression).toBe(
      '0 19,20 * * 6',
    );
    // The 1st at midnight in Lord Howe is the last day of the previous month in New York.
    expect(translate('0 0 1 * *', 'Australia/Lord_Howe', 'America/New_York').expression).toBe(
      '0,30 8,9 28-31 * *',
    );
    // Day-of-month OR day-of-week in the job: the union spreads over every day.
    expect(translate('0 12 1,15 * 5', 'Europe/Berlin', 'UTC').expression).toBe('0 10,11 * * *');
  });

  it('follows half-hour and 45-minute offsets', () => {
    expect(translate('0 * * * *', 'Australia/Lord_Howe', 'UTC').expression).toBe('0,30 * * * *');
    expect(translate('@daily', 'Asia/Kathmandu', 'UTC').expression).toBe('15 18 * * *');
    expect(translate('0 9 * * 1-5', 'Asia/Kolkata', 'Europe/Berlin').expression).toBe(
      '30 4,5 * * 1-5',
    );
  });

  it('widens a fixed-time superset that would miss the second pass of a repeated hour', () => {
    // 06:00 UTC is 01:00 EST on 1 November 2026, the second 01:00 in New York. A fixed-time
    // `0 1,2 * * *` runs only in the first pass (cronie), so the hours become a wildcard field.
    const secondPass = new Date('2026-11-01T06:00:00Z');
    expect(matches('0 1,2 * * *', secondPass, 'America/New_York')).toBe(false);
    const native = translate('0 6 * * *', 'UTC', 'America/New_York');
    expect(native).toEqual({
      expression: '0 */23,1,2 * * *',
      timezone: 'America/New_York',
      exact: false,
    });
    expect(matches(native.expression, secondPass, 'America/New_York')).toBe(true);
  });

  it('keeps 29 February covered through the next leap year', () => {
    // No 29 February within 400 days of 2026-01-01: the horizon stretches to 2028's.
    expect(translate('0 0 29 2 *', 'Europe/Berlin', 'UTC').expression).toBe('0 23 28 2 *');
    // 1 March in Lord Howe is 28 February in New York, or 29 February in 2028.
    expect(translate('0 0 1 3 *', 'Australia/Lord_Howe', 'America/New_York').expression).toBe(
      '0 8 28,29 2 *',
    );
    // Never fires at all: nothing to cover, and the skip rule refuses every native fire.
    expect(translate('0 0 30 2 *', 'Europe/Berlin', 'UTC')).toEqual({
      expression: '0 0 30 2 *',
      timezone: 'UTC',
      exact: false,
    });
  });

  it('gives the same translation all day long (the horizon starts at UTC midnight)', () => {
    const morning = translateSchedule('30 2 * * *', 'America/New_York', 'UTC', {
      from: new Date('2026-06-01T00:00:01Z'),
    });
    const evening = translateSchedule('30 2 * * *', 'America/New_York', 'UTC', {
      from: new Date('2026-06-01T23:59:59Z'),
    });
    expect(evening).toBe(morning);
  });

  it('rejects invalid expressions and zones with core’s errors', () => {
    expect(() => translate('0 0 * *', 'UTC', 'UTC')).toThrow(CronSyntaxError);
    expect(() => translate('0 0 * * *', 'Mars/Olympus', 'UTC')).toThrow(InvalidTimeZoneError);
    expect(() => translate('0 0 * * *', 'UTC', 'utc')).toThrow(InvalidTimeZoneError);
    expect(() =>
      translateSchedule('0 0 * * *', 'UTC', 'Europe/Berlin', { from: new Date(Number.NaN) }),
    ).toThrow('options.from must be a valid Date');
  });
});
