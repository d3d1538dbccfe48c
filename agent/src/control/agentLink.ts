import { setTimeout as sleep } from 'node:timers/promises';
import {
  CronfleetApiError,
  createCronfleetClient,
  type AgentCommand,
  type CronfleetClient,
  type HeartbeatResponse,
  type UnmanagedEntry,
} from '@cronfleet/core/api';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/agentConfig.js';
import { discoverUnmanagedCrontabEntries } from '../discovery/unmanagedCrontabEntries.js';
import type { AgentStateStore } from '../state/agentStateStore.js';
import {
  buildHeartbeatRequest,
  buildInventoryRequest,
  repositoryReference,
} from './agentReports.js';
import { agentVersion } from './agentVersion.js';
import {
  judgementSettleMs,
  nextHeartbeatWait,
  type JudgementTimeSource,
} from './judgementTimes.js';
import { agentTokenFile, readAgentToken, readEnrollmentRecord } from './enrollmentRecord.js';
import {
  defaultHeartbeatTiming,
  failureBackoffMs,
  jitteredDelayMs,
  type HeartbeatTiming,
} from './heartbeatTiming.js';

/**
 * The agent's link to the control plane: heartbeats (conditions, revisions, errors; the answer
 * carries commands and the interval), the inventory (after every apply, and again whenever the
 * backend missed the last one), and the loop that keeps sending heartbeats. The backend being
 * down never stops the agent: every failure is logged and retried with backoff, and jobs keep
 * running from the native scheduler. A 401 means the agent's token no longer works (revoked, or
 * replaced by a re-enrollment): the loop ends and tells the daemon, which stops applying and
 * leaves the installed entries as they are.
 */

/** The backend no longer accepts this agent's token; `reason` is what the backend said. */
export class AgentRevokedError extends Error {
  override readonly name = 'AgentRevokedError';
  constructor(readonly reason: string) {
    super(`the backend no longer accepts this agent's token: ${reason}`);
  }
}

/** A heartbeat that cannot be built from the configuration (not a network failure). */

/** What the loop reports as it goes (tests observe it; the daemon may count it). */
export type AgentLinkEvent =
  | { type: 'heartbeat'; intervalMs: number; commands: number }
  | { type: 'heartbeat-failed'; failures: number; retryInMs: number; message: string }
  | { type: 'inventory'; jobs: number; unmanaged: number; skipped: number }
  | { type: 'inventory-failed'; message: string }
  | { type: 'revoked'; reason: string };

export type InventoryReport =
  | {
      sent: true;
      jobs: number;
      unmanaged: number;
      /** Installed jobs left out because their run spec could not be read. */
      skipped: { id: string; reason: string }[];
    }
  | { sent: false; revoked: boolean; message: string };

export interface HeartbeatLoopOptions {
  /** Stops the loop (and aborts a call in flight). */
  signal: AbortSignal;
  /**
   * Commands from a heartbeat answer. Called without waiting for it (a reconcile may take
   * longer than the interval); a rejection is logged.
   */
  onCommands?: (commands: AgentCommand[]) => void | Promise<void>;
  /** The backend refused the agent's token: stop applying; the loop has ended. */
  onRevoked: (reason: string) => void | Promise<void>;
}

export type HeartbeatLoopEnd = { reason: 'stopped' } | { reason: 'revoked'; message: string };

