import { z } from 'zod';
import {
  decodeCursor as decodeOpaqueCursor,
  encodeCursor as encodeOpaqueCursor,
} from '../http/opaqueCursor.js';

/**
 * The opaque cursor of a list ordered by (created_at, id): the creation time in microseconds
 * since the epoch (PostgreSQL's precision; a JavaScript Date would lose the last three digits
 * and repeat or skip rows) and the id of the last row served, as base64url JSON.
 */
export interface KeysetPosition {
  /** created_at in microseconds since the epoch, as a decimal string. */
  createdAtMicros: string;
  id: string;
}

/** 9999-12-31T23:59:59.999999Z in microseconds since the epoch. */
const latestMicros = 253_402_300_799_999_999n;

/**
 * A creation time from 1970 to 9999: what PostgreSQL stores for a row. A tampered cursor with a
 * time beyond (which the database would refuse as "timestamp out of range") is a 400.
 */
const EncodedPosition = z.tuple([
  z
    .string()
    .regex(/^\d{1,18}$/)
    .refine((micros) => /^\d{1,18}$/.test(micros) && BigInt(micros) <= latestMicros),
  z.uuid(),
]);

export function encodeCursor(position: KeysetPosition): string {
  return encodeOpaqueCursor([position.createdAtMicros, position.id]);
}

/** The position a cursor points at, or a 400 when the cursor is not one this server issued. */
export function decodeCursor(cursor: string): KeysetPosition {
  const [createdAtMicros, id] = decodeOpaqueCursor(cursor, EncodedPosition);
  return { createdAtMicros, id };
}
