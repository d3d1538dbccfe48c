/**
 * Matching a parsed cron schedule against local wall-clock time, with no time zone involved.
 *
 * A "wall minute" counts minutes since 1970-01-01 00:00 of the local calendar, as if the local
 * clock were UTC. The evaluator (cronSchedule.ts) maps wall minutes to instants and applies the
 * daylight-saving policy; this module only answers "which wall minutes does the schedule name?",
 * jumping over whole months, days and hours that cannot match, with lookup tables built once per
 * schedule.
 */

import { civilFromDays, daysFromCivil, daysInMonth, weekdayOfDays } from './civilCalendar.js';
import type { CivilDate } from './civilCalendar.js';
import type { CronFields } from './cronExpression.js';

const MINUTES_PER_DAY = 1440;

/** Lookup tables for one schedule. */
export interface WallClockMatcher {
  readonly minute: Uint8Array;
  readonly hour: Uint8Array;
  readonly dayOfMonth: Uint8Array;
  readonly month: Uint8Array;
  readonly dayOfWeek: Uint8Array;
  /** nextMinute[m]: smallest allowed minute ≥ m, or -1. Same for the others below. */
  readonly nextMinute: Int8Array;
  readonly previousMinute: Int8Array;
  readonly nextHour: Int8Array;
  readonly previousHour: Int8Array;
  readonly nextMonth: Int8Array;
  readonly previousMonth: Int8Array;
  /** Vixie/cronie: day-of-month OR day-of-week when both are restricted; otherwise AND. */
  readonly either: boolean;
  /** False when no date can ever match (e.g. `0 0 30 2 *`), so searches can stop at once. */
  readonly satisfiable: boolean;
}

function table(values: readonly number[], size: number): Uint8Array {
  const bits = new Uint8Array(size);
  for (const value of values) bits[value] = 1;
  return bits;
}

function nextTable(bits: Uint8Array): Int8Array {
  const next = new Int8Array(bits.length + 1).fill(-1);
  for (let i = bits.length - 1; i >= 0; i -= 1) next[i] = bits[i] ? i : (next[i + 1] as number);
  return next;
}

function previousTable(bits: Uint8Array): Int8Array {
  const previous = new Int8Array(bits.length).fill(-1);
  for (let i = 0; i < bits.length; i += 1) {
    previous[i] = bits[i] ? i : i > 0 ? (previous[i - 1] as number) : -1;
  }
  return previous;
}

const LONGEST_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

export function buildWallClockMatcher(fields: CronFields, either: boolean): WallClockMatcher {
  const minute = table(fields.minute, 60);
  const hour = table(fields.hour, 24);
  const dayOfMonth = table(fields.dayOfMonth, 32);
  const month = table(fields.month, 13);
  const dayOfWeek = table(fields.dayOfWeek, 7);
  // With OR every month has a matching weekday. With AND some (month, day) must exist; each
  // existing date falls on every weekday over the 400-year cycle, so the weekday never blocks.
  const satisfiable =
    either || fields.month.some((m) => fields.dayOfMonth.some((d) => d <= (LONGEST_MONTH[m] ?? 0)));
  return {
    minute,
    hour,
    dayOfMonth,
    month,
    dayOfWeek,
    nextMinute: nextTable(minute),
    previousMinute: previousTable(minute),
    nextHour: nextTable(hour),
    previousHour: previousTable(hour),
    nextMonth: nextTable(month),
    previousMonth: previousTable(month),
    either,
    satisfiable,
  };
}

function dayMatches(matcher: WallClockMatcher, day: number, weekday: number): boolean {
  return matcher.either
    ? matcher.dayOfMonth[day] === 1 || matcher.dayOfWeek[weekday] === 1
    : matcher.dayOfMonth[day] === 1 && matcher.dayOfWeek[weekday] === 1;
}

/** True if the schedule names this wall minute. */
export function matchesWallMinute(matcher: WallClockMatcher, wall: number): boolean {
  const days = Math.floor(wall / MINUTES_PER_DAY);
  const inDay = wall - days * MINUTES_PER_DAY;
  const civil = civilFromDays(days, scratch);
  return (
    matcher.minute[inDay % 60] === 1 &&
    matcher.hour[Math.floor(inDay / 60)] === 1 &&
    matcher.month[civil.month] === 1 &&
    dayMatches(matcher, civil.day, weekdayOfDays(days))
  );
}

