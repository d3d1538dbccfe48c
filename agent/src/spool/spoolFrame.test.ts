import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeFrames,
  encodeFrame,
  FRAME_HEADER_BYTES,
  FRAME_MAGIC,
  MAX_FRAME_PAYLOAD_BYTES,
} from './spoolFrame.js';

const payload = (text: string) => Buffer.from(text, 'utf8');
const texts = (buffer: Buffer) => decodeFrames(buffer).frames.map((f) => f.payload.toString());

describe('spool frames', () => {
  it('round-trips payloads, in order, with their offsets', () => {
    const frames = [payload('{"a":1}'), payload(''), payload('é ✓ \u0000 CFS1 inside')];
    const buffer = Buffer.concat(frames.map(encodeFrame));
    const decoded = decodeFrames(buffer);
    expect(decoded.frames.map((f) => f.payload.toString())).toEqual([
      '{"a":1}',
      '',
      'é ✓ \u0000 CFS1 inside',
    ]);
    expect(decoded.frames.map((f) => f.offset)).toEqual([0, 23, 39]);
    expect(decoded.skippedBytes).toBe(0);
    expect(decoded.skippedRanges).toBe(0);
  });

  it('lays out the header as documented: magic, length, payload CRC, header CRC', () => {
    const frame = encodeFrame(payload('hello'));
    expect(frame.subarray(0, 4).toString('latin1')).toBe('CFS1');
    expect(frame.readUInt32BE(4)).toBe(5);
    // CRC-32 of "hello" (IEEE), a well-known value.
    expect(frame.readUInt32BE(8)).toBe(0x3610a686);
    expect(frame.length).toBe(FRAME_HEADER_BYTES + 5);
  });

  it('skips a torn record at the end (a writer killed mid-write)', () => {
    const whole = encodeFrame(payload('first'));
    const torn = encodeFrame(payload('second, torn')).subarray(0, 20);
    const decoded = decodeFrames(Buffer.concat([whole, torn]));
    expect(decoded.frames.map((f) => f.payload.toString())).toEqual(['first']);
    expect(decoded.skippedBytes).toBe(20);
    expect(decoded.skippedRanges).toBe(1);
  });

  it('skips a torn record in the middle and reads the records after it', () => {
    const buffer = Buffer.concat([
      encodeFrame(payload('one')),
      encodeFrame(payload('two, torn after its header')).subarray(0, FRAME_HEADER_BYTES + 4),
      encodeFrame(payload('three')),
      encodeFrame(payload('four')),
    ]);
    const decoded = decodeFrames(buffer);
    expect(decoded.frames.map((f) => f.payload.toString())).toEqual(['one', 'three', 'four']);
    expect(decoded.skippedBytes).toBe(FRAME_HEADER_BYTES + 4);
    expect(decoded.skippedRanges).toBe(1);
  });

  it('rejects a flipped payload bit, a damaged length and zeros, keeping the rest', () => {
    const flipped = encodeFrame(payload('flipped'));
    flipped.writeUInt8(
      (flipped.readUInt8(FRAME_HEADER_BYTES + 2) ^ 0x01) & 0xff,
      FRAME_HEADER_BYTES + 2,
    );
    const badLength = encodeFrame(payload('bad length'));
    badLength.writeUInt32BE(3, 4);
    const buffer = Buffer.concat([
      encodeFrame(payload('a')),
      flipped,
      Buffer.alloc(100),
      badLength,
      encodeFrame(payload('b')),
    ]);
    const decoded = decodeFrames(buffer);
    expect(decoded.frames.map((f) => f.payload.toString())).toEqual(['a', 'b']);
    expect(decoded.skippedBytes).toBe(flipped.length + 100 + badLength.length);
    expect(decoded.skippedRanges).toBe(1);
  });

  it('does not take a stray magic inside damaged bytes for a record', () => {
    const stray = Buffer.concat([
      FRAME_MAGIC,
      Buffer.from([0, 0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9]),
    ]);
    expect(texts(Buffer.concat([stray, encodeFrame(payload('ok'))]))).toEqual(['ok']);
  });

  it('refuses payloads over the limit', () => {
    expect(() => encodeFrame(Buffer.alloc(MAX_FRAME_PAYLOAD_BYTES + 1))).toThrow(/at most/);
  });

  it('never returns a wrong record and keeps every untouched one, whatever is cut or damaged (property, seeded)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.string({ maxLength: 60 }), { minLength: 1, maxLength: 12 }),
        fc.array(
          fc.record({
            at: fc.nat(),
            kind: fc.constantFrom('cut', 'flip', 'zero'),
            length: fc.integer({ min: 1, max: 40 }),
          }),
          { maxLength: 3 },
        ),
        (records, damages) => {
          const frames = records.map((text) => encodeFrame(payload(text)));
          const starts: number[] = [];
          let position = 0;
          for (const frame of frames) {
            starts.push(position);
            position += frame.length;
          }
          const buffer = Buffer.concat(frames);
          const touched = new Set<number>();
          let damaged = buffer;
          for (const damage of damages) {
            const at = damage.at % damaged.length;
            const end = Math.min(damaged.length, at + damage.length);
            if (damage.kind === 'cut') {
              damaged = Buffer.concat([damaged.subarray(0, at), damaged.subarray(end)]);
            } else {
              damaged = Buffer.from(damaged);
              for (let i = at; i < end; i += 1)
                damaged[i] = damage.kind === 'zero' ? 0 : (damaged[i] ?? 0) ^ 0xa5;
            }
            // A cut shifts later frames, so treat every frame from there on as possibly touched.
            frames.forEach((frame, index) => {
              const start = starts[index] ?? 0;
              const frameEnd = start + frame.length;
              if (damage.kind === 'cut' ? frameEnd > at : start < end && frameEnd > at) {
                touched.add(index);
              }
            });
          }
          const decoded = decodeFrames(damaged).frames.map((f) => f.payload.toString());
          const untouched = records.filter((_text, index) => !touched.has(index));
          // What is read back is a subsequence of what was written; the untouched all survive.
          let next = 0;
          for (const text of decoded) {
            next = records.indexOf(text, next);
            expect(next).toBeGreaterThanOrEqual(0);
            next += 1;
          }
          for (const text of untouched) expect(decoded).toContain(text);
        },
      ),
      { seed: 20240501, numRuns: 400 },
    );
  });
});
