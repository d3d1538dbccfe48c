/**
 * Writing sets of cron field values back as field text, for expressions the agent generates
 * (superset schedules, croner patterns). Only numbers, `a-b` ranges, commas and `*` / `*\/n` are
 * produced: every cron implementation reads them the same way, unlike names or `L`/`W`/`#`.
 */

/** Bounds of a cron field; day-of-week is 0-6 (Sunday 0) here. */
export interface FieldRange {
  readonly min: number;
  readonly max: number;
}

export const MINUTE_RANGE: FieldRange = { min: 0, max: 59 };
export const HOUR_RANGE: FieldRange = { min: 0, max: 23 };
export const DAY_OF_MONTH_RANGE: FieldRange = { min: 1, max: 31 };
export const MONTH_RANGE: FieldRange = { min: 1, max: 12 };
export const DAY_OF_WEEK_RANGE: FieldRange = { min: 0, max: 6 };

/** Distinct values within the range, ascending. */
function normalize(values: Iterable<number>, range: FieldRange): number[] {
  const set = new Set<number>();
  for (const value of values) {
    if (!Number.isInteger(value) || value < range.min || value > range.max) {
      throw new RangeError(`cron field value ${value} is outside ${range.min}-${range.max}`);
    }
    set.add(value);
  }
  return [...set].sort((a, b) => a - b);
}

/**
 * Values as a list of numbers and ranges (`0,15,30-45`); runs of three or more become `a-b`.
 * Never `*`: callers decide whether a full field may be written as `*` (it changes how cron
 * combines day fields and treats daylight-saving changes).
 */
export function listText(values: Iterable<number>, range: FieldRange): string {
  const sorted = normalize(values, range);
  if (sorted.length === 0) throw new RangeError('a cron field needs at least one value');
  const items: string[] = [];
  let runStart = sorted[0] as number;
  let previous = runStart;
  const flush = (): void => {
    if (previous - runStart >= 2) items.push(`${runStart}-${previous}`);
    else for (let value = runStart; value <= previous; value += 1) items.push(String(value));
  };
  for (const value of sorted.slice(1)) {
    if (value === previous + 1) {
      previous = value;
      continue;
    }
    flush();
    runStart = value;
    previous = value;
  }
  flush();
  return items.join(',');
}

/** `*` when the values fill the field, else the list. */
export function fieldText(values: Iterable<number>, range: FieldRange): string {
  const sorted = normalize(values, range);
  return sorted.length === range.max - range.min + 1 ? '*' : listText(sorted, range);
}

/**
 * The smallest superset of `values` that can be written starting with `*` (`*\/k` followed by the
 * values `*\/k` lacks), with its size. Why: cron (cronie, Vixie) treats a job whose minute or hour
 * field starts with `*` as a "wildcard" job, which also fires in the second pass through a
 * repeated fall-back hour; a fixed-time job fires only in the first. `*\/23,1-2` makes the hours
 * {0,1,2,23} wildcard at the cost of two extra hours, where `*` would cost twenty-two.
 */
export function starredSupersetText(
  values: Iterable<number>,
  range: FieldRange,
): { text: string; size: number } {
  const sorted = normalize(values, range);
  // A plan asks for the same few sets again and again (each a search over every step): the
  // answer depends on the range and the values alone.
  const key = `${range.min}-${range.max}:${sorted.join(',')}`;
  const known = starredSupersets.get(key);
  if (known !== undefined) return { ...known };
  const found = searchStarredSuperset(sorted, range);
  if (starredSupersets.size >= STARRED_SUPERSET_CACHE_LIMIT) starredSupersets.clear();
  starredSupersets.set(key, found);
  return { ...found };
}

const starredSupersets = new Map<string, { text: string; size: number }>();
const STARRED_SUPERSET_CACHE_LIMIT = 10_000;

function searchStarredSuperset(
  sorted: readonly number[],
  range: FieldRange,
): { text: string; size: number } {
  const span = range.max - range.min;
  let best: { step: number; extra: number[]; size: number } = {
    step: 1,
    extra: [],
    size: span + 1,
  };
  for (let step = 2; step <= span; step += 1) {
    const multiples = new Set<number>();
    for (let value = range.min; value <= range.max; value += step) multiples.add(value);
    const extra = sorted.filter((value) => !multiples.has(value));
    const size = multiples.size + extra.length;
    // Ties go to fewer listed values (a shorter text), then to the larger step.
    if (size < best.size || (size === best.size && extra.length <= best.extra.length)) {
      best = { step, extra, size };
    }
  }
  if (best.step === 1) return { text: '*', size: span + 1 };
  const head = `*/${best.step}`;
  return {
    text: best.extra.length > 0 ? `${head},${listText(best.extra, range)}` : head,
    size: best.size,
  };
}
