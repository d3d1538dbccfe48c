import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  realpathSync,
  statSync,
  type Stats,
} from 'node:fs';
import path from 'node:path';

/**
 * The safety of the agent's state directory, checked in one place. The directory holds what the
 * agent runs (run specs, with their env values), what it may prune (the inventory) and every
 * run's output, so a user who can write into it, or into any folder above it, could make the
 * agent run or remove anything. The rules, like OpenSSH's StrictModes:
 *
 * - the state directory is a directory owned by the agent's user (the process's effective uid)
 *   and writable by nobody else. It is created with mode 0700; a mode that lets others read or
 *   enter it (0755, 0750…) is repaired to 0700 with a warning. One that lets another user write
 *   (group or other write), or another owner, is refused: someone else may already have changed
 *   what is inside, so a human must look before the agent trusts it again;
 * - every folder above it belongs to root or to the agent's user, and is not writable by group or
 *   others, unless it has the sticky bit (like /tmp, mode 1777): there, others cannot rename or
 *   remove what is not theirs, so the state directory's own entry stays the agent's. A symbolic
 *   link as the state directory is followed, and its target and the folders above it are checked
 *   the same way;
 * - nothing inside it is reached through a symbolic link: every folder the agent creates or
 *   enters below the state directory is checked with lstat (ensureRealDirectories), and files are
 *   opened with O_NOFOLLOW (readStateFile, stateFileFlags). Only the agent's user can write in
 *   the directory, so a check followed by an open cannot be raced by anyone else.
 *
 * `secureStateDirectory` runs at the start of every command that uses the state directory (sync,
 * plan, status, uninstall, run through the full CLI, enroll). The run wrapper's fast path, which
 * cron starts on every fire, checks only the state directory itself with one stat
 * (checkStateDirectoryForRun); the folders above it are checked by every other command,
 * including the sync that installed the scheduler entry.
 */

/** Needs a human: the state directory is unsafe, or a symbolic link was found inside it. */
export class StateDirectoryError extends Error {
  override readonly name = 'StateDirectoryError';
}

/**
 * Whether `error` is a StateDirectoryError. By name, not instanceof: the wrapper's bundle
 * (dist/fast) holds its own copy of this module next to the one the state store loads.
 */
export function isStateDirectoryError(error: unknown): error is StateDirectoryError {
  return error instanceof Error && error.name === 'StateDirectoryError';
}

/** O_NOFOLLOW: opening a symbolic link fails with ELOOP instead of opening its target. */
export const noFollow = constants.O_NOFOLLOW;

/** The effective uid of this process: the agent's user. */
function agentUid(): number {
  return process.geteuid?.() ?? process.getuid?.() ?? 0;
}

const octal = (mode: number) => (mode & 0o7777).toString(8).padStart(4, '0');

/** A user's name from /etc/passwd (only on the error path), else `uid N`. */
function userName(uid: number): string {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const [name, , id] = line.split(':');
      if (id === String(uid) && name !== undefined && name !== '') return name;
    }
  } catch {
    // No passwd file (a container): the number has to do.
  }
  return `uid ${uid}`;
}

function describe(stats: Stats): string {
  return `owner ${userName(stats.uid)}, mode ${octal(stats.mode)}`;
}

const isErrno = (error: unknown, code: string) =>
  (error as NodeJS.ErrnoException | undefined)?.code === code;

/**
 * Why the state directory itself may not be used (undefined: it may), from its stat. `looseMode`
 * reports a mode to repair: readable or enterable by others, but not writable.
 */
