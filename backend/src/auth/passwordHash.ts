import { randomBytes, scrypt, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Passwords are stored as memory-hard scrypt hashes, encoded `scrypt$N$r$p$salt$hash` (salt and
 * hash in base64url), so the parameters can be raised later without breaking stored hashes.
 */
export const scryptParameters = { N: 2 ** 15, r: 8, p: 1 } as const;
const saltBytes = 16;
const keyBytes = 32;

function deriveKey(
  password: string,
  salt: Buffer,
  parameters: { N: number; r: number; p: number },
  keyLength: number,
): Promise<Buffer> {
  // scrypt needs 128·N·r bytes; Node's default ceiling (32 MiB) is exactly that for N=2^15, r=8.
  const options: ScryptOptions = {
    ...parameters,
    maxmem: 256 * parameters.N * parameters.r + 1024 * 1024,
  };
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, keyLength, options, (error, key) => {
      if (error === null) resolve(key);
      else reject(error);
    });
  });
}

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(saltBytes);
  const key = await deriveKey(password, salt, scryptParameters, keyBytes);
  const { N, r, p } = scryptParameters;
  return `scrypt$${N}$${r}$${p}$${salt.toString('base64url')}$${key.toString('base64url')}`;
}

interface ParsedHash {
  N: number;
  r: number;
  p: number;
  salt: Buffer;
  key: Buffer;
}

function parseHash(encoded: string): ParsedHash | undefined {
  const parts = encoded.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return undefined;
  const [N, r, p] = parts.slice(1, 4).map((part) => Number(part));
  if (N === undefined || r === undefined || p === undefined) return undefined;
  // Reject parameters that are not a power of two or would let a stored value exhaust memory.
  if (!Number.isInteger(N) || N < 2 || N > 2 ** 20 || (N & (N - 1)) !== 0) return undefined;
  if (!Number.isInteger(r) || r < 1 || r > 32 || !Number.isInteger(p) || p < 1 || p > 16) {
    return undefined;
  }
  const salt = Buffer.from(parts[4] ?? '', 'base64url');
  const key = Buffer.from(parts[5] ?? '', 'base64url');
  if (salt.length < 8 || key.length < 16) return undefined;
  return { N, r, p, salt, key };
}

let dummyHash: Promise<string> | undefined;

/**
 * Computes the dummy hash that verifyPassword checks for unknown users, ahead of the first
 * sign-in (else that first answer would take twice as long for an unknown e-mail address).
 */
export function prepareDummyPasswordHash(): Promise<string> {
  dummyHash ??= hashPassword(randomBytes(18).toString('base64url'));
  return dummyHash;
}

/**
 * Whether `password` matches `encoded`, compared in constant time. Pass `undefined` when no such
 * user exists: a dummy hash is verified instead, so the answer takes as long either way and its
 * timing does not reveal which e-mail addresses have accounts. A malformed stored value (e.g.
 * an account whose password was never set) never matches, after the same work.
 */
export async function verifyPassword(
  password: string,
  encoded: string | undefined,
): Promise<boolean> {
  const parsed = encoded === undefined ? undefined : parseHash(encoded);
  if (parsed === undefined) {
    const dummy = parseHash(await prepareDummyPasswordHash());
    if (dummy !== undefined) {
      const key = await deriveKey(password, dummy.salt, dummy, dummy.key.length);
      timingSafeEqual(key, dummy.key);
    }
    return false;
  }
  const key = await deriveKey(password, parsed.salt, parsed, parsed.key.length);
  return timingSafeEqual(key, parsed.key);
}
