import { constants } from 'node:fs';
import { open, readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import type { CheckIn, CheckInFinish } from '@cronfleet/core/api';
import type { Logger } from 'pino';
import { syncDirectory } from '../state/atomicFile.js';
import { readStateFile } from '../state/stateDirectory.js';
import type { CheckInSink } from './checkInSink.js';
import {
  checkInFrame,
  defaultSpoolModes,
  isErrno,
  readSegmentFile,
  SegmentClaim,
  segmentName,
  SpoolLayout,
  type SpoolModes,
  type SpoolUsage,
} from './spoolLayout.js';

/** What the spool and its sender log through (a pino logger fits). */
export type SpoolLogger = Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;

export const silentSpoolLogger: SpoolLogger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};

export const DEFAULT_SPOOL_MAX_BYTES = 64 * 1024 * 1024;

/** Where the spool lives in the agent's state directory; the wrapper and the daemon agree on it. */
export function spoolDirectoryOf(stateDir: string): string {
  return path.join(stateDir, 'spool');
}

export interface CheckInSpoolOptions {
  /** The spool folder, `<stateDir>/spool`; created when missing. */
  directory: string;
  /**
   * The size the spool keeps to (default 64 MiB). Beyond it the oldest finished runs lose their
   * output bodies; run records are never dropped (see `record`).
   */
  maxBytes?: number;
  /**
   * A writer starts a new segment file once the current one holds this much. Default: 1 MiB,
   * or maxBytes / 16 when smaller, so the size bound can act on sealed segments.
   */
  segmentBytes?: number;
  logger?: SpoolLogger;
  /** Default 0700 folders and 0600 files: check-ins carry job output. */
  modes?: Partial<SpoolModes>;
}

/** The spool cannot be written (a full, read-only or foreign file system): nothing was recorded. */
export class SpoolWriteError extends Error {
  override readonly name = 'SpoolWriteError';
  /** The system error code, e.g. ENOSPC; null when there was none. */
  readonly code: string | null;

  constructor(
    readonly directory: string,
    count: number,
    cause: unknown,
  ) {
    const code = (cause as NodeJS.ErrnoException | undefined)?.code ?? null;
    const hints: Record<string, string> = {
      ENOSPC: 'the file system is full; free space on it',
      EDQUOT: 'the disk quota of this user is exhausted',
      EROFS: 'the file system is read-only',
      EACCES:
        "the spool belongs to another user; run the wrapper as the agent's user or fix the permissions",
      EPERM:
        "the spool belongs to another user; run the wrapper as the agent's user or fix the permissions",
    };
    const hint = code === null ? undefined : hints[code];
    super(
      `cannot record ${count} check-in${count === 1 ? '' : 's'} in the spool ${directory}: ${(cause as Error | undefined)?.message ?? String(cause)}${hint === undefined ? '' : ` (${hint})`}`,
      { cause },
    );
    this.code = code;
  }
}

function hasBodies(checkIn: CheckIn): checkIn is CheckInFinish {
  return checkIn.kind === 'finish' && (checkIn.outputHead !== '' || checkIn.outputTail !== '');
}

/** The check-in without its output: the run record stays whole, the output is marked truncated. */
export function withoutOutputBodies(checkIn: CheckIn): CheckIn {
  if (checkIn.kind !== 'finish') return checkIn;
  return { ...checkIn, outputHead: '', outputTail: '', outputTruncated: true };
}

/**
 * The durable check-in spool (issue 5 §4): the run wrapper records every check-in here before
 * anything is sent, and `SpoolSender` drains it to the backend.
 *
 * Why segments of framed records rather than one file per check-in: a drain of 100,000 check-ins
 * must run at ≥ 10,000/s, and a rename, a read and an unlink per check-in cost about as much as
 * the whole budget on a loaded 2-core machine. So writers append to a shared segment file:
 * - each `record` is one `write` with O_APPEND (the kernel never interleaves two writes to a local
 *   file), then fdatasync, and an fsync of the folder for a segment this process has not used;
 * - no lock is ever taken, so no crash can leave one behind;
 * - every record carries a length and checksums (spoolFrame.ts): a write torn by kill -9 or a
 *   power loss is detected on read and skipped without hiding the records after it;
 * - a sender takes a segment out of segments/ by renaming it, so after its fdatasync a writer
 *   checks that the segment's name still leads to the inode it wrote: if not, the segment was
 *   taken before the write landed and the writer appends again to the current one (the backend
 *   ignores the possible duplicate). `record` resolves only once the check-ins are in a segment
 *   that every later reader will read.
 */
