import { badRequest } from '../http/apiError.js';

/** The keyset position after the last run of a page: its started_at and its internal id. */
export interface RunCursor {
  startedAt: Date;
  id: number;
}

/** An opaque cursor: base64url of `{"t":"<ISO time>","i":<id>}`. */
export function encodeRunCursor(cursor: RunCursor): string {
  return Buffer.from(JSON.stringify({ t: cursor.startedAt.toISOString(), i: cursor.id })).toString(
    'base64url',
  );
}

/** Reads a cursor back, or a 400 that says to pass nextCursor back unchanged. */
export function decodeRunCursor(text: string): RunCursor {
  const invalid = () =>
    badRequest('cursor is not one this server issued; pass back the nextCursor you received', [
      { path: 'cursor', message: 'not a cursor issued by this server' },
    ]);
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (typeof value !== 'object' || value === null) throw invalid();
  const { t, i } = value as { t?: unknown; i?: unknown };
  if (typeof t !== 'string' || typeof i !== 'number' || !Number.isSafeInteger(i) || i < 1) {
    throw invalid();
  }
  const startedAt = new Date(t);
  if (Number.isNaN(startedAt.getTime()) || startedAt.toISOString() !== t) throw invalid();
  return { startedAt, id: i };
}
