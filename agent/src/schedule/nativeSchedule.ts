/**
 * Translating a job's schedule (an expression in the job's IANA zone) into what a native scheduler
 * that evaluates expressions in another zone must hold, so that a job's time zone is honoured
 * exactly whatever the server's zone (DESIGN.md, "Cron semantics").
 *
 * When the two zones agree, the expression is installed as it is. Otherwise the job's fire
 * instants over a horizon of 400 days (a full year of daylight-saving changes in both zones) are
 * written in the native zone's wall clock and covered by one cron expression: sets of minutes,
 * hours, months and days of the month *or* of the week (never both: cron ORs two restricted day
 * fields, which would widen the set). The run wrapper's skip rule (fireDecision.ts) drops the
 * native fires that are not the job's. Every translation is verified with the core evaluator: each
 * job instant must be a native fire under cronie's daylight-saving policy in the native zone; if
 * one is not (a fixed-time expression fires only once in a repeated fall-back hour), the minute
 * or hour field is widened to a form that starts with `*`, then to `*`, cheapest first, until it
 * verifies. A superset is valid over the horizon: planners translate again each day (the result
 * is cached per UTC day), so the installed schedule follows future rule changes.
 */

import {
  InvalidTimeZoneError,
  fireMinutesBetween,
  isValidTimeZone,
  matches,
  nextFireTime,
  parseCron,
} from '@cronfleet/core/cron';
import type { CronSchedule } from '@cronfleet/core/cron';
import type { NativeSchedule } from '../scheduler/schedulerBackend.js';
import {
  DAY_OF_MONTH_RANGE,
  DAY_OF_WEEK_RANGE,
  HOUR_RANGE,
  MINUTE_RANGE,
  MONTH_RANGE,
  fieldText,
  starredSupersetText,
} from './cronFieldText.js';
import type { FieldRange } from './cronFieldText.js';
import { offsetSpans, sameOffsets } from './zoneOffsetSpans.js';

const MS_PER_MINUTE = 60_000;
const MINUTES_PER_DAY = 1440;
/** A year of daylight-saving changes in both zones, from any starting day, with margin. */
export const TRANSLATION_HORIZON_DAYS = 400;
/**
 * How long a translation may be reused for the same inputs (schedule, zones, tz database): after
 * 30 days its verified horizon still covers the next 370, more than a year of daylight-saving
 * changes in both zones.
 */
export const TRANSLATION_REUSE_DAYS = 30;

export interface TranslateOptions {
  /** Start of the horizon (default: now); the horizon starts at this instant's UTC midnight. */
  from?: Date;
}

/**
 * What to install in a native scheduler that evaluates expressions in `nativeZone` (cron: the
 * system zone; the embedded backend: UTC) so that, with the run wrapper's skip rule
 * (`fireDecision`), the job fires exactly at the instants the core evaluator gives for `schedule`
 * in `jobZone`.
 *
 * - `@reboot`: verbatim and exact. Same zone name, or zones with identical offsets over the
 *   horizon: the expression (macros expanded to fields) with `exact: true`.
 * - Otherwise a verified superset in `nativeZone` with `exact: false`.
 *
 * Throws core's CronSyntaxError for an invalid expression and InvalidTimeZoneError for an unknown
 * zone.
 */
export function translateSchedule(
  schedule: string,
  jobZone: string,
  nativeZone: string,
  options: TranslateOptions = {},
): NativeSchedule {
  const parsed = parseCron(schedule);
  for (const zone of [jobZone, nativeZone]) {
    if (!isValidTimeZone(zone)) throw new InvalidTimeZoneError(zone);
  }
  if (parsed.isReboot) return { expression: '@reboot', timezone: nativeZone, exact: true };
  const verbatim: NativeSchedule = {
    expression: parsed.normalized,
    timezone: nativeZone,
    exact: true,
  };
  if (jobZone === nativeZone) return verbatim;

  const from = options.from ?? new Date();
  if (Number.isNaN(from.getTime())) throw new TypeError('options.from must be a valid Date');
  const start = Math.floor(from.getTime() / MS_PER_MINUTE / MINUTES_PER_DAY) * MINUTES_PER_DAY;
  const end = start + TRANSLATION_HORIZON_DAYS * MINUTES_PER_DAY;
  if (sameZoneOffsets(jobZone, nativeZone, start, end)) return verbatim;

  const key = `${parsed.normalized}\n${jobZone}\n${nativeZone}\n${start}`;
  const cached = translations.get(key);
  if (cached !== undefined) return cached;
  const translated = buildSuperset(parsed, jobZone, nativeZone, start, end);
  if (translations.size >= TRANSLATION_CACHE_LIMIT) translations.clear();
  translations.set(key, translated);
  return translated;
}