export interface AgentLinkOptions {
  config: AgentConfig;
  store: AgentStateStore;
  logger: Logger;
  /**
   * The unmanaged entries the inventory reports; default: the crontab of the agent's user
   * (`crontabUser` with the crontab scheduler).
   */
  discoverUnmanaged?: () => Promise<readonly UnmanagedEntry[]>;
  timing?: Partial<HeartbeatTiming>;
  /** The jitter's random source, in [0, 1). */
  random?: () => number;
  /** Timeout of each call; default 15 s. */
  requestTimeoutMs?: number;
  /**
   * The run ids of the runs alive now, for every heartbeat (runReaper.ts); undefined from it, or
   * no function: the heartbeat does not track runs.
   */
  runningRunIds?: () => Promise<readonly string[] | undefined>;
  /** false: ask the backend to keep commands queued (`sync --once`). Default: not sent. */
  acceptsCommands?: boolean;
  /** The spool sender's watermark (SpoolSender.deliveredThrough), for every heartbeat. */
  deliveredThrough?: () => Date | undefined;
  /**
   * The installed jobs' judgement instants (fire time + grace + 1 s, judgementTimes.ts): the
   * loop also sends a heartbeat at each, so the backend judges a fire at its next pass instead of
   * up to one interval later. Absent: interval heartbeats only (`sync --once`).
   */
  judgementTimes?: JudgementTimeSource;
  /**
   * Asks the spool sender to drain now (SpoolSender.notify), before a judgement heartbeat: the
   * watermark that heartbeat carries must have passed the fire time + grace to be of use.
   */
  requestDelivery?: () => void;
  /** The shortest time between two heartbeats that a judgement instant brings forward; 5 s. */
  minHeartbeatSpacingMs?: number;
  /** How long a judgement heartbeat waits for the watermark to pass fire time + grace; 3 s. */
  watermarkWaitMs?: number;
  /** The loop's clock and sleep (tests travel in time); default: Date.now and a timer. */
  clock?: HeartbeatClock;
  onEvent?: (event: AgentLinkEvent) => void;
}

/** What the heartbeat loop reads the time from and waits with. */
export interface HeartbeatClock {
  now(): number;
  /** Resolves after `ms`; rejects when `signal` aborts. */
  sleep(ms: number, signal: AbortSignal): Promise<void>;
}

const systemClock: HeartbeatClock = {
  now: () => Date.now(),
  sleep: (ms, signal) => sleep(ms, undefined, { signal }),
};

/** How often a judgement heartbeat looks at the watermark while it waits for it. */
const watermarkPollMs = 50;

/** The revocation reason in the backend's 401 message, else the whole message. */
export function revocationReason(serverMessage: string): string {
  const match =
    /^this agent was revoked(?:: ([\s\S]*))?; enroll it again with a new enrollment token$/.exec(
      serverMessage,
    );
  if (match === null) return serverMessage;
  return match[1] ?? 'revoked';
}

const defaultIntervalMs = 30_000;

export class AgentLink {
  readonly #client: CronfleetClient;
  readonly #options: AgentLinkOptions;
  readonly #timing: HeartbeatTiming;
  readonly #random: () => number;
  readonly #logger: Logger;
  readonly #clock: HeartbeatClock;
  #intervalMs = defaultIntervalMs;
  #inventoryDirty = true;
  #revokedReason: string | null = null;
  #inventoryChain: Promise<void> = Promise.resolve();

