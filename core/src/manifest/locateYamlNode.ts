import { isAlias, isMap, isNode, isPair, isScalar, isSeq } from 'yaml';
import type { Node, Pair } from 'yaml';
import type { ErrorTarget, KeyPath } from './manifestErrors.js';

/** Where in the source text a key path points. */
export interface YamlLocation {
  /** Character offset in the file's text. */
  offset: number;
  /** Whether the exact node was found (false: the closest enclosing node is given). */
  exact: boolean;
}

function startOf(node: unknown, fallback: number): number {
  return isNode(node) && node.range !== undefined && node.range !== null ? node.range[0] : fallback;
}

/** `key:` with nothing after it parses as a zero-length null scalar; point at the key instead. */
function isEmptyNode(node: unknown): boolean {
  return (
    isScalar(node) &&
    node.value === null &&
    node.range !== undefined &&
    node.range !== null &&
    node.range[0] === node.range[1]
  );
}

function findPair(map: { items: unknown[] }, segment: PropertyKey): Pair | undefined {
  const wanted = String(segment);
  for (const item of map.items) {
    if (!isPair(item)) continue;
    const key = item.key;
    if (isScalar(key) ? String(key.value) === wanted : String(key) === wanted) return item;
  }
  return undefined;
}

/**
 * Finds the text offset for a key path in a parsed YAML document. `value` points at the value,
 * `key` at the key itself (unknown or invalid keys), `parent` at the key of the mapping that
 * holds the last segment (missing keys). When the path leaves the document (an alias, a missing
 * node), the closest enclosing node is given and `exact` is false.
 */
export function locateYamlNode(
  root: Node | null | undefined,
  path: KeyPath,
  target: ErrorTarget,
  documentStart = 0,
): YamlLocation {
  const walk = target === 'parent' ? path.slice(0, -1) : path;
  // The best position so far: the key naming the current node reads better than its first child.
  let position = startOf(root, documentStart);
  let node: unknown = root;
  for (let index = 0; index < walk.length; index++) {
    const segment = walk[index] as PropertyKey;
    const last = index === walk.length - 1;
    if (isMap(node)) {
      const pair = findPair(node, segment);
      if (pair === undefined) return { offset: position, exact: false };
      position = startOf(pair.key, position);
      if (last && target === 'key') return { offset: position, exact: true };
      if (pair.value === null || pair.value === undefined || isEmptyNode(pair.value)) {
        return { offset: position, exact: last && target === 'value' };
      }
      node = pair.value;
      // For a parent target, stay on the key that names the mapping.
      if (!(last && target === 'parent')) position = startOf(node, position);
    } else if (isSeq(node) && typeof segment === 'number') {
      const item = node.items[segment];
      if (item === undefined) return { offset: position, exact: false };
      node = item;
      position = startOf(node, position);
    } else {
      return { offset: position, exact: false };
    }
    if (isAlias(node) && !last) return { offset: position, exact: false };
  }
  return { offset: position, exact: true };
}
