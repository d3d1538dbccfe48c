import { describe, expect, it } from 'vitest';

import { parseCron } from './cronExpression.js';
import {
  fireMinutesBetween,
  NoFireTimeError,
  matches,
  nextFireTime,
  nextFireTimes,
  previousFireTime,
} from './cronSchedule.js';
import { InvalidTimeZoneError } from './zonedTime.js';

/**
 * Test vectors: expression, zone, after, expected next fire times (UTC). Expected instants were
 * worked out by hand from the tz rules of 2026 (US: 8 Mar / 1 Nov; EU: 29 Mar / 25 Oct at 01:00Z;
 * Lord Howe: 4 Oct 02:00→02:30 / 5 Apr 02:00→01:30; Havana: 8 Mar 00:00→01:00 / 1 Nov 01:00→00:00)
 * and cross-checked with `TZ=… date` and `zdump -v`.
 */
type Vector = readonly [
  expression: string,
  zone: string,
  after: string,
  expected: readonly string[],
];

const DAY_RULE: Vector[] = [
  // Vixie/cronie: a field that starts with * makes the day fields combine with AND.
  [
    '0 0 */2 * 1',
    'UTC',
    '2026-01-01T00:00Z',
    ['2026-01-05T00:00Z', '2026-01-19T00:00Z', '2026-02-09T00:00Z', '2026-02-23T00:00Z'],
  ],
  [
    '0 0 1,15 * 5',
    'UTC',
    '2026-01-01T00:00Z',
    [
      '2026-01-02T00:00Z',
      '2026-01-09T00:00Z',
      '2026-01-15T00:00Z',
      '2026-01-16T00:00Z',
      '2026-01-23T00:00Z',
      '2026-01-30T00:00Z',
      '2026-02-01T00:00Z',
    ],
  ],
  [
    '0 0 13 * 5',
    'UTC',
    '2026-02-01T00:00Z',
    [
      '2026-02-06T00:00Z',
      '2026-02-13T00:00Z',
      '2026-02-20T00:00Z',
      '2026-02-27T00:00Z',
      '2026-03-06T00:00Z',
      '2026-03-13T00:00Z',
    ],
  ],
  [
    '0 0 1-7 * */7',
    'UTC',
    '2026-01-01T00:00Z',
    ['2026-01-04T00:00Z', '2026-02-01T00:00Z', '2026-03-01T00:00Z', '2026-04-05T00:00Z'],
  ],
  [
    '0 0 */10 * SUN',
    'UTC',
    '2026-01-01T00:00Z',
    ['2026-01-11T00:00Z', '2026-02-01T00:00Z', '2026-03-01T00:00Z', '2026-05-31T00:00Z'],
  ],
  ['0 0 * * 1', 'UTC', '2026-01-01T00:00Z', ['2026-01-05T00:00Z', '2026-01-12T00:00Z']],
  ['0 12 1 * *', 'UTC', '2026-01-01T12:00Z', ['2026-02-01T12:00Z', '2026-03-01T12:00Z']],
  [
    '0 0 1 * 6',
    'UTC',
    '2026-01-30T00:00Z',
    ['2026-01-31T00:00Z', '2026-02-01T00:00Z', '2026-02-07T00:00Z'],
  ],
  [
    '0 0 29 2 1',
    'UTC',
    '2028-02-20T00:00Z',
    ['2028-02-21T00:00Z', '2028-02-28T00:00Z', '2028-02-29T00:00Z', '2029-02-05T00:00Z'],
  ],
];

