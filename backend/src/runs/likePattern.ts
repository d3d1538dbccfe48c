/**
 * A LIKE/ILIKE pattern that matches `text` anywhere, with the pattern characters of `text`
 * (`\`, `%`, `_`) escaped by a backslash (use with `ESCAPE '\'`). The pattern is sent as a
 * bound parameter, never spliced into SQL.
 */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (character) => `\\${character}`)}%`;
}