  constructor(
    readonly backendUrl: string,
    token: string,
    /** The backend's id of this agent, from enrollment.json (null when that file is missing). */
    readonly agentId: string | null,
    options: AgentLinkOptions,
  ) {
    this.#options = options;
    this.#timing = { ...defaultHeartbeatTiming, ...options.timing };
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? systemClock;
    this.#logger = options.logger.child({ backend: backendUrl, agentId });
    this.#client = createCronfleetClient({
      baseUrl: backendUrl,
      token,
      timeoutMs: options.requestTimeoutMs ?? 15_000,
      // The loop backs off itself; a resend inside a call would only delay the next heartbeat.
      retries: 0,
      userAgent: `cronfleet-agent/${agentVersion()}`,
    });
  }

  /** The client of this link (no retries of its own), for the spool's sender. */
  get client(): CronfleetClient {
    return this.#client;
  }

  /** The interval the backend asked for in its last answer (30 s before the first). */
  get heartbeatIntervalMs(): number {
    return this.#intervalMs;
  }

  /** Whether the backend may hold a stale inventory (true until the first report succeeds). */
  get inventoryDirty(): boolean {
    return this.#inventoryDirty;
  }

  /** What the backend said when it refused the token; null while it accepts it. */
  get revokedReason(): string | null {
    return this.#revokedReason;
  }

  /**
   * The installed jobs changed: the loop sends the inventory after its next successful heartbeat
   * and reads the jobs' judgement instants again.
   */
  markInventoryDirty(): void {
    this.#inventoryDirty = true;
    this.#options.judgementTimes?.invalidate();
  }

  #emit(event: AgentLinkEvent): void {
    try {
      this.#options.onEvent?.(event);
    } catch (error) {
      this.#logger.warn({ err: error }, 'an agent link event handler failed');
    }
  }

  /** Turns a 401 into AgentRevokedError (and remembers it); other errors pass through. */
  #revocation(error: unknown): unknown {
    if (error instanceof CronfleetApiError && error.status === 401) {
      const reason = revocationReason(error.serverMessage);
      this.#revokedReason = reason;
      return new AgentRevokedError(reason);
    }
    return error;
  }

  /**
   * Sends one heartbeat built from status.json and adopts the interval of the answer.
   *
   * @throws AgentRevokedError on a 401; the client's errors otherwise.
   */
  async heartbeat(signal?: AbortSignal): Promise<HeartbeatResponse> {
    const repository = repositoryReference(this.#options.config) ?? null;
    const status = await this.#options.store.readStatus();
    const deliveredThrough = this.#options.deliveredThrough?.();
    const body = {
      ...buildHeartbeatRequest(status, repository, agentVersion(), {
        runningRunIds: await this.#options.runningRunIds?.(),
        ...(this.#options.acceptsCommands === undefined
          ? {}
          : { acceptsCommands: this.#options.acceptsCommands }),
      }),
      ...(deliveredThrough === undefined
        ? {}
        : { deliveredThrough: deliveredThrough.toISOString() }),
    };
    let response: HeartbeatResponse;
    try {
      response = await this.#client.heartbeat(body, signal === undefined ? {} : { signal });
    } catch (error) {
      throw this.#revocation(error);
    }
    this.#revokedReason = null;
    this.#intervalMs = response.heartbeatIntervalSeconds * 1000;
    return response;
  }

  /**
   * Sends the inventory (installed jobs from the state directory, plus unmanaged entries).
   * Never throws: a failure is returned, logged, and leaves the inventory dirty so the loop
   * sends it again after its next successful heartbeat. Reports run one at a time. Call it when
   * the installed jobs changed (it also makes the loop read their judgement instants again).
   */
  reportInventory(signal?: AbortSignal): Promise<InventoryReport> {
    this.markInventoryDirty();
    return this.#queueInventory(signal);
  }

  /** Sends the inventory after the reports already queued (the loop's resend of a dirty one). */
  #queueInventory(signal: AbortSignal | undefined): Promise<InventoryReport> {
    this.#inventoryDirty = true;
    const report = this.#inventoryChain.then(() => this.#sendInventory(signal));
    this.#inventoryChain = report.then(
      () => undefined,
      () => undefined,
    );
    return report;
  }

  async #unmanagedEntries(): Promise<readonly UnmanagedEntry[]> {
    try {
      if (this.#options.discoverUnmanaged !== undefined) {
        return await this.#options.discoverUnmanaged();
      }
      const { config } = this.#options;
      const found = await discoverUnmanagedCrontabEntries({
        user: config.scheduler === 'crontab' ? config.crontabUser : undefined,
      });
      if (found.ignored.length > 0) {
        this.#logger.debug(
          { lines: found.ignored.map((ignored) => ignored.line) },
          'crontab lines that are not valid entries were not reported as unmanaged',
        );
      }
      return found.entries;
    } catch (error) {
      this.#logger.warn(
        { err: error },
        'could not read the crontab for unmanaged entries; the inventory is sent without them',
      );
      return [];
    }
  }

  async #sendInventory(signal: AbortSignal | undefined): Promise<InventoryReport> {
    try {
      const unmanaged = await this.#unmanagedEntries();
      const { request, skipped } = await buildInventoryRequest(this.#options.store, unmanaged);
      for (const job of skipped) {
        this.#logger.warn(
          { job: job.id, reason: job.reason },
          'an installed job is left out of the inventory: its run spec cannot be read',
        );
      }
      let response;
      try {
        response = await this.#client.putInventory(request, signal === undefined ? {} : { signal });
      } catch (error) {
        throw this.#revocation(error);
      }
      this.#inventoryDirty = false;
      // What the backend accepted but an operator should hear of (e.g. a notify list naming no
      // channel of the organization): the manifest is valid, so only the backend can tell.
      for (const warning of response.warnings) {
        this.#logger.warn(
          { job: `${warning.namespace}/${warning.name}` },
          `the backend warns about job ${warning.namespace}/${warning.name}: ${warning.message}`,
        );
      }
      this.#emit({
        type: 'inventory',
        jobs: response.jobCount,
        unmanaged: response.unmanagedCount,
        skipped: skipped.length,
      });
      return {
        sent: true,
        jobs: response.jobCount,
        unmanaged: response.unmanagedCount,
        skipped,
      };
    } catch (error) {
      const message = (error as Error).message;
      const revoked = error instanceof AgentRevokedError;
      if (!signal?.aborted) {
        this.#logger.warn(
          { err: revoked ? undefined : error },
          `the inventory was not sent (it is sent again after the next heartbeat): ${message}`,
        );
      }
      this.#emit({ type: 'inventory-failed', message });
      return { sent: false, revoked, message };
    }
  }

  /**
   * Sends heartbeats until `signal` aborts or the backend refuses the token: at once, then every
   * interval (the backend's, ± jitter), after failures with exponential backoff. With judgement
   * times, also at the next judgement instant when it comes before the interval ends, but never
   * closer than the minimum spacing to the previous heartbeat; before such a heartbeat the spool
   * is asked to drain, and the heartbeat waits (briefly) for its watermark to pass the fire time
   * + grace. Sends the inventory after a heartbeat whenever it is dirty. Never throws for a
   * failed call.
   */
  async startHeartbeats(options: HeartbeatLoopOptions): Promise<HeartbeatLoopEnd> {
    const { signal } = options;
    let failures = 0;
    /** The judgement instant the coming heartbeat is for, if it was brought forward for one. */
    let judgementAtMs: number | undefined;
    while (!signal.aborted) {
      let waitMs: number;
      let forJudgementAtMs: number | undefined;
      try {
        if (judgementAtMs !== undefined) await this.#awaitWatermark(judgementAtMs, signal);
        const sentAtMs = this.#clock.now();
        const response = await this.heartbeat(signal);
        if (failures > 0) {
          this.#logger.info({ failures }, 'the backend answers heartbeats again');
        }
        failures = 0;
        this.#emit({
          type: 'heartbeat',
          intervalMs: this.#intervalMs,
          commands: response.commands.length,
        });
        if (response.commands.length > 0) this.#dispatch(options, response.commands);
        if (this.#inventoryDirty) {
          const report = await this.#queueInventory(signal);
          if (!report.sent && report.revoked) {
            throw new AgentRevokedError(this.#revokedReason ?? report.message);
          }
        }
        const intervalWaitMs = jitteredDelayMs(
          this.#timing.intervalOverrideMs ?? this.#intervalMs,
          this.#timing.jitter,
          this.#random,
        );
        const nextJudgementMs = await this.#nextJudgementMs(sentAtMs);
        const wait = nextHeartbeatWait({
          nowMs: this.#clock.now(),
          intervalWaitMs,
          sentAtMs,
          judgementAtMs: nextJudgementMs,
          minSpacingMs: this.#options.minHeartbeatSpacingMs ?? 5_000,
        });
        waitMs = wait.waitMs;
        if (wait.forJudgement) forJudgementAtMs = nextJudgementMs;
      } catch (error) {
        if (signal.aborted) break;
        if (error instanceof AgentRevokedError) {
          return this.#revoked(options, error.reason);
        }
        failures += 1;
        waitMs = failureBackoffMs(failures, this.#timing, this.#random);
        const message = (error as Error).message;
        this.#logger.warn(
          { failures, retryInMs: waitMs },
          `heartbeat failed; the agent keeps running its jobs and retries: ${message}`,
        );
        this.#emit({ type: 'heartbeat-failed', failures, retryInMs: waitMs, message });
      }
      judgementAtMs = forJudgementAtMs;
      try {
        await this.#clock.sleep(waitMs, signal);
      } catch {
        break;
      }
    }
    return { reason: 'stopped' };
  }

  /**
   * The first judgement instant after the heartbeat that started at `sentAtMs` (that heartbeat
   * covered every earlier one), or undefined: none, or the jobs could not be read (logged; the
   * interval goes on).
   */
  async #nextJudgementMs(sentAtMs: number): Promise<number | undefined> {
    const source = this.#options.judgementTimes;
    if (source === undefined) return undefined;
    try {
      return (await source.nextAfter(new Date(sentAtMs)))?.getTime();
    } catch (error) {
      this.#logger.warn({ err: error }, 'could not compute the next judgement instant');
      return undefined;
    }
  }

  /**
   * Before a judgement heartbeat: asks the spool to drain, then waits, at most `watermarkWaitMs`,
   * until its watermark passes the fire time + grace of every instant the heartbeat serves. A watermark that stays
   * behind (a backlog, an unreachable backend) only means the backend judges later.
   */
  async #awaitWatermark(judgementAtMs: number, signal: AbortSignal): Promise<void> {
    const { requestDelivery, deliveredThrough } = this.#options;
    if (requestDelivery === undefined || deliveredThrough === undefined) return;
    requestDelivery();
    // Kept back by the spacing, the heartbeat also serves the instants up to now: the drain asked
    // for now, not an older one, is what covers them.
    const needed = Math.max(judgementAtMs, this.#clock.now()) - judgementSettleMs;
    const deadline = this.#clock.now() + (this.#options.watermarkWaitMs ?? 3_000);
    for (;;) {
      const through = deliveredThrough();
      if (through === undefined || through.getTime() >= needed) return;
      const left = deadline - this.#clock.now();
      if (left <= 0) return;
      await this.#clock.sleep(Math.min(watermarkPollMs, left), signal);
    }
  }

  #dispatch(options: HeartbeatLoopOptions, commands: AgentCommand[]): void {
    if (options.onCommands === undefined) {
      this.#logger.warn({ commands: commands.length }, 'commands from the backend were ignored');
      return;
    }
    const handler = options.onCommands;
    Promise.resolve()
      .then(() => handler(commands))
      .catch((error: unknown) =>
        this.#logger.error({ err: error }, 'a command from the backend failed'),
      );
  }

  async #revoked(options: HeartbeatLoopOptions, reason: string): Promise<HeartbeatLoopEnd> {
    this.#logger.error(
      { reason },
      'the backend refused this agent (revoked, or its token was replaced): the agent stops applying changes and leaves the installed jobs as they are; enroll it again (cronfleet-agent enroll --force) to resume',
    );
    this.#emit({ type: 'revoked', reason });
    try {
      await options.onRevoked(reason);
    } catch (error) {
      this.#logger.error({ err: error }, 'the revocation handler failed');
    }
    return { reason: 'revoked', message: reason };
  }
}

