import { describe, expect, it } from 'vitest';

import { CronSyntaxError, parseCron, validateCron } from './cronExpression.js';

describe('parseCron', () => {
  it('parses five fields into sorted values', () => {
    const schedule = parseCron('5-59/10 9-17/4 1,15 JAN-MAR/2 mon-fri');
    expect(schedule.fields).toEqual({
      minute: [5, 15, 25, 35, 45, 55],
      hour: [9, 13, 17],
      dayOfMonth: [1, 15],
      month: [1, 3],
      dayOfWeek: [1, 2, 3, 4, 5],
    });
    expect(schedule.isReboot).toBe(false);
    expect(schedule.macro).toBeNull();
    expect(schedule.dayMatching).toBe('either');
    expect(schedule.timing).toBe('fixed-time');
  });

  it('reads Sunday as 0 or 7, and FRI-SUN as Friday to Sunday', () => {
    expect(parseCron('0 0 * * 7').fields?.dayOfWeek).toEqual([0]);
    expect(parseCron('0 0 * * 0,7').fields?.dayOfWeek).toEqual([0]);
    expect(parseCron('0 0 * * 5-7').fields?.dayOfWeek).toEqual([0, 5, 6]);
    expect(parseCron('0 0 * * FRI-SUN').fields?.dayOfWeek).toEqual([0, 5, 6]);
    expect(parseCron('0 0 * * */7').fields?.dayOfWeek).toEqual([0]);
    expect(parseCron('0 0 * * *').fields?.dayOfWeek).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('reads names case-insensitively', () => {
    expect(parseCron('0 0 1 jan,Jul,DEC *').fields?.month).toEqual([1, 7, 12]);
    expect(parseCron('0 0 * * sun,Wed,SAT').fields?.dayOfWeek).toEqual([0, 3, 6]);
  });

  it('classifies day matching by whether a field starts with *', () => {
    expect(parseCron('0 0 */2 * 1').dayMatching).toBe('both');
    expect(parseCron('0 0 1,15 * 5').dayMatching).toBe('either');
    expect(parseCron('0 0 1 * *').dayMatching).toBe('both');
    expect(parseCron('0 0 1-31 * 0-6').dayMatching).toBe('either');
    expect(parseCron('0 0 1 * */2').dayMatching).toBe('both');
  });

  it('classifies wildcard jobs by whether the minute or hour field starts with *', () => {
    expect(parseCron('30 2 * * *').timing).toBe('fixed-time');
    expect(parseCron('0,30 2 * * *').timing).toBe('fixed-time');
    expect(parseCron('0 0-23/2 * * *').timing).toBe('fixed-time');
    expect(parseCron('0-59 2 * * *').timing).toBe('fixed-time');
    expect(parseCron('30 * * * *').timing).toBe('wildcard');
    expect(parseCron('* 2 * * *').timing).toBe('wildcard');
    expect(parseCron('*/15 9 * * *').timing).toBe('wildcard');
  });

  it('expands every macro', () => {
    const expected: Record<string, [string, 'fixed-time' | 'wildcard']> = {
      '@yearly': ['0 0 1 1 *', 'fixed-time'],
      '@annually': ['0 0 1 1 *', 'fixed-time'],
      '@monthly': ['0 0 1 * *', 'fixed-time'],
      '@weekly': ['0 0 * * 0', 'fixed-time'],
      '@daily': ['0 0 * * *', 'fixed-time'],
      '@midnight': ['0 0 * * *', 'fixed-time'],
      '@hourly': ['0 * * * *', 'wildcard'],
    };
    for (const [macro, [normalized, timing]] of Object.entries(expected)) {
      const schedule = parseCron(`  ${macro} `);
      expect(schedule.macro).toBe(macro);
      expect(schedule.normalized).toBe(normalized);
      expect(schedule.timing).toBe(timing);
      expect(schedule.expression).toBe(macro);
    }
  });

  it('parses @reboot with no fields', () => {
    const schedule = parseCron('@reboot');
    expect(schedule.isReboot).toBe(true);
    expect(schedule.fields).toBeNull();
    expect(schedule.normalized).toBe('@reboot');
  });

  it('normalizes whitespace', () => {
    expect(parseCron(' 0\t2  * *   * ').normalized).toBe('0 2 * * *');
  });

  it('returns frozen schedules', () => {
    const schedule = parseCron('0 2 * * *');
    expect(Object.isFrozen(schedule)).toBe(true);
    expect(Object.isFrozen(schedule.fields?.minute)).toBe(true);
  });
});

describe('invalid expressions', () => {
  const cases: Array<[string, string | undefined, string | RegExp]> = [
    ['0 25 * * *', 'hour', 'hour field "25": 25 is out of range 0-23'],
    ['60 * * * *', 'minute', 'minute field "60": 60 is out of range 0-59'],
    ['0 0 0 * *', 'day-of-month', 'day-of-month field "0": 0 is out of range 1-31'],
    ['0 0 32 * *', 'day-of-month', '32 is out of range 1-31'],
    ['0 0 * 13 *', 'month', 'month field "13": 13 is out of range 1-12'],
    ['0 0 * * 8', 'day-of-week', '8 is out of range 0-7 (0 and 7 are Sunday)'],
    ['0 5-2 * * *', 'hour', 'range 5-2 is reversed; write 2-5'],
    ['*/0 * * * *', 'minute', 'step 0 is invalid'],
    ['0 0 1,,2 * *', 'day-of-month', 'empty list item'],
    ['0 0 1, * *', 'day-of-month', 'empty list item'],
    ['5/10 * * * *', 'minute', 'a step needs a range or *: write 5-59/10'],
    ['*/x * * * *', 'minute', 'step "x" is not a number'],
    ['*/75 * * * *', 'minute', "step 75 is larger than the field's maximum 59"],
    ['1-2-3 * * * *', 'minute', 'is not a range'],
    ['5- * * * *', 'minute', 'missing a number'],
    ['*-5 * * * *', 'minute', "'*' cannot be part of a range"],
    ['0 0 * * MON#2', 'day-of-week', "Quartz extension '#' is not supported"],
    ['0 0 L * *', 'day-of-month', "Quartz extension 'L' is not supported"],
    ['0 0 * * 5L', 'day-of-week', "Quartz extension 'L' is not supported"],
    ['0 0 * * FRIL', 'day-of-week', "Quartz extension 'L' is not supported"],
    ['0 0 LW * *', 'day-of-month', "Quartz extension 'L' is not supported"],
    ['0 0 15W * *', 'day-of-month', "Quartz extension 'W' is not supported"],
    ['0 0 ? * MON', 'day-of-month', "Quartz extension '?' is not supported"],
    ['0 0 * * ?', 'day-of-week', 'use * instead'],
    ['0 0 JAN * *', 'day-of-month', 'names are allowed only in the month and day-of-week fields'],
    ['0 0 * MON *', 'month', '"MON" is not a month name'],
    ['0 0 * * JAN', 'day-of-week', '"JAN" is not a day-of-week name'],
    ['0 0 * * FUNDAY', 'day-of-week', '"FUNDAY" is not a number or a name'],
    ['0 ~ * * *', 'hour', "random range '~' is not supported"],
    [
      '0 0 * * * *',
      undefined,
      'seconds field / year field not supported: Cronfleet uses 5-field cron',
    ],
    ['0 0 0 * * * 2026', undefined, 'seconds field / year field not supported'],
    ['0 0 * *', undefined, 'cron expression has 4 fields'],
    ['* * * * * * * *', undefined, 'has 8 fields'],
    ['', undefined, 'cron expression is empty'],
    ['   ', undefined, 'cron expression is empty'],
    ['@fortnightly', undefined, 'unknown macro "@fortnightly": use one of @yearly'],
    ['@Daily', undefined, 'macros are lowercase; write @daily'],
    ['@daily 0', undefined, 'macro @daily takes no fields'],
    ['0 0 * * * rm -rf /', undefined, /has 8 fields/],
  ];

  it.each(cases)('%j', (expression, field, message) => {
    let caught: unknown;
    try {
      parseCron(expression);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(CronSyntaxError);
    const error = caught as CronSyntaxError;
    if (typeof message === 'string') expect(error.message).toContain(message);
    else expect(error.message).toMatch(message);
    expect(error.field).toBe(field);
    expect(error.expression).toBe(expression.trim() === '' ? expression : expression.trim());
  });

  it('validateCron reports the same message without throwing', () => {
    expect(validateCron('0 25 * * *')).toEqual({
      valid: false,
      message: 'hour field "25": 25 is out of range 0-23',
    });
    const ok = validateCron('@daily');
    expect(ok.valid).toBe(true);
    if (ok.valid) expect(ok.schedule.normalized).toBe('0 0 * * *');
  });
});
