/**
 * The reference cron evaluator: fire times of a schedule in an IANA time zone, following Vixie
 * cron / cronie exactly (DESIGN.md, "Cron semantics").
 *
 * The model. Let w(u) = u + offset(u) be the local wall minute at UTC minute u. The fire times are
 * the UTC minutes u such that:
 *   - normally: the schedule names w(u);
 *   - at the first minute S after a spring-forward gap (offset grows from p to o): a fixed-time
 *     job fires once if it names any wall minute in [S+p, S+o] (the skipped minutes and the first
 *     one after the gap); a wildcard job fires only if it names w(S) (cron.c case 2);
 *   - during the repeated stretch after a fall-back [S, S+(p-o)): only wildcard jobs fire, on
 *     what they name; fixed-time jobs already ran in the first pass (cron.c case 3).
 * A job is "wildcard" when its minute or hour field starts with `*`, else "fixed-time"
 * (cronie's MIN_STAR / HR_STAR); day-of-month and day-of-week are ORed only when neither field
 * starts with `*` (DOM_STAR / DOW_STAR). Because fire times are a set of instants, a fixed-time job
 * that names several minutes of a gap fires once at S (cronie may start it once per skipped
 * minute, back to back; Cronfleet counts one run).
 *
 * Where Cronfleet differs from croner 11 (which the tests use as a differential oracle where the
 * two agree, see cronOracle.test.ts) and why:
 *   1. Day-of-month/day-of-week: croner ORs the two unless a field is exactly `*`; cronie ORs them
 *      unless a field *starts with* `*`. `0 0 *\/2 * 1` is odd days that are Mondays in cronie,
 *      odd days or Mondays in croner.
 *   2. Fixed-time vs wildcard: croner's fixedTimeRule ('single-value' by default, or
 *      'no-wildcard', under which a step like `0-23/2` is still an interval job) is not cronie's
 *      "minute or hour field starts with `*`". Interval jobs in croner skip gap times; in cronie a
 *      job such as `0,30 2 * * *` or `0 0-23/2 * * *` is fixed-time and runs once after the gap.
 *   3. Syntax: croner accepts seconds and year fields, L, W, #, ?, + and `5/10`; Cronfleet rejects
 *      them (they cannot be installed into cron) with messages that say so. croner also reads the
 *      name `-sun` as `-7`, so `sun-sun` is every day there; in cronie it is Sunday.
 *   4. Speed: croner 11 took ~0.5 s for 10,000 nextRun() calls in America/New_York here (so ~5 s
 *      for the 100,000 of the benchmark, budget 1 s). This evaluator caches each zone's offset
 *      transitions (zonedTime.ts) and walks wall-clock time with lookup tables (~40 ms).
 * For these reasons the evaluator does not call croner at run time.
 *
 * Not modelled: cronie's handling of clock jumps under 5 minutes (no current tz rule has one) and
 * of jumps over 3 hours (treated here like any other transition).
 */

import { parseCron } from './cronExpression.js';
import type { CronSchedule } from './cronExpression.js';
import {
  buildWallClockMatcher,
  matchesWallMinute,
  nextWallMinute,
  previousWallMinute,
} from './wallClockMatcher.js';
import type { WallClockMatcher } from './wallClockMatcher.js';
import { systemTimeZone, zoneOffsets } from './zonedTime.js';
import type { OffsetSegment, ZoneOffsets } from './zonedTime.js';

const MS_PER_MINUTE = 60_000;
/** How far nextFireTime/previousFireTime search: 100 years covers every satisfiable schedule
 * (the longest gap, Feb 29 on a given weekday under the AND rule, is 40 years). */
const SEARCH_MINUTES = 100 * 366 * 1440;
/** Supported instants: years 1900 to 9000. */
const EARLIEST_MINUTE = Date.UTC(1900, 0, 1) / MS_PER_MINUTE;
const LATEST_MINUTE = Date.UTC(9000, 0, 1) / MS_PER_MINUTE;

/** Asked for a fire time of a schedule that has none (@reboot). */
export class NoFireTimeError extends Error {
  override readonly name = 'NoFireTimeError';
  readonly expression: string;

  constructor(expression: string) {
    super(
      `"${expression}" has no fire time: @reboot runs once when the scheduler starts, not at a ` +
        `time of day; use a 5-field schedule or a macro such as @daily to get fire times`,
    );
    this.expression = expression;
  }
}

interface CompiledSchedule {
  readonly schedule: CronSchedule;
  /** Null for @reboot. */
  readonly matcher: WallClockMatcher | null;
  readonly wildcard: boolean;
}

const compiledBySchedule = new WeakMap<CronSchedule, CompiledSchedule>();
const schedulesByText = new Map<string, CronSchedule>();
const TEXT_CACHE_LIMIT = 5_000;