function stateDirectoryProblem(
  stateDir: string,
  stats: Stats,
  uid: number,
): { refuse: string } | { repair: true } | undefined {
  const user = userName(uid);
  if (!stats.isDirectory()) {
    return {
      refuse: `refusing to use the state directory ${stateDir}: it is not a directory (${describe(stats)}). Fix: move it away (mv ${stateDir} ${stateDir}.old), or choose another --state-dir`,
    };
  }
  if (stats.uid !== uid) {
    return {
      refuse: `refusing to use the state directory ${stateDir}: it belongs to ${userName(stats.uid)}, not to ${user}, the user the agent runs as (${describe(stats)}); that user can change what the agent runs. If its files are this agent's, fix it with: chown -R ${user} ${stateDir} && chmod 700 ${stateDir}`,
    };
  }
  if ((stats.mode & 0o022) !== 0) {
    return {
      refuse: `refusing to use the state directory ${stateDir}: other users can write into it (${describe(stats)}), so its files may have been changed by someone else. Check its content, then fix it with: chmod 700 ${stateDir}`,
    };
  }
  if ((stats.mode & 0o077) !== 0) return { repair: true };
  return undefined;
}

/** Why a folder above the state directory makes it unsafe; undefined when it does not. */
function parentProblem(
  stateDir: string,
  parent: string,
  stats: Stats,
  uid: number,
): string | undefined {
  const user = userName(uid);
  const prefix = `refusing to use the state directory ${stateDir}: the folder above it ${parent}`;
  if (stats.uid !== 0 && stats.uid !== uid) {
    return `${prefix} belongs to ${userName(stats.uid)} (${describe(stats)}), who could replace the state directory. Fix: chown root ${parent}, or choose a --state-dir whose every folder belongs to root${uid === 0 ? '' : ` or to ${user}`}`;
  }
  const sticky = (stats.mode & 0o1000) !== 0;
  if ((stats.mode & 0o022) !== 0 && !sticky) {
    return `${prefix} is writable by ${(stats.mode & 0o002) !== 0 ? 'every user' : 'its group'} (${describe(stats)}), who could replace the state directory. Fix: chmod go-w ${parent} (or chmod +t ${parent} for a shared folder like /tmp), or choose another --state-dir`;
  }
  return undefined;
}

/** The folders above `directory` (a real, absolute path), nearest first, up to `/`. */
function parentsOf(directory: string): string[] {
  const parents: string[] = [];
  for (let current = path.dirname(directory); ; current = path.dirname(current)) {
    parents.push(current);
    if (current === path.dirname(current)) return parents;
  }
}

function checkParents(stateDir: string, directory: string, uid: number): void {
  for (const parent of parentsOf(directory)) {
    const problem = parentProblem(stateDir, parent, statSync(parent), uid);
    if (problem !== undefined) throw new StateDirectoryError(problem);
  }
}

export interface SecureStateDirectoryOptions {
  /** Create the directory when it is missing (sync, uninstall, enroll); else answer 'missing'. */
  create: boolean;
  /** Where the repair of a loose mode is reported (the command's log). */
  warn: (message: string) => void;
}

/**
 * Checks the state directory and every folder above it (see the module comment), creating the
 * directory (0700) when asked and repairing a mode that lets others read it.
 *
 * @throws StateDirectoryError when it is unsafe; the message names the path, the owner and mode
 * found, and the command that fixes it.
 */
export function secureStateDirectory(
  stateDir: string,
  options: SecureStateDirectoryOptions,
): 'ready' | 'missing' {
  const uid = agentUid();
  const absolute = path.resolve(stateDir);
  let stats: Stats;
  try {
    stats = statSync(absolute);
  } catch (error) {
    if (!isErrno(error, 'ENOENT')) throw error;
    if (!options.create) return 'missing';
    // Never create anything below a folder that someone else could change.
    let existing = path.dirname(absolute);
    while (!existsAsDirectory(existing)) existing = path.dirname(existing);
    const real = realpathSync(existing);
    const problem = parentProblem(absolute, real, statSync(real), uid);
    if (problem !== undefined) throw new StateDirectoryError(problem);
    checkParents(absolute, real, uid);
    mkdirSync(absolute, { recursive: true, mode: 0o700 });
    chmodSync(absolute, 0o700); // whatever the umask
    return 'ready';
  }
  const real = realpathSync(absolute);
  if (real !== absolute) checkParents(absolute, realpathSync(path.dirname(absolute)), uid);
  checkParents(absolute, real, uid);
  const problem = stateDirectoryProblem(absolute, stats, uid);
  if (problem !== undefined && 'refuse' in problem) throw new StateDirectoryError(problem.refuse);
  if (problem !== undefined) {
    chmodSync(real, 0o700);
    options.warn(
      `the state directory ${absolute} had mode ${octal(stats.mode)}, which lets other users read the agent's files (run specs hold env values); repaired to 0700`,
    );
  }
  return 'ready';
}

