import { execFile, spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { currentUserName } from '../processUser.js';
import { PipeMemoryTrimmer } from './pipeMemory.js';
import { processStartTime, signalGroup } from './processGroup.js';

/**
 * Starts a job's command the way the run wrapper must: a string through /bin/sh, an argv list
 * without a shell; in its own process group, so that a timeout or a stop ends the command and
 * every process it started (TERM to the group, then KILL after a grace period); as another user
 * when the wrapper runs as root; with the job's environment on top of a minimal one; stdin from
 * /dev/null, stdout and stderr merged into one pipe read chunk by chunk (with back-pressure).
 */

export interface JobProcessOptions {
  command: string | readonly string[];
  env: Readonly<Record<string, string>>;
  workingDir: string | null;
  /** Run as this user (root only); resolved through the system's user database. */
  user: string | null;
  timeoutMs: number | null;
  /** Between TERM and KILL when the timeout strikes or the run is stopped. Default 10 s. */
  killGraceMs?: number | undefined;
  /** The wrapper's own environment: PATH, LANG and the like are passed on. */
  baseEnvironment: Readonly<Record<string, string | undefined>>;
  /**
   * Receives each chunk the command writes to stdout or stderr (one stream, in order). A returned
   * promise pauses reading until it settles (back-pressure: a slow terminal slows the job, and
   * memory stays constant).
   */
  onOutput?: ((chunk: Buffer) => void | Promise<void>) | undefined;
  /** Called once the command runs: its pid, which is also its process group id. */
  onSpawn?: ((pid: number, startTime: string | undefined) => void) | undefined;
  /** Aborting stops the command like a timeout does (TERM to the group, KILL after the grace). */
  signal?: AbortSignal | undefined;
  /**
   * After the command exited, how long to wait for its output pipes to close. A background
   * process it left behind may hold them open; the wrapper stops reading after this. Default 2 s.
   */
  outputDrainMs?: number | undefined;
}

export interface JobProcessResult {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  timedOut: boolean;
  /** The run was stopped through `signal` (a Replace, or the wrapper itself was told to stop). */
  stopped: boolean;
  /** The group outlived TERM by the grace period and got KILL. */
  killedAfterGrace: boolean;
  /**
   * The process could not be started (unknown user, no working directory…). A program that does
   * not exist or cannot be executed is reported by the shell instead: exit 127 or 126 and its
   * message in the output, as under cron.
   */
  startError: string | null;
  /** The exit code a shell gives for such a start: 127. */
  startErrorCode: number | null;
  pid: number | null;
  durationMs: number;
}

/** Variables a job inherits from the wrapper; everything else comes from spec.env. */
const inheritedVariables = ['PATH', 'LANG', 'LC_ALL', 'TZ', 'TMPDIR', 'SHELL'];

export interface UserAccount {
  uid: number;
  gid: number;
  home: string;
  shell: string;
}

/** The account of `user` from the system's user database (getent passwd). */
export async function lookUpUser(user: string): Promise<UserAccount> {
  const output = await new Promise<string>((resolve, reject) => {
    execFile('getent', ['passwd', user], { timeout: 10_000 }, (error, stdout) => {
      if (error === null) resolve(stdout);
      else
        reject(
          new Error(`spec.user: no user "${user}" on this machine (getent passwd ${user})`, {
            cause: error,
          }),
        );
    });
  });
  const fields = output.trim().split('\n')[0]?.split(':') ?? [];
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(`spec.user: cannot read the account of "${user}" from getent passwd`);
  }
  return { uid, gid, home: fields[5] ?? '/', shell: fields[6] ?? '/bin/sh' };
}

const signalNumbers: Partial<Record<NodeJS.Signals, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGILL: 4,
  SIGTRAP: 5,
  SIGABRT: 6,
  SIGBUS: 7,
  SIGFPE: 8,
  SIGKILL: 9,
  SIGUSR1: 10,
  SIGSEGV: 11,
  SIGUSR2: 12,
  SIGPIPE: 13,
  SIGALRM: 14,
  SIGTERM: 15,
  SIGXCPU: 24,
  SIGXFSZ: 25,
};

/** The exit code a shell would report: the code, or 128 + the signal number (Linux numbering). */
export function shellExitCode(exitCode: number | null, signal: NodeJS.Signals | null): number {
  if (exitCode !== null) return exitCode;
  return 128 + (signal === null ? 0 : (signalNumbers[signal] ?? 0));
}

function startFailure(started: number, message: string, code: number): JobProcessResult {
  return {
    exitCode: null,
    signal: null,
    timedOut: false,
    stopped: false,
    killedAfterGrace: false,
    startError: message,
    startErrorCode: code,
    pid: null,
    durationMs: Date.now() - started,
  };
}

