import { randomBytes } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  backoffDelayMs,
  CronfleetApiError,
  CronfleetRequestValidationError,
  MAX_CHECK_INS_PER_BATCH,
} from '@cronfleet/core/api';
import type { CheckIn, CronfleetClient, RetryPolicy } from '@cronfleet/core/api';
import { writeFileAtomically } from '../state/atomicFile.js';
import { ensureRealDirectories } from '../state/stateDirectory.js';
import { silentSpoolLogger, withoutOutputBodies, type SpoolLogger } from './checkInSpool.js';
import {
  adoptStaleClaims,
  checkInFrame,
  defaultSpoolModes,
  isErrno,
  readSegmentFile,
  SegmentClaim,
  SpoolLayout,
  type SpoolEntry,
  type SpoolModes,
} from './spoolLayout.js';

/** Why a batch was not taken, and what the sender does about it. */
export type SendFailure =
  /** Something in this batch was refused (400, 422, 413, or invalid before sending): bisect. */
  | { kind: 'rejected'; tooLarge: boolean }
  /** The token is unknown, revoked or missing (401, 403): stop, keep everything. */
  | { kind: 'unauthorized' }
  /** Network, 5xx, 429, anything else: keep everything, back off, try again. */
  | { kind: 'unavailable'; retryAfterMs: number | null };

/**
 * Sorts a failed `sendCheckIns` into what the sender does next. Only answers that are about the
 * batch's content set check-ins aside: 400, 422, 413, and the backend's own 409 `conflict` (a
 * check-in carries a run id of another agent; the backend records nothing of that batch, so
 * bisecting sets aside only that check-in). Any other 4xx (404 from a wrong base URL, a 409 that
 * is not the backend's…) is treated as the backend being unavailable, so that a misconfiguration
 * never empties the spool.
 */
export function classifySendFailure(error: unknown): SendFailure {
  if (error instanceof CronfleetRequestValidationError) {
    return error.part === 'token'
      ? { kind: 'unauthorized' }
      : { kind: 'rejected', tooLarge: false };
  }
  if (error instanceof CronfleetApiError) {
    if (error.status === 401 || error.status === 403) return { kind: 'unauthorized' };
    if (error.status === 413) return { kind: 'rejected', tooLarge: true };
    if (error.status === 400 || error.status === 422) return { kind: 'rejected', tooLarge: false };
    if (error.status === 409 && error.code === 'conflict') {
      return { kind: 'rejected', tooLarge: false };
    }
    return { kind: 'unavailable', retryAfterMs: error.retryAfterMs };
  }
  return { kind: 'unavailable', retryAfterMs: null };
}

/** The sender's backoff between drains that found the backend unavailable. */
export const DEFAULT_SENDER_BACKOFF: RetryPolicy = {
  retries: Number.POSITIVE_INFINITY,
  baseDelayMs: 1_000,
  maxDelayMs: 5 * 60_000,
};

/** The longest `Retry-After` honoured; a longer one is treated as this. */
export const MAX_RETRY_AFTER_MS = 60 * 60_000;

/**
 * The wait after the `failures`-th failed drain in a row: exponential backoff with jitter (so a
 * fleet hit by one outage does not come back in step), at least the backend's Retry-After.
 */
export function senderRetryDelayMs(
  failures: number,
  retryAfterMs: number | null | undefined,
  policy: RetryPolicy = DEFAULT_SENDER_BACKOFF,
  random: () => number = Math.random,
): number {
  const backoff = backoffDelayMs(failures, policy, random);
  return Math.max(backoff, Math.min(retryAfterMs ?? 0, MAX_RETRY_AFTER_MS));
}

export type DrainOutcome =
  /** Everything that was in the spool when the drain looked was acknowledged or set aside. */
  | 'empty'
  /** The backend could not be reached or answered 5xx/429: what is left stays for later. */
  | 'unavailable'
  /** 401/403: nothing more is sent; everything stays. */
  | 'unauthorized'
  /** The caller's signal (stop, flush deadline) ended the drain. */
  | 'aborted';

