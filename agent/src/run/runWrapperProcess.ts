import { runJob, type RunJobOptions, type RunOutcome } from './runJob.js';

/**
 * The run wrapper as its own process (`cronfleet-agent run`, started by cron): runJob plus what
 * only a process of its own may do. TERM, INT and HUP stop the run (the command's group gets TERM,
 * then KILL after the grace; the finish is recorded; no further retries) instead of killing the
 * wrapper with the command left running unreported. The wrapper's own messages go to stderr, so
 * under cron they reach the crontab's MAILTO like any job's errors. The daemon runs runJob
 * in-process instead and must not install these handlers.
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
  for (const signal of stopSignals) process.on(signal, onSignal);
  try {
    return await runJob({
      ...rest,
      signal: controller.signal,
      warn: (message) => stderr.write(`cronfleet-agent run: ${message}\n`),
      passThrough: passThrough ? stdout : undefined,
    });
  } finally {
    for (const signal of stopSignals) process.removeListener(signal, onSignal);
  }
}
