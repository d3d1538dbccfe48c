import { describe, expect, it } from 'vitest';
import { offsetSpans, sameOffsets } from './zoneOffsetSpans.js';

const minute = (iso: string): number => Date.parse(iso) / 60_000;
const iso = (value: number): string => new Date(value * 60_000).toISOString();

describe('zone offset spans', () => {
  const start = minute('2026-01-01T00:00:00Z');
  const end = minute('2027-01-01T00:00:00Z');

  it('locates each daylight-saving change to the minute', () => {
    const spans = offsetSpans('Europe/Berlin', start, end).map((span) => [
      iso(span.start),
      iso(span.end),
      span.offset,
    ]);
    expect(spans).toEqual([
      ['2026-01-01T00:00:00.000Z', '2026-03-29T01:00:00.000Z', 60],
      ['2026-03-29T01:00:00.000Z', '2026-10-25T01:00:00.000Z', 120],
      ['2026-10-25T01:00:00.000Z', '2027-01-01T00:00:00.000Z', 60],
    ]);
  });

  it('handles half-hour changes and zones without any', () => {
    const lordHowe = offsetSpans('Australia/Lord_Howe', start, end).map((span) => span.offset);
    expect(lordHowe).toEqual([660, 630, 660]);
    expect(offsetSpans('Asia/Kathmandu', start, end)).toEqual([{ start, end, offset: 345 }]);
    expect(offsetSpans('Asia/Kolkata', start, end)).toEqual([{ start, end, offset: 330 }]);
  });

  it('compares zones offset by offset', () => {
    expect(sameOffsets('Europe/Paris', 'Europe/Berlin', start, end)).toBe(true);
    expect(sameOffsets('Etc/UTC', 'UTC', start, end)).toBe(true);
    expect(sameOffsets('Europe/London', 'Europe/Berlin', start, end)).toBe(false);
    // Same standard offset, different DST rules.
    expect(sameOffsets('America/New_York', 'America/Toronto', start, end)).toBe(true);
    expect(sameOffsets('America/New_York', 'America/Panama', start, end)).toBe(false);
  });
});
