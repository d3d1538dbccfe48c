import { describe, expect, it } from 'vitest';
import { nextFireTimes } from './cronSchedule.js';
import { daylightSavingNote } from './daylightSavingNote.js';

const ny = 'America/New_York';

describe('daylightSavingNote', () => {
  it('says where a spring-forward gap moves a fixed-time fire', () => {
    // 2025-03-09: 02:00 EST becomes 03:00 EDT; 02:30 does not exist and runs at 03:00 EDT.
    const [fire] = nextFireTimes('30 2 * * *', {
      after: new Date('2025-03-09T05:00:00Z'),
      timezone: ny,
      count: 1,
    });
    expect(fire?.toISOString()).toBe('2025-03-09T07:00:00.000Z');
    expect(daylightSavingNote(fire as Date, ny)).toBe(
      'clocks go forward 1 h in America/New_York at 02:00 EST: 02:00–02:59 does not exist, a job due then runs at 03:00 EDT',
    );
  });

  it('marks a fire in the repeated fall-back hour, and another fire of that day', () => {
    // 2025-11-02: 02:00 EDT becomes 01:00 EST; 01:30 happens twice.
    expect(daylightSavingNote(new Date('2025-11-02T05:30:00Z'), ny)).toBe(
      'clocks go back 1 h in America/New_York at 02:00 EDT: 01:00–01:59 happens twice; a fixed-time job runs once',
    );
    expect(daylightSavingNote(new Date('2025-11-02T17:00:00Z'), ny)).toBe(
      'clocks go back 1 h in America/New_York at 02:00 EDT, on this day',
    );
  });

  it('says nothing on other days, nor in zones without daylight saving', () => {
    expect(daylightSavingNote(new Date('2025-03-10T07:00:00Z'), ny)).toBeNull();
    expect(daylightSavingNote(new Date('2025-03-08T07:00:00Z'), ny)).toBeNull();
    expect(daylightSavingNote(new Date('2025-03-09T07:00:00Z'), 'UTC')).toBeNull();
    expect(daylightSavingNote(new Date('2025-03-30T01:00:00Z'), 'Asia/Tokyo')).toBeNull();
  });

  it('works east of UTC too', () => {
    // 2025-03-30 in Berlin: 02:00 CET becomes 03:00 CEST.
    expect(daylightSavingNote(new Date('2025-03-30T01:00:00Z'), 'Europe/Berlin')).toMatch(
      /^clocks go forward 1 h in Europe\/Berlin at 02:00 GMT\+1: 02:00–02:59 does not exist, a job due then runs at 03:00 GMT\+2$/,
    );
    expect(daylightSavingNote(new Date('2025-03-30T10:00:00Z'), 'Europe/Berlin')).toMatch(
      /, on this day$/,
    );
  });
});
