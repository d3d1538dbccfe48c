import { z } from 'zod';
import { decodeCursor, encodeCursor } from '../http/opaqueCursor.js';

/**
 * The keyset position after the last audit entry of a page: its created_at in microseconds since
 * the epoch (PostgreSQL's precision, as a decimal string: a JavaScript Date would drop the last
 * three digits and repeat or skip entries) and its id.
 */
export interface AuditCursor {
  createdAtMicros: string;
  id: number;
}

/** Microseconds of 0001-01-01 and 9999-12-31: a cursor outside is not one this server issued. */
const earliestMicros = -62_135_596_800_000_000n;
const latestMicros = 253_402_300_799_999_999n;

const EncodedAuditCursor = z
  .tuple([z.string().regex(/^-?\d{1,18}$/), z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)])
  .refine(([micros]) => BigInt(micros) >= earliestMicros && BigInt(micros) <= latestMicros);

/** An opaque cursor: base64url of `["<created_at µs>", <id>]`. */
export function encodeAuditCursor(cursor: AuditCursor): string {
  return encodeCursor([cursor.createdAtMicros, cursor.id]);
}

/** Reads a cursor back, or a 400 that names `cursor` and says to pass nextCursor back unchanged. */
export function decodeAuditCursor(text: string): AuditCursor {
  const [createdAtMicros, id] = decodeCursor(text, EncodedAuditCursor);
  return { createdAtMicros, id };
}
