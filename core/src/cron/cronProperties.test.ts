/**
 * Property tests of the evaluator:
 *   - against an independent model of cronie's main loop (cron.c: virtual time, cases 1-3),
 *     minute by minute, with local times from Intl and a naive field matcher, around DST
 *     transitions in several zones;
 *   - next/previous/matches agree with each other.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import type { CronSchedule } from './cronExpression.js';
import { parseCron } from './cronExpression.js';
import { matches, nextFireTime, nextFireTimes, previousFireTime } from './cronSchedule.js';

const MINUTE = 60_000;

// --- Random 5-field expressions ------------------------------------------------------------

interface FieldShape {
  min: number;
  max: number;
  names?: readonly string[];
}
const MONTH_NAMES = [
  'JAN',
  'FEB',
  'MAR',
  'APR',
  'MAY',
  'JUN',
  'JUL',
  'AUG',
  'SEP',
  'OCT',
  'NOV',
  'DEC',
];
const DAY_NAMES = ['SUN', 'MON', 'TUE', 'WED', 'THU', 'FRI', 'SAT'];
const SHAPES: FieldShape[] = [
  { min: 0, max: 59 },
  { min: 0, max: 23 },
  { min: 1, max: 31 },
  { min: 1, max: 12, names: MONTH_NAMES },
  { min: 0, max: 7, names: DAY_NAMES },
];

function valueText(shape: FieldShape, value: number, useName: boolean): string {
  if (useName && shape.names) {
    const name = shape.names[(value - shape.min) % shape.names.length];
    if (name !== undefined) return name.toLowerCase();
  }
  return String(value);
}

/** One list item in the common grammar of cronie and croner. */
function itemArbitrary(shape: FieldShape, allowStar: boolean): fc.Arbitrary<string> {
  const value = fc.integer({ min: shape.min, max: shape.max });
  const step = fc.integer({ min: 1, max: Math.min(shape.max, 15) });
  const named = fc.boolean();
  const items: Array<fc.Arbitrary<string>> = [
    fc.tuple(value, named).map(([v, n]) => valueText(shape, v, n)),
    fc
      .tuple(value, value, named)
      .map(
        ([a, b, n]) =>
          `${valueText(shape, Math.min(a, b), n)}-${valueText(shape, Math.max(a, b), n)}`,
      ),
    fc.tuple(value, value, step).map(([a, b, s]) => `${Math.min(a, b)}-${Math.max(a, b)}/${s}`),
  ];
  if (allowStar)
    items.push(
      fc.constant('*'),
      step.map((s) => `*/${s}`),
    );
  return fc.oneof(...items);
}

function fieldArbitrary(
  shape: FieldShape,
  starLead: 'any' | 'exact-star-or-none',
): fc.Arbitrary<string> {
  const list = fc
    .array(itemArbitrary(shape, false), { minLength: 1, maxLength: 3 })
    .map((items) => items.join(','));
  if (starLead === 'exact-star-or-none') return fc.oneof(fc.constant('*'), list);
  return fc.oneof(
    fc.constant('*'),
    list,
    fc
      .tuple(itemArbitrary(shape, true), fc.array(itemArbitrary(shape, false), { maxLength: 2 }))
      .map(([first, rest]) => [first, ...rest].join(',')),
  );
}

/** Any expression of the grammar (day fields may start with * in any form). */
const anyExpression = fc
  .tuple(...SHAPES.map((shape) => fieldArbitrary(shape, 'any')))
  .map((fields) => fields.join(' '));

// --- An independent model of cronie --------------------------------------------------------

const formatters = new Map<string, Intl.DateTimeFormat>();

/** Local wall minute (minutes since 1970-01-01 00:00 local) at a UTC minute, straight from Intl. */
function wallMinute(zone: string, utcMinute: number): number {
  let formatter = formatters.get(zone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
    });
    formatters.set(zone, formatter);
  }
  const parts = Object.fromEntries(
    formatter.formatToParts(utcMinute * MINUTE).map((part) => [part.type, part.value]),
  );
  return (
    Date.UTC(
      Number(parts.year),
      Number(parts.month) - 1,
      Number(parts.day),
      Number(parts.hour),
      Number(parts.minute),
    ) / MINUTE
  );
}

