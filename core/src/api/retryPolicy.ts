/**
 * When and how long the client waits before resending an idempotent call: exponential backoff
 * with jitter, at least as long as the server's `Retry-After`, and never longer than the cap.
 * Pure functions; the client wires them into axios-retry.
 */

export interface RetryPolicy {
  /** Resends after the first attempt (0 disables retries). */
  readonly retries: number;
  /** The backoff before the first resend; it doubles with each resend. */
  readonly baseDelayMs: number;
  /** No wait is longer; a `Retry-After` beyond it is not waited for (the call fails instead). */
  readonly maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: RetryPolicy = {
  retries: 3,
  baseDelayMs: 250,
  maxDelayMs: 30_000,
};

/** Statuses that mean "try again later": rate limited, or a gateway or server not ready. */
export const RETRYABLE_STATUSES: ReadonlySet<number> = new Set([429, 502, 503, 504]);

/**
 * Error codes of transient network failures, worth resending. Deliberately absent: TLS and
 * certificate errors, unknown hosts (ENOTFOUND), invalid URLs and aborted calls, which a resend
 * does not fix.
 */
const TRANSIENT_NETWORK_CODES: ReadonlySet<string> = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED', // axios: timeout
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'ERR_NETWORK', // axios in a browser: no detail available
  'ERR_SOCKET_CONNECTION_TIMEOUT',
]);

export function isRetryableStatus(status: number): boolean {
  return RETRYABLE_STATUSES.has(status);
}

export function isTransientNetworkCode(code: string | undefined | null): boolean {
  return code !== undefined && code !== null && TRANSIENT_NETWORK_CODES.has(code);
}

/**
 * Parses a `Retry-After` header (delay in seconds, or an HTTP date) into milliseconds from
 * `nowMs`; null when absent or unreadable.
 */
export function parseRetryAfterMs(header: unknown, nowMs: number): number | null {
  const value = Array.isArray(header) ? header[0] : header;
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value * 1000;
  if (typeof value !== 'string') return null;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // Otherwise an HTTP date such as "Wed, 01 May 2024 12:00:30 GMT" (it always names a day).
  if (!/[A-Za-z]{3}/.test(text)) return null;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return null;
  return Math.max(0, at - nowMs);
}

/**
 * The backoff before resend number `retryNumber` (1 for the first resend): half of
 * `baseDelayMs * 2^(retryNumber-1)` (capped at `maxDelayMs`) plus a random part of up to the
 * other half, so that agents hit by the same outage do not resend in step.
 */
export function backoffDelayMs(
  retryNumber: number,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number {
  const exponent = Math.max(0, Math.min(retryNumber - 1, 30));
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}

/**
 * The wait before resend number `retryNumber`: the backoff, or the server's `Retry-After` when
 * longer. Null when the server asks for a longer wait than `maxDelayMs`: the call then fails
 * with the server's answer (whose `retryAfterMs` tells the caller when to come back).
 */
export function retryDelayMs(
  retryNumber: number,
  retryAfterMs: number | null,
  policy: RetryPolicy,
  random: () => number = Math.random,
): number | null {
  if (retryAfterMs !== null && retryAfterMs > policy.maxDelayMs) return null;
  return Math.max(backoffDelayMs(retryNumber, policy, random), retryAfterMs ?? 0);
}
