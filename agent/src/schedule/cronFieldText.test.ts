import { describe, expect, it } from 'vitest';
import { parseCron } from '@cronfleet/core/cron';
import {
  DAY_OF_WEEK_RANGE,
  HOUR_RANGE,
  MINUTE_RANGE,
  fieldText,
  listText,
  starredSupersetText,
} from './cronFieldText.js';

describe('cron field text', () => {
  it('lists values, runs of three or more as ranges, and never writes * for a list', () => {
    expect(listText([30, 0, 15, 16, 17, 18, 45, 46], MINUTE_RANGE)).toBe('0,15-18,30,45,46');
    expect(listText([6, 7], HOUR_RANGE)).toBe('6,7');
    expect(
      listText(
        Array.from({ length: 24 }, (_, hour) => hour),
        HOUR_RANGE,
      ),
    ).toBe('0-23');
    expect(
      fieldText(
        Array.from({ length: 24 }, (_, hour) => hour),
        HOUR_RANGE,
      ),
    ).toBe('*');
    expect(fieldText([1, 2, 3, 4, 5], DAY_OF_WEEK_RANGE)).toBe('1-5');
    expect(() => listText([], HOUR_RANGE)).toThrow('a cron field needs at least one value');
    expect(() => listText([24], HOUR_RANGE)).toThrow('cron field value 24 is outside 0-23');
  });

  it('finds the smallest superset written with a leading * (a wildcard field for cron)', () => {
    expect(starredSupersetText([1, 2], HOUR_RANGE)).toEqual({ text: '*/23,1,2', size: 4 });
    expect(starredSupersetText([0, 12], HOUR_RANGE)).toEqual({ text: '*/12', size: 2 });
    expect(starredSupersetText([0, 6, 12, 18, 7], HOUR_RANGE)).toEqual({
      text: '*/6,7',
      size: 5,
    });
    expect(starredSupersetText([30], MINUTE_RANGE)).toEqual({ text: '*/30', size: 2 });
    expect(starredSupersetText([0, 7], MINUTE_RANGE)).toEqual({ text: '*/59,7', size: 3 });
    expect(starredSupersetText([0, 30], MINUTE_RANGE)).toEqual({ text: '*/30', size: 2 });
    // What the text means to the evaluator: exactly the promised set, and a wildcard job.
    const parsed = parseCron('0 */23,1,2 * * *');
    expect(parsed.fields?.hour).toEqual([0, 1, 2, 23]);
    expect(parsed.timing).toBe('wildcard');
  });
});
