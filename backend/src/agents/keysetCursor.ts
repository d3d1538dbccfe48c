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

const EncodedPosition = z.tuple([z.string().regex(/^-?\d{1,18}$/), z.uuid()]);

export function encodeCursor(position: KeysetPosition): string {
  return encodeOpaqueCursor([position.createdAtMicros, position.id]);
}

/** The position a cursor points at, or a 400 when the cursor is not one this server issued. */
export function decodeCursor(cursor: string): KeysetPosition {
  const [createdAtMicros, id] = decodeOpaqueCursor(cursor, EncodedPosition);
  return { createdAtMicros, id };
}