const NAMES_STEPS_SUNDAY: Vector[] = [
  [
    '30 4 * JAN,jul mon',
    'UTC',
    '2026-01-20T00:00Z',
    ['2026-01-26T04:30Z', '2026-07-06T04:30Z', '2026-07-13T04:30Z'],
  ],
  [
    '5-59/10 * * * *',
    'UTC',
    '2026-01-01T10:50Z',
    ['2026-01-01T10:55Z', '2026-01-01T11:05Z', '2026-01-01T11:15Z'],
  ],
  [
    '*/7 * * * *',
    'UTC',
    '2026-01-01T10:50Z',
    ['2026-01-01T10:56Z', '2026-01-01T11:00Z', '2026-01-01T11:07Z'],
  ],
  [
    '0 9-17/4 * * MON-FRI',
    'UTC',
    '2026-01-02T10:00Z',
    ['2026-01-02T13:00Z', '2026-01-02T17:00Z', '2026-01-05T09:00Z'],
  ],
  ['0 0 * * 7', 'UTC', '2026-01-01T00:00Z', ['2026-01-04T00:00Z', '2026-01-11T00:00Z']],
  ['0 0 * * 0', 'UTC', '2026-01-01T00:00Z', ['2026-01-04T00:00Z', '2026-01-11T00:00Z']],
  [
    '0 0 * * 5-7',
    'UTC',
    '2026-01-01T00:00Z',
    ['2026-01-02T00:00Z', '2026-01-03T00:00Z', '2026-01-04T00:00Z', '2026-01-09T00:00Z'],
  ],
  [
    '0 0 * * FRI-SUN',
    'UTC',
    '2026-01-01T00:00Z',
    ['2026-01-02T00:00Z', '2026-01-03T00:00Z', '2026-01-04T00:00Z', '2026-01-09T00:00Z'],
  ],
  ['0 6 * * sat', 'UTC', '2026-01-01T00:00Z', ['2026-01-03T06:00Z', '2026-01-10T06:00Z']],
  [
    '0 0 1 feb-apr/2 *',
    'UTC',
    '2026-01-01T00:00Z',
    ['2026-02-01T00:00Z', '2026-04-01T00:00Z', '2027-02-01T00:00Z'],
  ],
  [
    '0 0 31 * *',
    'UTC',
    '2026-01-01T00:00Z',
    [
      '2026-01-31T00:00Z',
      '2026-03-31T00:00Z',
      '2026-05-31T00:00Z',
      '2026-07-31T00:00Z',
      '2026-08-31T00:00Z',
    ],
  ],
  ['59 23 31 12 *', 'UTC', '2026-06-01T00:00Z', ['2026-12-31T23:59Z', '2027-12-31T23:59Z']],
  ['* * * * *', 'UTC', '2026-01-01T00:00:30Z', ['2026-01-01T00:01Z', '2026-01-01T00:02Z']],
  ['0 0 29 2 *', 'UTC', '2026-01-01T00:00Z', ['2028-02-29T00:00Z', '2032-02-29T00:00Z']],
  ['0 12 29 2 *', 'Europe/Berlin', '2026-01-01T00:00Z', ['2028-02-29T11:00Z']],
  ['0 0 29 2 */7', 'UTC', '2026-01-01T00:00Z', ['2032-02-29T00:00Z']],
  ['0 0 30 2 *', 'UTC', '2026-01-01T00:00Z', []],
  ['0 9 * * 1-5', 'Asia/Kolkata', '2026-01-02T00:00Z', ['2026-01-02T03:30Z', '2026-01-05T03:30Z']],
  ['0 0 1 1 *', 'Pacific/Kiritimati', '2026-06-01T00:00Z', ['2026-12-31T10:00Z']],
  ['0 12 * * *', 'America/St_Johns', '2026-01-10T00:00Z', ['2026-01-10T15:30Z']],
];

const MACROS: Vector[] = [
  ['@yearly', 'UTC', '2026-03-01T00:00Z', ['2027-01-01T00:00Z', '2028-01-01T00:00Z']],
  ['@annually', 'UTC', '2026-03-01T00:00Z', ['2027-01-01T00:00Z', '2028-01-01T00:00Z']],
  ['@monthly', 'UTC', '2026-03-15T00:00Z', ['2026-04-01T00:00Z', '2026-05-01T00:00Z']],
  ['@weekly', 'UTC', '2026-01-01T00:00Z', ['2026-01-04T00:00Z', '2026-01-11T00:00Z']],
  ['@daily', 'America/New_York', '2026-01-01T12:00Z', ['2026-01-02T05:00Z', '2026-01-03T05:00Z']],
  ['@midnight', 'Europe/Berlin', '2026-07-01T12:00Z', ['2026-07-01T22:00Z', '2026-07-02T22:00Z']],
  ['@hourly', 'UTC', '2026-01-01T10:00Z', ['2026-01-01T11:00Z', '2026-01-01T12:00Z']],
  [
    '@hourly',
    'Australia/Lord_Howe',
    '2026-10-03T14:00Z',
    ['2026-10-03T14:30Z', '2026-10-03T16:00Z'],
  ],
];

