import { describe, expect, it } from 'vitest';
import { hashPassword, verifyPassword } from './passwordHash.js';

describe('passwordHash', () => {
  it('encodes scrypt with its parameters, a 16-byte salt and a 32-byte key', async () => {
    const encoded = await hashPassword('correct horse battery staple');
    const [scheme, N, r, p, salt, key] = encoded.split('$');
    expect([scheme, N, r, p]).toEqual(['scrypt', '32768', '8', '1']);
    expect(Buffer.from(salt ?? '', 'base64url')).toHaveLength(16);
    expect(Buffer.from(key ?? '', 'base64url')).toHaveLength(32);
    expect(encoded).not.toContain('correct horse');
  });

  it('salts each hash', async () => {
    const [a, b] = await Promise.all([
      hashPassword('same password 1'),
      hashPassword('same password 1'),
    ]);
    expect(a).not.toBe(b);
  });

  it('verifies the right password and rejects others', async () => {
    const encoded = await hashPassword('correct horse battery staple');
    expect(await verifyPassword('correct horse battery staple', encoded)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', encoded)).toBe(false);
    expect(await verifyPassword('', encoded)).toBe(false);
  });

  it('treats equivalent Unicode spellings as the same password', async () => {
    const encoded = await hashPassword('caf\u00e9 au lait, bitte');
    expect(await verifyPassword('cafe\u0301 au lait, bitte', encoded)).toBe(true);
  });

  it('never matches a missing or malformed stored hash', async () => {
    expect(await verifyPassword('anything at all', undefined)).toBe(false);
    expect(await verifyPassword('anything at all', 'unusable')).toBe(false);
    expect(
      await verifyPassword('anything at all', 'scrypt$3$8$1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA'),
    ).toBe(false);
    expect(
      await verifyPassword(
        'anything at all',
        `scrypt$${2 ** 30}$8$1$c2FsdHNhbHQ$a2V5a2V5a2V5a2V5a2V5a2V5`,
      ),
    ).toBe(false);
  });

  it('verifies a hash made with other parameters (so they can be raised later)', async () => {
    // N=2^14 instead of 2^15: still readable.
    const { scryptSync } = await import('node:crypto');
    const salt = Buffer.from('0123456789abcdef');
    const key = scryptSync('older parameters', salt, 32, { N: 2 ** 14, r: 8, p: 1 });
    const encoded = `scrypt$16384$8$1$${salt.toString('base64url')}$${key.toString('base64url')}`;
    expect(await verifyPassword('older parameters', encoded)).toBe(true);
  });
});
