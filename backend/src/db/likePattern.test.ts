import { describe, expect, it } from 'vitest';
import { containsPattern } from './likePattern.js';

describe('containsPattern', () => {
  it('escapes the LIKE wildcards and the escape character itself, and matches anywhere', () => {
    expect(containsPattern('100%_done\\x')).toBe('%100\\%\\_done\\\\x%');
    expect(containsPattern(`o'brien "x"`)).toBe(`%o'brien "x"%`);
    expect(containsPattern('50%_off\\x')).toBe('%50\\%\\_off\\\\x%');
    expect(containsPattern("it's")).toBe("%it's%");
  });

  it('turns a NUL, which PostgreSQL text cannot hold, into U+FFFD', () => {
    expect(containsPattern('a\u0000b')).toBe('%a\uFFFDb%');
  });
});
