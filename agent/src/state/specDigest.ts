import { createHash } from 'node:crypto';

/**
 * Digests of run specs, without zod or the core modules: the run wrapper checks the spec it
 * reads against the inventory's digest on every cron fire, and must stay cheap to load.
 */

/**
 * JSON with sorted keys and undefined members left out: the same value, the same text. (Plain
 * loops: the planner digests every job of a repository, 10,000 on a large host.)
 */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) {
    let text = '[';
    for (let index = 0; index < value.length; index++) {
      if (index > 0) text += ',';
      const member: unknown = value[index];
      // As Array.prototype.join writes an undefined element: nothing.
      if (member !== undefined) text += canonicalJson(member);
    }
    return `${text}]`;
  }
  const record = value as Record<string, unknown>;
  let text = '{';
  for (const key of Object.keys(record).sort()) {
    const member = record[key];
    if (member === undefined) continue;
    if (text.length > 1) text += ',';
    text += `${JSON.stringify(key)}:${canonicalJson(member)}`;
  }
  return `${text}}`;
}

/**
 * SHA-256 of what a job does, independent of the revision it came from: two revisions that leave
 * a job as it was give the same digest, so the planner does not reinstall it.
 */
export function specContentDigest(spec: Readonly<Record<string, unknown>>): string {
  const { revision: _revision, ...content } = spec;
  return createHash('sha256').update(canonicalJson(content)).digest('hex');
}
