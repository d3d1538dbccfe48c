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
  onEvent?: (event: AgentLinkEvent) => void;
}

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

  /** Makes the loop send the inventory after its next successful heartbeat. */
  markInventoryDirty(): void {
    this.#inventoryDirty = true;
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
   * sends it again after its next successful heartbeat. Reports run one at a time.
   */
  reportInventory(signal?: AbortSignal): Promise<InventoryReport> {
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
   * interval (the backend's, ± jitter), after failures with exponential backoff. Sends the
   * inventory after a heartbeat whenever it is dirty. Never throws for a failed call.
   */
  async startHeartbeats(options: HeartbeatLoopOptions): Promise<HeartbeatLoopEnd> {
    const { signal } = options;
    let failures = 0;
    while (!signal.aborted) {
      let waitMs: number;
      try {
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
          const report = await this.reportInventory(signal);
          if (!report.sent && report.revoked) {
            throw new AgentRevokedError(this.#revokedReason ?? report.message);
          }
        }
        waitMs = jitteredDelayMs(
          this.#timing.intervalOverrideMs ?? this.#intervalMs,
          this.#timing.jitter,
          this.#random,
        );
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
      try {
        await sleep(waitMs, undefined, { signal });
      } catch {
        break;
      }
    }
    return { reason: 'stopped' };
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
