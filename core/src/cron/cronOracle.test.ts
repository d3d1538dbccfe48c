/**
 * croner 11 as a differential oracle, where its semantics and cronie's agree: zones without
 * daylight saving (so the DST policies cannot differ), and day fields that are either exactly `*`
 * or do not start with `*` (croner ORs the day fields unless one is exactly `*`; cronie unless one
 * starts with `*`). Where they disagree, the vectors in cronSchedule.test.ts pin cronie's answer.
 */
import { Cron } from 'croner';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

import { nextFireTimes } from './cronSchedule.js';

const MONTH_NAMES = [
  'jan',
  'feb',
  'mar',
  'apr',
  'may',
  'jun',
  'jul',
  'aug',
  'sep',
  'oct',
  'nov',
  'dec',
];
const DAY_NAMES = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

interface FieldShape {
  min: number;
  max: number;
  names?: readonly string[];
}

function name(shape: FieldShape, value: number, useName: boolean): string {
  const text = useName ? shape.names?.[(value - shape.min) % shape.names.length] : undefined;
  return text ?? String(value);
}

function item(shape: FieldShape, withStar: boolean): fc.Arbitrary<string> {
  const value = fc.integer({ min: shape.min, max: shape.max });
  const step = fc.integer({ min: 1, max: Math.min(shape.max, 20) });
  const options: Array<fc.Arbitrary<string>> = [
    fc.tuple(value, fc.boolean()).map(([v, n]) => name(shape, v, n)),
    fc.tuple(value, value, fc.boolean()).map(([a, b, n]) => {
      const [low, high] = [Math.min(a, b), Math.max(a, b)];
      // croner reads the name "-sun" as "-7", so "sun-sun" is every day there (0-7) but Sunday in
      // cronie; keep the oracle to what both read the same way.
      const named = n && name(shape, low, true) !== name(shape, high, true);
      return `${name(shape, low, named)}-${name(shape, high, named)}`;
    }),
    fc.tuple(value, value, step).map(([a, b, s]) => `${Math.min(a, b)}-${Math.max(a, b)}/${s}`),
  ];
  if (withStar)
    options.push(
      fc.constant('*'),
      step.map((s) => `*/${s}`),
    );
  return fc.oneof(...options);
}

function field(shape: FieldShape, dayField: boolean): fc.Arbitrary<string> {
  const list = fc.array(item(shape, false), { minLength: 1, maxLength: 3 }).map((l) => l.join(','));
  if (dayField) return fc.oneof(fc.constant('*'), list);
  return fc.oneof(
    fc.constant('*'),
    list,
    fc
      .tuple(item(shape, true), fc.array(item(shape, false), { maxLength: 2 }))
      .map(([first, rest]) => [first, ...rest].join(',')),
  );
}

const expression = fc
  .tuple(
    field({ min: 0, max: 59 }, false),
    field({ min: 0, max: 23 }, false),
    field({ min: 1, max: 31 }, true),
    field({ min: 1, max: 12, names: MONTH_NAMES }, false),
    field({ min: 0, max: 7, names: DAY_NAMES }, true),
  )
  .map((fields) => fields.join(' '));

const instant = fc
  .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2035, 0, 1) })
  .map((ms) => new Date(ms));

describe('croner 11 as a differential oracle', () => {
  for (const zone of ['UTC', 'Asia/Kolkata', 'Asia/Tokyo']) {
    it(`agrees on the next 5 fire times in ${zone}`, () => {
      fc.assert(
        fc.property(expression, instant, (text, after) => {
          const oracle = new Cron(text, { timezone: zone, mode: '5-part' });
          const expected = oracle.nextRuns(5, after).map((date) => date.toISOString());
          const actual = nextFireTimes(text, { after, count: 5, timezone: zone }).map((date) =>
            date.toISOString(),
          );
          expect(actual).toEqual(expected);
        }),
        { numRuns: 1000 },
      );
    }, 60_000);
  }

  it('disagrees where cronie and croner differ (the reason Cronfleet corrects it)', () => {
    const after = new Date('2026-01-01T00:00Z');
    const text = '0 0 */2 * 1';
    const croner = new Cron(text, { timezone: 'UTC', mode: '5-part' }).nextRuns(1, after);
    const ours = nextFireTimes(text, { after, count: 1, timezone: 'UTC' });
    expect(croner[0]?.toISOString()).toBe('2026-01-03T00:00:00.000Z'); // odd day OR Monday
    expect(ours[0]?.toISOString()).toBe('2026-01-05T00:00:00.000Z'); // odd day AND Monday
  });
});