const NEW_YORK: Vector[] = [
  // Spring forward 2026-03-08 07:00Z: 02:00 EST → 03:00 EDT.
  [
    '30 2 * * *',
    'America/New_York',
    '2026-03-07T12:00Z',
    ['2026-03-08T07:00Z', '2026-03-09T06:30Z'],
  ],
  [
    '0,30 2 * * *',
    'America/New_York',
    '2026-03-07T12:00Z',
    ['2026-03-08T07:00Z', '2026-03-09T06:00Z', '2026-03-09T06:30Z'],
  ],
  [
    '0 2 * * *',
    'America/New_York',
    '2026-03-07T12:00Z',
    ['2026-03-08T07:00Z', '2026-03-09T06:00Z'],
  ],
  [
    '0 3 * * *',
    'America/New_York',
    '2026-03-07T12:00Z',
    ['2026-03-08T07:00Z', '2026-03-09T07:00Z'],
  ],
  [
    '30 2,3 * * *',
    'America/New_York',
    '2026-03-07T12:00Z',
    ['2026-03-08T07:00Z', '2026-03-08T07:30Z', '2026-03-09T06:30Z'],
  ],
  [
    '0 1-3 * * *',
    'America/New_York',
    '2026-03-08T05:00Z',
    ['2026-03-08T06:00Z', '2026-03-08T07:00Z', '2026-03-09T05:00Z'],
  ],
  [
    '30 * * * *',
    'America/New_York',
    '2026-03-08T05:00Z',
    ['2026-03-08T05:30Z', '2026-03-08T06:30Z', '2026-03-08T07:30Z', '2026-03-08T08:30Z'],
  ],
  [
    '*/30 * * * *',
    'America/New_York',
    '2026-03-08T06:20Z',
    ['2026-03-08T06:30Z', '2026-03-08T07:00Z', '2026-03-08T07:30Z'],
  ],
  [
    '0 */1 * * *',
    'America/New_York',
    '2026-03-08T05:30Z',
    ['2026-03-08T06:00Z', '2026-03-08T07:00Z', '2026-03-08T08:00Z'],
  ],
  [
    '* 2 * * *',
    'America/New_York',
    '2026-03-08T06:58Z',
    ['2026-03-09T06:00Z', '2026-03-09T06:01Z'],
  ],
  // Fall back 2026-11-01 06:00Z: 02:00 EDT → 01:00 EST.
  [
    '30 1 * * *',
    'America/New_York',
    '2026-10-31T12:00Z',
    ['2026-11-01T05:30Z', '2026-11-02T06:30Z'],
  ],
  [
    '0 1,2 * * *',
    'America/New_York',
    '2026-11-01T04:00Z',
    ['2026-11-01T05:00Z', '2026-11-01T07:00Z', '2026-11-02T06:00Z'],
  ],
  [
    '0 2 * * *',
    'America/New_York',
    '2026-10-31T12:00Z',
    ['2026-11-01T07:00Z', '2026-11-02T07:00Z'],
  ],
  [
    '30 * * * *',
    'America/New_York',
    '2026-11-01T04:00Z',
    ['2026-11-01T04:30Z', '2026-11-01T05:30Z', '2026-11-01T06:30Z', '2026-11-01T07:30Z'],
  ],
  [
    '*/15 * * * *',
    'America/New_York',
    '2026-11-01T05:40Z',
    [
      '2026-11-01T05:45Z',
      '2026-11-01T06:00Z',
      '2026-11-01T06:15Z',
      '2026-11-01T06:30Z',
      '2026-11-01T06:45Z',
      '2026-11-01T07:00Z',
    ],
  ],
  [
    '* 1 * * *',
    'America/New_York',
    '2026-11-01T05:58Z',
    ['2026-11-01T05:59Z', '2026-11-01T06:00Z', '2026-11-01T06:01Z'],
  ],
];

