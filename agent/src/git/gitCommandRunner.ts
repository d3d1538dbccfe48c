import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';

import type { Logger } from 'pino';

import { killMarkedProcesses } from './markedProcesses.js';

/**
 * Runs one git command (a child process of its own: no library in between, so a tick pays for
 * one spawn and nothing more) with the two limits a sync needs: a stall timeout
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
  /** Called once git's process started. */
  onSpawned?: (() => void) | undefined;
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

/** Runs `git <args>` and resolves with its trimmed stdout; rejects with GitCommandFailure. */
export async function runGit(args: readonly string[], context: GitCommandContext): Promise<string> {
  const started = Date.now();
  const marker = randomUUID();
  let interruption: GitCommandInterruption | undefined;
  let stallTimer: NodeJS.Timeout | undefined;
  let child: ChildProcess | undefined;

  const interrupt = (why: GitCommandInterruption): void => {
    if (interruption !== undefined) return;
    interruption = why;
    clearTimeout(stallTimer);
    // git forwards SIGINT to the helpers it tracks; the marker finds the rest (and git itself).
    child?.kill('SIGINT');
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
  context.signal?.addEventListener('abort', onCallerAbort);

  context.logger?.debug({ args: args.map(context.redact), cwd: context.cwd }, 'git command');
  try {
    if (context.signal?.aborted === true) {
      onCallerAbort();
      throw new Error('aborted before git started');
    }
    armStallTimer();
    const result = await new Promise<{ exitCode: number | null; stdout: Buffer; stderr: Buffer }>(
      (resolve, reject) => {
        // The environment is complete (gitEnvironment): nothing of the agent's own leaks in.
        const spawned = spawn(
          'git',
          [...context.config.flatMap((setting) => ['-c', setting]), ...args],
          {
            cwd: context.cwd,
            env: { ...context.env, [GIT_OPERATION_MARKER]: marker },
            stdio: ['ignore', 'pipe', 'pipe'],
            windowsHide: true,
          },
        );
        child = spawned;
        spawned.once('spawn', () => context.onSpawned?.());
        const stdout: Buffer[] = [];
        const stderr: Buffer[] = [];
        spawned.stdout.on('data', (chunk: Buffer) => {
          stdout.push(chunk);
          armStallTimer();
        });
        spawned.stderr.on('data', (chunk: Buffer) => {
          stderr.push(chunk);
          armStallTimer();
        });
        spawned.once('error', reject);
        spawned.once('close', (exitCode) =>
          resolve({ exitCode, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr) }),
        );
      },
    );
    const output = () => Buffer.concat([result.stderr, result.stdout]).toString('utf8');
    const elapsedMs = Date.now() - started;
    if (interruption !== undefined) {
      throw new GitCommandFailure({
        args: args.map(context.redact),
        exitCode: undefined,
        output: keepTail(context.redact(output())),
        interruption,
        elapsedMs,
      });
    }
    if (result.exitCode !== 0) {
      throw new GitCommandFailure({
        args: args.map(context.redact),
        exitCode: result.exitCode ?? undefined,
        output: keepTail(context.redact(output())),
        interruption: undefined,
        elapsedMs,
      });
    }
    return result.stdout.toString('utf8').trim();
  } catch (error) {
    if (error instanceof GitCommandFailure) throw error;
    // git did not start (not installed, a missing working directory) or was stopped first.
    throw new GitCommandFailure({
      args: args.map(context.redact),
      exitCode: undefined,
      output: interruption === undefined ? keepTail(context.redact(String(error))) : '',
      interruption,
      elapsedMs: Date.now() - started,
      cause: error,
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