/** Naive Vixie match of a wall minute, from the parsed field values. */
function namesWall(schedule: CronSchedule, wall: number): boolean {
  const fields = schedule.fields;
  if (!fields) return false;
  const date = new Date(wall * MINUTE);
  const dom = fields.dayOfMonth.includes(date.getUTCDate());
  const dow = fields.dayOfWeek.includes(date.getUTCDay());
  return (
    fields.minute.includes(date.getUTCMinutes()) &&
    fields.hour.includes(date.getUTCHours()) &&
    fields.month.includes(date.getUTCMonth() + 1) &&
    (schedule.dayMatching === 'either' ? dom || dow : dom && dow)
  );
}

/**
 * cronie's main loop (cron.c), one wake-up per real minute from `from` to `to` (UTC minutes),
 * returning the UTC minutes at which the job is started (once per wake-up at most).
 */
function simulateCronie(schedule: CronSchedule, zone: string, from: number, to: number): number[] {
  const wildcard = schedule.timing === 'wildcard';
  let virtual = wallMinute(zone, from - 1);
  const started: number[] = [];
  for (let minute = from; minute <= to; minute += 1) {
    const running = wallMinute(zone, minute);
    const diff = running - virtual;
    let start = false;
    if (diff === 1) {
      virtual = running;
      start = namesWall(schedule, running);
    } else if (diff > 1 && diff < 5) {
      // case 1: woke up late; run every job for each missed minute.
      for (let v = virtual + 1; v <= running; v += 1) start ||= namesWall(schedule, v);
      virtual = running;
    } else if (diff >= 5 && diff < 180) {
      // case 2: clock jumped forward (spring forward): wildcard jobs for now, fixed-time jobs
      // for every skipped minute up to and including now.
      if (wildcard) start = namesWall(schedule, running);
      else for (let v = virtual + 1; v <= running; v += 1) start ||= namesWall(schedule, v);
      virtual = running;
    } else if (diff <= 0 && diff > -180) {
      // case 3: clock went back: wildcard jobs only; virtual time waits.
      start = wildcard && namesWall(schedule, running);
    } else {
      throw new Error(`unexpected clock jump of ${diff} minutes at ${minute}`);
    }
    if (start) started.push(minute);
  }
  return started;
}

/** Fire minutes in [from, to] according to the evaluator under test. */
function evaluatorFires(expression: string, zone: string, from: number, to: number): number[] {
  const fires: number[] = [];
  let after = new Date((from - 1) * MINUTE);
  for (;;) {
    const next = nextFireTime(expression, { after, timezone: zone });
    if (next === null || next.getTime() > to * MINUTE) return fires;
    fires.push(next.getTime() / MINUTE);
    after = next;
  }
}

// Transition instants (UTC) of 2026 and windows around them.
const TRANSITIONS: Array<[string, string]> = [
  ['America/New_York', '2026-03-08T07:00Z'],
  ['America/New_York', '2026-11-01T06:00Z'],
  ['Europe/Berlin', '2026-03-29T01:00Z'],
  ['Europe/Berlin', '2026-10-25T01:00Z'],
  ['Australia/Lord_Howe', '2026-10-03T15:30Z'],
  ['Australia/Lord_Howe', '2026-04-04T15:00Z'],
  ['America/Havana', '2026-03-08T05:00Z'],
  ['America/Havana', '2026-11-01T05:00Z'],
  ['America/Santiago', '2026-04-05T03:00Z'],
  ['America/Santiago', '2026-09-06T04:00Z'],
];

/** Expressions that have many fire times near the transitions (hours 0-4, few day restrictions). */
const nearTransitionExpression = fc
  .tuple(
    fieldArbitrary(SHAPES[0] as FieldShape, 'any'),
    fc.oneof(
      fc.constant('*'),
      fc.integer({ min: 0, max: 4 }).map(String),
      fc
        .tuple(fc.integer({ min: 0, max: 2 }), fc.integer({ min: 2, max: 4 }))
        .map(([a, b]) => `${a}-${b}`),
      fc.constant('0-23/2'),
      fc.constant('*/2'),
      fc.constant('1,2,3'),
      fc.constant('22-23,0-1'),
    ),
    fc.oneof(fc.constant('*'), fc.constant('*/2'), fc.constant('1-31'), fc.constant('1,8')),
    fc.constant('*'),
    fc.oneof(fc.constant('*'), fc.constant('0'), fc.constant('1-6'), fc.constant('*/3')),
  )
  .map((fields) => fields.join(' '));

