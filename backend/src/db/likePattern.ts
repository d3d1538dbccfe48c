/**
 * A LIKE/ILIKE pattern that matches `text` anywhere, with the pattern characters of `text`
 * (`\`, `%`, `_`) escaped by a backslash (use with `ESCAPE '\'`). The pattern is sent as a
 * bound parameter, never spliced into SQL. A NUL, which PostgreSQL text cannot hold (a query
 * with one fails), becomes U+FFFD, as it does in stored output.
 */
export function containsPattern(text: string): string {
  const storable = text.replaceAll('\u0000', '\uFFFD');
  return `%${storable.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}
