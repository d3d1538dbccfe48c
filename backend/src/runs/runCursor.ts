import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../http/opaqueCursor.js';

/** The keyset position after the last run of a page: its started_at and its internal id. */
export interface RunCursor {
  startedAt: Date;
  id: number;
}

/**
 * What a cursor this server issued holds: a time as toISOString writes it, of a year PostgreSQL
 * stores (a check-in's times are 1970 to 9999), and a row id. A tampered cursor with any other
 * time (year 0, +275760) is a 400, never a "timestamp out of range" from the database.
 */
const EncodedRunCursor = z
  .tuple([z.iso.datetime(), z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)])
  .refine(([startedAt]) => {
    const time = new Date(startedAt);
    if (Number.isNaN(time.getTime())) return false;
    const year = time.getUTCFullYear();
    return time.toISOString() === startedAt && year >= 1970 && year <= 9999;
  });

/** An opaque cursor: base64url of `["<ISO time>", <id>]`. */
export function encodeRunCursor(cursor: RunCursor): string {
  return encodeCursor([cursor.startedAt.toISOString(), cursor.id]);
}

/** Reads a cursor back, or a 400 that says to pass nextCursor back unchanged. */
export function decodeRunCursor(text: string): RunCursor {
  const [startedAt, id] = decodeCursor(text, EncodedRunCursor);
  return { startedAt: new Date(startedAt), id };
}
