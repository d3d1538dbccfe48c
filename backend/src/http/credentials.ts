import { createHash, randomBytes } from 'node:crypto';
import { tokenPrefixes } from '@cronfleet/core/api';

/**
 * Token kinds and their prefixes (core's tokenPrefixes). A token is its prefix and 32 random
 * bytes (256 bits) in base64url; it is shown once and stored only as its SHA-256 hash. The prefix
 * tells a reader (and a secret scanner) what a leaked token is.
 */
export type TokenKind = keyof typeof tokenPrefixes;

export function generateToken(kind: TokenKind): string {
  return `${tokenPrefixes[kind]}${randomBytes(32).toString('base64url')}`;
}

/** The stored form of a token: SHA-256, hex. Tokens are random, so no salt is needed. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** What lists show of a token: its prefix and the first 6 random characters. */
export function displayPrefix(token: string): string {
  return token.slice(0, token.indexOf('_') + 7);
}

export function kindOfToken(token: string): TokenKind | undefined {
  for (const [kind, prefix] of Object.entries(tokenPrefixes)) {
    if (token.startsWith(prefix)) return kind as TokenKind;
  }
  return undefined;
}
