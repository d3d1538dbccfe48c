import { describe, expect, it } from 'vitest';
import { ApiError } from '../http/apiError.js';
import { decodeRunCursor, encodeRunCursor } from './runCursor.js';

describe('run cursor', () => {
  it('round-trips and is URL-safe', () => {
    const cursor = { startedAt: new Date('2024-05-01T02:00:00.123Z'), id: 42 };
    const text = encodeRunCursor(cursor);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeRunCursor(text)).toEqual(cursor);
  });

  it.each([
    'not-base64!',
    Buffer.from('[]').toString('base64url'),
    Buffer.from('{"t":"2024-05-01","i":1}').toString('base64url'),
    Buffer.from('{"t":"2024-05-01T02:00:00.000Z","i":"1"}').toString('base64url'),
    Buffer.from('{"t":"2024-05-01T02:00:00.000Z","i":0}').toString('base64url'),
    Buffer.from('{"t":"x\' or 1=1 --","i":1}').toString('base64url'),
  ])('rejects %s with a 400', (text) => {
    expect(() => decodeRunCursor(text)).toThrow(ApiError);
  });
});
