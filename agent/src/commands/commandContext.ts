import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/agentConfig.js';
import { withRepositoryLock } from '../git/repositoryLock.js';
import type { MainIo } from '../main.js';

/** What every command gets from main: the parsed configuration, a logger and its streams. */
export interface CommandContext {
  config: AgentConfig;
  logger: Logger;
  io: MainIo;
  /** Positional arguments after the command name. */
  positionals: readonly string[];
  json: boolean;
  once: boolean;
  /** `run --now`: a manual run. */
  manual: boolean;
  /** `run --scheduled-at ISO`: set by the embedded scheduler, which applied the skip rule. */
  scheduledAt: string | undefined;
  /** `run --run-id UUID`: the run id to use (a run-now request's id, so the dashboard finds it). */
  runId: string | undefined;
  /** run: the key of the file holding the spec to run, as the scheduler entry names it. */
  specKey: string | undefined;
  /** `--repo` as given (plan reads a local folder through it). */
  repoFlag: string | undefined;
  /** The arguments main was given: the daemon starts its planning ticks with the same ones. */
  argv: readonly string[];
  /** `sync --once --daemon-tick`: a tick the daemon delegated (syncCommand.ts). */
  daemonTick: boolean;
}

export type Command = (context: CommandContext) => Promise<number>;

/**
 * Runs `work` holding the state directory's reconcile lock, so that a `sync --once` next to the
 * daemon, or two timers, never read and write the scheduler at the same time. A holder that
 * crashed does not leave it stuck.
 */
export function withReconcileLock<T>(context: CommandContext, work: () => Promise<T>): Promise<T> {
  return withRepositoryLock(
    path.join(context.config.stateDir, 'reconcile.lock'),
    {
      timeoutMs: 10 * 60_000,
      onWait: (holder) =>
        context.logger.info(
          { holder: holder?.pid },
          'waiting for another reconcile of this state directory',
        ),
    },
    work,
  );
}

export function writeJson(context: CommandContext, value: unknown): void {
  context.io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Whether `candidate` names an existing directory (`plan --repo DIR` reads a local folder). */
export async function isDirectory(candidate: string | undefined): Promise<boolean> {
  if (candidate === undefined) return false;
  try {
    return (await stat(candidate)).isDirectory();
  } catch {
    return false;
  }
}
