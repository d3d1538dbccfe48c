import { isMap, isPair, isScalar, isSeq } from 'yaml';
import type { Node } from 'yaml';
import type { KeyPath } from './manifestErrors.js';

/** A key that appears twice in one mapping, or a key that is not plain text. */
export interface KeyProblem {
  offset: number;
  path: KeyPath;
  message: string;
}

/**
 * Finds repeated keys and non-text keys in every mapping of a document, in linear time (the
 * yaml library's own check is quadratic, so a file with many keys would hang it).
 */
export function findDuplicateKeys(root: Node | null | undefined, limit: number): KeyProblem[] {
  const problems: KeyProblem[] = [];
  const pending: Array<{ node: unknown; path: KeyPath }> = [{ node: root, path: [] }];
  while (pending.length > 0 && problems.length < limit) {
    const next = pending.pop();
    if (next === undefined) break;
    const { node, path } = next;
    if (isMap(node)) {
      const seen = new Set<string>();
      for (const item of node.items) {
        if (!isPair(item)) continue;
        const key = item.key;
        const offset = isScalar(key) && key.range ? key.range[0] : (node.range?.[0] ?? 0);
        if (!isScalar(key) || (key.value !== null && typeof key.value === 'object')) {
          problems.push({
            offset,
            path,
            message: 'keys must be plain text, not lists or mappings',
          });
          continue;
        }
        const text = String(key.value);
        if (seen.has(text)) {
          problems.push({
            offset,
            path: [...path, text],
            message: `duplicate key ${JSON.stringify(text)}: a key may appear once in a mapping; remove one`,
          });
        }
        seen.add(text);
        pending.push({ node: item.value, path: [...path, text] });
      }
    } else if (isSeq(node)) {
      node.items.forEach((item, index) => pending.push({ node: item, path: [...path, index] }));
    }
  }
  return problems.slice(0, limit);
}
