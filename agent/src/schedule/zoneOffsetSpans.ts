import { zoneOffsets } from '@cronfleet/core/cron';

/**
 * UTC-offset history of an IANA zone over a bounded stretch of time, for translating a job's fire
 * instants into the wall-clock fields of the zone a native scheduler runs in. Built on the core
 * evaluator's own cached offset tables, so translation and evaluation agree on every transition.
 */

/** UTC minutes [start, end) during which the offset (minutes east of UTC) is constant. */
export interface OffsetSpan {
  readonly start: number;
  readonly end: number;
  readonly offset: number;
}

/**
 * The constant-offset spans of `zone` covering UTC minutes [start, end), in order; the first
 * starts at `start` and the last ends at `end`. Throws core's InvalidTimeZoneError for a name
 * that is not an IANA zone.
 */
export function offsetSpans(zone: string, start: number, end: number): readonly OffsetSpan[] {
  const offsets = zoneOffsets(zone);
  const spans: OffsetSpan[] = [];
  for (let minute = start; minute < end;) {
    const segment = offsets.segmentAt(minute);
    const spanEnd = Math.min(segment.end, end);
    const last = spans.at(-1);
    // Core's segments also end at its cache's chunk boundaries: join equal offsets.
    if (last !== undefined && last.offset === segment.offset) {
      spans[spans.length - 1] = { start: last.start, end: spanEnd, offset: last.offset };
    } else {
      spans.push({ start: minute, end: spanEnd, offset: segment.offset });
    }
    minute = spanEnd;
  }
  return spans;
}

/** True when two zones have the same offset at every minute of [start, end). */
export function sameOffsets(zoneA: string, zoneB: string, start: number, end: number): boolean {
  const a = offsetSpans(zoneA, start, end);
  const b = offsetSpans(zoneB, start, end);
  return (
    a.length === b.length &&
    a.every((span, index) => {
      const other = b[index];
      return other !== undefined && other.start === span.start && other.offset === span.offset;
    })
  );
}