/**
 * The link, when the agent can talk to a backend: a backend URL (the configuration's, else the
 * one it enrolled with) and a stored agent token. Null otherwise: the agent works offline (it
 * says why at warn when a backend is configured but the agent is not enrolled).
 */
export async function createAgentLink(options: AgentLinkOptions): Promise<AgentLink | null> {
  const { config, logger } = options;
  const record = await readEnrollmentRecord(config.stateDir);
  const backendUrl = config.backendUrl ?? record?.backendUrl;
  if (backendUrl === undefined) return null;
  const tokenFile = agentTokenFile(config);
  const stored = await readAgentToken(tokenFile);
  if (stored.kind !== 'valid') {
    logger.warn(
      { backend: backendUrl, tokenFile },
      stored.kind === 'missing'
        ? `not enrolled (no agent token in ${tokenFile}): nothing is reported to the backend; run cronfleet-agent enroll --backend URL --enrollment-token-file FILE`
        : `the agent token file ${tokenFile} is unusable (${stored.reason}): nothing is reported to the backend; enroll again with cronfleet-agent enroll --force`,
    );
    return null;
  }
  if (record !== undefined && record.backendUrl !== backendUrl.replace(/\/+$/, '')) {
    logger.warn(
      { backend: backendUrl, enrolledAt: record.backendUrl },
      'the configured backend is not the one this agent enrolled with; its token may not be accepted there',
    );
  }
  return new AgentLink(backendUrl, stored.token, record?.agentId ?? null, options);
}
