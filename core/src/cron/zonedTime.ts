/**
 * IANA time zones for the cron evaluator: validation, the system zone, and fast UTC-offset lookups.
 *
 * Offsets come from Intl (the ICU tz data shipped with Node). Calling Intl on every evaluation
 * step is slow, so each zone's offset history is computed once per ~364-day chunk and cached: the
 * chunk is sampled once a day and every change of offset is located to the minute by bisection.
 * A lookup is then a map access and a scan of the chunk's (usually two) transitions.
 *
 * Limits: a change of offset that is undone within the same day would be missed (no tz rule does
 * that); offsets with seconds (local mean time before ~1900) are rounded to the minute.
 */

const MINUTES_PER_DAY = 1440;
const MS_PER_MINUTE = 60_000;
/** Chunk length in minutes (2^19 min ≈ 364 days). */
const CHUNK_MINUTES = 524_288;

/** A time zone that is not an IANA name known to this runtime. */
export class InvalidTimeZoneError extends Error {
  override readonly name = 'InvalidTimeZoneError';
  readonly zone: string;

  constructor(zone: string) {
    super(
      `time zone "${zone}" is not a valid IANA time zone name: use a name such as UTC, ` +
        `Europe/Berlin or America/New_York (names are case-sensitive; UTC offsets like +01:00 ` +
        `are not accepted)`,
    );
    this.zone = zone;
  }
}

const validity = new Map<string, boolean>();

/**
 * Names of UTC itself. They need no time-zone data: answering them without Intl spares a
 * process ICU's zone initialisation (tens of milliseconds and megabytes), which matters to the
 * run wrapper that cron starts on every fire of a server kept in UTC.
 */
const utcNames: ReadonlySet<string> = new Set([
  'UTC',
  'Etc/UTC',
  'Etc/UCT',
  'Etc/Universal',
  'Etc/Zulu',
  'Etc/GMT',
  'GMT',
  'UCT',
  'Universal',
  'Zulu',
]);

/** True if `zone` is an IANA time zone name (e.g. 'UTC', 'Europe/Berlin'); '' and 'Foo/Bar' are not. */
export function isValidTimeZone(zone: string): boolean {
  if (typeof zone !== 'string') return false;
  if (utcNames.has(zone)) return true;
  const known = validity.get(zone);
  if (known !== undefined) return known;
  let valid = false;
  // An IANA name is letters, digits, '_', '+', '-' in '/'-separated parts, starting with a letter.
  if (/^[A-Za-z][A-Za-z0-9_+-]*(?:\/[A-Za-z0-9_+-]+)*$/.test(zone)) {
    try {
      const resolved = new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions()
        .timeZone;
      // ICU matches names case-insensitively, but tz databases on servers do not: 'utc' or
      // 'europe/berlin' would silently become UTC there. Aliases (US/Eastern) stay valid.
      valid = resolved === zone || resolved.toLowerCase() !== zone.toLowerCase();
    } catch {
      valid = false;
    }
  }
  if (validity.size > 10_000) validity.clear();
  validity.set(zone, valid);
  return valid;
}

/** The IANA time zone of this process (from the TZ setting or the system), e.g. 'Europe/Berlin'. */
export function systemTimeZone(): string {
  return new Intl.DateTimeFormat().resolvedOptions().timeZone;
}

/**
 * The stretch of time around an instant during which a zone's UTC offset is constant.
 * All values are in minutes since the Unix epoch (UTC), and offsets in minutes east of UTC.
 */
export interface OffsetSegment {
  /** First minute of the segment: an offset transition, or a chunk boundary. */
  readonly start: number;
  /** First minute after the segment. */
  readonly end: number;
  /** UTC offset within the segment: local wall minute = UTC minute + offset. */
  readonly offset: number;
  /** UTC offset just before `start` (equal to `offset` when `start` is not a transition). */
  readonly previousOffset: number;
}

interface OffsetChunk {
  readonly start: number;
  readonly end: number;
  readonly offsetBefore: number;
  /** Minutes at which the offset changes, ascending, within [start, end). */
  readonly transitions: number[];
  /** The offset from each transition on. */
  readonly offsets: number[];
}

/** The end of an en-US `longOffset` text: `GMT`, `GMT-05:00`, `GMT-04:56:02`. */
const offsetName = /GMT(?:([+-])(\d{2}):(\d{2})(?::(\d{2}))?)?$/;

/** UTC-offset history of one IANA zone, computed lazily per chunk and cached. */
export class ZoneOffsets {
  readonly zone: string;
  private formatterOfZone: Intl.DateTimeFormat | undefined;
  private offsetFormatterOfZone: Intl.DateTimeFormat | undefined;
  private lastSegment: OffsetSegment | undefined;
  private readonly chunks = new Map<number, OffsetChunk>();
  private readonly isUtc: boolean;

  constructor(zone: string) {
    if (!isValidTimeZone(zone)) throw new InvalidTimeZoneError(zone);
    this.zone = zone;
    this.isUtc = utcNames.has(zone);
  }

