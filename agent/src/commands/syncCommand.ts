import { spawn } from 'node:child_process';
import { agentMainScript, createAgentRuntime, type AgentRuntime } from '../agentRuntime.js';
import type { AgentLink, AgentLinkOptions } from '../control/agentLink.js';
import { readEnrollmentRecord } from '../control/enrollmentRecord.js';
import { detachedWrapperStarter, ManualRuns } from '../control/manualRuns.js';
import { RunReaper } from '../control/runReaper.js';
import { openRunCheckInSink } from '../run/runCheckInSink.js';
import { spoolDirectoryOf } from '../spool/checkInSpool.js';
import type { SpoolSender } from '../spool/spoolSender.js';
import type { TickOutcome } from '../reconcile/reconciler.js';
import type { ScheduledJob } from '../scheduler/schedulerBackend.js';
import { schedulerEntry } from '../scheduler/schedulerRegistry.js';
import type { AgentStateStore } from '../state/agentStateStore.js';
import {
  withReconcileLock,
  writeJson,
  type Command,
  type CommandContext,
} from './commandContext.js';
import { planReportJson, planReportText } from './planReport.js';

/**
 * `cronfleet-agent sync [--once]`. With --once: one full tick (the "nothing changed" shortcut and
 * the failure memory are bypassed: an operator asked), exit 0 applied or unchanged, 1 stalled,
 * 2 error. Without: the daemon loop, one tick per poll interval ± jitter (sooner after a
 * transient failure's backoff), until SIGTERM or SIGINT; with the embedded scheduler it also
 * fires the jobs.
 */

function exitCodeOf(outcome: TickOutcome): number {
  if (outcome.result === 'applied' || outcome.result === 'unchanged') return 0;
  return outcome.result === 'stalled' ? 1 : 2;
}

/** Whether the tick applied a plan (and wrote the inventory): a remembered stall did not. */
function wroteInventory(outcome: TickOutcome): boolean {
  return outcome.result === 'applied' || (outcome.result === 'stalled' && outcome.plan !== null);
}

function report(context: CommandContext, runtime: AgentRuntime, outcome: TickOutcome): void {
  if (context.json) {
    writeJson(context, {
      result: outcome.result,
      revision: outcome.revision,
      ...(outcome.result === 'applied' || (outcome.result === 'stalled' && outcome.plan !== null)
        ? {
            plan: planReportJson(
              outcome.revision ?? '',
              runtime.backend.name,
              outcome.plan!,
              outcome.errors,
            ),
          }
        : {}),
      ...(outcome.result === 'stalled' || outcome.result === 'failed'
        ? { message: outcome.message }
        : {}),
      ...(outcome.result === 'failed' ? { retryAt: outcome.retryAt.toISOString() } : {}),
    });
    return;
  }
  const out = context.io.stdout;
  if (outcome.result === 'unchanged') {
    out.write(`Up to date at ${outcome.revision.slice(0, 12)}.\n`);
  } else if (outcome.result === 'applied') {
    out.write(
      planReportText(
        planReportJson(outcome.revision, runtime.backend.name, outcome.plan, outcome.errors),
      ).replace(/^Plan at/, 'Applied'),
    );
  } else if (outcome.result === 'stalled') {
    if (outcome.plan !== null) {
      out.write(
        planReportText(
          planReportJson(
            outcome.revision ?? '',
            runtime.backend.name,
            outcome.plan,
            outcome.errors,
          ),
        ).replace(/^Plan at/, 'Stalled at'),
      );
    } else {
      out.write(`Stalled: ${outcome.message}\n`);
    }
  } else {
    context.io.stderr.write(
      `Failed: ${outcome.message}\nThe daemon retries at ${outcome.retryAt.toISOString()}.\n`,
    );
  }
}

/** Each installed job's own schedule and zone, from the run specs, for the embedded scheduler. */
async function loadTimings(
  store: AgentStateStore,
): Promise<Map<string, { schedule: string; timezone: string }>> {
  const timings = new Map<string, { schedule: string; timezone: string }>();
  const inventory = await store.readInventory();
  const specs = await store.readEntryRunSpecs(Object.values(inventory?.jobs ?? {}));
  for (const [id, spec] of specs) {
    if (spec !== undefined && !(spec instanceof Error)) {
      timings.set(id, { schedule: spec.schedule, timezone: spec.timezone });
    }
  }
  return timings;
}