export async function runJobProcess(options: JobProcessOptions): Promise<JobProcessResult> {
  const started = Date.now();
  const env: Record<string, string> = {};
  for (const name of inheritedVariables) {
    const value = options.baseEnvironment[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= '/usr/local/bin:/usr/bin:/bin';
  let account: UserAccount | undefined;
  try {
    if (options.user !== null && options.user !== currentUserName()) {
      account = await lookUpUser(options.user);
      env.HOME = account.home;
      env.USER = options.user;
      env.LOGNAME = options.user;
    } else if (options.baseEnvironment.HOME !== undefined) {
      env.HOME = options.baseEnvironment.HOME;
    }
  } catch (error) {
    return startFailure(started, (error as Error).message, 127);
  }
  Object.assign(env, options.env);
  // The manifest's default working directory: the home of the user the job runs as.
  const cwd = options.workingDir ?? account?.home ?? env.HOME;
  if (cwd !== undefined) {
    // spawn reports a missing cwd as "spawn /bin/sh ENOENT", which points at the wrong thing.
    // Like cronie, a home directory that cannot be entered fails the run.
    const where =
      options.workingDir !== null
        ? `workingDir ${cwd}`
        : `the home directory ${cwd}${options.user === null ? '' : ` of ${options.user}`}`;
    try {
      if (!statSync(cwd).isDirectory()) {
        return startFailure(started, `${where} is not a directory`, 127);
      }
    } catch (error) {
      return startFailure(
        started,
        `${where}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        127,
      );
    }
  }
  if (options.signal?.aborted === true) {
    return { ...startFailure(started, 'stopped before the command started', 143), stopped: true };
  }

  const argv =
    typeof options.command === 'string' ? ['/bin/sh', '-c', options.command] : options.command;

  return new Promise((resolve) => {
    let timedOut = false;
    let stopped = false;
    let killTimer: NodeJS.Timeout | undefined;
    let killedAfterGrace = false;
    let drainTimer: NodeJS.Timeout | undefined;
    let exited:
      | Omit<JobProcessResult, 'durationMs' | 'timedOut' | 'stopped' | 'killedAfterGrace'>
      | undefined;
    let settled = false;
    const finish = (
      result: Omit<JobProcessResult, 'durationMs' | 'timedOut' | 'stopped' | 'killedAfterGrace'>,
    ) => {
      if (settled) return;
      settled = true;
      clearTimeout(timeoutTimer);
      clearTimeout(killTimer);
      clearTimeout(drainTimer);
      options.signal?.removeEventListener('abort', onAbort);
      resolve({ ...result, timedOut, stopped, killedAfterGrace, durationMs: Date.now() - started });
    };
    // One pipe for stdout and stderr, as cron does, so the output keeps the order it was written
    // in: a /bin/sh trampoline sets `2>&1` and execs the command in place (same pid, so the
    // same process group). It interprets nothing of the command: "$@" passes each argument as it
    // is, and a string command is run by `/bin/sh -c` exactly as without the trampoline.
    const child = spawn('/bin/sh', ['-c', 'exec "$@" 2>&1', 'sh', ...argv], {
      env,
      cwd,
      detached: true, // its own process group
      stdio: ['ignore', 'pipe', 'ignore'],
      ...(account === undefined ? {} : { uid: account.uid, gid: account.gid }),
    });
    const pid = child.pid ?? null;
    const terminate = () => {
      if (pid === null || killTimer !== undefined) return;
      signalGroup(pid, 'SIGTERM');
      killTimer = setTimeout(() => {
        killedAfterGrace = true;
        signalGroup(pid, 'SIGKILL');
      }, options.killGraceMs ?? 10_000);
    };
    const timeoutTimer =
      options.timeoutMs === null || pid === null
        ? undefined
        : setTimeout(() => {
            timedOut = true;
            terminate();
          }, options.timeoutMs);
    const onAbort = () => {
      if (exited !== undefined || pid === null) return;
      stopped = true;
      terminate();
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const output = child.stdout;
    const trimmer = new PipeMemoryTrimmer();
    output.on('data', (chunk: Buffer) => {
      trimmer.read(chunk.length);
      const pending = options.onOutput?.(chunk);
      if (pending !== undefined) {
        output.pause();
        void pending.finally(() => output.resume());
      }
    });
    output.on('error', () => undefined);
    if (pid !== null) options.onSpawn?.(pid, processStartTime(pid));

    child.once('error', (error: NodeJS.ErrnoException) => {
      if (pid !== null) return; // an error after the start (a failed kill): the exit follows
      finish({
        exitCode: null,
        signal: null,
        startError: error.message,
        startErrorCode: error.code === 'ENOENT' ? 127 : 126,
        pid: null,
      });
    });
    child.once('exit', (exitCode, signal) => {
      const ended = { exitCode, signal, startError: null, startErrorCode: null, pid };
      exited = ended;
      // Whatever the command left behind in its group goes with it when it was stopped.
      if ((timedOut || stopped) && pid !== null) signalGroup(pid, 'SIGKILL');
      drainTimer = setTimeout(() => {
        output.destroy();
        finish(ended);
      }, options.outputDrainMs ?? 2_000);
    });
    child.once('close', () => {
      if (exited !== undefined) finish(exited);
    });
  });
}
