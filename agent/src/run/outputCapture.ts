/**
 * The part of a run's output that travels in its `finish` check-in: the first and the last bytes,
 * up to the job's `output.maxBytes` together, in two fixed buffers allocated once. Memory stays
 * constant however much a job writes (the whole output goes to the run's log file instead), and
 * the cut never splits a UTF-8 character; bytes that are not UTF-8 become U+FFFD instead of
 * failing the run.
 */

/**
 * The most bytes kept for the head, and for the tail. Core's contract caps each part at
 * MAX_OUTPUT_CHARS (1,048,576) UTF-16 units; UTF-8 never decodes to more units than bytes, and a
 * character straddling the head/tail split (≤ 3 bytes) may move into the tail, hence the − 3.
 * Not imported from `@cronfleet/core/api`: that module loads the whole API client, too heavy for
 * a wrapper started on every cron fire (outputCapture.test.ts keeps the two in step).
 */
export const MAX_OUTPUT_PART_BYTES = 1_048_576 - 3;

export interface CapturedOutput {
  outputHead: string;
  outputTail: string;
  /** True when bytes between the head and the tail were dropped. */
  outputTruncated: boolean;
  /** Every byte the command wrote, kept or not. */
  totalBytes: number;
}

export class OutputCapture {
  private readonly head: Buffer;
  private headLength = 0;
  /** A ring: `tailEnd` is where the next byte goes; once full, it is also the oldest byte. */
  private readonly tail: Buffer;
  private tailEnd = 0;
  private tailLength = 0;
  private total = 0;

  /** `maxBytes` is the job's `output.maxBytes`: the head gets half, the tail the rest. */
  constructor(maxBytes: number) {
    if (!Number.isInteger(maxBytes) || maxBytes < 0) {
      throw new RangeError(`output.maxBytes must be a whole number ≥ 0; got ${maxBytes}`);
    }
    const headBytes = Math.floor(maxBytes / 2);
    this.head = Buffer.alloc(Math.min(headBytes, MAX_OUTPUT_PART_BYTES));
    this.tail = Buffer.alloc(Math.min(maxBytes - headBytes, MAX_OUTPUT_PART_BYTES));
  }

  get totalBytes(): number {
    return this.total;
  }

  write(chunk: Uint8Array): void {
    this.total += chunk.length;
    let rest = chunk;
    if (this.headLength < this.head.length) {
      const taken = Math.min(this.head.length - this.headLength, rest.length);
      this.head.set(rest.subarray(0, taken), this.headLength);
      this.headLength += taken;
      rest = rest.subarray(taken);
    }
    const capacity = this.tail.length;
    if (rest.length === 0 || capacity === 0) return;
    if (rest.length >= capacity) {
      this.tail.set(rest.subarray(rest.length - capacity));
      this.tailEnd = 0;
      this.tailLength = capacity;
      return;
    }
    const first = Math.min(capacity - this.tailEnd, rest.length);
    this.tail.set(rest.subarray(0, first), this.tailEnd);
    this.tail.set(rest.subarray(first), 0);
    this.tailEnd = (this.tailEnd + rest.length) % capacity;
    this.tailLength = Math.min(capacity, this.tailLength + rest.length);
  }

  /** Appends a line of the wrapper's own (why a run did not start, who held the lock…). */
  note(text: string): void {
    const prefix = this.total > 0 && !this.endsWithNewline() ? '\n' : '';
    this.write(Buffer.from(`${prefix}[cronfleet] ${text}\n`, 'utf8'));
  }

  result(): CapturedOutput {
    const head = this.head.subarray(0, this.headLength);
    const tail =
      this.tailLength < this.tail.length
        ? this.tail.subarray(0, this.tailLength)
        : Buffer.concat([this.tail.subarray(this.tailEnd), this.tail.subarray(0, this.tailEnd)]);
    const truncated = this.total > this.headLength + this.tailLength;
    if (!truncated) {
      // Everything is here: split where a character starts, so none is cut in two.
      const all = Buffer.concat([head, tail]);
      const split = completePrefixLength(all, head.length);
      return {
        outputHead: all.toString('utf8', 0, split),
        outputTail: all.toString('utf8', split),
        outputTruncated: false,
        totalBytes: this.total,
      };
    }
    // The middle is gone: drop the halves of characters at both edges of the gap.
    return {
      outputHead: head.toString('utf8', 0, completePrefixLength(head, head.length)),
      outputTail: tail.toString('utf8', continuationPrefixLength(tail)),
      outputTruncated: true,
      totalBytes: this.total,
    };
  }

  private endsWithNewline(): boolean {
    if (this.tailLength > 0) {
      const last = (this.tailEnd - 1 + this.tail.length) % this.tail.length;
      return this.tail[last] === 0x0a;
    }
    return this.headLength > 0 && this.head[this.headLength - 1] === 0x0a;
  }
}

/** How many bytes a UTF-8 sequence has, from its lead byte; 0 for a byte that cannot lead one. */
function sequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 0;
}

const isContinuation = (byte: number | undefined) =>
  byte !== undefined && byte >= 0x80 && byte <= 0xbf;

/**
 * The largest length ≤ `end` at which `bytes` does not end inside a started UTF-8 sequence: a
 * lead byte in the last three bytes whose sequence runs past `end` moves the cut before it.
 * Invalid bytes are left in place (the decoder replaces them).
 */
export function completePrefixLength(bytes: Uint8Array, end: number): number {
  for (let back = 1; back <= 3 && end - back >= 0; back += 1) {
    const byte = bytes[end - back] ?? 0;
    if (isContinuation(byte)) continue;
    const length = sequenceLength(byte);
    return length > back ? end - back : end;
  }
  return end;
}

/** How many leading bytes are continuation bytes of a character cut off before them (≤ 3). */
export function continuationPrefixLength(bytes: Uint8Array): number {
  let count = 0;
  while (count < 3 && isContinuation(bytes[count])) count += 1;
  return count;
}