/** What the daemon's loop needs of a tick, wherever it ran. */
interface TickSummary {
  result: TickOutcome['result'];
  retryAt?: Date;
  wroteInventory: boolean;
}

function summaryOf(outcome: TickOutcome): TickSummary {
  return {
    result: outcome.result,
    ...(outcome.result === 'failed' ? { retryAt: outcome.retryAt } : {}),
    wroteInventory: wroteInventory(outcome),
  };
}

/**
 * A tick that must plan, run by the daemon as `sync --once --daemon-tick` with the daemon's own
 * arguments and environment. Planning loads the manifest schema, YAML and the translator and
 * allocates in proportion to the repository; in a child process all of it is returned to the
 * system when the tick ends, so the daemon's resident set stays what an idle tick needs. The
 * child takes the reconcile lock and runs an ordinary tick (failure memory included); its logs go
 * to the daemon's standard error and its summary, one JSON line, to a pipe. A daemon asked to stop
 * waits for it, as it waits for a tick of its own: a tick is never cut off halfway. Only for
 * schedulers that keep what was installed (`persistent`): the embedded one lives in the daemon.
 */
async function tickInChild(context: CommandContext): Promise<TickSummary> {
  const child = spawn(
    process.execPath,
    [agentMainScript, ...context.argv, '--once', '--daemon-tick'],
    { env: { ...context.io.environment }, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  context.logger.debug({ pid: child.pid }, 'planning tick started in a child process');
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output = (output + chunk).slice(-65_536);
  });
  const exit = await new Promise<{ code: number | null; error?: Error }>((resolve) => {
    child.once('error', (error) => resolve({ code: null, error }));
    child.once('close', (code) => resolve({ code }));
  });
  const line = output.trim().split('\n').at(-1) ?? '';
  try {
    const summary = JSON.parse(line) as {
      result: TickOutcome['result'];
      retryAt?: string;
      wroteInventory: boolean;
    };
    return {
      result: summary.result,
      ...(summary.retryAt === undefined ? {} : { retryAt: new Date(summary.retryAt) }),
      wroteInventory: summary.wroteInventory,
    };
  } catch {
    throw new Error(
      `the planning tick's process ${exit.error === undefined ? `exited with ${exit.code ?? 'a signal'}` : `did not start (${exit.error.message})`} without a result`,
    );
  }
}

/**
 * The link to the backend, or null when none is configured or enrolled. The API client and the
 * spool's sender are loaded only then: an agent without a backend never pays for them. The
 * daemon's link (`judgeFires`) also heartbeats just after each installed job's fire time + grace
 * (judgementTimes.ts), so the backend judges a missed run within seconds; `sync --once` does not.
 */
async function connect(
  options: AgentLinkOptions,
  { judgeFires = false }: { judgeFires?: boolean } = {},
): Promise<AgentLink | null> {
  if (options.config.backendUrl === undefined) {
    const record = await readEnrollmentRecord(options.config.stateDir);
    if (record?.backendUrl === undefined) return null;
  }
  const { createAgentLink } = await import('../control/agentLink.js');
  if (!judgeFires) return createAgentLink(options);
  const { InstalledJudgementTimes } = await import('../control/judgementTimes.js');
  return createAgentLink({
    ...options,
    judgementTimes: new InstalledJudgementTimes(options.store, { logger: options.logger }),
  });
}

const loadSpoolSender = async () => (await import('../spool/spoolSender.js')).SpoolSender;

