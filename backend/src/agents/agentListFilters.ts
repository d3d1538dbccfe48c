import { sql, type SQL } from 'drizzle-orm';
import { containsPattern } from '../db/likePattern.js';
import { agents } from '../db/schema.js';

/** `q`: the text, case-insensitive and literal, anywhere in the name or the hostname. */
export function agentTextCondition(text: string): SQL {
  const pattern = containsPattern(text);
  return sql`(${agents.name} ilike ${pattern} escape '\\' or ${agents.hostname} ilike ${pattern} escape '\\')`;
}

/** `key=value` → `{ key: value }` (the value may itself contain no `=`: label values cannot). */
export function parseLabelSelector(selector: string): Record<string, string> {
  const at = selector.indexOf('=');
  return { [selector.slice(0, at)]: selector.slice(at + 1) };
}

/**
 * `label=k=v` (repeatable): every selector must match. One jsonb containment per selector, so
 * `role=db&role=web` matches nothing instead of the last one winning.
 */
export function agentLabelConditions(selectors: readonly string[]): SQL[] {
  return selectors.map(
    (selector) => sql`${agents.labels} @> ${JSON.stringify(parseLabelSelector(selector))}::jsonb`,
  );
}
