import { createHash } from 'node:crypto';

/**
 * Digests of run specs, without zod or the core modules: the run wrapper checks the spec it
 * reads against the inventory's digest on every cron fire, and must stay cheap to load.
 */

/** JSON with sorted keys and undefined members left out: the same value, the same text. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => member !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonicalJson(member)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * SHA-256 of what a job does, independent of the revision it came from: two revisions that leave
 * a job as it was give the same digest, so the planner does not reinstall it.
 */
export function specContentDigest(spec: Readonly<Record<string, unknown>>): string {
  const { revision: _revision, ...content } = spec;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
