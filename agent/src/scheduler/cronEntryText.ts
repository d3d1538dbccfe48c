import { validateCron } from '@cronfleet/core/cron';
import { dnsLabelPattern } from '@cronfleet/core/naming';
import { SchedulerError, type ScheduledJob } from './schedulerBackend.js';

/**
 * The text both cron backends (crontab and /etc/cron.d) render for a job, and the checks that
 * keep it safe. Whatever reaches a cron file is validated or escaped here, once, so that no job
 * id, path or argument can add a line, a variable, or a `%` that cron would turn into stdin.
 *
 * How cron reads a command (Vixie cron, cronie, Debian): the text after the schedule (and the
 * user field in /etc/cron.d) up to the newline is handed to `$SHELL -c`, except that an
 * unescaped `%` ends the command (the rest becomes stdin) and `\%` stands for `%`. What a
 * backslash before any other character does differs between implementations (some collapse
 * `\\`), so the rendered command never contains a backslash followed by a backslash or `%`,
 * except the `\%` escape itself; see {@link quoteCronShellWord}.
 */

/**
 * The longest command Debian's cron accepts (its MAX_COMMAND is 1000 bytes with the terminator;
 * `crontab` refuses 999 and more with "command too long"). cronie allows more; we keep to the
 * smallest so a rendered line installs everywhere.
 */
export const maxCronCommandBytes = 998;

/** The macros Vixie cron and cronie understand, exactly as they spell them. */
export const cronMacros: ReadonlySet<string> = new Set([
  '@reboot',
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@midnight',
  '@hourly',
]);

/** The comment line that names the job of the entry line below it (both backends). */
export const jobIdCommentPrefix = '# cronfleet-job: ';

/**
 * A suspended job stays installed, commented out, so the block still shows it and resuming it is
 * a one-line change. The prefix says why the line is disabled to anyone reading the crontab.
 */
export const suspendedLinePrefix = '#suspended by cronfleet: ';

/** Characters cron's line reader or the shell would treat as structure, never allowed as text. */
// eslint-disable-next-line no-control-regex
const forbiddenCharacter = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\uD800-\uDFFF]/u;

/** A field of a five-field expression: digits, names, `*`, `,`, `-`, `/` (what cron parses). */
const cronFieldText = /^[0-9A-Za-z*,/-]+$/;

/**
 * Words that need no quoting in sh, bash or zsh. `=` may not come first (zsh expands `=cmd`); a
 * word with `=` is never an assignment here because the first word is an absolute path.
 */
const bareShellWord = /^[A-Za-z0-9_+:,./@-][A-Za-z0-9_+=:,./@-]*$/;

/** Owner ids (agent ids are UUIDs): they appear in markers and, hashed, in cron.d file names. */
const ownerIdPattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** POSIX user names as useradd accepts them (the cron.d user field). */
const cronUserPattern = /^[a-z_][a-z0-9_-]{0,30}\$?$/;

function describeCharacter(character: string): string {
  const codePoint = character.codePointAt(0) ?? 0;
  return `U+${codePoint.toString(16).toUpperCase().padStart(4, '0')}`;
}

function invalid(jobId: string, message: string): SchedulerError {
  return new SchedulerError(`job ${jobId}: ${message}`, 'stalled');
}

/**
 * Throws unless `text` is free of newlines, NUL and other control characters (C0, DEL, C1, the
 * Unicode line separators) and of lone surrogates (which have no UTF-8 form): a newline would end
 * the cron line and start a new one that the agent never meant to install.
 */
export function assertCronSafeText(text: string, what: string, jobId: string): void {
  const found = forbiddenCharacter.exec(text);
  if (found !== null) {
    throw invalid(
      jobId,
      `${what} contains the control character ${describeCharacter(found[0])} at offset ${found.index}; ` +
        'newlines, NUL and other control characters cannot be written into a cron file',
    );
  }
}