const scratch: CivilDate = { year: 1970, month: 1, day: 1 };

/** The first wall minute in [from, limit] that the schedule names, or -1. */
export function nextWallMinute(matcher: WallClockMatcher, from: number, limit: number): number {
  if (!matcher.satisfiable || from > limit) return -1;
  let days = Math.floor(from / MINUTES_PER_DAY);
  const inDay = from - days * MINUTES_PER_DAY;
  let hour = Math.floor(inDay / 60);
  let minute = inDay - hour * 60;
  const civil = civilFromDays(days, scratch);
  let year = civil.year;
  let month = civil.month;
  let day = civil.day;
  for (;;) {
    if (days * MINUTES_PER_DAY > limit) return -1;
    if (matcher.month[month] !== 1) {
      const next = matcher.nextMonth[month] as number;
      if (next < 0) {
        year += 1;
        month = matcher.nextMonth[1] as number;
      } else {
        month = next;
      }
      day = 1;
      days = daysFromCivil(year, month, 1);
      hour = 0;
      minute = 0;
      continue;
    }
    if (dayMatches(matcher, day, weekdayOfDays(days))) {
      const nextHour = matcher.nextHour[hour] as number;
      if (nextHour >= 0) {
        if (nextHour !== hour) minute = 0;
        hour = nextHour;
        const nextMinute = matcher.nextMinute[minute] as number;
        if (nextMinute >= 0) {
          const wall = days * MINUTES_PER_DAY + hour * 60 + nextMinute;
          return wall <= limit ? wall : -1;
        }
        if (hour < 23) {
          hour += 1;
          minute = 0;
          continue;
        }
      }
    }
    // Next day.
    if (day >= daysInMonth(year, month)) {
      day = 1;
      month += 1;
      if (month > 12) {
        month = 1;
        year += 1;
      }
    } else {
      day += 1;
    }
    days += 1;
    hour = 0;
    minute = 0;
  }
}

/** The last wall minute in [lower, from] that the schedule names, or -1. */
export function previousWallMinute(matcher: WallClockMatcher, from: number, lower: number): number {
  if (!matcher.satisfiable || from < lower) return -1;
  let days = Math.floor(from / MINUTES_PER_DAY);
  const inDay = from - days * MINUTES_PER_DAY;
  let hour = Math.floor(inDay / 60);
  let minute = inDay - hour * 60;
  const civil = civilFromDays(days, scratch);
  let year = civil.year;
  let month = civil.month;
  let day = civil.day;
  for (;;) {
    if (days * MINUTES_PER_DAY + MINUTES_PER_DAY - 1 < lower) return -1;
    if (matcher.month[month] !== 1) {
      const previous = matcher.previousMonth[month] as number;
      if (previous < 1) {
        year -= 1;
        month = matcher.previousMonth[12] as number;
      } else {
        month = previous;
      }
      day = daysInMonth(year, month);
      days = daysFromCivil(year, month, day);
      hour = 23;
      minute = 59;
      continue;
    }
    if (dayMatches(matcher, day, weekdayOfDays(days))) {
      const previousHour = matcher.previousHour[hour] as number;
      if (previousHour >= 0) {
        if (previousHour !== hour) minute = 59;
        hour = previousHour;
        const previousMinute = matcher.previousMinute[minute] as number;
        if (previousMinute >= 0) {
          const wall = days * MINUTES_PER_DAY + hour * 60 + previousMinute;
          return wall >= lower ? wall : -1;
        }
        if (hour > 0) {
          hour -= 1;
          minute = 59;
          continue;
        }
      }
    }
    // Previous day.
    if (day <= 1) {
      month -= 1;
      if (month < 1) {
        month = 12;
        year -= 1;
      }
      day = daysInMonth(year, month);
    } else {
      day -= 1;
    }
    days -= 1;
    hour = 23;
    minute = 59;
  }
}