const translations = new Map<string, NativeSchedule>();
const TRANSLATION_CACHE_LIMIT = 10_000;

/** sameOffsets per pair of zones and horizon: a repository's jobs share a handful of zones. */
const offsetComparisons = new Map<string, boolean>();

function sameZoneOffsets(jobZone: string, nativeZone: string, start: number, end: number): boolean {
  const key = `${jobZone}\n${nativeZone}\n${start}\n${end}`;
  let same = offsetComparisons.get(key);
  if (same === undefined) {
    if (offsetComparisons.size >= TRANSLATION_CACHE_LIMIT) offsetComparisons.clear();
    same = sameOffsets(jobZone, nativeZone, start, end);
    offsetComparisons.set(key, same);
  }
  return same;
}

/**
 * The job's fire instants (UTC minutes) in [start, end]. When there is none and `stretch` is set
 * (`0 0 29 2 *` over a horizon without a leap day), the next fire time after the horizon is
 * returned, so the superset still names the job's calendar date.
 */
function jobFireMinutes(
  schedule: CronSchedule,
  zone: string,
  start: number,
  end: number,
  stretch: boolean,
): number[] {
  // Minutes, not Dates: a dense schedule fires thousands of times over the horizon.
  const minutes = fireMinutesBetween(schedule, zone, start, end);
  if (minutes.length > 0 || !stretch) return minutes;
  const next = nextFireTime(schedule, { after: new Date(end * MS_PER_MINUTE), timezone: zone });
  return next === null ? [] : [next.getTime() / MS_PER_MINUTE];
}

/** The native zone's wall-clock fields of the job's instants. */
interface WallFields {
  minutes: Set<number>;
  hours: Set<number>;
  months: Set<number>;
  daysOfMonth: Set<number>;
  daysOfWeek: Set<number>;
}

function emptyWallFields(): WallFields {
  return {
    minutes: new Set(),
    hours: new Set(),
    months: new Set(),
    daysOfMonth: new Set(),
    daysOfWeek: new Set(),
  };
}

/**
 * Adds the native wall-clock fields of ascending instants to `fields`. A year of a dense job is
 * thousands of instants: the minutes of the day are marked in a table, and the calendar fields
 * of a day inside the horizon are read from the horizon's table rather than from a Date.
 */
function addWallFields(
  fields: WallFields,
  fireMinutes: readonly number[],
  nativeZone: string,
  horizon: { start: number; end: number },
): void {
  if (fireMinutes.length === 0) return;
  const first = fireMinutes[0] ?? 0;
  const last = fireMinutes[fireMinutes.length - 1] ?? 0;
  const spans = offsetSpans(nativeZone, first, last + 1);
  const days = horizonDays(horizon.start, horizon.end);
  const firstDay = horizonFirstDay(horizon.start);
  const minutesOfDay = new Uint8Array(MINUTES_PER_DAY);
  let spanIndex = 0;
  let lastDay = Number.NaN;
  for (const minute of fireMinutes) {
    while ((spans[spanIndex]?.end ?? Infinity) <= minute) spanIndex += 1;
    const wall = minute + (spans[spanIndex]?.offset ?? 0);
    minutesOfDay[((wall % MINUTES_PER_DAY) + MINUTES_PER_DAY) % MINUTES_PER_DAY] = 1;
    const day = Math.floor(wall / MINUTES_PER_DAY);
    if (day !== lastDay) {
      lastDay = day;
      const index = day - firstDay;
      if (index >= 0 && index < days.month.length) {
        fields.months.add(days.month[index]!);
        fields.daysOfMonth.add(days.dayOfMonth[index]!);
        fields.daysOfWeek.add(days.dayOfWeek[index]!);
      } else {
        const date = new Date(day * MINUTES_PER_DAY * MS_PER_MINUTE);
        fields.months.add(date.getUTCMonth() + 1);
        fields.daysOfMonth.add(date.getUTCDate());
        fields.daysOfWeek.add(date.getUTCDay());
      }
    }
  }
  for (let minuteOfDay = 0; minuteOfDay < MINUTES_PER_DAY; minuteOfDay++) {
    if (minutesOfDay[minuteOfDay] !== 1) continue;
    fields.minutes.add(minuteOfDay % 60);
    fields.hours.add(Math.floor(minuteOfDay / 60));
  }
}