export class CheckInSpool implements CheckInSink {
  readonly layout: SpoolLayout;
  readonly maxBytes: number;
  readonly segmentBytes: number;
  private readonly logger: SpoolLogger;
  private ready: Promise<void> | undefined;
  /** Segments whose folder entry this process has made durable. */
  private readonly syncedSegments = new Set<string>();

  constructor(options: CheckInSpoolOptions) {
    this.layout = new SpoolLayout(path.resolve(options.directory), {
      ...defaultSpoolModes,
      ...options.modes,
    });
    this.maxBytes = options.maxBytes ?? DEFAULT_SPOOL_MAX_BYTES;
    this.segmentBytes =
      options.segmentBytes ?? Math.max(4096, Math.min(1024 * 1024, Math.floor(this.maxBytes / 16)));
    this.logger = options.logger ?? silentSpoolLogger;
  }

  get directory(): string {
    return this.layout.root;
  }

  /**
   * Makes the check-ins durable. Over the size bound, first the output bodies of the oldest
   * finished runs are dropped (oldest segments first, run records kept, a warning logged); if the
   * spool is still over, these check-ins are recorded without their output bodies; if it is still
   * over after that (only run records left), they are recorded anyway: a run record is never
   * dropped, and the spool grows past its bound by what the backend has not yet taken.
   *
   * @throws SpoolWriteError when the spool cannot be written (nothing was recorded then).
   */
  async record(checkIns: readonly CheckIn[]): Promise<void> {
    if (checkIns.length === 0) return;
    try {
      this.ready ??= this.layout.ensure();
      await this.ready;
      let frames = checkIns.map(checkInFrame);
      let bytes = frames.reduce((sum, frame) => sum + frame.length, 0);
      const usage = await this.layout.usage();
      if (usage.bytes + bytes > this.maxBytes) {
        const excess = usage.bytes + bytes - this.maxBytes;
        let freed = 0;
        try {
          freed = await this.dropOldestOutputBodies(excess, usage);
        } catch (error) {
          // Making room failed (e.g. no space even for the smaller copy): still record the run.
          this.logger.warn(
            { spool: this.directory, err: error },
            'check-in spool over its size bound, and dropping old output bodies failed',
          );
        }
        if (freed < excess) {
          const bodies = checkIns.filter(hasBodies).length;
          if (bodies > 0) {
            frames = checkIns.map((checkIn) => checkInFrame(withoutOutputBodies(checkIn)));
            bytes = frames.reduce((sum, frame) => sum + frame.length, 0);
          }
          this.logger.warn(
            {
              spool: this.directory,
              maxBytes: this.maxBytes,
              usedBytes: usage.bytes - freed,
              outputsDropped: bodies,
            },
            bodies > 0
              ? 'check-in spool is full of run records: recording this run without its output (the backend is not taking check-ins)'
              : 'check-in spool is over its size bound with run records only: recording anyway, run records are never dropped',
          );
        }
      }
      await this.append(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
    } catch (error) {
      if (error instanceof SpoolWriteError) throw error;
      throw new SpoolWriteError(this.directory, checkIns.length, error);
    }
  }

  /** Bytes and segments held, waiting or being sent. */
  usage(): Promise<SpoolUsage> {
    return this.layout.usage();
  }

  /**
   * Every check-in the spool holds (waiting or being sent), oldest segment first: a snapshot for
   * `status` and tests. Torn and damaged records are counted, not returned.
   */
  async pendingCheckIns(): Promise<{ checkIns: CheckIn[]; skippedBytes: number }> {
    const files = await this.layout.claimedSegmentFiles();
    for (const segment of await this.layout.listSegments()) {
      files.push(path.join(this.layout.segmentsDir, segment.name));
    }
    const checkIns: CheckIn[] = [];
    let skippedBytes = 0;
    for (const file of files) {
      try {
        const content = await readSegmentFile(file);
        checkIns.push(...content.entries.map((entry) => entry.checkIn));
        skippedBytes += content.skippedBytes;
      } catch (error) {
        // Taken by a sender between the listing and the read.
        if (!isErrno(error, 'ENOENT')) throw error;
      }
    }
    return { checkIns, skippedBytes };
  }

  /**
   * Puts the check-ins the backend refused (rejected/, see SpoolSender) back into the spool, e.g.
   * after the backend was fixed or upgraded; each file is deleted once its check-in is durable
   * again. Returns how many were put back.
   */
  async requeueRejected(): Promise<number> {
    let names: string[];
    try {
      names = (await readdir(this.layout.rejectedDir)).filter((name) => name.endsWith('.json'));
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return 0;
      throw error;
    }
    let requeued = 0;
    for (const name of names.sort()) {
      const file = path.join(this.layout.rejectedDir, name);
      const content = readStateFile(file);
      if (content === undefined) continue; // requeued meanwhile by another process
      const { checkIn } = JSON.parse(content.toString('utf8')) as { checkIn: CheckIn };
      await this.record([checkIn]);
      await rm(file, { force: true });
      requeued += 1;
    }
    return requeued;
  }

  /** Appends `buffer` (whole frames) to the current segment; see the class comment. */
  private async append(buffer: Buffer): Promise<void> {
    const { segmentsDir } = this.layout;
    for (let attempt = 0; attempt < 32; attempt += 1) {
      const current = (await this.layout.listSegments()).at(-1);
      if (current === undefined) {
        await this.layout.createSegment(1);
        continue;
      }
      const file = path.join(segmentsDir, current.name);
      let handle;
      try {
        // No O_CREAT: a segment a sender just took must not come back empty under its old name.
        // O_NOFOLLOW: a symbolic link planted as a segment is never written through.
        handle = await open(file, constants.O_WRONLY | constants.O_APPEND | constants.O_NOFOLLOW);
      } catch (error) {
        if (isErrno(error, 'ENOENT')) continue;
        throw error;
      }
      try {
        const written = await handle.stat({ bigint: true });
        if (written.size >= BigInt(this.segmentBytes)) {
          await this.layout.createSegment(current.seq + 1);
          continue;
        }
        const { bytesWritten } = await handle.write(buffer, 0, buffer.length);
        if (bytesWritten !== buffer.length) {
          // The rest of the frame is lost; readers skip the torn part.
          throw Object.assign(
            new Error(`short write (${bytesWritten} of ${buffer.length} bytes)`),
            { code: 'ENOSPC' },
          );
        }
        await handle.datasync();
        if (!this.syncedSegments.has(current.name)) {
          await syncDirectory(segmentsDir);
          this.syncedSegments.add(current.name);
        }
        let now;
        try {
          now = await stat(file, { bigint: true });
        } catch (error) {
          if (!isErrno(error, 'ENOENT')) throw error;
        }
        if (now !== undefined && now.ino === written.ino && now.dev === written.dev) return;
        // Taken out (by a sender or the size bound) before our write was in: append again.
      } finally {
        await handle.close();
      }
    }
    throw new Error(`the segments in ${segmentsDir} kept moving; try again`);
  }

  /**
   * Drops the output bodies of the oldest finished runs until `excess` bytes are freed or no
   * sealed segment has any left. Each segment is taken out (so writers and senders leave it
   * alone), rewritten without bodies, and put back under its bare name, which the next pass
   * skips without reading. Returns the bytes freed.
   */
  private async dropOldestOutputBodies(excess: number, usage: SpoolUsage): Promise<number> {
    const claim = new SegmentClaim(this.layout);
    let freed = 0;
    let runs = 0;
    try {
      const segments = await this.layout.listSegments();
      // Never the highest: writers append to it.
      for (const segment of segments.slice(0, -1)) {
        if (freed >= excess) break;
        if (segment.bare) continue;
        if (!(await claim.take(segment.name))) continue;
        const file = claim.pathOf(segment.name);
        const before = (await stat(file)).size;
        const content = await readSegmentFile(file);
        const stripped = content.entries.filter((entry) => hasBodies(entry.checkIn)).length;
        if (stripped > 0 || content.skippedBytes > 0) {
          const frames = content.entries.map((entry) =>
            checkInFrame(withoutOutputBodies(entry.checkIn)),
          );
          try {
            await claim.replace(segment.name, frames);
          } catch (error) {
            // No room even for the smaller copy: keep the segment as it is.
            await claim.release(segment.name);
            throw error;
          }
          freed += before - frames.reduce((sum, frame) => sum + frame.length, 0);
          runs += stripped;
        }
        await claim.release(segment.name, segmentName(segment.seq, true));
      }
    } finally {
      await claim.close();
      if (runs > 0) {
        this.logger.warn(
          {
            spool: this.directory,
            maxBytes: this.maxBytes,
            usedBytes: usage.bytes - freed,
            runs,
            freedBytes: freed,
          },
          `check-in spool over its size bound: dropped the output of the ${runs} oldest finished run${runs === 1 ? '' : 's'} (their run records are kept)`,
        );
      }
    }
    return freed;
  }
}