function compile(schedule: CronSchedule): CompiledSchedule {
  let compiled = compiledBySchedule.get(schedule);
  if (compiled === undefined) {
    // Trust only the expression: a hand-built CronSchedule is re-parsed from it.
    const parsed = parseCron(schedule.expression);
    compiled = {
      schedule: parsed,
      matcher: parsed.fields
        ? buildWallClockMatcher(parsed.fields, parsed.dayMatching === 'either')
        : null,
      wildcard: parsed.timing === 'wildcard',
    };
    compiledBySchedule.set(schedule, compiled);
    if (parsed !== schedule) compiledBySchedule.set(parsed, compiled);
  }
  return compiled;
}

function resolve(schedule: string | CronSchedule): CompiledSchedule {
  if (typeof schedule !== 'string') return compile(schedule);
  let parsed = schedulesByText.get(schedule);
  if (parsed === undefined) {
    parsed = parseCron(schedule);
    if (schedulesByText.size >= TEXT_CACHE_LIMIT) schedulesByText.clear();
    schedulesByText.set(schedule, parsed);
  }
  return compile(parsed);
}

function requireMatcher(compiled: CompiledSchedule): WallClockMatcher {
  if (compiled.matcher === null) throw new NoFireTimeError(compiled.schedule.expression);
  return compiled.matcher;
}

function instantMinute(value: Date, name: string, direction: 'floor' | 'ceil'): number {
  if (!(value instanceof Date) || Number.isNaN(value.getTime())) {
    throw new TypeError(`${name} must be a valid Date; got ${String(value)}`);
  }
  const ms = value.getTime();
  const minute =
    direction === 'floor' ? Math.floor(ms / MS_PER_MINUTE) : Math.ceil(ms / MS_PER_MINUTE);
  if (minute < EARLIEST_MINUTE || minute > LATEST_MINUTE) {
    throw new RangeError(`${name} ${value.toISOString()} is outside the supported years 1900-9000`);
  }
  return minute;
}

// --- The DST policy, on UTC minutes ----------------------------------------------------------

/** Fires at the first minute after a spring-forward gap (segment.offset > previousOffset)? */
function firesAfterGap(
  matcher: WallClockMatcher,
  wildcard: boolean,
  segment: OffsetSegment,
): boolean {
  const wallAfterGap = segment.start + segment.offset;
  if (wildcard) return matchesWallMinute(matcher, wallAfterGap);
  return nextWallMinute(matcher, segment.start + segment.previousOffset, wallAfterGap) >= 0;
}

/** End (exclusive) of the repeated stretch at the start of a fall-back segment. */
function repeatedEnd(segment: OffsetSegment): number {
  return Math.min(segment.start + (segment.previousOffset - segment.offset), segment.end);
}

function firesAt(
  matcher: WallClockMatcher,
  wildcard: boolean,
  zone: ZoneOffsets,
  minute: number,
): boolean {
  const segment = zone.segmentAt(minute);
  if (segment.offset > segment.previousOffset && minute === segment.start) {
    return firesAfterGap(matcher, wildcard, segment);
  }
  if (segment.offset < segment.previousOffset && minute < repeatedEnd(segment) && !wildcard) {
    return false;
  }
  return matchesWallMinute(matcher, minute + segment.offset);
}

/** First fire minute in [from, limit], or -1. */
function nextFireMinute(
  matcher: WallClockMatcher,
  wildcard: boolean,
  zone: ZoneOffsets,
  from: number,
  limit: number,
): number {
  if (!matcher.satisfiable) return -1;
  let minute = from;
  while (minute <= limit) {
    const segment = zone.segmentAt(minute);
    const { offset, previousOffset, start, end } = segment;
    const last = Math.min(end - 1, limit);
    if (offset > previousOffset && minute === start) {
      if (firesAfterGap(matcher, wildcard, segment)) return minute;
      minute += 1;
      if (minute > last) continue;
    }
    if (offset < previousOffset) {
      const stretchEnd = repeatedEnd(segment);
      if (minute < stretchEnd) {
        if (wildcard) {
          const wall = nextWallMinute(
            matcher,
            minute + offset,
            Math.min(stretchEnd - 1, last) + offset,
          );
          if (wall >= 0) return wall - offset;
        }
        minute = stretchEnd;
        if (minute > last) continue;
      }
    }
    const wall = nextWallMinute(matcher, minute + offset, last + offset);
    if (wall >= 0) return wall - offset;
    minute = last + 1;
  }
  return -1;
}

/** Last fire minute in [lower, from], or -1. */
function previousFireMinute(
  matcher: WallClockMatcher,
  wildcard: boolean,
  zone: ZoneOffsets,
  from: number,
  lower: number,
): number {
  if (!matcher.satisfiable) return -1;
  let minute = from;
  while (minute >= lower) {
    const segment = zone.segmentAt(minute);
    const { offset, previousOffset, start } = segment;
    const first = Math.max(start, lower);
    const springForward = offset > previousOffset;
    const fallBack = offset < previousOffset;
    const ordinaryStart = springForward ? start + 1 : fallBack ? repeatedEnd(segment) : start;
    if (minute >= ordinaryStart) {
      const floor = Math.max(ordinaryStart, first);
      const wall = previousWallMinute(matcher, minute + offset, floor + offset);
      if (wall >= 0) return wall - offset;
      minute = floor - 1;
      if (minute < first) continue;
    }
    if (fallBack && minute >= start) {
      if (wildcard) {
        const wall = previousWallMinute(matcher, minute + offset, first + offset);
        if (wall >= 0) return wall - offset;
      }
      minute = first - 1;
      continue;
    }
    if (springForward && minute === start) {
      if (firesAfterGap(matcher, wildcard, segment)) return minute;
      minute = start - 1;
    }
  }
  return -1;
}

