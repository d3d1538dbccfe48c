import { describe, expect, it } from 'vitest';
import { didYouMean, editDistance } from './didYouMean.js';

const specKeys = [
  'schedule',
  'timezone',
  'command',
  'workingDir',
  'env',
  'user',
  'timeout',
  'concurrencyPolicy',
  'retries',
  'suspend',
  'targets',
  'monitoring',
  'output',
];

const monitoringKeys = [
  'grace',
  'maxRuntime',
  'alertAfter',
  'recoverAfter',
  'realertEvery',
  'notify',
];

describe('didYouMean', () => {
  it.each([
    ['schedual', 'schedule'],
    ['shedule', 'schedule'],
    ['timeZone', 'timezone'],
    ['time_zone', 'timezone'],
    ['comand', 'command'],
    ['workdir', 'workingDir'],
    ['retry', 'retries'],
    ['concurrency_policy', 'concurrencyPolicy'],
    ['suspended', 'suspend'],
  ])('suggests %s → %s', (typo, expected) => {
    expect(didYouMean(typo, specKeys)).toBe(expected);
  });

  it.each([
    ['recoverafter', 'recoverAfter'],
    ['recover_after', 'recoverAfter'],
    ['realert', 'realertEvery'],
    ['notifiy', 'notify'],
    ['alertafter', 'alertAfter'],
  ])('suggests the monitoring key %s → %s', (typo, expected) => {
    expect(didYouMean(typo, monitoringKeys)).toBe(expected);
  });

  it('prefers a case-only match', () => {
    expect(didYouMean('forbid', ['Allow', 'Forbid', 'Replace'])).toBe('Forbid');
  });

  it('suggests nothing for unrelated or huge text', () => {
    expect(didYouMean('image', specKeys)).toBeNull();
    expect(didYouMean('', specKeys)).toBeNull();
    expect(didYouMean('x'.repeat(10_000), specKeys)).toBeNull();
  });
});

describe('editDistance', () => {
  it('counts edits and adjacent swaps', () => {
    expect(editDistance('kitten', 'sitting')).toBe(3);
    expect(editDistance('abc', 'acb')).toBe(1);
    expect(editDistance('', 'abc')).toBe(3);
    expect(editDistance('same', 'same')).toBe(0);
  });
});
