import { checkStateDirectoryForRun, isStateDirectoryError } from '../state/stateDirectory.js';
import { runJob, type RunJobOptions, type RunOutcome } from './runJob.js';

/**
 * The run wrapper as its own process (`cronfleet-agent run`, started by cron): runJob plus what
 * only a process of its own may do. TERM, INT and HUP stop the run (the command's group gets TERM,
 * then KILL after the grace; the finish is recorded; no further retries) instead of killing the
 * wrapper with the command left running unreported. The wrapper's own messages go to stderr, so
 * under cron they reach the crontab's MAILTO like any job's errors. The daemon runs runJob
 * in-process instead and must not install these handlers.
 *
 * Before anything else it checks the state directory with one stat (checkStateDirectoryForRun):
 * a missing or unsafe one is an error (exit 2) whose message says how to fix it. A start that the
 * skip rule or a suspension turns away is silent under cron, which would mail every line, but is
 * explained when stderr is a terminal: someone typed the command and wonders why nothing ran.
 */

export interface WrapperProcessOptions extends Omit<
  RunJobOptions,
  'signal' | 'warn' | 'passThrough'
> {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** Copies the job's output to stdout as well (a manual run in a terminal). */
  passThrough: boolean;
}

const stopSignals = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;

export async function runAsWrapperProcess(options: WrapperProcessOptions): Promise<RunOutcome> {
  const { stdout, stderr, passThrough, ...rest } = options;
  const controller = new AbortController();
  const onSignal = (signal: NodeJS.Signals) => {
    if (!controller.signal.aborted) controller.abort(signal);
  };
  const warn = (message: string) => stderr.write(`cronfleet-agent run: ${message}\n`);
  try {
    checkStateDirectoryForRun(rest.stateDir, warn);
  } catch (error) {
    if (!isStateDirectoryError(error)) throw error;
    return { kind: 'error', message: error.message, exitCode: 2 };
  }
  for (const signal of stopSignals) process.on(signal, onSignal);
  try {
    const outcome = await runJob({
      ...rest,
      signal: controller.signal,
      warn,
      passThrough: passThrough ? stdout : undefined,
    });
    if (outcome.kind === 'not-run' && (stderr as { isTTY?: boolean }).isTTY === true) {
      warn(
        `${rest.id} did not run: ${outcome.reason}. Under cron this start is silent (exit 0); to run the job now anyway: cronfleet-agent run --now --state-dir ${rest.stateDir} ${rest.id}`,
      );
    }
    return outcome;
  } finally {
    for (const signal of stopSignals) process.removeListener(signal, onSignal);
  }
}
