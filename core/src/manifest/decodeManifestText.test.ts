import { describe, expect, it } from 'vitest';
import { bytePosition, decodeManifestText, firstInvalidUtf8Offset } from './decodeManifestText.js';

const bytes = (...values: number[]) => new Uint8Array(values);
const encode = (text: string) => new TextEncoder().encode(text);

describe('decodeManifestText', () => {
  it('decodes UTF-8 and drops a BOM', () => {
    expect(decodeManifestText(encode('\uFEFFname: café ☕ 𝄞\n'))).toEqual({
      text: 'name: café ☕ 𝄞\n',
    });
  });

  it('rejects NUL bytes as binary content at their offset', () => {
    const result = decodeManifestText(encode('a: 1\nb\0'));
    expect(result).toMatchObject({ byteOffset: 6, message: expect.stringContaining('binary') });
  });

  it('rejects invalid UTF-8 at the first bad byte', () => {
    const result = decodeManifestText(new Uint8Array([...encode('a: caf'), 0xe9, 0x0a]));
    expect(result).toMatchObject({ byteOffset: 6, message: expect.stringContaining('0xe9') });
  });
});

describe('firstInvalidUtf8Offset', () => {
  it.each([
    [[0x41, 0x42], 2],
    [[0xc3, 0xa9], 2],
    [[0xc0, 0x80], 0], // overlong
    [[0x41, 0xe0, 0x80, 0x80], 1], // overlong 3-byte
    [[0xed, 0xa0, 0x80], 0], // surrogate
    [[0xf4, 0x90, 0x80, 0x80], 0], // above U+10FFFF
    [[0xf0, 0x9d, 0x84, 0x9e], 4],
    [[0x41, 0xe2, 0x82], 1], // truncated
    [[0x80], 0], // lone continuation
  ])('%j → %i', (input, expected) => {
    expect(firstInvalidUtf8Offset(bytes(...input))).toBe(expected);
  });

  it('agrees with TextDecoder on whether bytes are valid', () => {
    const strict = new TextDecoder('utf-8', { fatal: true });
    for (let seed = 0; seed < 2000; seed++) {
      const sample = bytes(
        ...Array.from({ length: 6 }, (_, index) => (seed * 7919 + index * 104729) % 256),
      );
      let valid = true;
      try {
        strict.decode(sample);
      } catch {
        valid = false;
      }
      expect(firstInvalidUtf8Offset(sample) === sample.length).toBe(valid);
    }
  });
});

describe('bytePosition', () => {
  it('gives 1-based line and byte column', () => {
    const text = encode('ab\ncd\nef');
    expect(bytePosition(text, 0)).toEqual({ line: 1, column: 1 });
    expect(bytePosition(text, 4)).toEqual({ line: 2, column: 2 });
    expect(bytePosition(text, 6)).toEqual({ line: 3, column: 1 });
  });
});
