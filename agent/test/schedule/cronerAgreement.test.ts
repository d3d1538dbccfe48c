/**
 * The embedded scheduler hands croner the native schedules (in UTC): croner must fire exactly the
 * instants the core evaluator gives for them, over a whole year. Compared: croner's nextRuns for
 * the pattern cronerSchedule builds, against nextFireTimes in UTC.
 */

import { Cron } from 'croner';
import { describe, expect, it } from 'vitest';
import { translateSchedule } from '../../src/schedule/nativeSchedule.js';
import { EMBEDDED_NATIVE_ZONE, cronerSchedule } from '../../src/scheduler/embeddedBackend.js';
import { fireTimesBetween } from './yearSimulation.js';

const yearStart = new Date('2026-01-01T00:00:00Z');
const yearEnd = new Date('2027-01-01T00:00:00Z');

function cronerRuns(expression: string): string[] {
  const { pattern, domAndDow } = cronerSchedule(expression);
  const cron = new Cron(pattern, { timezone: 'UTC', mode: '5-part', domAndDow, paused: true });
  try {
    const runs: string[] = [];
    let after = new Date(yearStart.getTime() - 1_000);
    for (;;) {
      const batch = cron.nextRuns(1_000, after);
      for (const run of batch) {
        if (run.getTime() >= yearEnd.getTime()) return runs;
        runs.push(run.toISOString());
      }
      const last = batch[batch.length - 1];
      if (last === undefined) return runs;
      after = last;
    }
  } finally {
    cron.stop();
  }
}

const translated: [string, string][] = [
  ['30 2 * * *', 'America/New_York'],
  ['0 1 * * 0', 'Europe/Berlin'],
  ['0 */6 * * *', 'Australia/Lord_Howe'],
  ['0 9 * * 1-5', 'Asia/Kolkata'],
  ['0 0 1 * *', 'Australia/Lord_Howe'],
  ['@monthly', 'America/Los_Angeles'],
  ['0 12 1,15 * 5', 'Europe/Berlin'],
  ['45 23 31 12 *', 'Pacific/Chatham'],
];

// Verbatim expressions (jobs already in UTC) where croner's own reading would differ from cronie.
const verbatim = [
  '0 0 */2 * 1', // cronie: odd days AND Mondays; croner alone: OR
  '0 0 1-31 * 1', // cronie: both restricted, ORed: every day
  '0 12 1,15 * FRI', // ORed
  '30 6 * * sun-sat',
  '0 0 29 2 *', // none in 2026
  '5 4 * jan,jul 7',
];

describe('croner fires what the evaluator says, in UTC, over 2026', () => {
  it.each(translated)('the superset for %s in %s', (schedule, zone) => {
    const native = translateSchedule(schedule, zone, EMBEDDED_NATIVE_ZONE, { from: yearStart });
    expect(native.exact).toBe(false);
    const expected = fireTimesBetween(native.expression, 'UTC', yearStart, yearEnd);
    expect(expected.length).toBeGreaterThan(0);
    expect(cronerRuns(native.expression)).toEqual(expected.map((d) => d.toISOString()));
  });

  it.each(verbatim)('the verbatim expression %s', (expression) => {
    const expected = fireTimesBetween(expression, 'UTC', yearStart, yearEnd);
    expect(cronerRuns(expression)).toEqual(expected.map((d) => d.toISOString()));
  });

  it('differs from croner’s own reading of the raw text, which is why patterns are rebuilt', () => {
    const raw = new Cron('0 0 */2 * 1', { timezone: 'UTC', paused: true });
    const rebuilt = cronerRuns('0 0 */2 * 1');
    expect(raw.nextRuns(3, yearStart).map((d) => d.toISOString())).toEqual([
      '2026-01-03T00:00:00.000Z',
      '2026-01-05T00:00:00.000Z',
      '2026-01-07T00:00:00.000Z',
    ]);
    expect(rebuilt.slice(0, 3)).toEqual([
      '2026-01-05T00:00:00.000Z',
      '2026-01-19T00:00:00.000Z',
      '2026-02-09T00:00:00.000Z',
    ]);
    raw.stop();
  });
});
