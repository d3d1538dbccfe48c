import { describe, expect, it } from 'vitest';
import { ApiError } from '../http/apiError.js';
import { decodeCursor, encodeCursor } from './keysetCursor.js';

const id = '0b6f1c1e-5d2a-4c3b-9f5e-8a7d6c5b4a39';

describe('keyset cursor', () => {
  it('round-trips a position with microsecond precision, as URL-safe text', () => {
    const position = { createdAtMicros: '1893456000123456', id };
    const cursor = encodeCursor(position);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual(position);
  });

  it('answers a 400 for a cursor it did not issue', () => {
    const forged = [
      'not-base64-json',
      Buffer.from('["1", "not-a-uuid"]').toString('base64url'),
      Buffer.from(`["1 or 1=1", "${id}"]`).toString('base64url'),
      Buffer.from('{}').toString('base64url'),
    ];
    for (const cursor of forged) {
      const attempt = () => decodeCursor(cursor);
      expect(attempt).toThrow(ApiError);
      expect(attempt).toThrow(/pass back nextCursor unchanged/);
    }
  });
});