/** Throws unless `ownerId` can be written into a marker: letters, digits, `.`, `_`, `-`. */
export function assertOwnerId(ownerId: string): void {
  if (!ownerIdPattern.test(ownerId)) {
    throw new SchedulerError(
      `owner id ${JSON.stringify(ownerId)} cannot be written into a cron marker: use 1 to 64 letters, digits, ".", "_" or "-", starting with a letter or digit`,
      'stalled',
    );
  }
}

/**
 * Throws unless the job's id is `namespace/name` with both parts DNS labels: the id is written
 * into comments and file names and read back from them, so it must not hold anything else.
 */
export function assertJobIdentity(job: ScheduledJob): void {
  const shown = JSON.stringify(job.id);
  if (!dnsLabelPattern.test(job.namespace) || job.namespace.length > 63) {
    throw new SchedulerError(
      `job ${shown}: namespace ${JSON.stringify(job.namespace)} is not a DNS label`,
      'stalled',
    );
  }
  if (!dnsLabelPattern.test(job.name) || job.name.length > 63) {
    throw new SchedulerError(
      `job ${shown}: name ${JSON.stringify(job.name)} is not a DNS label`,
      'stalled',
    );
  }
  if (job.id !== `${job.namespace}/${job.name}`) {
    throw new SchedulerError(
      `job ${shown}: the id must be "${job.namespace}/${job.name}" (namespace/name)`,
      'stalled',
    );
  }
}

/** True if `id` is a job id this module would render (`namespace/name`, DNS labels). */
export function isJobId(id: string): boolean {
  const slash = id.indexOf('/');
  if (slash === -1) return false;
  const namespace = id.slice(0, slash);
  const name = id.slice(slash + 1);
  return (
    dnsLabelPattern.test(namespace) &&
    namespace.length <= 63 &&
    dnsLabelPattern.test(name) &&
    name.length <= 63
  );
}

/**
 * The schedule as cron must read it: a macro cron knows, or five fields made only of the
 * characters cron parses, single-spaced, that the reference evaluator accepts. Tabs and runs of
 * spaces are normalised; anything else is rejected rather than passed through.
 */
export function renderCronExpression(expression: string, jobId: string): string {
  // Tabs separate fields like spaces do; every other control character is refused.
  assertCronSafeText(expression.replaceAll('\t', ' '), 'the schedule', jobId);
  const fields = expression.trim().split(/[ \t]+/);
  if (fields.length === 1 && fields[0]?.startsWith('@')) {
    const macro = fields[0];
    if (!cronMacros.has(macro)) {
      throw invalid(
        jobId,
        `schedule ${JSON.stringify(expression)} is not a macro cron knows (${[...cronMacros].join(' ')})`,
      );
    }
    return macro;
  }
  if (fields.length !== 5 || !fields.every((field) => cronFieldText.test(field))) {
    throw invalid(
      jobId,
      `schedule ${JSON.stringify(expression)} must be five fields of digits, names, "*", ",", "-" and "/", or a macro such as @daily`,
    );
  }
  const normalized = fields.join(' ');
  const validation = validateCron(normalized);
  if (!validation.valid) {
    throw invalid(jobId, `schedule ${JSON.stringify(expression)}: ${validation.message}`);
  }
  return normalized;
}

/**
 * One argument as /bin/sh must see it, escaped for cron too. Plain runs go in single quotes; a
 * quote becomes `\'`, a `%` becomes `\%` (cron turns it back into `%`, and `%` means nothing to
 * the shell), a backslash becomes `'\'`. So every backslash in the result is followed by `'` or
 * is the `\%` escape, and no cron implementation can read it differently. Works the same in
 * dash, bash and zsh.
 */
