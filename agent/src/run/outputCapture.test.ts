import { MAX_OUTPUT_CHARS } from '@cronfleet/core/api';
import { describe, expect, it } from 'vitest';
import {
  completePrefixLength,
  continuationPrefixLength,
  MAX_OUTPUT_PART_BYTES,
  OutputCapture,
} from './outputCapture.js';

const bytes = (text: string) => Buffer.from(text, 'utf8');

function capture(maxBytes: number, ...chunks: (string | Buffer)[]) {
  const output = new OutputCapture(maxBytes);
  for (const chunk of chunks) output.write(typeof chunk === 'string' ? bytes(chunk) : chunk);
  return output.result();
}

describe('OutputCapture', () => {
  it('keeps everything, split between head and tail, when the output fits', () => {
    expect(capture(10, 'hello', ' world')).toEqual({
      outputHead: 'hello',
      outputTail: 'world',
      outputTruncated: true,
      totalBytes: 11,
    });
    expect(capture(11, 'hello', ' world')).toEqual({
      outputHead: 'hello',
      outputTail: ' world',
      outputTruncated: false,
      totalBytes: 11,
    });
    expect(capture(64, 'short')).toEqual({
      outputHead: 'short',
      outputTail: '',
      outputTruncated: false,
      totalBytes: 5,
    });
  });

  it('keeps the first and the last bytes of a long output, whatever the chunking', () => {
    const text = Array.from({ length: 1000 }, (_, index) => `${index}`.padStart(4, '0')).join('');
    const expected = {
      outputHead: text.slice(0, 50),
      outputTail: text.slice(-50),
      outputTruncated: true,
      totalBytes: 4000,
    };
    for (const size of [1, 3, 7, 49, 50, 51, 100, 999, 4000]) {
      const chunks: string[] = [];
      for (let offset = 0; offset < text.length; offset += size) {
        chunks.push(text.slice(offset, offset + size));
      }
      expect(capture(100, ...chunks), `chunks of ${size}`).toEqual(expected);
    }
  });

  it('never cuts a UTF-8 character in two', () => {
    // "é" is 2 bytes, "€" 3, "😀" 4: every cut position in the middle of each.
    const text = 'aé€😀'.repeat(20);
    for (let maxBytes = 0; maxBytes <= 40; maxBytes += 1) {
      const result = capture(maxBytes, text);
      expect(result.outputHead).not.toContain('\uFFFD');
      expect(result.outputTail).not.toContain('\uFFFD');
      expect(text.startsWith(result.outputHead)).toBe(true);
      expect(text.endsWith(result.outputTail)).toBe(true);
      expect(bytes(result.outputHead).length).toBeLessThanOrEqual(Math.floor(maxBytes / 2));
      expect(bytes(result.outputTail).length).toBeLessThanOrEqual(Math.ceil(maxBytes / 2));
    }
    // Output that fits: the straddling character moves to the tail, nothing is lost.
    expect(capture(8, 'abc€de')).toEqual({
      outputHead: 'abc',
      outputTail: '€de',
      outputTruncated: false,
      totalBytes: 8,
    });
  });

  it('replaces bytes that are not UTF-8 instead of failing', () => {
    const result = capture(64, Buffer.from([0x41, 0xff, 0xfe, 0x42, 0xc3, 0x28, 0x0a]));
    expect(result).toEqual({
      outputHead: 'A\uFFFD\uFFFDB\uFFFD(\n',
      outputTail: '',
      outputTruncated: false,
      totalBytes: 7,
    });
  });

  it('keeps nothing for maxBytes 0 but counts and flags what was dropped', () => {
    expect(capture(0, 'abc')).toEqual({
      outputHead: '',
      outputTail: '',
      outputTruncated: true,
      totalBytes: 3,
    });
    expect(capture(0)).toEqual({
      outputHead: '',
      outputTail: '',
      outputTruncated: false,
      totalBytes: 0,
    });
  });

  it("adds the wrapper's notes on a line of their own", () => {
    const output = new OutputCapture(200);
    output.write(bytes('no newline'));
    output.note('timed out');
    expect(output.result().outputHead + output.result().outputTail).toBe(
      'no newline\n[cronfleet] timed out\n',
    );
  });

  it("keeps each part within core's limit on check-in output", () => {
    expect(MAX_OUTPUT_PART_BYTES).toBe(MAX_OUTPUT_CHARS - 3);
    const result = capture(10 * 1024 * 1024, Buffer.alloc(5 * 1024 * 1024, 0x61));
    expect(result.outputHead.length).toBe(MAX_OUTPUT_PART_BYTES);
    expect(result.outputTail.length).toBe(MAX_OUTPUT_PART_BYTES);
    expect(result.outputTruncated).toBe(true);
  });
});

describe('UTF-8 boundaries', () => {
  it('finds where a character starts', () => {
    const euro = bytes('a€'); // 61 e2 82 ac
    expect([0, 1, 2, 3, 4].map((end) => completePrefixLength(euro, end))).toEqual([0, 1, 1, 1, 4]);
    expect(continuationPrefixLength(euro.subarray(2))).toBe(2);
    expect(continuationPrefixLength(Buffer.from([0x80, 0x80, 0x80, 0x80, 0x41]))).toBe(3);
  });
});