describe('the evaluator agrees with a model of cronie’s main loop', () => {
  it('around every DST transition (both directions, several zones)', () => {
    fc.assert(
      fc.property(
        nearTransitionExpression,
        fc.constantFrom(...TRANSITIONS),
        fc.integer({ min: -240, max: 0 }),
        (expression, [zone, at], shift) => {
          const transition = Date.parse(at) / MINUTE;
          const from = transition + shift - 60;
          const to = transition + shift + 240;
          const schedule = parseCron(expression);
          expect(evaluatorFires(expression, zone, from, to)).toEqual(
            simulateCronie(schedule, zone, from, to),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('on random days of random expressions', () => {
    const zones = [
      'UTC',
      'America/New_York',
      'Europe/Berlin',
      'Australia/Lord_Howe',
      'Asia/Kolkata',
    ];
    fc.assert(
      fc.property(
        anyExpression,
        fc.constantFrom(...zones),
        fc.integer({ min: Date.UTC(2025, 0, 1) / MINUTE, max: Date.UTC(2028, 0, 1) / MINUTE }),
        (expression, zone, from) => {
          const to = from + 600;
          expect(evaluatorFires(expression, zone, from, to)).toEqual(
            simulateCronie(parseCron(expression), zone, from, to),
          );
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe('next, previous and matches agree', () => {
  const zones = [
    'UTC',
    'America/New_York',
    'Europe/Berlin',
    'Australia/Lord_Howe',
    'America/Havana',
    'Asia/Kathmandu',
  ];
  const instant = fc
    .integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) })
    .map((ms) => new Date(ms));

  it('previous(next(t)) < next(t), next(previous(t)) >= t, and matches holds on both', () => {
    fc.assert(
      fc.property(anyExpression, fc.constantFrom(...zones), instant, (expression, zone, t) => {
        const next = nextFireTime(expression, { after: t, timezone: zone });
        const previous = previousFireTime(expression, { before: t, timezone: zone });
        const t0 = Math.floor(t.getTime() / MINUTE) * MINUTE;
        const t0Fires = matches(expression, new Date(t0), zone);
        if (next !== null) {
          expect(next.getTime()).toBeGreaterThan(t.getTime());
          expect(next.getTime() % MINUTE).toBe(0);
          expect(matches(expression, next, zone)).toBe(true);
          // The last fire before next is t's own minute if that fires, else previous(t).
          const beforeNext = previousFireTime(expression, { before: next, timezone: zone });
          expect(beforeNext?.getTime()).toBe(t0Fires ? t0 : previous?.getTime());
        }
        if (previous !== null) {
          expect(previous.getTime()).toBeLessThan(t.getTime());
          expect(matches(expression, previous, zone)).toBe(true);
          const afterPrevious = nextFireTime(expression, { after: previous, timezone: zone });
          // The first fire after the previous one is the next one, unless t itself is a fire time.
          if (afterPrevious && next && afterPrevious.getTime() !== next.getTime()) {
            expect(afterPrevious.getTime()).toBe(t0);
          }
        }
        // No fire time between t's minute and next.
        if (next && next.getTime() - t0 <= 180 * MINUTE) {
          for (let m = t0 + MINUTE; m < next.getTime(); m += MINUTE) {
            expect(matches(expression, new Date(m), zone)).toBe(false);
          }
        }
      }),
      { numRuns: 500 },
    );
  });

  it('nextFireTimes is strictly increasing and equals repeated nextFireTime', () => {
    fc.assert(
      fc.property(anyExpression, fc.constantFrom(...zones), instant, (expression, zone, t) => {
        const fires = nextFireTimes(expression, { after: t, count: 5, timezone: zone });
        let after = t;
        for (const fire of fires) {
          expect(fire.getTime()).toBeGreaterThan(after.getTime());
          expect(nextFireTime(expression, { after, timezone: zone })).toEqual(fire);
          after = fire;
        }
      }),
      { numRuns: 300 },
    );
  });
});