/**
 * The days around the next 29 February after the horizon, when the horizon has none: the one
 * calendar day a 400-day horizon can miss, so a superset stays valid through the next leap year
 * (e.g. `0 0 1 3 *` in Australia falls on 29 February in America).
 */
function leapDayWindow(start: number, end: number): { start: number; end: number } | null {
  const minuteOf = (year: number, month: number, day: number): number =>
    Date.UTC(year, month, day) / MS_PER_MINUTE;
  let year = new Date(start * MS_PER_MINUTE).getUTCFullYear();
  for (; ; year += 1) {
    const isLeap = new Date(Date.UTC(year, 1, 29)).getUTCMonth() === 1;
    if (!isLeap || minuteOf(year, 1, 29) < start) continue;
    if (minuteOf(year, 1, 29) <= end) return null;
    return { start: minuteOf(year, 1, 27), end: minuteOf(year, 2, 3) };
  }
}

/**
 * The day fields: restrict the months, and the days of the month or the days of the week,
 * whichever matches fewer days over the horizon (never both, see the file comment).
 */
function dayFieldTexts(fields: WallFields, start: number, end: number): DayFieldTexts {
  // Jobs of one zone share their day sets (every weekday, the 1st, …): their texts are counted
  // over the horizon once per plan.
  const key = `${start}:${end}:${bitsOf(fields.months)}:${bitsOf(fields.daysOfMonth)}:${bitsOf(fields.daysOfWeek)}`;
  let texts = dayTexts.get(key);
  if (texts === undefined) {
    if (dayTexts.size >= TRANSLATION_CACHE_LIMIT) dayTexts.clear();
    texts = countedDayFieldTexts(fields, start, end);
    dayTexts.set(key, texts);
  }
  return texts;
}

interface DayFieldTexts {
  readonly dayOfMonth: string;
  readonly month: string;
  readonly dayOfWeek: string;
}

const dayTexts = new Map<string, DayFieldTexts>();

/** A set of field values (0-31) as the bits of a number. */
function bitsOf(values: ReadonlySet<number>): number {
  let bits = 0;
  for (const value of values) bits += 2 ** value;
  return bits;
}

function countedDayFieldTexts(fields: WallFields, start: number, end: number): DayFieldTexts {
  const month = fieldText(fields.months, MONTH_RANGE);
  let byDayOfMonth = 0;
  let byDayOfWeek = 0;
  const days = horizonDays(start, end);
  for (let index = 0; index < days.month.length; index++) {
    if (!fields.months.has(days.month[index]!)) continue;
    if (fields.daysOfMonth.has(days.dayOfMonth[index]!)) byDayOfMonth += 1;
    if (fields.daysOfWeek.has(days.dayOfWeek[index]!)) byDayOfWeek += 1;
  }
  const dayOfMonth = fieldText(fields.daysOfMonth, DAY_OF_MONTH_RANGE);
  const dayOfWeek = fieldText(fields.daysOfWeek, DAY_OF_WEEK_RANGE);
  // A field that is `*` anyway restricts nothing: restrict the other one.
  if (dayOfMonth === '*') return { dayOfMonth, month, dayOfWeek };
  if (dayOfWeek === '*') return { dayOfMonth, month, dayOfWeek };
  return byDayOfMonth <= byDayOfWeek
    ? { dayOfMonth, month, dayOfWeek: '*' }
    : { dayOfMonth: '*', month, dayOfWeek };
}

/** The calendar fields of a horizon's wall days, one day of margin each side for the offset. */
interface HorizonDays {
  month: Uint8Array;
  dayOfMonth: Uint8Array;
  dayOfWeek: Uint8Array;
}

/** Every translation of a plan shares one horizon: its days are computed once. */
let lastHorizon: { start: number; end: number; days: HorizonDays } | undefined;

/** The day (since the epoch) of a horizon's first table entry. */
function horizonFirstDay(start: number): number {
  return Math.floor(start / MINUTES_PER_DAY) - 1;
}