  /** Made on first use: UTC never needs it. */
  private get formatter(): Intl.DateTimeFormat {
    this.formatterOfZone ??= new Intl.DateTimeFormat('en-US', {
      timeZone: this.zone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    return this.formatterOfZone;
  }

  /** Made on first use: formats an instant as its date and `GMT±hh:mm[:ss]`. */
  private get offsetFormatter(): Intl.DateTimeFormat {
    this.offsetFormatterOfZone ??= new Intl.DateTimeFormat('en-US', {
      timeZone: this.zone,
      timeZoneName: 'longOffset',
    });
    return this.offsetFormatterOfZone;
  }

  /**
   * The UTC offset in minutes at a UTC minute, straight from Intl (slow; used to build chunks).
   * ICU's `longOffset` name gives it in one short format call, five to ten times cheaper than the
   * wall-clock parts; the parts stay the way for a text that does not read as an offset. Both
   * give the same offset, rounded to the minute the same way (zonedTime.test.ts compares them).
   */
  offsetFromIntl(minute: number): number {
    if (this.isUtc) return 0;
    const named = offsetName.exec(this.offsetFormatter.format(minute * MS_PER_MINUTE));
    if (named === null) return this.offsetFromWallClock(minute);
    const seconds =
      Number(named[2] ?? 0) * 3600 + Number(named[3] ?? 0) * 60 + Number(named[4] ?? 0);
    return Math.round((named[1] === '-' ? -seconds : seconds) / 60);
  }

  /** The UTC offset in minutes at a UTC minute, from the wall-clock parts Intl formats. */
  offsetFromWallClock(minute: number): number {
    if (this.isUtc) return 0;
    const ms = minute * MS_PER_MINUTE;
    let year = 0;
    let month = 1;
    let day = 1;
    let hour = 0;
    let min = 0;
    let second = 0;
    for (const part of this.formatter.formatToParts(ms)) {
      switch (part.type) {
        case 'year':
          year = Number(part.value);
          break;
        case 'month':
          month = Number(part.value);
          break;
        case 'day':
          day = Number(part.value);
          break;
        case 'hour':
          hour = Number(part.value);
          break;
        case 'minute':
          min = Number(part.value);
          break;
        case 'second':
          second = Number(part.value);
          break;
        default:
          break;
      }
    }
    const wall = new Date(0);
    wall.setUTCFullYear(year, month - 1, day);
    wall.setUTCHours(hour, min, second, 0);
    return Math.round((wall.getTime() - ms) / MS_PER_MINUTE);
  }

  /** The UTC offset in minutes at a UTC minute. */
  offsetAt(minute: number): number {
    return this.segmentAt(minute).offset;
  }

  /** The constant-offset segment that contains a UTC minute. */
  segmentAt(minute: number): OffsetSegment {
    // Searches ask for minute after minute of one segment: answer those with the same object
    // (segments are read-only, and a minute inside one always maps back to it).
    const last = this.lastSegment;
    if (last !== undefined && minute >= last.start && minute < last.end) return last;
    this.lastSegment = this.findSegment(minute);
    return this.lastSegment;
  }

  private findSegment(minute: number): OffsetSegment {
    const index = Math.floor(minute / CHUNK_MINUTES);
    let chunk = this.chunks.get(index);
    if (chunk === undefined) {
      chunk = this.buildChunk(index);
      this.chunks.set(index, chunk);
    }
    const { transitions, offsets } = chunk;
    let at = -1;
    for (let i = 0; i < transitions.length; i += 1) {
      if ((transitions[i] as number) <= minute) at = i;
      else break;
    }
    if (at < 0) {
      return {
        start: chunk.start,
        end: transitions.length > 0 ? (transitions[0] as number) : chunk.end,
        offset: chunk.offsetBefore,
        previousOffset: chunk.offsetBefore,
      };
    }
    return {
      start: transitions[at] as number,
      end: at + 1 < transitions.length ? (transitions[at + 1] as number) : chunk.end,
      offset: offsets[at] as number,
      previousOffset: at > 0 ? (offsets[at - 1] as number) : chunk.offsetBefore,
    };
  }

  private buildChunk(index: number): OffsetChunk {
    const start = index * CHUNK_MINUTES;
    const end = start + CHUNK_MINUTES;
    const offsetBefore = this.offsetFromIntl(start - 1);
    const transitions: number[] = [];
    const offsets: number[] = [];
    // Samples at start-1, start-1+1day, ..., end-1: transitions in [start, end) are between them.
    let previous = start - 1;
    let previousOffset = offsetBefore;
    for (let sample = start - 1 + MINUTES_PER_DAY; ; sample += MINUTES_PER_DAY) {
      const at = Math.min(sample, end - 1);
      const offset = this.offsetFromIntl(at);
      let from = previous;
      let fromOffset = previousOffset;
      while (fromOffset !== offset) {
        // Bisect (from, at] for the first minute whose offset differs from fromOffset.
        let low = from;
        let high = at;
        while (high - low > 1) {
          const middle = Math.floor((low + high) / 2);
          if (this.offsetFromIntl(middle) === fromOffset) low = middle;
          else high = middle;
        }
        const changed = this.offsetFromIntl(high);
        transitions.push(high);
        offsets.push(changed);
        from = high;
        fromOffset = changed;
      }
      previous = at;
      previousOffset = offset;
      if (at === end - 1) break;
    }
    return { start, end, offsetBefore, transitions, offsets };
  }
}

const zones = new Map<string, ZoneOffsets>();

/** The cached offset history of a zone; throws InvalidTimeZoneError for a name that is not IANA. */
export function zoneOffsets(zone: string): ZoneOffsets {
  let offsets = zones.get(zone);
  if (offsets === undefined) {
    offsets = new ZoneOffsets(zone);
    zones.set(zone, offsets);
  }
  return offsets;
}
