import { describe, expect, it } from 'vitest';
import { escapeLikePattern, parseLabelSelector } from './agentListFilters.js';

describe('escapeLikePattern', () => {
  it('escapes the LIKE wildcards and the escape character itself', () => {
    expect(escapeLikePattern('100%_done\\x')).toBe('100\\%\\_done\\\\x');
    expect(escapeLikePattern(`o'brien "x"`)).toBe(`o'brien "x"`);
  });
});

describe('parseLabelSelector', () => {
  it('splits at the first "="', () => {
    expect(parseLabelSelector('role=db')).toEqual({ role: 'db' });
    expect(parseLabelSelector('example.com/tier=')).toEqual({ 'example.com/tier': '' });
  });
});
