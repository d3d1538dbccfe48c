import { describe, expect, it } from 'vitest';
import { parseCliEnvironment } from './env.js';
import { createTerminalStyle, shouldUseColour } from './terminalStyle.js';

const tty = { isTTY: true };
const pipe = { isTTY: false };

describe('shouldUseColour', () => {
  it('colours a TTY and not a pipe by default', () => {
    const env = parseCliEnvironment({});
    expect(shouldUseColour(tty, env)).toBe(true);
    expect(shouldUseColour(pipe, env)).toBe(false);
    expect(shouldUseColour({}, env)).toBe(false);
  });

  it('never colours with a non-empty NO_COLOR, even with FORCE_COLOR', () => {
    expect(shouldUseColour(tty, parseCliEnvironment({ NO_COLOR: '1' }))).toBe(false);
    expect(shouldUseColour(tty, parseCliEnvironment({ NO_COLOR: '1', FORCE_COLOR: '1' }))).toBe(
      false,
    );
    // no-color.org: an empty NO_COLOR does not count.
    expect(shouldUseColour(tty, parseCliEnvironment({ NO_COLOR: '' }))).toBe(true);
  });

  it('colours a pipe with FORCE_COLOR unless it is 0 or false', () => {
    expect(shouldUseColour(pipe, parseCliEnvironment({ FORCE_COLOR: '1' }))).toBe(true);
    expect(shouldUseColour(pipe, parseCliEnvironment({ FORCE_COLOR: '' }))).toBe(true);
    expect(shouldUseColour(pipe, parseCliEnvironment({ FORCE_COLOR: '0' }))).toBe(false);
    expect(shouldUseColour(pipe, parseCliEnvironment({ FORCE_COLOR: 'false' }))).toBe(false);
  });

  it('does not colour a dumb terminal', () => {
    expect(shouldUseColour(tty, parseCliEnvironment({ TERM: 'dumb' }))).toBe(false);
  });
});

describe('createTerminalStyle', () => {
  it('wraps text in SGR codes when enabled and is the identity when not', () => {
    expect(createTerminalStyle(true).red('x')).toBe('\u001b[31mx\u001b[39m');
    expect(createTerminalStyle(true).bold('')).toBe('');
    const plain = createTerminalStyle(false);
    expect([plain.bold('a'), plain.dim('b'), plain.green('c'), plain.cyan('d')]).toEqual([
      'a',
      'b',
      'c',
      'd',
    ]);
  });
});
