import { crc32 } from 'node:zlib';

/**
 * The framing of records in a spool segment. Several processes append to one segment file (each
 * record in a single `write` with O_APPEND, so records never interleave), and any of them may be
 * killed mid-write, or the machine may lose power before a write reached the disk. So every record
 * carries its own length and checksums, and a reader that meets a torn or damaged record skips
 * it and finds the next one by its magic bytes: one bad record never hides the ones after it.
 *
 *   offset  size  field
 *   0       4     magic "CFS1" (Cronfleet spool, version 1)
 *   4       4     payload length, unsigned big-endian
 *   8       4     CRC-32 of the payload
 *   12      4     CRC-32 of bytes 0–11 (a damaged length is never trusted)
 *   16      n     payload (UTF-8 JSON of one check-in)
 */

export const FRAME_MAGIC = Buffer.from('CFS1', 'latin1');
export const FRAME_HEADER_BYTES = 16;

/**
 * The largest payload a reader accepts. A check-in holds at most 2 × 1 MiB characters of output,
 * which JSON escapes to at most ~12.6 MB; a larger length can only be damage.
 */
export const MAX_FRAME_PAYLOAD_BYTES = 32 * 1024 * 1024;

/** One record: the header and the payload in one buffer, written with one call. */
export function encodeFrame(payload: Buffer): Buffer {
  if (payload.length > MAX_FRAME_PAYLOAD_BYTES) {
    throw new RangeError(
      `a spool record holds at most ${MAX_FRAME_PAYLOAD_BYTES} bytes, got ${payload.length}`,
    );
  }
  const frame = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.length);
  FRAME_MAGIC.copy(frame, 0);
  frame.writeUInt32BE(payload.length, 4);
  frame.writeUInt32BE(crc32(payload), 8);
  frame.writeUInt32BE(crc32(frame.subarray(0, 12)), 12);
  payload.copy(frame, FRAME_HEADER_BYTES);
  return frame;
}

export interface DecodedFrame {
  /** Where the frame starts in the buffer. */
  offset: number;
  /** The payload (a view into the decoded buffer). */
  payload: Buffer;
}

export interface DecodedFrames {
  frames: DecodedFrame[];
  /** Bytes that belong to no intact frame: torn writes, damage. */
  skippedBytes: number;
  /** Separate runs of such bytes. */
  skippedRanges: number;
}

/** The frame at `offset` when it is whole and its checksums match; undefined otherwise. */
function frameAt(buffer: Buffer, offset: number): Buffer | undefined {
  if (buffer.length - offset < FRAME_HEADER_BYTES) return undefined;
  if (buffer.compare(FRAME_MAGIC, 0, 4, offset, offset + 4) !== 0) return undefined;
  if (buffer.readUInt32BE(offset + 12) !== crc32(buffer.subarray(offset, offset + 12))) {
    return undefined;
  }
  const length = buffer.readUInt32BE(offset + 4);
  const start = offset + FRAME_HEADER_BYTES;
  if (length > MAX_FRAME_PAYLOAD_BYTES || start + length > buffer.length) return undefined;
  const payload = buffer.subarray(start, start + length);
  if (crc32(payload) !== buffer.readUInt32BE(offset + 8)) return undefined;
  return payload;
}

/**
 * Every intact frame of `buffer`, in order. After a torn or damaged frame the reader resumes at
 * the next offset where an intact frame starts (magic, header checksum, length and payload
 * checksum must all match, so a stray "CFS1" inside damaged bytes is not mistaken for a frame).
 */
export function decodeFrames(buffer: Buffer): DecodedFrames {
  const frames: DecodedFrame[] = [];
  let skippedBytes = 0;
  let skippedRanges = 0;
  let offset = 0;
  while (offset < buffer.length) {
    const payload = frameAt(buffer, offset);
    if (payload !== undefined) {
      frames.push({ offset, payload });
      offset += FRAME_HEADER_BYTES + payload.length;
      continue;
    }
    // Resynchronise: the next intact frame after this offset, or the end.
    let next = buffer.indexOf(FRAME_MAGIC, offset + 1);
    while (next !== -1 && frameAt(buffer, next) === undefined) {
      next = buffer.indexOf(FRAME_MAGIC, next + 1);
    }
    const end = next === -1 ? buffer.length : next;
    skippedBytes += end - offset;
    skippedRanges += 1;
    offset = end;
  }
  return { frames, skippedBytes, skippedRanges };
}
