import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../http/opaqueCursor.js';

/** The keyset position after the last run of a page: its started_at and its internal id. */
export interface RunCursor {
  startedAt: Date;
  id: number;
}

const EncodedRunCursor = z
  .tuple([z.iso.datetime(), z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)])
  .refine(([startedAt]) => new Date(startedAt).toISOString() === startedAt);

/** An opaque cursor: base64url of `["<ISO time>", <id>]`. */
export function encodeRunCursor(cursor: RunCursor): string {
  return encodeCursor([cursor.startedAt.toISOString(), cursor.id]);
}

/** Reads a cursor back, or a 400 that says to pass nextCursor back unchanged. */
export function decodeRunCursor(text: string): RunCursor {
  const [startedAt, id] = decodeCursor(text, EncodedRunCursor);
  return { startedAt: new Date(startedAt), id };
}
