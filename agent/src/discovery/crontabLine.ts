import { validateCron } from '@cronfleet/core/cron';
import { cronMacros } from '../scheduler/cronEntryText.js';

/**
 * How cron reads one line of a user's crontab (Vixie cron, cronie, Debian), written down so that
 * discovery reports what cron would run and `adopt` translates it faithfully. Pure.
 *
 * A line is blank, a comment (`#` first), an environment setting (`NAME = value`, the name
 * possibly quoted), or an entry: five time fields or a macro, blanks, then the command, which
 * runs through `/bin/sh -c` after the `%` rule of {@link decodeCronCommand}.
 */

export type CrontabLine =
  | { kind: 'blank' }
  | { kind: 'comment' }
  | { kind: 'environment'; name: string }
  /** `command` is the text as it stands in the crontab (`%` rule not applied). */
  | { kind: 'entry'; schedule: string; command: string }
  | { kind: 'invalid'; reason: string };

/** cron's load_env: a name (bare, or in quotes), blanks, then `=`. Tried before an entry. */
const environmentLine = /^[ \t]*("[^"]*"|'[^']*'|[^\s="']+)[ \t]*=/;

/** What cron's field parser reads: digits, names, `*`, `,`, `-`, `/`. */
const fieldText = /^[0-9A-Za-z*,/-]+$/;

/** Splits off the first blank-separated word: [word, rest without its leading blanks]. */
function firstWord(text: string): [string, string] {
  const match = /^([^ \t]+)[ \t]*(.*)$/s.exec(text);
  return match === null ? ['', ''] : [match[1] ?? '', match[2] ?? ''];
}

/** Parses one crontab line (without its newline; a trailing CR of a CRLF file is dropped). */
export function parseCrontabLine(text: string): CrontabLine {
  const line = text.endsWith('\r') ? text.slice(0, -1) : text;
  const trimmed = line.replace(/^[ \t]+/, '');
  if (trimmed.trim() === '') return { kind: 'blank' };
  if (trimmed.startsWith('#')) return { kind: 'comment' };
  const environment = environmentLine.exec(line);
  if (environment !== null) {
    return { kind: 'environment', name: (environment[1] ?? '').replace(/^["']|["']$/g, '') };
  }

  let schedule: string;
  let command: string;
  if (trimmed.startsWith('@')) {
    const [macro, rest] = firstWord(trimmed);
    if (!cronMacros.has(macro)) {
      return {
        kind: 'invalid',
        reason: `"${macro}" is not a macro cron knows (${[...cronMacros].join(' ')})`,
      };
    }
    schedule = macro;
    command = rest;
  } else {
    const fields: string[] = [];
    let rest = trimmed;
    for (let index = 0; index < 5; index += 1) {
      const [word, remainder] = firstWord(rest);
      if (word === '') break;
      fields.push(word);
      rest = remainder;
    }
    if (fields.length < 5 || !fields.every((field) => fieldText.test(field))) {
      return {
        kind: 'invalid',
        reason:
          'a crontab entry starts with five time fields (minute hour day-of-month month day-of-week) or a macro such as @daily, then the command',
      };
    }
    schedule = fields.join(' ');
    command = rest;
  }
  const validation = validateCron(schedule);
  if (!validation.valid) return { kind: 'invalid', reason: validation.message };
  if (command.trim() === '') {
    return { kind: 'invalid', reason: `the schedule "${schedule}" is not followed by a command` };
  }
  return { kind: 'entry', schedule, command };
}

export interface CronCommand {
  /** What cron hands to `/bin/sh -c`. */
  command: string;
  /** What cron writes to the command's standard input, or null when the line sends none. */
  stdin: string | null;
}

/**
 * Applies cron's `%` rule to the command text of an entry (cronie and Vixie cron's
 * do_command.c): `\%` stands for `%`; the first unescaped `%` ends the command, and the rest,
 * with each further unescaped `%` turned into a newline (and `\%` into `%`), is written to the
 * command's standard input. A backslash before anything else stays as it is.
 */
export function decodeCronCommand(text: string): CronCommand {
  let command = '';
  let escaped = false;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index] as string;
    if (escaped) {
      escaped = false;
      if (character === '%') command = `${command.slice(0, -1)}%`;
      else command += character;
      continue;
    }
    if (character === '%') {
      return { command, stdin: decodeStdin(text.slice(index + 1)) };
    }
    escaped = character === '\\';
    command += character;
  }
  return { command, stdin: null };
}

function decodeStdin(text: string): string {
  let stdin = '';
  let escaped = false;
  for (const original of text) {
    let character = original;
    if (escaped) {
      if (character !== '%') stdin += '\\';
    } else if (character === '%') {
      character = '\n';
    }
    escaped = character === '\\';
    if (!escaped) stdin += character;
  }
  return escaped ? `${stdin}\\` : stdin;
}
