/** Longest text compared for a suggestion; anything longer is not a typo of a short key. */
const maxComparedLength = 64;

/**
 * The candidate closest to `text` when it is close enough to be a likely typo (`schedual` →
 * `schedule`, `Forbid` for `forbid`), else null.
 */
export function didYouMean(text: string, candidates: readonly string[]): string | null {
  if (text.length === 0 || text.length > maxComparedLength) return null;
  const lower = text.toLowerCase();
  const caseOnly = candidates.find((candidate) => candidate.toLowerCase() === lower);
  if (caseOnly !== undefined) return caseOnly;

  // A shortened or lengthened key (`retry`, `suspended`) shares a stem with the real one.
  const stem = lower.slice(0, Math.max(4, lower.length - 2));
  const sharesStem = candidates.filter(
    (candidate) => lower.length >= 4 && candidate.toLowerCase().startsWith(stem),
  );
  if (sharesStem.length === 1) return sharesStem[0] ?? null;

  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    const allowed = Math.max(1, Math.floor(Math.max(candidate.length, text.length) / 3));
    if (distance <= allowed && distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}

/** Optimal string alignment distance: insertions, deletions, substitutions, adjacent swaps. */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const columns = b.length + 1;
  const table: number[][] = Array.from({ length: rows }, (_, row) =>
    Array.from({ length: columns }, (_unused, column) =>
      row === 0 ? column : column === 0 ? row : 0,
    ),
  );
  const at = (row: number, column: number): number => table[row]?.[column] ?? 0;
  for (let row = 1; row < rows; row++) {
    for (let column = 1; column < columns; column++) {
      const cost = a[row - 1] === b[column - 1] ? 0 : 1;
      let value = Math.min(
        at(row - 1, column) + 1,
        at(row, column - 1) + 1,
        at(row - 1, column - 1) + cost,
      );
      if (row > 1 && column > 1 && a[row - 1] === b[column - 2] && a[row - 2] === b[column - 1]) {
        value = Math.min(value, at(row - 2, column - 2) + 1);
      }
      const tableRow = table[row];
      if (tableRow !== undefined) tableRow[column] = value;
    }
  }
  return at(rows - 1, columns - 1);
}
