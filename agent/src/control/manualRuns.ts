import { spawn } from 'node:child_process';
import type { CheckInFinish, CheckInStart, RunCommand } from '@cronfleet/core/api';
import type { Logger } from 'pino';
import { readAppliedRunSpec } from '../run/appliedRunSpec.js';
import { liveRunLiveness, readLiveRuns } from '../run/liveRunRegistry.js';
import { OutputCapture } from '../run/outputCapture.js';
import type { CheckInSink } from '../spool/checkInSink.js';
import type { RunSpec } from '../state/runSpec.js';

/**
 * "Run now" commands from the backend: at most one manual run per job at a time. A request for a
 * job whose manual run still runs is not started; it is recorded as a `skipped` run under the
 * request's id (a `start` and a `finish` with the reason), so the dashboard that asked finds its
 * answer at `GET /api/v1/runs/{requestId}`.
 *
 * "Still runs" is known two ways: the manual runs this process started, until their wrapper
 * exits (this covers the instants before a new wrapper has written its record, and the delays
 * between retries), and the live-run registry, for manual runs other processes started (a
 * `sync --once` next to the daemon, an operator's `cronfleet-agent run --now`). Two processes
 * that receive a run-now of the same job in the same instant may both start it: the backend
 * hands each command to one heartbeat, and this is rare enough to leave.
 *
 * Scheduled runs do not count: a manual run next to a scheduled one follows the job's
 * concurrencyPolicy, in the wrapper, like any run.
 */

export type ManualRunLogger = Pick<Logger, 'info' | 'warn'>;

export interface ManualRunsOptions {
  stateDir: string;
  /** Where skipped requests are recorded: the spool. */
  sink: CheckInSink;
  logger: ManualRunLogger;
  /**
   * Starts the wrapper of a manual run (`run --now --run-id REQUEST NAMESPACE/NAME`); resolves
   * when that wrapper exits.
   */
  start: (id: string, requestId: string) => Promise<void>;
  /** Called after a skipped run was recorded (the daemon wakes its sender). */
  onRecorded?: () => void;
  readRunSpec?: (stateDir: string, id: string) => Promise<RunSpec | string>;
  now?: () => Date;
}

export type ManualRunResult =
  | { kind: 'started' }
  /** Another manual run of the job runs: recorded as skipped (`recorded` false: the spool failed). */
  | { kind: 'skipped'; reason: string; runningRunId: string; recorded: boolean }
  /** The same request is already running (a command delivered twice): nothing to do. */
  | { kind: 'already-running' }
  /** Skipped, but the job's run spec cannot be read to record it. */
  | { kind: 'dropped'; reason: string };

export class ManualRuns {
  readonly #options: ManualRunsOptions;
  /** The manual run this process started per job (`namespace/name` → run id), until it exits. */
  readonly #started = new Map<string, string>();

  constructor(options: ManualRunsOptions) {
    this.#options = options;
  }

  /** Carries out one run-now command. Never throws. */
  async request(command: RunCommand): Promise<ManualRunResult> {
    const id = `${command.namespace}/${command.name}`;
    const log = { job: id, requestId: command.requestId };
    const mine = this.#started.get(id);
    if (mine === command.requestId) return { kind: 'already-running' };
    if (mine !== undefined) return this.#skip(command, mine);
    // Taken before any await: two commands for one job in one heartbeat answer start one run.
    this.#started.set(id, command.requestId);
    const other = await this.#liveManualRun(command.namespace, command.name);
    if (other !== undefined) {
      this.#started.delete(id);
      if (other === command.requestId) return { kind: 'already-running' };
      return this.#skip(command, other);
    }
    this.#options.logger.info(log, 'run requested by the backend');
    let exited: Promise<void>;
    try {
      exited = this.#options.start(id, command.requestId);
    } catch (error) {
      exited = Promise.reject(error as Error);
    }
    void exited
      .catch((error: unknown) =>
        this.#options.logger.warn({ ...log, err: error }, 'the manual run could not start'),
      )
      .finally(() => {
        if (this.#started.get(id) === command.requestId) this.#started.delete(id);
      });
    return { kind: 'started' };
  }

  /** The run id of a live manual run of the job that another process started, if any. */
  async #liveManualRun(namespace: string, name: string): Promise<string | undefined> {
    let files;
    try {
      files = await readLiveRuns(this.#options.stateDir);
    } catch (error) {
      this.#options.logger.warn(
        { err: error },
        'cannot read the live-run registry; a manual run starts without checking for another',
      );
      return undefined;
    }
    for (const { record } of files) {
      if (
        record?.manual === true &&
        record.namespace === namespace &&
        record.name === name &&
        liveRunLiveness(record) === 'alive'
      ) {
        return record.runId;
      }
    }
    return undefined;
  }

