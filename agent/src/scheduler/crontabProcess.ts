import { spawn } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { debianListingOf, firstAmbiguousLine, withoutSpoolHeader } from './crontabListing.js';
import { SchedulerError } from './schedulerBackend.js';

/**
 * Runs the system's `crontab` binary: the only way to read and replace a user's crontab that
 * every cron implementation supports, that takes cron's own locks and that makes the daemon
 * reload. `crontab -` installs its input atomically (a temporary file renamed into the spool),
 * after checking the syntax of every line; a crontab it refuses is left as it was.
 */

export interface CrontabProgram {
  /** The binary, `crontab` (found through PATH) by default. */
  path: string;
  /** `crontab -u USER` (root only); undefined for the agent's own crontab. */
  user: string | undefined;
  /** Kills the process after this long; the operation then fails as transient. */
  timeoutMs: number;
  /** Whose crontab it is (the spool file's name); undefined when unknown. */
  owner: string | undefined;
  /** Where cron keeps crontabs, to read the exact bytes when `crontab -l` escaped some. */
  spoolDirectories: readonly string[];
}

interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  stderr: string;
}

/** Which crontab the messages are about: "the crontab of user backup" or "this user's crontab". */
export function describeCrontab(program: CrontabProgram): string {
  return program.user === undefined
    ? "the agent user's crontab"
    : `the crontab of user ${program.user}`;
}

function userArguments(program: CrontabProgram): string[] {
  return program.user === undefined ? [] : ['-u', program.user];
}

function runCrontab(
  program: CrontabProgram,
  args: readonly string[],
  input: Buffer | undefined,
): Promise<ProcessResult> {
  const commandLine = [program.path, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(program.path, args, {
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, program.timeoutMs);
    child.stdout?.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (error.code === 'ENOENT') {
        reject(
          new SchedulerError(
            `${commandLine}: the crontab program ${JSON.stringify(program.path)} was not found; install cron (Debian: apt-get install cron) or set the path to crontab`,
            'stalled',
            { cause: error },
          ),
        );
      } else {
        reject(
          new SchedulerError(`${commandLine} could not be started: ${error.message}`, 'transient', {
            cause: error,
          }),
        );
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        reject(
          new SchedulerError(
            `${commandLine} did not finish within ${program.timeoutMs} ms and was killed`,
            'transient',
          ),
        );
        return;
      }
      resolve({
        code,
        signal,
        stdout: Buffer.concat(stdout),
        stderr: Buffer.concat(stderr).toString('utf8').trim(),
      });
    });
    if (input !== undefined && child.stdin !== null) {
      // EPIPE when crontab exits early (a usage error): the exit status tells what happened.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
  });
}

function failure(
  program: CrontabProgram,
  args: readonly string[],
  result: ProcessResult,
): SchedulerError {
  const commandLine = [program.path, ...args].join(' ');
  if (result.code === null) {
    return new SchedulerError(
      `${commandLine} was killed by ${result.signal ?? 'a signal'}`,
      'transient',
    );
  }
  const said = result.stderr === '' ? 'no message' : JSON.stringify(result.stderr);
  // Debian's crontab(1) takes at most 10,000 lines, and each job is two.
  const advice = /too long/i.test(result.stderr)
    ? '. The crontab scheduler holds two lines per job: for this many jobs use the cron.d scheduler (as root), or split the jobs between agents with spec.targets'
    : '';
  return new SchedulerError(
    `${commandLine} failed with exit status ${result.code} (${said}); nothing was written to ${describeCrontab(program)}${advice}`,
    'stalled',
  );
}

/** "no crontab for USER": the one failure of `crontab -l` that means an empty crontab. */
const noCrontab = /^no crontab for /m;

/**
 * The crontab's bytes exactly as `crontab -l` prints them, or null when the user has none.
 * Every other failure throws: a crontab that cannot be read must never be overwritten.
 */
export async function readCrontab(program: CrontabProgram): Promise<Buffer | null> {
  const args = [...userArguments(program), '-l'];
  const result = await runCrontab(program, args, undefined);
  if (result.code === 0) return result.stdout;
  if (result.code === 1 && noCrontab.test(result.stderr) && result.stdout.length === 0) return null;
  throw failure(program, args, result);
}

/** Whether two reads found the same crontab (null: none). */
export function sameCrontabContent(a: Buffer | null, b: Buffer | null): boolean {
  if (a === null || b === null) return a === b;
  return a.equals(b);
}

/** The spool file's bytes when it is readable and `crontab -l` shows exactly it. */
async function spoolBytesMatching(
  program: CrontabProgram,
  listing: Buffer,
): Promise<Buffer | undefined> {
  if (program.owner === undefined) return undefined;
  for (const directory of program.spoolDirectories) {
    let spoolFile: Buffer;
    try {
      spoolFile = await readFile(path.join(directory, program.owner));
    } catch {
      continue;
    }
    for (const candidate of [withoutSpoolHeader(spoolFile), spoolFile]) {
      if (debianListingOf(candidate).equals(listing)) return candidate;
    }
  }
  return undefined;
}

/**
 * The crontab's exact bytes, or null when the user has none. This is `crontab -l`, except where
 * the listing escaped control characters (Debian prints CR as `\r`, see crontabListing.ts):
 * then the spool file (readable as root) is read and used if the listing is exactly what it
 * shows. When the bytes cannot be known, throws stalled: rewriting would corrupt a line.
 */
export async function readCrontabExactly(program: CrontabProgram): Promise<Buffer | null> {
  const listing = await readCrontab(program);
  if (listing === null) return null;
  const ambiguousLine = firstAmbiguousLine(listing);
  if (ambiguousLine === undefined) return listing;
  const exact = await spoolBytesMatching(program, listing);
  if (exact !== undefined) return exact;
  if (!sameCrontabContent(listing, await readCrontab(program))) {
    throw new SchedulerError(
      `${describeCrontab(program)} changed while the agent was reading it; nothing was written`,
      'transient',
    );
  }
  throw new SchedulerError(
    `${describeCrontab(program)}, line ${ambiguousLine}: crontab -l shows a carriage return or backspace as "\\r" or "\\b" on this system (Debian), so the agent cannot tell whether this line holds a control character or a backslash, and rewriting the crontab could change the line. Run the agent as root (it then reads the spool file in ${program.spoolDirectories.join(' or ')}), or edit the line (crontab -e) so it holds neither.`,
    'stalled',
  );
}

/** Replaces the crontab with `content` through `crontab -` (atomic; syntax-checked by cron). */
export async function writeCrontab(program: CrontabProgram, content: Buffer): Promise<void> {
  const args = [...userArguments(program), '-'];
  const result = await runCrontab(program, args, content);
  if (result.code !== 0) throw failure(program, args, result);
}

/** Deletes the crontab (`crontab -r`), leaving the user as if they never had one. */
export async function removeCrontab(program: CrontabProgram): Promise<void> {
  const args = [...userArguments(program), '-r'];
  const result = await runCrontab(program, args, undefined);
  if (result.code !== 0) throw failure(program, args, result);
}
