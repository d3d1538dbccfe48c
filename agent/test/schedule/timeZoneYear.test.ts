/**
 * Issue 4 §4, "Time zones": over a whole year, including every DST change of both zones, the
 * installed (translated) schedule plus the run wrapper's skip rule fires at exactly the instants
 * the core evaluator gives for the job's schedule in the job's zone.
 */

import { afterAll, describe, expect, it } from 'vitest';
import { simulate } from './yearSimulation.js';

const yearStart = new Date('2026-01-01T00:00:00Z');
const yearEnd = new Date('2027-01-01T00:00:00Z');

interface YearCase {
  why: string;
  schedule: string;
  jobZone: string;
  nativeZone: string;
  /** What translateSchedule installs (exact: false unless said). */
  native: string;
  exact?: boolean;
  /** The job's fires in 2026 and the native fires per day, as the evaluator counts them. */
  jobFires: number;
  nativePerDay: number;
}

const cases: YearCase[] = [
  {
    why: 'fixed time in the New York spring-forward gap, on a UTC server',
    schedule: '30 2 * * *',
    jobZone: 'America/New_York',
    nativeZone: 'UTC',
    native: '0,30 6,7 * * *',
    jobFires: 365,
    nativePerDay: 4,
  },
  {
    why: 'fixed time in the Berlin gap, on a New York server (both zones change)',
    schedule: '30 2 * * *',
    jobZone: 'Europe/Berlin',
    nativeZone: 'America/New_York',
    native: '0,30 20,21 * * *',
    jobFires: 365,
    nativePerDay: 4,
  },
  {
    why: 'Sunday 01:00 in New York, in the repeated fall-back hour, on a Berlin server',
    schedule: '0 1 * * 0',
    jobZone: 'America/New_York',
    nativeZone: 'Europe/Berlin',
    native: '0 6,7 * * 0',
    jobFires: 52,
    nativePerDay: 0.28,
  },
  {
    why: 'a UTC job that lands in the second pass of New York’s repeated hour',
    schedule: '0 6 * * *',
    jobZone: 'UTC',
    nativeZone: 'America/New_York',
    native: '0 */23,1,2 * * *',
    jobFires: 365,
    nativePerDay: 4,
  },
  {
    why: 'hourly in Lord Howe (+10:30, 30-minute DST)',
    schedule: '0 * * * *',
    jobZone: 'Australia/Lord_Howe',
    nativeZone: 'UTC',
    native: '0,30 * * * *',
    jobFires: 8759,
    nativePerDay: 48,
  },
  {
    why: 'fixed time in Lord Howe’s 30-minute gap, on a Berlin server',
    schedule: '15 2 * * *',
    jobZone: 'Australia/Lord_Howe',
    nativeZone: 'Europe/Berlin',
    native: '15,30,45 16,17 * * *',
    jobFires: 365,
    nativePerDay: 6,
  },
  {
    why: 'every 15 minutes in Kathmandu (+5:45), on a New York server',
    schedule: '*/15 * * * *',
    jobZone: 'Asia/Kathmandu',
    nativeZone: 'America/New_York',
    native: '0,15,30,45 * * * *',
    jobFires: 35040,
    nativePerDay: 96,
  },
  {
    why: 'weekdays 09:00 in Kolkata (+5:30), on a Berlin server',
    schedule: '0 9 * * 1-5',
    jobZone: 'Asia/Kolkata',
    nativeZone: 'Europe/Berlin',
    native: '30 4,5 * * 1-5',
    jobFires: 261,
    nativePerDay: 1.43,
  },
  {
    why: 'monthly in Lord Howe: the last day of the previous month in New York',
    schedule: '0 0 1 * *',
    jobZone: 'Australia/Lord_Howe',
    nativeZone: 'America/New_York',
    native: '0,30 8,9 28-31 * *',
    jobFires: 12,
    nativePerDay: 0.45,
  },
  {
    why: '@daily in Kathmandu, on a UTC server',
    schedule: '@daily',
    jobZone: 'Asia/Kathmandu',
    nativeZone: 'UTC',
    native: '15 18 * * *',
    jobFires: 365,
    nativePerDay: 1,
  },
  {
    why: 'day-of-month OR day-of-week (cron ORs two restricted day fields)',
    schedule: '0 12 1,15 * 5',
    jobZone: 'Europe/Berlin',
    nativeZone: 'UTC',
    native: '0 10,11 * * *',
    jobFires: 74,
    nativePerDay: 2,
  },
  {
    why: 'a wildcard job in the repeated hour fires in both passes',
    schedule: '*/30 1 * * *',
    jobZone: 'America/New_York',
    nativeZone: 'UTC',
    native: '0,30 5,6 * * *',
    jobFires: 732,
    nativePerDay: 4,
  },
  {
    why: 'hourly in UTC on a Berlin server',
    schedule: '0 * * * *',
    jobZone: 'UTC',
    nativeZone: 'Europe/Berlin',
    native: '0 * * * *',
    jobFires: 8760,
    nativePerDay: 24,
  },
  {
    why: 'same offsets all year (Paris on a Berlin server): verbatim and exact',
    schedule: '30 2 * * *',
    jobZone: 'Europe/Paris',
    nativeZone: 'Europe/Berlin',
    native: '30 2 * * *',
    exact: true,
    jobFires: 365,
    nativePerDay: 1,
  },
];

const report: string[] = [];

describe('a year of fires through the native schedule and the skip rule', () => {
  afterAll(() => {
    console.log(`native fires per day of the installed schedule:\n${report.join('\n')}`);
  });

  it.each(cases)('$schedule in $jobZone on a $nativeZone scheduler: $why', (c) => {
    const result = simulate(c.schedule, c.jobZone, c.nativeZone, yearStart, yearEnd);
    expect(result.native).toEqual({
      expression: c.native,
      timezone: c.nativeZone,
      exact: c.exact ?? false,
    });
    expect(result.expected).toHaveLength(c.jobFires);
    expect(result.fired).toEqual(result.expected);
    expect(result.nativeFiresPerDay).toBe(c.nativePerDay);
    report.push(
      `  ${c.schedule.padEnd(13)} ${c.jobZone.padEnd(20)} → ${c.nativeZone.padEnd(17)} ` +
        `${c.native.padEnd(20)} ${String(c.nativePerDay).padStart(5)}/day`,
    );
  });

  it('tolerates cron starting the wrapper up to 59 s late', () => {
    const result = simulate('30 2 * * *', 'America/New_York', 'UTC', yearStart, yearEnd, 59_999);
    expect(result.fired).toEqual(result.expected);
  });
});
