import { randomUUID } from 'node:crypto';

import type { Logger } from 'pino';
import { GitError, GitPluginError, simpleGit } from 'simple-git';

import { GIT_ENVIRONMENT_VARIABLES } from './gitProcessEnvironment.js';
import { killMarkedProcesses } from './markedProcesses.js';

/**
 * Runs one git command through simple-git with the two limits a sync needs: a stall timeout
 * (no output on stdout or stderr for that long) and an overall deadline that output, progress
 * included, cannot extend. Either limit, or the caller's AbortSignal, kills git and every process
 * it started (see markedProcesses.ts), and the failure says which limit fired.
 */
export interface GitCommandContext {
  cwd: string;
  /** The complete child environment (gitEnvironment). */
  env: Readonly<Record<string, string>>;
  /** `-c name=value` settings for this command only. */
  config: readonly string[];
  timeoutMs: number;
  stallTimeoutMs: number;
  signal?: AbortSignal | undefined;
  logger?: Logger | undefined;
  /** Replaces anything secret-looking in argv and output before it is logged or kept. */
  redact: (text: string) => string;
}

export type GitCommandInterruption = 'stall-timeout' | 'deadline' | 'aborted';

/** A git command that failed: its exit code, its (redacted) output, or the limit that fired. */
export class GitCommandFailure extends Error {
  readonly args: readonly string[];
  readonly exitCode: number | undefined;
  readonly output: string;
  readonly interruption: GitCommandInterruption | undefined;
  readonly elapsedMs: number;

  constructor(init: {
    args: readonly string[];
    exitCode: number | undefined;
    output: string;
    interruption: GitCommandInterruption | undefined;
    elapsedMs: number;
    cause?: unknown;
  }) {
    super(
      init.interruption === undefined
        ? `git ${init.args[0] ?? ''} exited with ${init.exitCode ?? 'an error'}: ${init.output}`
        : `git ${init.args[0] ?? ''} was interrupted (${init.interruption}) after ${init.elapsedMs} ms`,
      init.cause === undefined ? undefined : { cause: init.cause },
    );
    this.name = 'GitCommandFailure';
    this.args = init.args;
    this.exitCode = init.exitCode;
    this.output = init.output;
    this.interruption = init.interruption;
    this.elapsedMs = init.elapsedMs;
  }
}

/** Environment variable that marks every process of one git command (and its children). */
export const GIT_OPERATION_MARKER = 'CRONFLEET_GIT_OPERATION';

const KEPT_OUTPUT_CHARS = 4000;

/** Extends GitError so that simple-git passes it through instead of wrapping it. */
class ExitFailure extends GitError {
  constructor(
    readonly exitCode: number,
    readonly output: string,
  ) {
    super(undefined, output);
  }
}

/** Runs `git <args>` and resolves with its trimmed stdout; rejects with GitCommandFailure. */
export async function runGit(args: readonly string[], context: GitCommandContext): Promise<string> {
  const started = Date.now();
  const marker = randomUUID();
  const controller = new AbortController();
  let interruption: GitCommandInterruption | undefined;
  let stallTimer: NodeJS.Timeout | undefined;

  const interrupt = (why: GitCommandInterruption): void => {
    if (interruption !== undefined) return;
    interruption = why;
    clearTimeout(stallTimer);
    controller.abort();
    const killed = killMarkedProcesses(GIT_OPERATION_MARKER, marker);
    context.logger?.warn(
      { command: args[0], interruption: why, killedPids: killed, elapsedMs: Date.now() - started },
      'git command interrupted',
    );
  };
  const armStallTimer = (): void => {
    if (interruption !== undefined) return;
    clearTimeout(stallTimer);
    stallTimer = setTimeout(() => interrupt('stall-timeout'), context.stallTimeoutMs);
  };
  const deadline = setTimeout(() => interrupt('deadline'), context.timeoutMs);
  const onCallerAbort = (): void => interrupt('aborted');
  if (context.signal?.aborted === true) onCallerAbort();
  context.signal?.addEventListener('abort', onCallerAbort);
  armStallTimer();

  context.logger?.debug({ args: args.map(context.redact), cwd: context.cwd }, 'git command');
  const git = simpleGit({
    baseDir: context.cwd,
    abort: controller.signal,
    config: [...context.config],
    allowEnvironment: [...GIT_ENVIRONMENT_VARIABLES, GIT_OPERATION_MARKER],
    unsafe: {
      // Every value below is built by the agent (gitProcessEnvironment.ts), never taken from a
      // manifest or the repository; the URL and the ref are validated before they get here.
      allowUnsafeAskPass: true,
      allowUnsafeSshCommand: true,
      allowUnsafeConfigPaths: true,
      allowUnsafeCredentialHelper: true,
    },
    errors: (error, result) => {
      if (error instanceof GitPluginError) return error;
      if (result.exitCode === 0) return undefined;
      const output = Buffer.concat([...result.stdErr, ...result.stdOut]).toString('utf8');
      return new ExitFailure(result.exitCode, output);
    },
  })
    .env({ ...context.env, [GIT_OPERATION_MARKER]: marker })
    .outputHandler((_command, stdout, stderr) => {
      stdout.on('data', armStallTimer);
      stderr.on('data', armStallTimer);
    });

  try {
    const stdout = await git.raw([...args]);
    if (interruption !== undefined) throw new Error('interrupted');
    return stdout.trim();
  } catch (error) {
    const elapsedMs = Date.now() - started;
    if (interruption !== undefined) {
      throw new GitCommandFailure({
        args: args.map(context.redact),
        exitCode: undefined,
        output: error instanceof ExitFailure ? keepTail(context.redact(error.output)) : '',
        interruption,
        elapsedMs,
        cause: error,
      });
    }
    const output = error instanceof ExitFailure ? error.output : String(error);
    throw new GitCommandFailure({
      args: args.map(context.redact),
      exitCode: error instanceof ExitFailure ? error.exitCode : undefined,
      output: keepTail(context.redact(output)),
      interruption: undefined,
      elapsedMs,
    });
  } finally {
    clearTimeout(deadline);
    clearTimeout(stallTimer);
    context.signal?.removeEventListener('abort', onCallerAbort);
  }
}

function keepTail(text: string): string {
  const trimmed = text.trim();
  return trimmed.length <= KEPT_OUTPUT_CHARS ? trimmed : `…${trimmed.slice(-KEPT_OUTPUT_CHARS)}`;
}
