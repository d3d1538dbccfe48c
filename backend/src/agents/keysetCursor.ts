import { z } from 'zod';
import { badRequest } from '../http/apiError.js';

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
  return Buffer.from(JSON.stringify([position.createdAtMicros, position.id]), 'utf8').toString(
    'base64url',
  );
}

/** The position a cursor points at, or a 400 when the cursor is not one this server issued. */
export function decodeCursor(cursor: string): KeysetPosition {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  const parsed = EncodedPosition.safeParse(decoded);
  if (!parsed.success) {
    throw badRequest(
      'cursor is not one this server issued; pass back nextCursor unchanged, or leave cursor out to start from the first page',
      [{ path: 'cursor', message: 'must be the nextCursor of a previous page' }],
    );
  }
  return { createdAtMicros: parsed.data[0], id: parsed.data[1] };
}