// --- Public API --------------------------------------------------------------------------------

export interface NextFireOptions {
  /** Fire times strictly after this instant. */
  after: Date;
  /** IANA time zone of the schedule; default: systemTimeZone(). */
  timezone?: string;
}

function zoneOf(timezone: string | undefined): ZoneOffsets {
  return zoneOffsets(timezone ?? systemTimeZone());
}

/**
 * The next `count` fire times strictly after `options.after`, in order. Fewer are returned only
 * when the schedule has no more within the bounded search (100 years), e.g. `0 0 30 2 *`.
 * Throws NoFireTimeError for @reboot, CronSyntaxError for an invalid expression and
 * InvalidTimeZoneError for an unknown zone.
 */
export function nextFireTimes(
  schedule: string | CronSchedule,
  options: NextFireOptions & { count: number },
): Date[] {
  const { count } = options;
  if (!Number.isInteger(count) || count < 0) {
    throw new RangeError(`count must be a whole number ≥ 0; got ${String(count)}`);
  }
  const compiled = resolve(schedule);
  const matcher = requireMatcher(compiled);
  const zone = zoneOf(options.timezone);
  const from = instantMinute(options.after, 'options.after', 'floor') + 1;
  const limit = Math.min(from + SEARCH_MINUTES, LATEST_MINUTE);
  const result: Date[] = [];
  let minute = from;
  while (result.length < count) {
    const fire = nextFireMinute(matcher, compiled.wildcard, zone, minute, limit);
    if (fire < 0) break;
    result.push(new Date(fire * MS_PER_MINUTE));
    minute = fire + 1;
  }
  return result;
}

/**
 * Every fire time in [first, last], as UTC minutes since the epoch (the instant divided by 60,000),
 * ascending: what `nextFireTimes` gives over that stretch, without a Date per fire. Translations
 * into a native scheduler read thousands of fires per job (a year of them), and count only the
 * minutes. Throws as `nextFireTimes` does, and RangeError for bounds outside the years 1900-9000.
 */
export function fireMinutesBetween(
  schedule: string | CronSchedule,
  timezone: string | undefined,
  first: number,
  last: number,
): number[] {
  for (const bound of [first, last]) {
    if (!Number.isInteger(bound) || bound < EARLIEST_MINUTE || bound > LATEST_MINUTE) {
      throw new RangeError(`${String(bound)} is not a whole UTC minute of the years 1900-9000`);
    }
  }
  const compiled = resolve(schedule);
  const matcher = requireMatcher(compiled);
  const zone = zoneOf(timezone);
  const minutes: number[] = [];
  for (let minute = first; minute <= last;) {
    const fire = nextFireMinute(matcher, compiled.wildcard, zone, minute, last);
    if (fire < 0) break;
    minutes.push(fire);
    minute = fire + 1;
  }
  return minutes;
}

/** The first fire time strictly after `options.after`, or null if none within 100 years. */
export function nextFireTime(
  schedule: string | CronSchedule,
  options: NextFireOptions,
): Date | null {
  const compiled = resolve(schedule);
  const matcher = requireMatcher(compiled);
  const zone = zoneOf(options.timezone);
  const from = instantMinute(options.after, 'options.after', 'floor') + 1;
  const fire = nextFireMinute(
    matcher,
    compiled.wildcard,
    zone,
    from,
    Math.min(from + SEARCH_MINUTES, LATEST_MINUTE),
  );
  return fire < 0 ? null : new Date(fire * MS_PER_MINUTE);
}

/** The last fire time strictly before `options.before`, or null if none within 100 years. */
export function previousFireTime(
  schedule: string | CronSchedule,
  options: { before: Date; timezone?: string },
): Date | null {
  const compiled = resolve(schedule);
  const matcher = requireMatcher(compiled);
  const zone = zoneOf(options.timezone);
  const from = instantMinute(options.before, 'options.before', 'ceil') - 1;
  const fire = previousFireMinute(
    matcher,
    compiled.wildcard,
    zone,
    from,
    Math.max(from - SEARCH_MINUTES, EARLIEST_MINUTE),
  );
  return fire < 0 ? null : new Date(fire * MS_PER_MINUTE);
}

/**
 * True iff `instant`, truncated to the minute, is a fire time of the schedule in the zone (under
 * the daylight-saving policy). Always false for @reboot.
 */
export function matches(
  schedule: string | CronSchedule,
  instant: Date,
  timezone?: string,
): boolean {
  const compiled = resolve(schedule);
  const zone = zoneOf(timezone);
  const minute = instantMinute(instant, 'instant', 'floor');
  if (compiled.matcher === null) return false;
  return firesAt(compiled.matcher, compiled.wildcard, zone, minute);
}
