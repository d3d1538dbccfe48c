/**
 * Property: for generated expressions, job zones, native zones and years (fast-check, fixed
 * seed), translateSchedule plus the skip rule fire at exactly the evaluator's instants over the
 * year. Minute fields hold at most four values so a year stays cheap to simulate (every native
 * fire goes through fireDecision); hours, days, months and weekdays range freely.
 */

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { simulate } from './yearSimulation.js';

const ZONES = [
  'UTC',
  'America/New_York',
  'America/Santiago', // DST changes at midnight, southern hemisphere
  'America/Havana', // DST changes at midnight
  'Europe/Berlin',
  'Europe/London',
  'Australia/Lord_Howe', // 30-minute DST
  'Pacific/Chatham', // +12:45 / +13:45
  'Asia/Kolkata',
  'Asia/Kathmandu',
] as const;
const NATIVE_ZONES = ['UTC', 'Europe/Berlin', 'America/New_York', 'Australia/Lord_Howe'] as const;

const value = (min: number, max: number) => fc.integer({ min, max });
const range = (min: number, max: number) =>
  fc.tuple(value(min, max), value(min, max)).map(([a, b]) => `${Math.min(a, b)}-${Math.max(a, b)}`);
const list = (min: number, max: number, maxLength: number) =>
  fc.uniqueArray(value(min, max), { minLength: 2, maxLength }).map((values) => values.join(','));

const minute = fc.oneof(
  value(0, 59).map(String),
  list(0, 59, 3),
  fc.constantFrom('*/15', '*/20', '*/30', '10-40/15'),
);
const hour = fc.oneof(
  fc.constant('*'),
  value(0, 23).map(String),
  list(0, 23, 4),
  range(0, 23),
  fc.constantFrom('*/2', '*/6', '1-23/3', '*/12'),
);
const dayOfMonth = fc.oneof(
  { weight: 3, arbitrary: fc.constant('*') },
  { weight: 1, arbitrary: value(1, 31).map(String) },
  { weight: 1, arbitrary: list(1, 31, 3) },
  { weight: 1, arbitrary: range(1, 31) },
  { weight: 1, arbitrary: fc.constantFrom('*/2', '*/10') },
);
const month = fc.oneof(
  { weight: 3, arbitrary: fc.constant('*') },
  { weight: 1, arbitrary: range(1, 12) },
  { weight: 1, arbitrary: list(1, 12, 3) },
);
const dayOfWeek = fc.oneof(
  { weight: 3, arbitrary: fc.constant('*') },
  { weight: 1, arbitrary: value(0, 7).map(String) },
  { weight: 1, arbitrary: range(0, 6) },
  { weight: 1, arbitrary: fc.constantFrom('MON-FRI', 'sat,sun', '*/2') },
);
const expression = fc
  .tuple(minute, hour, dayOfMonth, month, dayOfWeek)
  .map((fields) => fields.join(' '));
const scenario = fc.record({
  schedule: fc.oneof(
    { weight: 12, arbitrary: expression },
    {
      weight: 1,
      arbitrary: fc.constantFrom('@daily', '@weekly', '@monthly', '@yearly', '@hourly'),
    },
  ),
  jobZone: fc.constantFrom(...ZONES),
  nativeZone: fc.constantFrom(...NATIVE_ZONES),
  year: fc.integer({ min: 2025, max: 2031 }),
});

describe('translation + skip rule against the evaluator (generated)', () => {
  it('fires exactly the evaluator’s instants over a year, for 40 generated cases', () => {
    fc.assert(
      fc.property(scenario, ({ schedule, jobZone, nativeZone, year }) => {
        const from = new Date(Date.UTC(year, 0, 1));
        const end = new Date(Date.UTC(year + 1, 0, 1));
        const result = simulate(schedule, jobZone, nativeZone, from, end, 13_000);
        expect(result.fired).toEqual(result.expected);
      }),
      { seed: 20260401, numRuns: 40 },
    );
  }, 20_000);
});