function existsAsDirectory(directory: string): boolean {
  try {
    return statSync(directory).isDirectory();
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return false;
    throw error;
  }
}

/**
 * The run wrapper's check, kept to one stat because cron starts the wrapper on every fire: the
 * state directory exists, is the agent user's and writable by nobody else; a mode that lets
 * others read it is repaired (the warning goes to stderr, which cron mails once). The folders
 * above it are checked by every other command (secureStateDirectory).
 *
 * @throws StateDirectoryError with a message that says what to do.
 */
export function checkStateDirectoryForRun(stateDir: string, warn: (message: string) => void): void {
  let stats: Stats;
  try {
    stats = statSync(stateDir);
  } catch (error) {
    if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) {
      throw new StateDirectoryError(
        `the state directory ${stateDir} does not exist, so no job is installed there. Check the --state-dir of the scheduler entry that started this run; if it is right, install the jobs with: cronfleet-agent sync --once --state-dir ${stateDir}`,
      );
    }
    if (isErrno(error, 'EACCES')) {
      throw new StateDirectoryError(
        `cannot reach the state directory ${stateDir}: a folder on its path does not let ${userName(agentUid())} through. Run the wrapper as the agent's user, or fix the folder's permissions`,
      );
    }
    throw error;
  }
  const problem = stateDirectoryProblem(stateDir, stats, agentUid());
  if (problem !== undefined && 'refuse' in problem) throw new StateDirectoryError(problem.refuse);
  if (problem !== undefined) {
    chmodSync(stateDir, 0o700);
    warn(
      `the state directory ${stateDir} had mode ${octal(stats.mode)}, which lets other users read the agent's files; repaired to 0700`,
    );
  }
}

function symlinkFound(file: string): StateDirectoryError {
  return new StateDirectoryError(
    `${file} is a symbolic link; the agent never follows a link inside its state directory, so that nothing it writes or reads can be redirected. Remove the link (rm ${file}); the agent recreates what it needs`,
  );
}

/**
 * Makes each folder of `chain` (each inside the one before; the first inside an existing,
 * checked folder) exist as a real directory: an existing one is checked with lstat, a missing
 * one is created with `mode`. One lstat per existing folder.
 *
 * @throws StateDirectoryError when one of them is a symbolic link or not a directory.
 */