const BERLIN: Vector[] = [
  // Spring forward 2026-03-29 01:00Z: 02:00 CET → 03:00 CEST.
  ['30 2 * * *', 'Europe/Berlin', '2026-03-28T12:00Z', ['2026-03-29T01:00Z', '2026-03-30T00:30Z']],
  ['0 2 * * *', 'Europe/Berlin', '2026-03-28T12:00Z', ['2026-03-29T01:00Z', '2026-03-30T00:00Z']],
  ['0 3 * * *', 'Europe/Berlin', '2026-03-28T12:00Z', ['2026-03-29T01:00Z', '2026-03-30T01:00Z']],
  [
    '15 * * * *',
    'Europe/Berlin',
    '2026-03-29T00:00Z',
    ['2026-03-29T00:15Z', '2026-03-29T01:15Z', '2026-03-29T02:15Z'],
  ],
  // Fall back 2026-10-25 01:00Z: 03:00 CEST → 02:00 CET.
  ['30 2 * * *', 'Europe/Berlin', '2026-10-24T12:00Z', ['2026-10-25T00:30Z', '2026-10-26T01:30Z']],
  [
    '30 * * * *',
    'Europe/Berlin',
    '2026-10-24T23:45Z',
    ['2026-10-25T00:30Z', '2026-10-25T01:30Z', '2026-10-25T02:30Z'],
  ],
  [
    '*/20 2 * * *',
    'Europe/Berlin',
    '2026-10-25T00:00Z',
    [
      '2026-10-25T00:20Z',
      '2026-10-25T00:40Z',
      '2026-10-25T01:00Z',
      '2026-10-25T01:20Z',
      '2026-10-25T01:40Z',
      '2026-10-26T01:00Z',
    ],
  ],
  [
    '0,30 2 * * 0',
    'Europe/Berlin',
    '2026-10-24T00:00Z',
    ['2026-10-25T00:00Z', '2026-10-25T00:30Z', '2026-11-01T01:00Z'],
  ],
];

const LORD_HOWE: Vector[] = [
  // Spring forward 2026-10-03 15:30Z: 02:00 +10:30 → 02:30 +11.
  [
    '15 2 * * *',
    'Australia/Lord_Howe',
    '2026-10-03T00:00Z',
    ['2026-10-03T15:30Z', '2026-10-04T15:15Z'],
  ],
  [
    '0,15 2 * * *',
    'Australia/Lord_Howe',
    '2026-10-03T00:00Z',
    ['2026-10-03T15:30Z', '2026-10-04T15:00Z', '2026-10-04T15:15Z'],
  ],
  [
    '30 2 * * *',
    'Australia/Lord_Howe',
    '2026-10-03T00:00Z',
    ['2026-10-03T15:30Z', '2026-10-04T15:30Z'],
  ],
  [
    '15 * * * *',
    'Australia/Lord_Howe',
    '2026-10-03T14:00Z',
    ['2026-10-03T14:45Z', '2026-10-03T16:15Z', '2026-10-03T17:15Z'],
  ],
  // Fall back 2026-04-04 15:00Z: 02:00 +11 → 01:30 +10:30.
  [
    '45 1 * * *',
    'Australia/Lord_Howe',
    '2026-04-04T00:00Z',
    ['2026-04-04T14:45Z', '2026-04-05T15:15Z'],
  ],
  [
    '*/20 * * * *',
    'Australia/Lord_Howe',
    '2026-04-04T14:30Z',
    ['2026-04-04T14:40Z', '2026-04-04T15:10Z', '2026-04-04T15:30Z', '2026-04-04T15:50Z'],
  ],
  [
    '0 2 * * *',
    'Australia/Lord_Howe',
    '2026-04-04T00:00Z',
    ['2026-04-04T15:30Z', '2026-04-05T15:30Z'],
  ],
];

const MIDNIGHT_TRANSITIONS: Vector[] = [
  // Havana: 2026-03-08 00:00 CST → 01:00 CDT (05:00Z); 2026-11-01 01:00 CDT → 00:00 CST (05:00Z).
  [
    '0 0 * * *',
    'America/Havana',
    '2026-03-07T00:00Z',
    ['2026-03-07T05:00Z', '2026-03-08T05:00Z', '2026-03-09T04:00Z'],
  ],
  [
    '0 0 * * *',
    'America/Havana',
    '2026-10-31T00:00Z',
    ['2026-10-31T04:00Z', '2026-11-01T04:00Z', '2026-11-02T05:00Z'],
  ],
  ['30 0 8 3 *', 'America/Havana', '2026-03-01T00:00Z', ['2026-03-08T05:00Z', '2027-03-08T05:30Z']],
];

