import { z } from 'zod';

/**
 * Keyset pagination shared by the list routes: `?limit=50&cursor=…` →
 * `{ items: [...], nextCursor: "…" | null }`. A cursor is opaque to clients: pass back the
 * `nextCursor` of the previous page unchanged.
 */

export const DEFAULT_PAGE_LIMIT = 50;
export const MAX_PAGE_LIMIT = 200;

/** Page size in a query string: accepts `"50"` or `50`; 1..200, default 50. */
export const PageLimit = z.coerce
  .number({ error: `limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}` })
  .int(`limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}`)
  .min(1, `limit must be at least 1`)
  .max(MAX_PAGE_LIMIT, `limit must be at most ${MAX_PAGE_LIMIT}`)
  .default(DEFAULT_PAGE_LIMIT);
export type PageLimit = z.infer<typeof PageLimit>;

/** An opaque keyset cursor, as returned in `nextCursor`. */
export const Cursor = z
  .string()
  .min(1, 'cursor must not be empty')
  .max(512, 'cursor must be at most 512 characters; pass back the nextCursor you received')
  .regex(/^[A-Za-z0-9_\-.~=]+$/, 'cursor must be passed back exactly as nextCursor returned it');
export type Cursor = z.infer<typeof Cursor>;

/** A page of `item`s and the cursor of the next page (`null` on the last page). */
export function paginatedResponse<Item extends z.ZodType>(item: Item) {
  return z.object({
    items: z.array(item),
    nextCursor: Cursor.nullable(),
  });
}
