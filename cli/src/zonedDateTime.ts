/** An instant as a wall clock in an IANA time zone shows it. */
export interface ZonedDateTime {
  /** Short English weekday, e.g. "Sun". */
  weekday: string;
  /** YYYY-MM-DD */
  date: string;
  /** HH:MM:SS, 24-hour */
  time: string;
  /** UTC offset, e.g. "+02:00", "-04:00", "+05:30", "+00:00". */
  offset: string;
  /** A conventional abbreviation such as "CEST" or "EDT", or null where Intl only knows "GMT+2". */
  abbreviation: string | null;
}

// Locales whose short zone names carry real abbreviations: en-US for the Americas, en-GB for
// Europe. Anything they spell as "GMT+…" has no abbreviation worth printing.
const ABBREVIATION_LOCALES = ['en-US', 'en-GB'] as const;
const NUMERIC_ZONE_NAME = /^(?:GMT|UTC)[+\-\u2212]/;

function part(parts: Intl.DateTimeFormatPart[], type: Intl.DateTimeFormatPartTypes): string {
  const found = parts.find((candidate) => candidate.type === type);
  if (found === undefined) throw new Error(`Intl gave no ${type} part`);
  return found.value;
}

function offsetOf(instant: Date, timeZone: string): string {
  const name = part(
    new Intl.DateTimeFormat('en-US', { timeZone, timeZoneName: 'longOffset' }).formatToParts(
      instant,
    ),
    'timeZoneName',
  );
  // "GMT+02:00", "GMT-04:00", or plain "GMT" at offset zero.
  const offset = name.replace(/^GMT/, '').replace('\u2212', '-');
  return offset === '' ? '+00:00' : offset;
}

function abbreviationOf(instant: Date, timeZone: string): string | null {
  for (const locale of ABBREVIATION_LOCALES) {
    const name = part(
      new Intl.DateTimeFormat(locale, { timeZone, timeZoneName: 'short' }).formatToParts(instant),
      'timeZoneName',
    );
    if (!NUMERIC_ZONE_NAME.test(name)) return name;
  }
  return null;
}

/** Throws a RangeError for a time zone Intl does not know; validate the zone first. */
export function toZonedDateTime(instant: Date, timeZone: string): ZonedDateTime {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone,
    weekday: 'short',
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(instant);
  return {
    weekday: part(parts, 'weekday'),
    date: `${part(parts, 'year')}-${part(parts, 'month')}-${part(parts, 'day')}`,
    time: `${part(parts, 'hour')}:${part(parts, 'minute')}:${part(parts, 'second')}`,
    offset: offsetOf(instant, timeZone),
    abbreviation: abbreviationOf(instant, timeZone),
  };
}

/** "Sun 2025-03-30 03:30:00 +02:00 CEST" (the abbreviation only where there is one). */
export function formatZonedDateTime(zoned: ZonedDateTime): string {
  const base = `${zoned.weekday} ${zoned.date} ${zoned.time} ${zoned.offset}`;
  return zoned.abbreviation === null ? base : `${base} ${zoned.abbreviation}`;
}
