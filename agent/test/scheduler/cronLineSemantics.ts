import { spawnSync } from 'node:child_process';

/**
 * What cron does with a line it loads, written out independently of the code under test so the
 * tests can check that a rendered line runs exactly the argv it was rendered from.
 */

export interface CronCommand {
  /** What cron hands to `$SHELL -c`. */
  command: string;
  /** What cron writes to the command's stdin (the text after an unescaped `%`), if anything. */
  stdin: string | undefined;
}

/**
 * The command part of a cron line as cron runs it: skips the five time fields (or the macro) and,
 * in /etc/cron.d, the user field; then applies the `%` rule of Vixie cron 4 / cronie / Debian
 * (do_command.c): `\%` becomes `%`, an unescaped `%` ends the command and the rest, with each
 * further `%` as a newline, is stdin; a backslash before anything else stays.
 */
export function cronCommandOf(line: string, options: { userField: boolean }): CronCommand {
  let rest = line.replace(/^[ \t]+/, '');
  const skip = (rest.startsWith('@') ? 1 : 5) + (options.userField ? 1 : 0);
  for (let field = 0; field < skip; field += 1) {
    const match = /^[^ \t]+[ \t]+/.exec(rest);
    if (match === null) throw new Error(`not a cron line: ${JSON.stringify(line)}`);
    rest = rest.slice(match[0].length);
  }
  let command = '';
  let escaped = false;
  for (let index = 0; index < rest.length; index += 1) {
    const character = rest[index] as string;
    if (escaped) {
      escaped = false;
      if (character === '%') command = `${command.slice(0, -1)}%`;
      else command += character;
      continue;
    }
    if (character === '\\') {
      escaped = true;
      command += character;
      continue;
    }
    if (character === '%') {
      return { command, stdin: rest.slice(index + 1).replaceAll('%', '\n') };
    }
    command += character;
  }
  return { command, stdin: undefined };
}

/**
 * Runs a rendered cron line's command with `shell -c`, as cron would, where the command is
 * `/usr/bin/printf '%s\0' ARGS…`, and returns the arguments printf received.
 */
export function argumentsPrintedBy(line: string, shell: string, userField = false): string[] {
  const { command, stdin } = cronCommandOf(line, { userField });
  if (stdin !== undefined) throw new Error(`an unescaped % in ${JSON.stringify(line)}`);
  const result = spawnSync(shell, ['-c', command], { encoding: 'buffer', env: {} });
  if (result.status !== 0) {
    throw new Error(`${shell} -c failed (${result.status}): ${result.stderr.toString('utf8')}`);
  }
  const printed = result.stdout.toString('utf8').split('\0');
  printed.pop();
  return printed;
}

/** The argv whose output {@link argumentsPrintedBy} reads back: printf prints each word and a NUL. */
export function printfArgv(words: readonly string[]): string[] {
  return ['/usr/bin/printf', '%s\\0', ...words];
}