function horizonDays(start: number, end: number): HorizonDays {
  if (lastHorizon?.start === start && lastHorizon.end === end) return lastHorizon.days;
  const first = horizonFirstDay(start);
  const count = Math.floor(end / MINUTES_PER_DAY + 1) - first + 1;
  const days: HorizonDays = {
    month: new Uint8Array(count),
    dayOfMonth: new Uint8Array(count),
    dayOfWeek: new Uint8Array(count),
  };
  for (let index = 0; index < count; index++) {
    const date = new Date((first + index) * MINUTES_PER_DAY * MS_PER_MINUTE);
    days.month[index] = date.getUTCMonth() + 1;
    days.dayOfMonth[index] = date.getUTCDate();
    days.dayOfWeek[index] = date.getUTCDay();
  }
  lastHorizon = { start, end, days };
  return days;
}

/** Ways to write a time field, from the tightest (the exact set) to `*`. */
function timeFieldForms(values: Set<number>, range: FieldRange): { text: string; size: number }[] {
  const exact = fieldText(values, range);
  const full = range.max - range.min + 1;
  if (exact === '*') return [{ text: '*', size: full }];
  const forms = [{ text: exact, size: values.size }, starredSupersetText(values, range)];
  if (forms[1]?.text !== '*') forms.push({ text: '*', size: full });
  return forms;
}

function buildSuperset(
  parsed: CronSchedule,
  jobZone: string,
  nativeZone: string,
  start: number,
  end: number,
): NativeSchedule {
  const horizonMinutes = jobFireMinutes(parsed, jobZone, start, end, true);
  if (horizonMinutes.length === 0) {
    // Never fires (e.g. `0 0 30 2 *`): nothing to cover; the skip rule refuses every fire anyway.
    return { expression: parsed.normalized, timezone: nativeZone, exact: false };
  }
  const leap = leapDayWindow(start, end);
  const leapMinutes = leap
    ? jobFireMinutes(parsed, jobZone, leap.start, leap.end, false).filter(
        (minute) => minute > (horizonMinutes[horizonMinutes.length - 1] ?? 0),
      )
    : [];
  const fields = emptyWallFields();
  addWallFields(fields, horizonMinutes, nativeZone, { start, end });
  addWallFields(fields, leapMinutes, nativeZone, { start, end });
  const days = dayFieldTexts(fields, start, end);
  const dayText = `${days.dayOfMonth} ${days.month} ${days.dayOfWeek}`;

  // A native zone with one offset over the horizon has no daylight-saving policy to apply: the
  // tightest candidate below, the exact minutes and hours (no other form has fewer fires per day,
  // and it is listed first), holds every instant's wall-clock fields by construction (the sets
  // above were read at that offset), so it covers them all without a check, and the starred
  // forms are not searched.
  const firstInstant = horizonMinutes[0] ?? start;
  const lastInstant = Math.max(horizonMinutes.at(-1) ?? start, leapMinutes.at(-1) ?? start);
  if (offsetSpans(nativeZone, firstInstant, lastInstant + 1).length === 1) {
    const minute = fieldText(fields.minutes, MINUTE_RANGE);
    const hour = fieldText(fields.hours, HOUR_RANGE);
    return { expression: `${minute} ${hour} ${dayText}`, timezone: nativeZone, exact: false };
  }

  // Cheapest first by native fires per day (minute values × hour values); on a tie the form
  // listed first (tighter, fixed-time) wins.
  const candidates: { expression: string; cost: number; order: number }[] = [];
  for (const minute of timeFieldForms(fields.minutes, MINUTE_RANGE)) {
    for (const hour of timeFieldForms(fields.hours, HOUR_RANGE)) {
      candidates.push({
        expression: `${minute.text} ${hour.text} ${dayText}`,
        cost: minute.size * hour.size,
        order: candidates.length,
      });
    }
  }
  candidates.sort((a, b) => a.cost - b.cost || a.order - b.order);
  candidates.push({ expression: '* * * * *', cost: Infinity, order: candidates.length });

  const instants = [...horizonMinutes, ...leapMinutes].map(
    (minute) => new Date(minute * MS_PER_MINUTE),
  );
  for (const candidate of candidates) {
    if (coversEveryInstant(candidate.expression, nativeZone, instants)) {
      return { expression: candidate.expression, timezone: nativeZone, exact: false };
    }
  }
  // Unreachable: `* * * * *` fires at every UTC minute in every zone.
  throw new Error(`no native schedule covers "${parsed.expression}" in ${jobZone}`);
}

/** Every instant is a fire time of `expression` in `zone` (the evaluator's DST policy). */
function coversEveryInstant(expression: string, zone: string, instants: readonly Date[]): boolean {
  if (expression === '* * * * *') return true;
  const native = parseCron(expression);
  return instants.every((instant) => matches(native, instant, zone));
}