export function quoteCronShellWord(word: string): string {
  if (bareShellWord.test(word)) return word;
  let quoted = '';
  let run = '';
  const flush = (): void => {
    if (run !== '') quoted += `'${run}'`;
    run = '';
  };
  for (const character of word) {
    if (character === "'") {
      flush();
      quoted += "\\'";
    } else if (character === '%') {
      flush();
      quoted += '\\%';
    } else if (character === '\\') {
      flush();
      quoted += "'\\'";
    } else {
      run += character;
    }
  }
  flush();
  return quoted === '' ? "''" : quoted;
}

/**
 * The command part of a cron line for `argv`: each word checked and quoted, the program an
 * absolute path (cron's PATH is minimal), the whole within the length every cron accepts.
 */
export function renderCronCommand(argv: readonly string[], jobId: string): string {
  if (argv.length === 0) throw invalid(jobId, 'the run command is empty');
  const program = argv[0] ?? '';
  if (!program.startsWith('/')) {
    throw invalid(
      jobId,
      `the run command must start with an absolute path (cron's PATH is minimal), not ${JSON.stringify(program)}`,
    );
  }
  argv.forEach((word, index) => assertCronSafeText(word, `argument ${index}`, jobId));
  const command = argv.map(quoteCronShellWord).join(' ');
  const bytes = Buffer.byteLength(command, 'utf8');
  if (bytes > maxCronCommandBytes) {
    throw invalid(
      jobId,
      `the rendered command is ${bytes} bytes; cron accepts at most ${maxCronCommandBytes} (shorten the agent's install or state directory path)`,
    );
  }
  return command;
}

/** True if `user` is a POSIX user name as useradd accepts it (what cron can look up). */
export function isCronUserName(user: string): boolean {
  return cronUserPattern.test(user);
}

/** Throws unless `user` is a POSIX user name cron can look up (the cron.d user field). */
export function assertCronUser(user: string, jobId: string): void {
  if (!isCronUserName(user)) {
    throw invalid(
      jobId,
      `user ${JSON.stringify(user)} is not a user name cron accepts (lowercase letters, digits, "_" and "-", starting with a letter or "_", at most 32 characters)`,
    );
  }
}

function canonicalTimeZone(zone: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: zone }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/**
 * Cron evaluates every line in its own zone (the system zone; Debian's cron has no per-line
 * zone). A schedule computed for another zone would fire at the wrong instants, silently, so it
 * is refused: the planner must translate the job's zone into cron's first.
 */
export function assertCronTimeZone(job: ScheduledJob, cronTimeZone: string): void {
  const wanted = job.schedule.timezone;
  if (wanted === cronTimeZone) return;
  const canonical = canonicalTimeZone(wanted);
  if (canonical !== undefined && canonical === canonicalTimeZone(cronTimeZone)) return;
  throw invalid(
    job.id,
    `the native schedule is for time zone ${JSON.stringify(wanted)} but cron here runs in ${JSON.stringify(cronTimeZone)}; translate the schedule into cron's zone before installing it`,
  );
}

/** The id comment line for `id`. */
export function renderJobIdComment(id: string): string {
  return `${jobIdCommentPrefix}${id}`;
}

/** The job id named by an id comment line, or undefined when `line` is not one. */
export function parseJobIdComment(line: string): string | undefined {
  if (!line.startsWith(jobIdCommentPrefix)) return undefined;
  const id = line.slice(jobIdCommentPrefix.length);
  return isJobId(id) ? id : undefined;
}

export interface CronEntryParts {
  /** Five fields or a macro. */
  expression: string;
  /** The /etc/cron.d user field; absent in a user crontab. */
  user?: string;
  command: string;
  suspended: boolean;
}

/** One cron line (`schedule [user] command`), commented out when the job is suspended. */
export function renderCronLine(parts: CronEntryParts): string {
  const fields = [
    parts.expression,
    ...(parts.user === undefined ? [] : [parts.user]),
    parts.command,
  ];
  const line = fields.join(' ');
  return parts.suspended ? `${suspendedLinePrefix}${line}` : line;
}