export interface DrainResult {
  outcome: DrainOutcome;
  /** Check-ins the backend acknowledged (recorded now, or already before). */
  sent: number;
  accepted: number;
  duplicates: number;
  /** Check-ins the backend refused, set aside in rejected/. */
  rejected: number;
  /** Requests that the backend acknowledged. */
  batches: number;
  /**
   * Copies of check-ins already acknowledged (a writer appends again when a sender took its
   * segment mid-write), removed without being sent.
   */
  deduplicated: number;
  /** Torn or damaged bytes skipped in the segments read. */
  skippedBytes: number;
  /** Why the drain stopped early. */
  error?: Error;
  /** The backend's Retry-After, when it gave one. */
  retryAfterMs?: number | null;
}

export interface SpoolSenderEvents {
  /** A batch was acknowledged. */
  sent: [{ checkIns: number; accepted: number; duplicates: number }];
  /** The backend refused this check-in; it was set aside in `file`. */
  rejected: [{ checkIn: CheckIn; reason: string; file: string }];
  /** The agent token is unknown or revoked: sending stopped, nothing was dropped. */
  unauthorized: [error: Error];
  /** The backend is unavailable; the loop waits `delayMs` before the next drain. */
  backoff: [{ error: Error | undefined; delayMs: number; failures: number }];
}

export interface SpoolSenderOptions {
  /** The spool folder, `<stateDir>/spool`. */
  directory: string;
  /**
   * The typed client, with the agent token. Create it with `retries: 0`: the sender backs off
   * itself between drains, and a client that retried inside one call would hold its claim longer.
   */
  client: Pick<CronfleetClient, 'sendCheckIns'>;
  logger?: SpoolLogger;
  /** Check-ins per request, at most MAX_CHECK_INS_PER_BATCH (default). */
  batchSize?: number;
  /** JSON bytes per request at most (default 4 MiB; the backend takes 8 MB bodies). */
  maxBatchBytes?: number;
  /** Batches in flight at once (default 2): the next is prepared while one is committed. */
  concurrency?: number;
  /** The loop's drain interval when nothing calls `notify()` (default 5 s). */
  pollIntervalMs?: number;
  /** A claim untouched this long belongs to a dead sender and is taken over (default 2 min). */
  claimTimeoutMs?: number;
  /** Each request is abandoned after this long (default 30 s; below half the claim timeout). */
  requestTimeoutMs?: number;
  backoff?: Partial<Pick<RetryPolicy, 'baseDelayMs' | 'maxDelayMs'>>;
  /** Files kept in rejected/ (default 1000; the oldest go first, with a warning). */
  maxRejectedFiles?: number;
  modes?: Partial<SpoolModes>;
  random?: () => number;
  /** The clock of deliveredThrough (default Date.now). */
  now?: () => number;
}

/** How many acknowledged check-in keys a sender remembers to skip their copies. */
const ACKNOWLEDGED_KEYS_KEPT = 50_000;

/** The backend's idempotency key of a check-in. */
function keyOf(checkIn: CheckIn): string {
  return `${checkIn.runId}/${checkIn.kind}`;
}

interface HeldSegment {
  name: string;
  entries: SpoolEntry[];
  done: boolean[];
  left: number;
  /** The file holds bytes that no entry stands for (torn records): rewrite it when put back. */
  damaged: boolean;
}

interface Item {
  segment: HeldSegment;
  index: number;
}

/** Stops a drain: the failure and what `drainOnce` reports. */
class DrainStop extends Error {
  constructor(
    readonly outcome: Exclude<DrainOutcome, 'empty'>,
    readonly failure: Error,
    readonly retryAfterMs: number | null,
  ) {
    super(failure.message, { cause: failure });
  }
}

/**
 * Drains the spool to the backend (issue 5 §4): batches of up to 1,000 check-ins through the
 * typed client; a segment is deleted only once every check-in in it was acknowledged (a 200 means
 * committed) or set aside, so a crash anywhere only ever causes a resend, which the backend
 * ignores by (runId, kind).
 *
 * Several senders may run at once (the daemon's, and best-effort ones in wrappers after a run):
 * each takes whole segments out of segments/ by renaming them into its own claim folder, so no two
 * send the same check-ins; a sender that dies leaves its claim behind, and after `claimTimeoutMs`
 * without a touch another one puts those segments back.
 *
 * A batch the backend refuses for its content is bisected down to the check-ins at fault, which
 * are set aside in rejected/ with the answer (one bad check-in never blocks the spool); a
 * check-in too large for the backend first loses its output bodies. A 401/403 stops sending and
 * emits `unauthorized`; network errors, 5xx and 429 back off with jitter, honouring Retry-After.
 */
