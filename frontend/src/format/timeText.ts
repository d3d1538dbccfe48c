/**
 * Times in the viewer's own zone (the browser's), with the exact UTC time for a title. One
 * formatter of each kind is built once: Intl formatters are slow to create and the jobs table
 * formats thousands of cells.
 */
const localFormat = new Intl.DateTimeFormat(undefined, {
  dateStyle: 'medium',
  timeStyle: 'medium',
});
const utcFormat = new Intl.DateTimeFormat('en-GB', {
  timeZone: 'UTC',
  year: 'numeric',
  month: '2-digit',
  day: '2-digit',
  hour: '2-digit',
  minute: '2-digit',
  second: '2-digit',
  hourCycle: 'h23',
});
const hourFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });
const relativeFormat = new Intl.RelativeTimeFormat(undefined, { numeric: 'auto' });

export const viewerTimeZone = Intl.DateTimeFormat().resolvedOptions().timeZone;

export function localTimeText(iso: string): string {
  return localFormat.format(new Date(iso));
}

/** `2026-12-02 15:04:05 UTC`: what the title of every shown time says. */
export function utcTimeText(iso: string): string {
  const parts = Object.fromEntries(
    utcFormat.formatToParts(new Date(iso)).map((part) => [part.type, part.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute}:${parts.second} UTC`;
}

export function hourText(date: Date): string {
  return hourFormat.format(date);
}

const units: [Intl.RelativeTimeFormatUnit, number][] = [
  ['day', 86_400_000],
  ['hour', 3_600_000],
  ['minute', 60_000],
  ['second', 1_000],
];

/** `in 5 minutes`, `3 hours ago`: relative to `now`. */
export function relativeTimeText(iso: string, now: number): string {
  const delta = Date.parse(iso) - now;
  for (const [unit, size] of units) {
    if (Math.abs(delta) >= size || unit === 'second') {
      return relativeFormat.format(Math.round(delta / size), unit);
    }
  }
  return '';
}
