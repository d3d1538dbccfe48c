/** `team=data, tier=1` (commas or spaces) as the list of selectors. */
export function parseLabelText(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((part) => part.trim())
    .filter((part) => part !== '');
}

/** Labels (a job's, an agent's) as `key=value` chips (at most 3 in the table, all of them in the title). */
export function LabelList(props: { labels: Record<string, string>; max?: number }) {
  const entries = Object.entries(props.labels);
  if (entries.length === 0) return null;
  const max = props.max ?? 3;
  const shown = entries.slice(0, max);
  return (
    <ul
      className="labels"
      aria-label="Labels"
      title={entries.map(([key, value]) => `${key}=${value}`).join('\n')}
    >
      {shown.map(([key, value]) => (
        <li key={key} className="label-chip">
          {key}={value}
        </li>
      ))}
      {entries.length > max ? <li className="muted small">+{entries.length - max}</li> : null}
    </ul>
  );
}

/**
 * `key=value` lines (or commas) as a label set, for relabelling; a part without `=` is reported
 * as such. The API checks keys and values and its message is shown as is.
 */
export function labelsFromText(
  text: string,
): { labels: Record<string, string> } | { error: string } {
  const labels: Record<string, string> = {};
  for (const part of text.split(/[\n,]+/).map((line) => line.trim())) {
    if (part === '') continue;
    const at = part.indexOf('=');
    if (at <= 0) return { error: `"${part}" is not key=value` };
    labels[part.slice(0, at).trim()] = part.slice(at + 1).trim();
  }
  return { labels };
}

export function labelsText(labels: Record<string, string>): string {
  return Object.entries(labels)
    .map(([key, value]) => `${key}=${value}`)
    .join('\n');
}