const ALL_VECTORS: ReadonlyArray<readonly [string, Vector[]]> = [
  ['day-of-month / day-of-week rule', DAY_RULE],
  ['names, steps, Sunday as 0 or 7, 29 February, fixed zones', NAMES_STEPS_SUNDAY],
  ['macros', MACROS],
  ['America/New_York DST', NEW_YORK],
  ['Europe/Berlin DST', BERLIN],
  ['Australia/Lord_Howe half-hour DST', LORD_HOWE],
  ['transitions at midnight', MIDNIGHT_TRANSITIONS],
];

const iso = (date: Date): string => date.toISOString().replace(':00.000Z', 'Z');

describe('nextFireTimes vectors', () => {
  for (const [group, vectors] of ALL_VECTORS) {
    describe(group, () => {
      it.each(vectors)('%s in %s after %s', (expression, zone, after, expected) => {
        const fires = nextFireTimes(expression, {
          after: new Date(after),
          count: expected.length + (expected.length === 0 ? 3 : 0),
          timezone: zone,
        });
        expect(fires.map(iso)).toEqual(expected);
        // Every vector also holds for matches() and walks back with previousFireTime().
        for (const fire of fires) expect(matches(expression, fire, zone)).toBe(true);
        for (let i = 1; i < fires.length; i += 1) {
          expect(
            previousFireTime(expression, { before: fires[i] as Date, timezone: zone }),
          ).toEqual(fires[i - 1]);
        }
      });
    });
  }

  it('has at least 60 vectors', () => {
    expect(
      ALL_VECTORS.reduce((sum, [, vectors]) => sum + vectors.length, 0),
    ).toBeGreaterThanOrEqual(60);
  });
});

describe('previousFireTime vectors', () => {
  const cases: Array<[string, string, string, string | null]> = [
    ['30 1 * * *', 'America/New_York', '2026-11-01T07:00Z', '2026-11-01T05:30Z'],
    ['30 * * * *', 'America/New_York', '2026-11-01T07:00Z', '2026-11-01T06:30Z'],
    ['30 2 * * *', 'America/New_York', '2026-03-08T12:00Z', '2026-03-08T07:00Z'],
    ['30 2 * * *', 'Europe/Berlin', '2026-10-25T03:00Z', '2026-10-25T00:30Z'],
    ['45 1 * * *', 'Australia/Lord_Howe', '2026-04-05T00:00Z', '2026-04-04T14:45Z'],
    ['0 0 29 2 *', 'UTC', '2031-01-01T00:00Z', '2028-02-29T00:00Z'],
    ['0 0 * * *', 'UTC', '2026-01-01T00:00Z', '2025-12-31T00:00Z'],
    ['0 0 * * *', 'UTC', '2026-01-01T00:00:01Z', '2026-01-01T00:00Z'],
    ['0 0 30 2 *', 'UTC', '2026-01-01T00:00Z', null],
  ];
  it.each(cases)('%s in %s before %s', (expression, zone, before, expected) => {
    const previous = previousFireTime(expression, { before: new Date(before), timezone: zone });
    expect(previous === null ? null : iso(previous)).toBe(expected);
  });
});

describe('matches', () => {
  it('follows the daylight-saving policy', () => {
    const zone = 'America/New_York';
    // Fixed-time job in the repeated hour: first pass only.
    expect(matches('30 1 * * *', new Date('2026-11-01T05:30Z'), zone)).toBe(true);
    expect(matches('30 1 * * *', new Date('2026-11-01T06:30Z'), zone)).toBe(false);
    // Wildcard job: both passes.
    expect(matches('30 * * * *', new Date('2026-11-01T06:30Z'), zone)).toBe(true);
    // Fixed-time job in the spring-forward gap: at the first minute after it.
    expect(matches('30 2 * * *', new Date('2026-03-08T07:00Z'), zone)).toBe(true);
    expect(matches('30 * * * *', new Date('2026-03-08T07:00Z'), zone)).toBe(false);
  });

  it('truncates the instant to the minute', () => {
    expect(matches('0 12 * * *', new Date('2026-05-05T12:00:59.999Z'), 'UTC')).toBe(true);
    expect(matches('0 12 * * *', new Date('2026-05-05T12:01:00Z'), 'UTC')).toBe(false);
  });

  it('is false for @reboot', () => {
    expect(matches('@reboot', new Date('2026-05-05T12:00Z'), 'UTC')).toBe(false);
  });
});

