import { describe, expect, it } from 'vitest';
import { formatZonedDateTime, toZonedDateTime } from './zonedDateTime.js';

describe('toZonedDateTime', () => {
  it('shows Berlin winter and summer time with offset and abbreviation', () => {
    expect(toZonedDateTime(new Date('2025-01-06T08:00:00Z'), 'Europe/Berlin')).toEqual({
      weekday: 'Mon',
      date: '2025-01-06',
      time: '09:00:00',
      offset: '+01:00',
      abbreviation: 'CET',
    });
    expect(toZonedDateTime(new Date('2025-03-30T01:00:00Z'), 'Europe/Berlin')).toMatchObject({
      date: '2025-03-30',
      time: '03:00:00',
      offset: '+02:00',
      abbreviation: 'CEST',
    });
  });

  it('uses US abbreviations and negative offsets', () => {
    expect(toZonedDateTime(new Date('2025-07-04T16:00:00Z'), 'America/New_York')).toMatchObject({
      time: '12:00:00',
      offset: '-04:00',
      abbreviation: 'EDT',
    });
  });

  it('leaves the abbreviation out where Intl only knows GMT+n, and keeps half-hour offsets', () => {
    expect(toZonedDateTime(new Date('2025-01-01T00:00:00Z'), 'Asia/Kolkata')).toMatchObject({
      date: '2025-01-01',
      time: '05:30:00',
      offset: '+05:30',
      abbreviation: null,
    });
  });

  it('prints midnight as 00, never 24', () => {
    expect(toZonedDateTime(new Date('2025-01-01T00:00:00Z'), 'UTC')).toMatchObject({
      time: '00:00:00',
      offset: '+00:00',
      abbreviation: 'UTC',
    });
  });

  it('tells the two 02:30 of a fall-back night apart by their offset', () => {
    const first = toZonedDateTime(new Date('2025-10-26T00:30:00Z'), 'Europe/Berlin');
    const second = toZonedDateTime(new Date('2025-10-26T01:30:00Z'), 'Europe/Berlin');
    expect([first.time, second.time]).toEqual(['02:30:00', '02:30:00']);
    expect([first.offset, second.offset]).toEqual(['+02:00', '+01:00']);
  });

  it('throws a RangeError for an unknown zone', () => {
    expect(() => toZonedDateTime(new Date(0), 'Mars/Base')).toThrow(RangeError);
  });
});

describe('formatZonedDateTime', () => {
  it('joins weekday, date, time, offset and abbreviation', () => {
    expect(
      formatZonedDateTime(toZonedDateTime(new Date('2025-01-06T08:00:00Z'), 'Europe/Berlin')),
    ).toBe('Mon 2025-01-06 09:00:00 +01:00 CET');
    expect(
      formatZonedDateTime(toZonedDateTime(new Date('2025-01-01T00:00:00Z'), 'Asia/Kolkata')),
    ).toBe('Wed 2025-01-01 05:30:00 +05:30');
  });
});