export class SpoolSender extends EventEmitter<SpoolSenderEvents> {
  readonly layout: SpoolLayout;
  private readonly client: Pick<CronfleetClient, 'sendCheckIns'>;
  private readonly logger: SpoolLogger;
  private readonly batchSize: number;
  private readonly maxBatchBytes: number;
  private readonly concurrency: number;
  private readonly pollIntervalMs: number;
  private readonly claimTimeoutMs: number;
  private readonly requestTimeoutMs: number;
  private readonly backoffPolicy: RetryPolicy;
  private readonly maxRejectedFiles: number;
  private readonly random: () => number;
  private readonly now: () => number;

  /** `runId/kind` of check-ins recently acknowledged (or set aside), oldest first. */
  private readonly acknowledged = new Set<string>();
  private draining: Promise<DrainResult> | undefined;
  private loop: Promise<void> | undefined;
  private loopController: AbortController | undefined;
  private stopping = false;
  private notified = false;
  private wakeSleeper: (() => void) | undefined;
  private sleeperWakeable = false;
  private deliveredThroughMs: number | undefined;

  constructor(options: SpoolSenderOptions) {
    super();
    this.layout = new SpoolLayout(path.resolve(options.directory), {
      ...defaultSpoolModes,
      ...options.modes,
    });
    this.client = options.client;
    this.logger = options.logger ?? silentSpoolLogger;
    this.batchSize = options.batchSize ?? MAX_CHECK_INS_PER_BATCH;
    if (
      !Number.isInteger(this.batchSize) ||
      this.batchSize < 1 ||
      this.batchSize > MAX_CHECK_INS_PER_BATCH
    ) {
      throw new RangeError(`batchSize must be 1–${MAX_CHECK_INS_PER_BATCH}, got ${this.batchSize}`);
    }
    this.maxBatchBytes = options.maxBatchBytes ?? 4 * 1024 * 1024;
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 2));
    this.pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.claimTimeoutMs = options.claimTimeoutMs ?? 120_000;
    this.requestTimeoutMs = options.requestTimeoutMs ?? 30_000;
    if (this.requestTimeoutMs * 2 > this.claimTimeoutMs) {
      throw new RangeError(
        `requestTimeoutMs (${this.requestTimeoutMs}) must be at most half of claimTimeoutMs (${this.claimTimeoutMs}), so that no other sender takes over a claim while its request is in flight`,
      );
    }
    this.backoffPolicy = { ...DEFAULT_SENDER_BACKOFF, ...options.backoff };
    this.maxRejectedFiles = options.maxRejectedFiles ?? 1000;
    this.random = options.random ?? Math.random;
    this.now = options.now ?? Date.now;
  }

  /**
   * Sends until the spool is empty (as it was when the drain looked) or a failure stops it. One
   * drain at a time per sender: a second call waits for the first and then drains again.
   */
  drainOnce(options: { signal?: AbortSignal } = {}): Promise<DrainResult> {
    const previous = this.draining ?? Promise.resolve(undefined);
    const next = previous.catch(() => undefined).then(() => this.drain(options.signal));
    this.draining = next;
    void next
      .finally(() => {
        if (this.draining === next) this.draining = undefined;
      })
      .catch(() => undefined);
    return next;
  }

  /** Starts the loop: a drain at once, then on every `notify()` or poll interval, with backoff. */
  start(): void {
    if (this.loop !== undefined) return;
    this.stopping = false;
    const controller = new AbortController();
    this.loopController = controller;
    this.loop = this.runLoop(controller.signal).finally(() => {
      this.loop = undefined;
    });
  }

  /** Wakes the loop now (after a `record`), unless it is backing off from a failure. */
  notify(): void {
    this.notified = true;
    if (this.sleeperWakeable) this.wakeSleeper?.();
  }

  /** Stops the loop, abandoning a request in flight (its check-ins stay in the spool). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.loopController?.abort();
    this.wakeSleeper?.();
    await this.loop;
  }

  /**
   * For SIGTERM: stops the loop, lets a drain in flight finish, then drains what is left, all
   * within `timeoutMs`. What could not be sent in time stays in the spool for the next start.
   */
  async flush(timeoutMs: number): Promise<DrainResult> {
    const deadline = Date.now() + timeoutMs;
    this.stopping = true;
    this.wakeSleeper?.();
    const controller = this.loopController;
    const timer = setTimeout(() => controller?.abort(), timeoutMs);
    try {
      await this.loop;
    } finally {
      clearTimeout(timer);
    }
    const remaining = deadline - Date.now();
    if (remaining <= 0) {
      return { ...emptyResult(), outcome: 'aborted', error: new Error('flush timed out') };
    }
    return this.drainOnce({ signal: AbortSignal.timeout(remaining) });
  }

  private async runLoop(signal: AbortSignal): Promise<void> {
    let failures = 0;
    while (!this.stopping) {
      this.notified = false;
      let result: DrainResult;
      try {
        result = await this.drainOnce({ signal });
      } catch (error) {
        // The spool itself failed (a read error, a full disk while putting a segment back):
        // log it and try again later, like an unavailable backend. Nothing was deleted.
        this.logger.error(
          { spool: this.layout.root, err: error },
          'check-in sender: the spool could not be read or updated; retrying later',
        );
        result = {
          ...emptyResult(),
          outcome: 'unavailable',
          error: error instanceof Error ? error : new Error(String(error)),
        };
      }
      if (this.stopping) break;
      if (result.outcome === 'unauthorized') {
        this.logger.error(
          { spool: this.layout.root, err: result.error },
          'check-in sender stopped: the backend refused the agent token (revoked or unknown); check-ins stay in the spool until the agent is enrolled again',
        );
        break;
      }
      if (result.outcome === 'unavailable') {
        failures += 1;
        const delayMs = senderRetryDelayMs(
          failures,
          result.retryAfterMs,
          this.backoffPolicy,
          this.random,
        );
        this.logger.warn(
          { spool: this.layout.root, failures, delayMs, err: result.error },
          'check-in sender: the backend is unavailable; retrying later (check-ins stay in the spool)',
        );
        this.emit('backoff', { error: result.error, delayMs, failures });
        await this.sleep(delayMs, false);
      } else {
        failures = 0;
        if (!this.notified) await this.sleep(this.pollIntervalMs, true);
      }
    }
  }

  private sleep(ms: number, wakeable: boolean): Promise<void> {
    if (this.stopping) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeSleeper = undefined;
        this.sleeperWakeable = false;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeSleeper = done;
      this.sleeperWakeable = wakeable;
    });
  }

  /**
   * The start of the last drain that emptied the spool: every check-in recorded before it (its
   * append finished) was in the spool when that drain looked, and was acknowledged or refused.
   * The heartbeat reports it (HeartbeatRequest.deliveredThrough). Undefined until such a drain.
   */
  deliveredThrough(): Date | undefined {
    return this.deliveredThroughMs === undefined ? undefined : new Date(this.deliveredThroughMs);
  }

  private async drain(signal: AbortSignal | undefined): Promise<DrainResult> {
    const startedAt = this.now();
    const result = emptyResult();
    await this.layout.ensure();
    const adopted = await adoptStaleClaims(this.layout, this.claimTimeoutMs);
    if (adopted > 0) {
      this.logger.info(
        { spool: this.layout.root, segments: adopted },
        'check-in sender: took back segments left by a sender that stopped mid-send',
      );
    }
    const claim = new SegmentClaim(this.layout);
    const held = new Map<string, HeldSegment>();
    const queue: Item[] = [];
    let exhausted = false;
    const inFlight = new Set<Promise<void>>();
    let stop: DrainStop | undefined;
    let crash: unknown;
    try {
      for (;;) {
        if (signal?.aborted === true) stop ??= new DrainStop('aborted', abortReason(signal), null);
        if (stop !== undefined || crash !== undefined) break;
        while (!exhausted && queue.length < this.batchSize) {
          const name = await this.claimNext(claim);
          if (name === undefined) {
            exhausted = true;
            break;
          }
          const segment = await this.readHeld(claim, name, result);
          if (segment === undefined) continue;
          held.set(name, segment);
          for (let index = 0; index < segment.entries.length; index += 1) {
            queue.push({ segment, index });
          }
        }
        if (queue.length === 0) {
          if (inFlight.size === 0) break;
          await Promise.race(inFlight);
          continue;
        }
        const { batch, twins, known } = this.takeBatch(queue);
        if (known.length > 0) {
          result.deduplicated += known.length;
          await this.markDone(known, claim, held);
        }
        if (batch.length === 0) continue;
        await claim.touch();
        // Up to `concurrency` batches in flight: the backend's commit of one overlaps the
        // agent's reading and encoding of the next.
        const sending = this.sendItems(batch, claim, held, result, signal)
          .then(async () => {
            // Each twin's first copy was just acknowledged or set aside: the twin goes with it.
            result.deduplicated += twins.length;
            await this.markDone(twins, claim, held);
            for (const item of batch) this.remember(keyOf(this.checkInOf(item)));
          })
          .catch((error: unknown) => {
            if (error instanceof DrainStop) stop ??= error;
            else crash ??= error;
          })
          .finally(() => {
            inFlight.delete(sending);
          });
        inFlight.add(sending);
        if (inFlight.size >= this.concurrency) await Promise.race(inFlight);
      }
      await Promise.all(inFlight);
      if (crash !== undefined) throw crash;
      if (stop !== undefined) throw stop;
    } catch (error) {
      if (!(error instanceof DrainStop)) throw error;
      result.outcome = error.outcome;
      result.error = error.failure;
      result.retryAfterMs = error.retryAfterMs;
    } finally {
      // Nothing is put back while a request for it may still be acknowledged.
      await Promise.all(inFlight);
      await this.putBack(claim, held);
      await this.trimRejected();
    }
    if (result.outcome === 'empty') {
      this.deliveredThroughMs = Math.max(this.deliveredThroughMs ?? startedAt, startedAt);
    }
    return result;
  }

  /** Reads a segment just claimed; undefined (and the file removed) when it holds nothing. */
  private async readHeld(
    claim: SegmentClaim,
    name: string,
    result: DrainResult,
  ): Promise<HeldSegment | undefined> {
    const content = await readSegmentFile(claim.pathOf(name));
    if (content.skippedBytes > 0) {
      result.skippedBytes += content.skippedBytes;
      this.logger.warn(
        {
          spool: this.layout.root,
          segment: name,
          skippedBytes: content.skippedBytes,
          ranges: content.skippedRanges,
        },
        'check-in spool: skipped torn or damaged records (a writer was killed mid-write, or the machine lost power); the intact records around them are sent',
      );
    }
    if (content.entries.length === 0) {
      await claim.remove(name);
      return undefined;
    }
    return {
      name,
      entries: content.entries,
      done: content.entries.map(() => false),
      left: content.entries.length,
      damaged: content.skippedBytes > 0,
    };
  }

  /** The oldest segment not yet taken; the highest only once a new one was started after it. */
  private async claimNext(claim: SegmentClaim): Promise<string | undefined> {
    for (let attempt = 0; attempt < 8; attempt += 1) {
      const segments = await this.layout.listSegments();
      const last = segments.at(-1);
      if (last === undefined) return undefined;
      for (const segment of segments.slice(0, -1)) {
        if (await claim.take(segment.name)) return segment.name;
      }
      let size: number;
      try {
        size = (await stat(path.join(this.layout.segmentsDir, last.name))).size;
      } catch (error) {
        if (isErrno(error, 'ENOENT')) continue;
        throw error;
      }
      if (size === 0) return undefined;
      // Seal it: writers move on to the next one, and the highest is never taken.
      await this.layout.createSegment(last.seq + 1);
    }
    return undefined;
  }

  /**
   * The next batch, up to batchSize check-ins and maxBatchBytes. A check-in may sit in the spool
   * twice (a writer appends again when a sender took its segment mid-write): a copy of one this
   * sender saw acknowledged (`known`) or of one already in the batch (`twins`) is not sent again.
   */
  private takeBatch(queue: Item[]): { batch: Item[]; twins: Item[]; known: Item[] } {
    const batch: Item[] = [];
    const twins: Item[] = [];
    const known: Item[] = [];
    const inBatch = new Set<string>();
    let bytes = 0;
    let taken = 0;
    for (const item of queue) {
      const key = keyOf(this.checkInOf(item));
      if (this.acknowledged.has(key)) {
        known.push(item);
      } else if (inBatch.has(key)) {
        twins.push(item);
      } else {
        const itemBytes = (item.segment.entries[item.index]?.payloadBytes ?? 0) + 1;
        if (
          batch.length >= this.batchSize ||
          (batch.length > 0 && bytes + itemBytes > this.maxBatchBytes)
        ) {
          break;
        }
        inBatch.add(key);
        batch.push(item);
        bytes += itemBytes;
      }
      taken += 1;
    }
    queue.splice(0, taken);
    return { batch, twins, known };
  }

  /** Remembers an acknowledged check-in (the most recent ones only). */
  private remember(key: string): void {
    this.acknowledged.add(key);
    if (this.acknowledged.size > ACKNOWLEDGED_KEYS_KEPT) {
      const oldest = this.acknowledged.values().next();
      if (oldest.done !== true) this.acknowledged.delete(oldest.value);
    }
  }

  private checkInOf(item: Item): CheckIn {
    const entry = item.segment.entries[item.index];
    if (entry === undefined) throw new Error('a spool item lost its entry');
    return entry.checkIn;
  }

  private async sendItems(
    items: Item[],
    claim: SegmentClaim,
    held: Map<string, HeldSegment>,
    result: DrainResult,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const timeout = AbortSignal.timeout(this.requestTimeoutMs);
    const requestSignal = signal === undefined ? timeout : AbortSignal.any([signal, timeout]);
    try {
      const response = await this.client.sendCheckIns(
        { checkIns: items.map((item) => this.checkInOf(item)) },
        { signal: requestSignal },
      );
      result.sent += items.length;
      result.accepted += response.accepted;
      result.duplicates += response.duplicates;
      result.batches += 1;
      this.emit('sent', { checkIns: items.length, ...response });
      await this.markDone(items, claim, held);
      return;
    } catch (error) {
      if (signal?.aborted === true) throw new DrainStop('aborted', abortReason(signal), null);
      const failure = classifySendFailure(error);
      const asError = error instanceof Error ? error : new Error(String(error));
      if (failure.kind === 'unauthorized') {
        this.emit('unauthorized', asError);
        throw new DrainStop('unauthorized', asError, null);
      }
      if (failure.kind === 'unavailable') {
        throw new DrainStop('unavailable', asError, failure.retryAfterMs);
      }
      if (items.length > 1) {
        const middle = Math.ceil(items.length / 2);
        await this.sendItems(items.slice(0, middle), claim, held, result, signal);
        await this.sendItems(items.slice(middle), claim, held, result, signal);
        return;
      }
      const [item] = items as [Item];
      const checkIn = this.checkInOf(item);
      const entry = item.segment.entries[item.index] as SpoolEntry;
      if (failure.tooLarge && checkIn.kind === 'finish' && !checkIn.outputTruncated) {
        this.logger.warn(
          {
            spool: this.layout.root,
            runId: checkIn.runId,
            job: `${checkIn.namespace}/${checkIn.name}`,
          },
          'check-in too large for the backend: sending the run without its output',
        );
        item.segment.entries[item.index] = {
          checkIn: withoutOutputBodies(checkIn),
          payloadBytes: entry.payloadBytes,
        };
        await this.sendItems(items, claim, held, result, signal);
        return;
      }
      await this.setAside(checkIn, asError);
      result.rejected += 1;
      await this.markDone(items, claim, held);
    }
  }

  private async markDone(
    items: readonly Item[],
    claim: SegmentClaim,
    held: Map<string, HeldSegment>,
  ): Promise<void> {
    for (const { segment, index } of items) {
      if (segment.done[index] === true) continue;
      segment.done[index] = true;
      segment.left -= 1;
      if (segment.left === 0) {
        held.delete(segment.name);
        await claim.remove(segment.name);
      }
    }
  }

  /** Puts back what was not sent: as it was, or rewritten without what was acknowledged. */
  private async putBack(claim: SegmentClaim, held: Map<string, HeldSegment>): Promise<void> {
    for (const segment of held.values()) {
      try {
        if (segment.left === 0) {
          await claim.remove(segment.name);
          continue;
        }
        if (segment.left < segment.entries.length || segment.damaged) {
          const frames = segment.entries
            .filter((_entry, index) => segment.done[index] !== true)
            .map((entry) => checkInFrame(entry.checkIn));
          try {
            await claim.replace(segment.name, frames);
          } catch (error) {
            // No room to rewrite: put it back whole; the acknowledged ones are resent later.
            this.logger.warn(
              { spool: this.layout.root, segment: segment.name, err: error },
              'check-in spool: could not rewrite a partly sent segment; its sent check-ins will be sent again',
            );
          }
        }
        await claim.release(segment.name);
      } catch (error) {
        // Left in the claim folder: taken back after the claim timeout, never lost.
        this.logger.error(
          { spool: this.layout.root, segment: segment.name, err: error },
          'check-in spool: could not put a segment back; it will be taken back after the claim timeout',
        );
      }
    }
    held.clear();
    try {
      await claim.close();
    } catch (error) {
      this.logger.error(
        { spool: this.layout.root, err: error },
        'check-in spool: claim cleanup failed',
      );
    }
  }

  private async setAside(checkIn: CheckIn, error: Error): Promise<string> {
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const file = path.join(
      this.layout.rejectedDir,
      `${stamp}-${checkIn.runId}-${checkIn.kind}-${randomBytes(3).toString('hex')}.json`,
    );
    const answer =
      error instanceof CronfleetApiError
        ? {
            status: error.status,
            code: error.code,
            message: error.serverMessage,
            details: error.details,
          }
        : error instanceof CronfleetRequestValidationError
          ? {
              status: null,
              code: 'invalid_before_sending',
              message: error.message,
              details: error.issues,
            }
          : { status: null, code: null, message: error.message, details: null };
    // rejected/ is never a symbolic link (stateDirectory.ts): nothing is written outside.
    ensureRealDirectories([this.layout.rejectedDir], this.layout.modes.directoryMode);
    await writeFileAtomically(
      file,
      `${JSON.stringify({ rejectedAt: new Date().toISOString(), reason: answer, checkIn }, null, 2)}\n`,
      this.layout.modes.fileMode,
    );
    this.logger.warn(
      {
        spool: this.layout.root,
        runId: checkIn.runId,
        kind: checkIn.kind,
        job: `${checkIn.namespace}/${checkIn.name}`,
        file,
        reason: answer.message,
      },
      "check-in refused by the backend: set aside in the spool's rejected/ folder",
    );
    this.emit('rejected', { checkIn, reason: answer.message, file });
    return file;
  }

  /** Keeps rejected/ to `maxRejectedFiles`, dropping the oldest. */
  private async trimRejected(): Promise<void> {
    let names: string[];
    try {
      names = (await readdir(this.layout.rejectedDir))
        .filter((name) => name.endsWith('.json'))
        .sort();
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return;
      throw error;
    }
    const excess = names.length - this.maxRejectedFiles;
    if (excess <= 0) return;
    for (const name of names.slice(0, excess)) {
      await rm(path.join(this.layout.rejectedDir, name), { force: true });
    }
    this.logger.warn(
      { spool: this.layout.root, deleted: excess, kept: this.maxRejectedFiles },
      'check-in spool: deleted the oldest refused check-ins from rejected/ (over its limit)',
    );
  }
}

function emptyResult(): DrainResult {
  return {
    outcome: 'empty',
    sent: 0,
    accepted: 0,
    duplicates: 0,
    rejected: 0,
    batches: 0,
    deduplicated: 0,
    skippedBytes: 0,
  };
}

function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error ? reason : new Error('aborted');
}