describe('@reboot and bounded searches', () => {
  it('has no next or previous fire time and says so', () => {
    const after = new Date('2026-01-01T00:00Z');
    expect(() => nextFireTimes('@reboot', { after, count: 1, timezone: 'UTC' })).toThrow(
      NoFireTimeError,
    );
    expect(() => nextFireTime('@reboot', { after, timezone: 'UTC' })).toThrow(
      /@reboot runs once when the scheduler starts/,
    );
    expect(() =>
      previousFireTime(parseCron('@reboot'), { before: after, timezone: 'UTC' }),
    ).toThrow(NoFireTimeError);
    try {
      nextFireTime('@reboot', { after });
    } catch (error) {
      expect(error).toBeInstanceOf(NoFireTimeError);
      expect((error as NoFireTimeError).expression).toBe('@reboot');
    }
  });

  it('returns null when no fire time exists', () => {
    expect(
      nextFireTime('0 0 30 2 *', { after: new Date('2026-01-01T00:00Z'), timezone: 'UTC' }),
    ).toBeNull();
    expect(
      nextFireTime('0 0 31 4,6,9,11 *', { after: new Date('2026-01-01T00:00Z'), timezone: 'UTC' }),
    ).toBeNull();
  });
});

describe('arguments', () => {
  it('accepts a parsed schedule as well as text', () => {
    const schedule = parseCron('0 9 * * 1-5');
    const after = new Date('2026-01-02T00:00Z');
    expect(nextFireTime(schedule, { after, timezone: 'UTC' })).toEqual(
      nextFireTime('0 9 * * 1-5', { after, timezone: 'UTC' }),
    );
  });

  it('rejects an invalid time zone with a message naming it', () => {
    const after = new Date('2026-01-01T00:00Z');
    expect(() => nextFireTime('0 0 * * *', { after, timezone: 'Foo/Bar' })).toThrow(
      InvalidTimeZoneError,
    );
    expect(() => nextFireTime('0 0 * * *', { after, timezone: 'Foo/Bar' })).toThrow(/"Foo\/Bar"/);
    expect(() => matches('0 0 * * *', after, '')).toThrow(InvalidTimeZoneError);
  });

  it('rejects invalid dates and counts', () => {
    expect(() => nextFireTime('0 0 * * *', { after: new Date('nope'), timezone: 'UTC' })).toThrow(
      /options.after must be a valid Date/,
    );
    expect(() =>
      nextFireTimes('0 0 * * *', { after: new Date(0), count: -1, timezone: 'UTC' }),
    ).toThrow(/count must be a whole number/);
  });

  it('uses the system time zone by default', () => {
    const after = new Date('2026-01-01T00:00Z');
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(nextFireTime('17 5 * * *', { after })).toEqual(
      nextFireTime('17 5 * * *', { after, timezone: zone }),
    );
  });
});

describe('fireMinutesBetween', () => {
  const minuteOf = (date: Date): number => date.getTime() / 60_000;

  it.each([
    ['0 2 * * *', 'America/New_York'],
    ['30 2 * * *', 'Europe/Berlin'],
    ['*/20 1-3 * * *', 'Australia/Lord_Howe'],
    ['7 */2 * * 1-5', 'Asia/Kolkata'],
    ['0 0 29 2 *', 'UTC'],
    ['15 1 * 3,10,11 0', 'America/Santiago'],
  ])('gives the fire times of nextFireTimes for %s in %s, as minutes', (expression, zone) => {
    const first = Date.UTC(2026, 0, 1) / 60_000;
    const last = first + 400 * 1440;
    const expected = nextFireTimes(expression, {
      after: new Date((first - 1) * 60_000),
      count: 20_000,
      timezone: zone,
    })
      .map(minuteOf)
      .filter((minute) => minute <= last);
    expect(fireMinutesBetween(expression, zone, first, last)).toEqual(expected);
    // Inclusive bounds.
    const [one] = expected;
    if (one !== undefined) expect(fireMinutesBetween(expression, zone, one, one)).toEqual([one]);
  });

  it('refuses bounds that are not whole minutes of the supported years', () => {
    expect(() => fireMinutesBetween('@daily', 'UTC', 0.5, 10)).toThrow(RangeError);
    expect(() => fireMinutesBetween('@daily', 'UTC', 0, 1e12)).toThrow(RangeError);
    expect(() => fireMinutesBetween('@reboot', 'UTC', 0, 10)).toThrow(NoFireTimeError);
  });
});