  async #skip(command: RunCommand, runningRunId: string): Promise<ManualRunResult> {
    const id = `${command.namespace}/${command.name}`;
    const reason = `skipped: manual run ${runningRunId} of ${id} is still running, and the agent runs one manual run per job at a time`;
    const log = { job: id, requestId: command.requestId, runningRunId };
    let spec: RunSpec | string;
    try {
      spec = await (this.#options.readRunSpec ?? readAppliedRunSpec)(this.#options.stateDir, id);
    } catch (error) {
      spec = (error as Error).message;
    }
    if (typeof spec === 'string') {
      this.#options.logger.warn(
        { ...log, problem: spec },
        `run request ${command.requestId} not run (${reason}); it cannot be recorded as skipped: ${spec}`,
      );
      return { kind: 'dropped', reason };
    }
    const now = (this.#options.now ?? (() => new Date()))().toISOString();
    const start: CheckInStart = {
      kind: 'start',
      runId: command.requestId,
      namespace: command.namespace,
      name: command.name,
      attempt: 1,
      trigger: 'manual',
      scheduledAt: null,
      startedAt: now,
      revision: spec.revision,
    };
    const capture = new OutputCapture(spec.outputMaxBytes);
    capture.note(reason);
    const { outputHead, outputTail, outputTruncated } = capture.result();
    const finish: CheckInFinish = {
      kind: 'finish',
      runId: command.requestId,
      namespace: command.namespace,
      name: command.name,
      attempt: 1,
      status: 'skipped',
      finishedAt: now,
      durationMs: 0,
      exitCode: null,
      signal: null,
      outputHead,
      outputTail,
      outputTruncated,
      revision: spec.revision,
      reason,
    };
    let recorded = true;
    try {
      await this.#options.sink.record([start, finish]);
    } catch (error) {
      recorded = false;
      this.#options.logger.warn(
        { ...log, err: error },
        `run request ${command.requestId} ${reason}; it cannot be recorded in the spool`,
      );
    }
    if (recorded) {
      this.#options.logger.info(log, `run request ${command.requestId} ${reason}`);
      this.#options.onRecorded?.();
    }
    return { kind: 'skipped', reason, runningRunId, recorded };
  }
}

/**
 * The wrapper of a manual run as a process of its own that outlives its starter: what
 * `sync --once` uses, so that it still exits at once while the run goes on (its check-ins go to
 * the spool, which the daemon or the next `sync --once` sends). Resolves when the wrapper exits
 * (never, once the starter has exited; the pending promise does not keep it alive).
 */
export function detachedWrapperStarter(options: {
  /** The agent's main script, as `process.execPath` runs it. */
  mainScript: string;
  stateDir: string;
  environment: Readonly<Record<string, string | undefined>>;
}): (id: string, requestId: string) => Promise<void> {
  return (id, requestId) =>
    new Promise<void>((resolve, reject) => {
      const child = spawn(
        process.execPath,
        [
          options.mainScript,
          'run',
          '--state-dir',
          options.stateDir,
          '--now',
          '--run-id',
          requestId,
          id,
        ],
        {
          detached: true,
          stdio: 'ignore',
          env: { ...options.environment } as NodeJS.ProcessEnv,
        },
      );
      child.once('error', reject);
      child.once('exit', () => resolve());
      child.unref();
    });
}
