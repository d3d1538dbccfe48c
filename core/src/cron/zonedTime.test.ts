import { describe, expect, it } from 'vitest';

import { InvalidTimeZoneError, isValidTimeZone, systemTimeZone, zoneOffsets } from './zonedTime.js';

const minute = (iso: string): number => Date.parse(iso) / 60_000;

describe('isValidTimeZone', () => {
  it.each([
    'UTC',
    'Europe/Berlin',
    'America/New_York',
    'Australia/Lord_Howe',
    'Etc/GMT+5',
    'US/Eastern',
  ])('accepts %s', (zone) => expect(isValidTimeZone(zone)).toBe(true));
  it.each([
    '',
    'Foo/Bar',
    'utc',
    'europe/berlin',
    '+01:00',
    'GMT+1',
    'Europe/Berlin ',
    '../etc/passwd',
  ])('rejects %j', (zone) => expect(isValidTimeZone(zone)).toBe(false));
});

describe('systemTimeZone', () => {
  it('is a valid IANA name', () => {
    expect(isValidTimeZone(systemTimeZone())).toBe(true);
  });
});

describe('zoneOffsets', () => {
  it('throws InvalidTimeZoneError naming the zone', () => {
    expect(() => zoneOffsets('Mars/Olympus')).toThrow(InvalidTimeZoneError);
    expect(() => zoneOffsets('Mars/Olympus')).toThrow(
      /"Mars\/Olympus" is not a valid IANA time zone/,
    );
  });

  it('finds transitions to the minute', () => {
    const berlin = zoneOffsets('Europe/Berlin');
    const spring = berlin.segmentAt(minute('2026-03-29T01:00Z'));
    expect(spring).toMatchObject({
      start: minute('2026-03-29T01:00Z'),
      offset: 120,
      previousOffset: 60,
    });
    expect(spring.end).toBe(minute('2026-10-25T01:00Z'));
    expect(berlin.offsetAt(minute('2026-03-29T00:59Z'))).toBe(60);

    const lordHowe = zoneOffsets('Australia/Lord_Howe');
    expect(lordHowe.segmentAt(minute('2026-04-04T15:00Z'))).toMatchObject({
      start: minute('2026-04-04T15:00Z'),
      offset: 630,
      previousOffset: 660,
    });
    expect(lordHowe.offsetAt(minute('2026-04-04T14:59Z'))).toBe(660);
  });

  it('agrees with Intl at random instants', () => {
    const zones = [
      'America/New_York',
      'Australia/Lord_Howe',
      'America/St_Johns',
      'Asia/Kathmandu',
      'Africa/Casablanca',
    ];
    let seed = 12345;
    for (let i = 0; i < 2000; i += 1) {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      const zone = zoneOffsets(zones[i % zones.length] as string);
      const at = minute('1990-01-01T00:00Z') + (seed % (60 * 24 * 366 * 50));
      expect(zone.offsetAt(at)).toBe(zone.offsetFromIntl(at));
    }
  });

  it("reads the same offset from ICU's offset name as from the wall-clock parts, in every zone", () => {
    // From local mean time (offsets with seconds) to today's rules, around each zone's changes.
    const zones = Intl.supportedValuesOf('timeZone');
    let seed = 777;
    for (const name of zones) {
      const zone = zoneOffsets(name);
      for (let i = 0; i < 40; i += 1) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        const at = minute('1850-01-01T00:00Z') + (seed % (60 * 24 * 366 * 200));
        expect(zone.offsetFromIntl(at)).toBe(zone.offsetFromWallClock(at));
      }
    }
  });

  it('is continuous across its internal chunk boundaries', () => {
    const chunk = 524_288;
    for (const zoneName of ['UTC', 'Europe/Berlin', 'Australia/Lord_Howe']) {
      const zone = zoneOffsets(zoneName);
      for (let k = 50; k < 60; k += 1) {
        const boundary = k * chunk;
        expect(zone.offsetAt(boundary - 1)).toBe(zone.offsetFromIntl(boundary - 1));
        expect(zone.offsetAt(boundary)).toBe(zone.offsetFromIntl(boundary));
        const segment = zone.segmentAt(boundary);
        expect(segment.start).toBeLessThanOrEqual(boundary);
        expect(segment.end).toBeGreaterThan(boundary);
        expect(segment.previousOffset === segment.offset).toBe(segment.start === boundary);
      }
    }
  });
});

describe('UTC without time-zone data', () => {
  it('answers the names of UTC at once, with the offsets Intl gives', () => {
    const start = Date.parse('2026-03-29T00:00:00Z') / 60_000;
    for (const zone of [
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
    ]) {
      expect(isValidTimeZone(zone)).toBe(true);
      const offsets = zoneOffsets(zone);
      expect(offsets.offsetAt(start)).toBe(0);
      expect(offsets.segmentAt(start)).toMatchObject({ offset: 0, previousOffset: 0 });
      // The same answer as ICU's data for that name.
      const probe = new Intl.DateTimeFormat('en-US', {
        timeZone: zone,
        timeZoneName: 'shortOffset',
      });
      expect(probe.format(start * 60_000)).toMatch(/GMT(\+0)?$/);
    }
    expect(isValidTimeZone('utc')).toBe(false);
  });
});
