import type { z } from 'zod';
import { badRequest } from './apiError.js';

/**
 * Opaque keyset-pagination cursors: the position after the last row of a page, as base64url
 * JSON. Clients pass `nextCursor` back unchanged; anything else is a 400 that says so.
 */
export function encodeCursor(position: unknown): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

export function decodeCursor<Schema extends z.ZodType>(
  cursor: string,
  schema: Schema,
): z.output<Schema> {
  let decoded: unknown;
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    decoded = undefined;
  }
  let parsed: z.ZodSafeParseResult<z.output<Schema>> | undefined;
  try {
    parsed = schema.safeParse(decoded) as z.ZodSafeParseResult<z.output<Schema>>;
  } catch {
    // A refinement that met a value of the wrong shape (zod runs a tuple's refinements even when
    // an item failed, e.g. BigInt("") throws): the cursor is not one this server issued either.
    parsed = undefined;
  }
  if (parsed === undefined || !parsed.success) {
    throw badRequest(
      'cursor is not one this server issued; pass back nextCursor unchanged, or leave cursor out to start from the first page',
      [{ path: 'cursor', message: 'must be the nextCursor of a previous page' }],
    );
  }
  return parsed.data;
}