export const syncCommand: Command = async (context) => {
  let timings = new Map<string, { schedule: string; timezone: string }>();
  const senderRef: { current: SpoolSender | undefined } = { current: undefined };
  const running = new Set<Promise<void>>();
  /** Starts the wrapper cron would start, as a child process: one crash never takes the agent. */
  const startWrapper = (id: string, runArguments: readonly string[]): Promise<void> => {
    const child = spawn(
      process.execPath,
      [agentMainScript, 'run', '--state-dir', context.config.stateDir, ...runArguments, id],
      { stdio: 'inherit', env: { ...context.io.environment } as NodeJS.ProcessEnv },
    );
    const job = { id };
    const done = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        context.logger.info({ job: job.id, code, signal }, 'run finished');
        senderRef.current?.notify();
        resolve();
      });
      child.once('error', (error) => {
        context.logger.error({ job: job.id, err: error }, 'embedded run could not start');
        resolve();
      });
    });
    running.add(done);
    void done.finally(() => running.delete(done));
    return done;
  };
  const startRun = (job: ScheduledJob, scheduledAt: Date): Promise<void> =>
    startWrapper(job.id, [
      '--scheduled-at',
      scheduledAt.toISOString(),
      ...(job.specKey === undefined ? [] : ['--spec', job.specKey]),
    ]);
  const runtime = await createAgentRuntime(context.config, {
    logger: context.logger,
    environment: context.io.environment,
    // Only the daemon fires jobs: one tick of `sync --once` must end, whatever the scheduler.
    fires: !context.once,
    onEmbeddedFire: startRun,
    embeddedTimingOf: (job) => timings.get(job.id),
  });
  if (context.config.scheduler === 'embedded') timings = await loadTimings(runtime.store);
  // Live runs (heartbeats list them), runs whose wrapper died (stopped, recorded lost), run now.
  const runSink = await openRunCheckInSink(context.config.stateDir);
  const runLogger = context.logger.child({ component: 'runs' });
  const reaper = new RunReaper({
    stateDir: context.config.stateDir,
    sink: runSink,
    logger: runLogger,
    onLost: () => senderRef.current?.notify(),
  });
  const manualRuns = new ManualRuns({
    stateDir: context.config.stateDir,
    sink: runSink,
    logger: runLogger,
    onRecorded: () => senderRef.current?.notify(),
    // A manual run's id is the request's, so the dashboard finds it. `sync --once` exits at
    // once and leaves the run to a wrapper of its own.
    start: context.once
      ? detachedWrapperStarter({
          mainScript: agentMainScript,
          stateDir: context.config.stateDir,
          environment: context.io.environment,
        })
      : (id, requestId) => startWrapper(id, ['--now', '--run-id', requestId]),
  });

  const tick = async (force: boolean, expectPlanning = false) => {
    const outcome = await withReconcileLock(context, () =>
      runtime.reconciler.tick({ force, expectPlanning }),
    );
    // Only a tick that applied wrote a new inventory; the daemon's idle ticks read nothing more.
    if (context.config.scheduler === 'embedded' && wroteInventory(outcome)) {
      timings = await loadTimings(runtime.store);
    }
    return outcome;
  };

  if (context.daemonTick) {
    // The daemon's planning tick: an ordinary tick (failure memory and backoff included), its
    // summary for the daemon on stdout; the daemon reports and sends everything else.
    const outcome = await tick(false, true);
    const summary = summaryOf(outcome);
    context.io.stdout.write(
      `${JSON.stringify({ ...summary, retryAt: summary.retryAt?.toISOString() })}\n`,
    );
    return exitCodeOf(outcome);
  }

  if (context.once) {
    const outcome = await tick(true);
    report(context, runtime, outcome);
    await reaper.sweep();
    const onceLink = await connect({
      config: context.config,
      store: runtime.store,
      logger: context.logger,
      runningRunIds: () => reaper.runningRunIds(),
      acceptsCommands: false,
    });
    if (onceLink !== null) {
      // Best effort: the tick's result is the exit code; the daemon reports again later.
      const sent = await onceLink.reportInventory();
      if (!sent.sent) context.logger.warn({ reason: sent.message }, 'inventory not reported');
      try {
        // Commands stay queued for the daemon; a backend that hands some over anyway gets its
        // run-nows started (the tick that just ran answers a reconcile).
        const { commands } = await onceLink.heartbeat();
        for (const command of commands) {
          if (command.type === 'run') await manualRuns.request(command);
        }
      } catch (error) {
        context.logger.warn({ err: error }, 'heartbeat not sent');
      }
      const drained = await new (await loadSpoolSender())({
        directory: spoolDirectoryOf(context.config.stateDir),
        client: onceLink.client,
        logger: context.logger.child({ component: 'spool' }),
      }).drainOnce({ signal: AbortSignal.timeout(10_000) });
      if (drained.outcome !== 'empty') {
        context.logger.warn({ outcome: drained.outcome, sent: drained.sent }, 'spool not drained');
      }
    }
    if (context.config.scheduler === 'embedded') {
      context.logger.warn(
        'the embedded scheduler fires jobs only while "cronfleet-agent sync" runs as a daemon',
      );
    }
    return exitCodeOf(outcome);
  }

  const controller = new AbortController();
  // Wakes the loop before its poll interval ends: a "reconcile now" command.
  let wake: (() => void) | undefined;
  let revoked: string | undefined;
  const reaping = reaper.run(controller.signal);
  const link = await connect(
    {
      config: context.config,
      store: runtime.store,
      logger: context.logger,
      runningRunIds: () => reaper.runningRunIds(),
      deliveredThrough: () => senderRef.current?.deliveredThrough(),
      // Before a judgement heartbeat: drain the spool now, so its watermark passes F + grace.
      requestDelivery: () => senderRef.current?.notify(),
    },
    { judgeFires: true },
  );
  // The spool's sender: every check-in the wrappers recorded, to the backend, in batches.
  const sender =
    link === null
      ? undefined
      : new (await loadSpoolSender())({
          directory: spoolDirectoryOf(context.config.stateDir),
          client: link.client,
          logger: context.logger.child({ component: 'spool' }),
        });
  sender?.on('unauthorized', (error) =>
    context.logger.error(
      { err: error },
      'the backend refused the check-ins; they stay in the spool',
    ),
  );
  sender?.start();
  senderRef.current = sender;
  const heartbeats = link?.startHeartbeats({
    signal: controller.signal,
    onCommands: (commands) => {
      for (const command of commands) {
        if (command.type === 'reconcile') {
          context.logger.info('reconcile requested by the backend');
          wake?.();
        } else {
          void manualRuns.request(command);
        }
      }
    },
    onRevoked: (reason) => {
      revoked = reason;
      context.logger.error(
        { reason },
        'the backend revoked this agent: it stops applying and leaves the installed jobs as they are; enroll it again to resume',
      );
      wake?.();
    },
  });
  const stop = (signal: NodeJS.Signals) => {
    if (controller.signal.aborted) return;
    context.logger.info({ signal }, 'stopping');
    controller.abort();
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  context.logger.info(
    {
      stateDir: context.config.stateDir,
      scheduler: context.config.scheduler,
      pollIntervalMs: context.config.pollInterval,
    },
    'agent started',
  );
  const { pollInterval, pollJitter } = context.config;
  const plansInChild = schedulerEntry(context.config.scheduler).persistent;
  const daemonTick = async (): Promise<TickSummary> => {
    if (!plansInChild) return summaryOf(await tick(false));
    const checked = await withReconcileLock(context, () => runtime.reconciler.check());
    if (checked.result !== 'plan-needed') return summaryOf(checked);
    return tickInChild(context);
  };
  while (!controller.signal.aborted) {
    let waitMs = pollInterval * (1 + pollJitter * (2 * Math.random() - 1));
    if (revoked === undefined) {
      try {
        const outcome = await daemonTick();
        if (outcome.retryAt !== undefined) {
          waitMs = Math.min(waitMs, Math.max(0, outcome.retryAt.getTime() - Date.now()));
        }
        if (link !== null && outcome.wroteInventory) {
          await link.reportInventory();
        }
      } catch (error) {
        context.logger.error({ err: error }, 'reconcile tick failed');
      }
    } else {
      waitMs = 60 * 60_000;
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, waitMs);
      function done() {
        clearTimeout(timer);
        wake = undefined;
        controller.signal.removeEventListener('abort', done);
        resolve();
      }
      wake = done;
      controller.signal.addEventListener('abort', done, { once: true });
    });
  }
  // Stop the embedded timers; runs already started finish on their own.
  runtime.backend.close?.();
  await heartbeats;
  await reaping;
  await Promise.all(running);
  if (sender !== undefined) {
    // SIGTERM: what the runs recorded goes out now, within a few seconds, or stays spooled.
    const flushed = await sender.flush(5_000);
    context.logger.info({ sent: flushed.sent, outcome: flushed.outcome }, 'spool flushed');
  }
  return 0;
};
