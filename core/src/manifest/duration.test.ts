import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DurationError,
  durationSchema,
  maxDurationMilliseconds,
  parseDuration,
} from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['30s', 30_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['1d', 86_400_000],
    ['1h30m', 5_400_000],
    ['1d2h3m4s5ms', 93_784_005],
    ['90s', 90_000],
    ['365d', maxDurationMilliseconds],
  ])('reads %s as %i ms', (text, expected) => {
    expect(parseDuration(text)).toBe(expected);
  });

  it.each([
    ['30', 'write 30s'],
    ['', 'is not a duration'],
    ['0s', 'longer than zero'],
    ['0h0m', 'longer than zero'],
    ['1h 30m', 'without spaces'],
    [' 30s', 'without spaces'],
    ['30m1h', 'is not a duration'],
    ['1s1s', 'is not a duration'],
    ['1.5h', 'is not a duration'],
    ['-5s', 'is not a duration'],
    ['5 seconds', 'without spaces'],
    ['1w', 'is not a duration'],
    ['30S', 'is not a duration'],
    ['366d', 'maximum of 365d'],
  ])('rejects %j with a message containing %j', (text, fragment) => {
    expect(() => parseDuration(text)).toThrow(DurationError);
    expect(() => parseDuration(text)).toThrow(fragment);
  });

  it('adds the parts of any combination of units', () => {
    fc.assert(
      fc.property(
        fc.nat(300),
        fc.nat(23),
        fc.nat(59),
        fc.nat(59),
        fc.nat(999),
        (days, hours, minutes, seconds, milliseconds) => {
          fc.pre(days + hours + minutes + seconds + milliseconds > 0);
          const text =
            (days ? `${days}d` : '') +
            (hours ? `${hours}h` : '') +
            (minutes ? `${minutes}m` : '') +
            (seconds ? `${seconds}s` : '') +
            (milliseconds ? `${milliseconds}ms` : '');
          const expected =
            (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000 + milliseconds;
          expect(parseDuration(text)).toBe(expected);
        },
      ),
    );
  });
});

describe('durationSchema', () => {
  it('keeps a valid duration as written', () => {
    expect(durationSchema.parse('1h30m')).toBe('1h30m');
  });

  it('shows the fix for a bare number', () => {
    const result = durationSchema.safeParse(30);
    expect(result.success).toBe(false);
    expect(result.error?.issues[0]?.message).toContain('write 30s, not 30');
  });

  it('explains a malformed or zero duration', () => {
    expect(durationSchema.safeParse('10 min').error?.issues.map((issue) => issue.message)).toEqual([
      expect.stringContaining('without spaces'),
    ]);
    expect(durationSchema.safeParse('0s').error?.issues.map((issue) => issue.message)).toEqual([
      expect.stringContaining('longer than zero'),
    ]);
  });
});
