import type { Logger } from 'pino';

export interface PeriodicTask<Result> {
  /** Runs one pass now (after the pass in flight, if any) and answers its result. */
  runOnce(): Promise<Result>;
  /** Stops the schedule and waits for the pass in flight. Idempotent. */
  stop(): Promise<void>;
}

export interface PeriodicTaskOptions<Result> {
  name: string;
  /** Time between the end of one pass and the start of the next. */
  intervalMs: number;
  /** Spread each wait by up to ± this fraction, so replicas do not run in lockstep. Default 0.1. */
  jitter?: number;
  /** Delay of the first pass; default: a jittered fraction of the interval (up to 10 %). */
  initialDelayMs?: number;
  logger: Logger;
  /** One pass; an error is logged and the schedule goes on. */
  run(): Promise<Result>;
}

/**
 * Runs `run` every `intervalMs` (jittered) until stopped, one pass at a time. Timers are unref'd,
 * so a schedule never keeps the process alive; `stop()` lets the pass in flight finish.
 */
export function startPeriodicTask<Result>(
  options: PeriodicTaskOptions<Result>,
): PeriodicTask<Result> {
  const jitter = options.jitter ?? 0.1;
  const log = options.logger.child({ worker: options.name });
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let tail: Promise<unknown> = Promise.resolve();

  const jittered = (ms: number) => Math.max(0, ms * (1 + jitter * (2 * Math.random() - 1)));

  function runSerialized(): Promise<Result> {
    const pass = tail.then(() => options.run());
    tail = pass.catch(() => undefined);
    return pass;
  }

  function schedule(delayMs: number): void {
    if (stopped) return;
    timer = setTimeout(() => {
      timer = undefined;
      runSerialized()
        .catch((error: unknown) => log.error({ err: error }, `${options.name} pass failed`))
        .finally(() => schedule(jittered(options.intervalMs)));
    }, delayMs);
    timer.unref();
  }

  schedule(options.initialDelayMs ?? Math.random() * options.intervalMs * 0.1);

  return {
    runOnce: () => runSerialized(),
    stop: async () => {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      await tail;
    },
  };
}
