import { z } from 'zod';

/** Units a duration may use, largest first; each may appear once, in this order. */
const unitMilliseconds = {
  d: 86_400_000,
  h: 3_600_000,
  m: 60_000,
  s: 1_000,
  ms: 1,
} as const;

/** The longest duration a manifest accepts (365 days), so every consumer can hold it safely. */
export const maxDurationMilliseconds = 365 * unitMilliseconds.d;

/** `1h30m`, `30s`, `500ms`, `2d`: unit parts largest first, each unit at most once. */
export const durationPattern =
  /^(?=\d)(?:(\d{1,12})d)?(?:(\d{1,12})h)?(?:(\d{1,12})m)?(?:(\d{1,12})s)?(?:(\d{1,12})ms)?$/;

export const durationHelp =
  'a duration is a number with a unit, units ms s m h d, largest first, e.g. 30s, 10m, 2h, 1h30m, 500ms';

/** A duration string that cannot be used; the message says what is allowed. */
export class DurationError extends Error {
  override readonly name = 'DurationError';
  readonly text: string;

  constructor(text: string, reason: string) {
    super(reason);
    this.text = text;
  }
}

/** Why `text` is not a usable duration, or null when it is one. */
export function describeDurationProblem(text: string): string | null {
  const match = durationPattern.exec(text);
  if (match === null) {
    const trimmed = text.trim();
    if (/^\d+$/.test(trimmed)) {
      return `"${trimmed}" has no unit: write ${trimmed}s (or ${trimmed}m, ${trimmed}h …), not ${trimmed}; ${durationHelp}`;
    }
    if (trimmed !== text || /\s/.test(text)) {
      return `"${text}" contains spaces; write it without spaces (e.g. 1h30m); ${durationHelp}`;
    }
    return `"${truncate(text)}" is not a duration; ${durationHelp}`;
  }
  const milliseconds = millisecondsOf(match);
  if (milliseconds <= 0) return `"${text}" must be longer than zero; ${durationHelp}`;
  if (milliseconds > maxDurationMilliseconds) return `"${text}" is longer than the maximum of 365d`;
  return null;
}

/**
 * Milliseconds in a manifest duration such as `30s`, `10m`, `2h`, `1d`, `1h30m` or `500ms`.
 * Throws a DurationError that says what is allowed when the text is not a positive duration of
 * at most 365 days.
 */
export function parseDuration(text: string): number {
  const problem = describeDurationProblem(text);
  if (problem !== null) throw new DurationError(text, problem);
  const match = durationPattern.exec(text);
  /* c8 ignore next */
  if (match === null) throw new DurationError(text, `"${text}" is not a duration`);
  return millisecondsOf(match);
}

function millisecondsOf(match: RegExpExecArray): number {
  const [, days, hours, minutes, seconds, milliseconds] = match;
  return (
    Number(days ?? 0) * unitMilliseconds.d +
    Number(hours ?? 0) * unitMilliseconds.h +
    Number(minutes ?? 0) * unitMilliseconds.m +
    Number(seconds ?? 0) * unitMilliseconds.s +
    Number(milliseconds ?? 0) * unitMilliseconds.ms
  );
}

function truncate(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/** Message for a value that is not even a string where a duration belongs. */
function durationTypeMessage(input: unknown): string {
  if (typeof input === 'number') {
    return `a duration needs a unit: write ${input}s, not ${input} (${durationHelp})`;
  }
  return `expected a duration string; ${durationHelp}`;
}

/** A manifest duration, kept as written (`30s`); read it with parseDuration. */
export const durationSchema = z
  .string({
    error: (issue) => (issue.input === undefined ? undefined : durationTypeMessage(issue.input)),
  })
  .regex(durationPattern, { error: (issue) => describeDurationProblem(String(issue.input)) ?? '' })
  .superRefine((text, context) => {
    const problem = describeDurationProblem(text);
    if (problem !== null && durationPattern.test(text)) {
      context.addIssue({ code: 'custom', message: problem, input: text });
    }
  })
  .meta({
    description: `A duration: ${durationHelp}.`,
    examples: ['30s', '10m', '2h', '1h30m'],
  });