export function ensureRealDirectories(chain: readonly string[], mode = 0o700): void {
  for (const [index, directory] of chain.entries()) {
    let stats: Stats | undefined;
    try {
      stats = lstatSync(directory);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
    if (stats === undefined) {
      try {
        mkdirSync(directory, { recursive: index === 0, mode });
        continue;
      } catch (error) {
        if (!isErrno(error, 'EEXIST')) throw error;
        stats = lstatSync(directory); // created meanwhile by another process
      }
    }
    if (stats.isSymbolicLink()) throw symlinkFound(directory);
    if (!stats.isDirectory()) {
      throw new StateDirectoryError(
        `${directory} is not a directory; the agent keeps its own folders there. Move it away (mv ${directory} ${directory}.old)`,
      );
    }
  }
}

/**
 * Whether each folder of `chain` (as in ensureRealDirectories) exists as a real directory,
 * without creating any: false when one is missing.
 *
 * @throws StateDirectoryError when one of them is a symbolic link.
 */
export function areRealDirectories(chain: readonly string[]): boolean {
  for (const directory of chain) {
    let stats: Stats;
    try {
      stats = lstatSync(directory);
    } catch (error) {
      if (isErrno(error, 'ENOENT') || isErrno(error, 'ENOTDIR')) return false;
      throw error;
    }
    if (stats.isSymbolicLink()) throw symlinkFound(directory);
    if (!stats.isDirectory()) return false;
  }
  return true;
}

/** The folders from `base` (excluded) down to `base/segments…`, for the two functions above. */
export function directoryChain(base: string, ...segments: string[]): string[] {
  const chain: string[] = [];
  let current = base;
  for (const segment of segments) {
    current = path.join(current, segment);
    chain.push(current);
  }
  return chain;
}

/**
 * Reads a file of the state directory without following a symbolic link: undefined when it is
 * missing. A link fails with a StateDirectoryError naming it; other errors (EACCES…) are thrown
 * as they are, for the caller to describe (describeStateFileError). With `privateMode` (0600 for
 * run specs), a file whose mode allows more is narrowed to it.
 */
export function readStateFile(file: string, privateMode?: number): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | noFollow);
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return undefined;
    if (isErrno(error, 'ELOOP')) throw symlinkFound(file);
    throw error;
  }
  try {
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      throw new StateDirectoryError(`${file} is not a regular file; move it away`);
    }
    // Written with a looser mode by an earlier version: repaired on the way (no extra call when
    // the mode is right).
    if (privateMode !== undefined && (stats.mode & 0o777 & ~privateMode) !== 0) {
      fchmodSync(fd, privateMode);
    }
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * A sentence for an error met on a state file: what is wrong and how to fix it, without a stack
 * or the system's own text. StateDirectoryErrors already are such sentences.
 */
export function describeStateFileError(file: string, error: unknown): string {
  if (isStateDirectoryError(error)) return error.message;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const user = userName(agentUid());
  let owner = '';
  try {
    owner = ` (${describe(lstatSync(file))})`;
  } catch {
    // Described without its owner and mode.
  }
  switch (code) {
    case 'EACCES':
    case 'EPERM':
      return `cannot read ${file}: permission denied to ${user}${owner}. Run the agent as the user that owns its state directory, or fix the file with: chown ${user} ${file} && chmod 600 ${file}`;
    case 'EISDIR':
      return `${file} is a directory where the agent expects a file; move it away (mv ${file} ${file}.old)`;
    case 'ENOTDIR':
      return `a part of the path ${file} is not a directory; move it away`;
    case 'EIO':
    case 'ENOSPC':
    case 'EROFS':
      return `cannot use ${file}: the file system reports ${code}; check the disk`;
    default:
      return `cannot use ${file}${code === undefined ? '' : ` (${code})`}; check the file and its permissions`;
  }
}

/**
 * The commands that use the state directory, checked before they start: those that write it
 * create it when missing; those that only read it leave a missing one alone (`run` then says so,
 * `status` shows nothing installed). `adopt` does not use it.
 */
const stateDirectoryUse: Readonly<Record<string, 'create' | 'read'>> = {
  sync: 'create',
  uninstall: 'create',
  enroll: 'create',
  plan: 'read',
  status: 'read',
  run: 'read',
};

/**
 * main()'s check before `command` starts: undefined when it may go on, else the refusal to print
 * (exit 2). A repaired mode is reported through `warn`.
 */
export function stateDirectoryRefusal(
  command: string,
  stateDir: string,
  warn: (message: string) => void,
): string | undefined {
  const use = Object.hasOwn(stateDirectoryUse, command) ? stateDirectoryUse[command] : undefined;
  if (use === undefined) return undefined;
  try {
    secureStateDirectory(stateDir, { create: use === 'create', warn });
    return undefined;
  } catch (error) {
    if (isStateDirectoryError(error)) return error.message;
    return describeStateFileError(stateDir, error);
  }
}
