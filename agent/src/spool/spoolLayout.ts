import { randomBytes } from 'node:crypto';
import {
  link,
  mkdir,
  open,
  readdir,
  rename,
  rm,
  rmdir,
  stat,
  unlink,
  utimes,
} from 'node:fs/promises';
import path from 'node:path';
import type { CheckIn } from '@cronfleet/core/api';
import { syncDirectory } from '../state/atomicFile.js';
import { ensureRealDirectories, readStateFile } from '../state/stateDirectory.js';
import { decodeFrames, encodeFrame } from './spoolFrame.js';

/**
 * The spool's directory and the moves between its folders:
 *
 *   segments/000000000007.log        framed check-ins; writers append to the highest number only
 *   segments/000000000003.bare.log   a sealed segment whose output bodies were dropped (or that had
 *                                    none): the size bound never needs to read it again
 *   sending/<claim>/000000000005.log segments a sender (or the size bound) took out to work on
 *   rejected/<time>-<run>-<kind>.json check-ins the backend refused, with its answer
 *
 * A segment leaves segments/ only by a rename into a claim folder, so a writer can tell whether
 * what it appended is still where every reader will find it (see CheckInSpool). The highest
 * segment is never claimed (whoever needs it first starts a higher one), so a claimed number is
 * always below the highest in segments/ and can be put back under its own name.
 */

export interface SegmentFile {
  name: string;
  seq: number;
  /** Known to hold no output bodies. */
  bare: boolean;
}

const segmentPattern = /^(\d{12})(\.bare)?\.log$/;

export function segmentName(seq: number, bare = false): string {
  return `${String(seq).padStart(12, '0')}${bare ? '.bare' : ''}.log`;
}

export function parseSegmentName(name: string): SegmentFile | undefined {
  const match = segmentPattern.exec(name);
  if (match?.[1] === undefined) return undefined;
  return { name, seq: Number(match[1]), bare: match[2] !== undefined };
}

/** File permissions of the spool: check-ins carry job output, which may be confidential. */
export interface SpoolModes {
  directoryMode: number;
  fileMode: number;
}

export const defaultSpoolModes: SpoolModes = { directoryMode: 0o700, fileMode: 0o600 };

function isErrno(error: unknown, ...codes: string[]): boolean {
  return codes.includes((error as NodeJS.ErrnoException | undefined)?.code ?? '');
}

export { isErrno };

export class SpoolLayout {
  readonly segmentsDir: string;
  readonly sendingDir: string;
  readonly rejectedDir: string;

  constructor(
    readonly root: string,
    readonly modes: SpoolModes = defaultSpoolModes,
  ) {
    this.segmentsDir = path.join(root, 'segments');
    this.sendingDir = path.join(root, 'sending');
    this.rejectedDir = path.join(root, 'rejected');
  }

  /**
   * Creates the folders, or checks with one lstat each that they are real directories: a
   * symbolic link among them is refused (StateDirectoryError), so no check-in is ever written to
   * or read from outside the spool.
   */
  ensure(): Promise<void> {
    try {
      ensureRealDirectories(
        [this.root, this.segmentsDir, this.sendingDir],
        this.modes.directoryMode,
      );
      return Promise.resolve();
    } catch (error) {
      return Promise.reject(error as Error);
    }
  }

  /** The segments waiting in segments/, oldest first. */
  async listSegments(): Promise<SegmentFile[]> {
    let names: string[];
    try {
      names = await readdir(this.segmentsDir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
    return sortSegments(names);
  }

  /** The claim folders in sending/. */
  async listClaims(): Promise<string[]> {
    try {
      return await readdir(this.sendingDir);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) return [];
      throw error;
    }
  }

  /**
   * Starts segment `seq` (empty) unless it exists. The directory is fsynced so the new name
   * survives a power loss before any record in it is reported durable.
   */
  async createSegment(seq: number): Promise<void> {
    try {
      const handle = await open(
        path.join(this.segmentsDir, segmentName(seq)),
        'wx',
        this.modes.fileMode,
      );
      await handle.close();
    } catch (error) {
      if (!isErrno(error, 'EEXIST')) throw error;
    }
    await syncDirectory(this.segmentsDir);
  }

  /** The paths of the segments in claim folders (being sent, or put back after a crash). */
  async claimedSegmentFiles(): Promise<string[]> {
    const files: string[] = [];
    for (const claim of await this.listClaims()) {
      const dir = path.join(this.sendingDir, claim);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch (error) {
        if (isErrno(error, 'ENOENT', 'ENOTDIR')) continue;
        throw error;
      }
      for (const segment of sortSegments(names)) files.push(path.join(dir, segment.name));
    }
    return files;
  }

  /** The bytes of every segment, waiting or claimed (not rejected/). */
  async usage(): Promise<SpoolUsage> {
    const usage: SpoolUsage = { bytes: 0, segments: 0, claimedSegments: 0 };
    const sizeOf = async (file: string) => {
      try {
        return (await stat(file)).size;
      } catch (error) {
        if (isErrno(error, 'ENOENT')) return 0;
        throw error;
      }
    };
    const waiting = await this.listSegments();
    const sizes = await Promise.all(
      waiting.map((segment) => sizeOf(path.join(this.segmentsDir, segment.name))),
    );
    usage.segments = waiting.length;
    usage.bytes = sizes.reduce((sum, size) => sum + size, 0);
    const claimed = await this.claimedSegmentFiles();
    usage.claimedSegments = claimed.length;
    for (const file of claimed) usage.bytes += await sizeOf(file);
    return usage;
  }
}

export interface SpoolUsage {
  /** Bytes of all segments, waiting and claimed. */
  bytes: number;
  /** Segments in segments/. */
  segments: number;
  /** Segments a sender or the size bound is working on. */
  claimedSegments: number;
}

export function sortSegments(names: readonly string[]): SegmentFile[] {
  const segments: SegmentFile[] = [];
  for (const name of names) {
    const segment = parseSegmentName(name);
    if (segment !== undefined) segments.push(segment);
  }
  return segments.sort((a, b) => a.seq - b.seq);
}

/** A check-in read back from a segment, with the size of its frame. */
export interface SpoolEntry {
  checkIn: CheckIn;
  /** Bytes of its payload (the JSON text). */
  payloadBytes: number;
}

export interface SegmentContent {
  entries: SpoolEntry[];
  /** Bytes of torn or damaged records that were skipped. */
  skippedBytes: number;
  skippedRanges: number;
}

/** The intact check-ins of a segment file; torn and damaged records are counted and skipped. */
export async function readSegmentFile(file: string): Promise<SegmentContent> {
  // Never through a symbolic link (O_NOFOLLOW); missing reads as ENOENT, as readFile did.
  const buffer = await Promise.resolve(readStateFile(file));
  if (buffer === undefined) {
    throw Object.assign(new Error(`${file} is gone`), { code: 'ENOENT' });
  }
  const decoded = decodeFrames(buffer);
  const entries: SpoolEntry[] = [];
  let { skippedBytes, skippedRanges } = decoded;
  for (const frame of decoded.frames) {
    try {
      entries.push({
        checkIn: JSON.parse(frame.payload.toString('utf8')) as CheckIn,
        payloadBytes: frame.payload.length,
      });
    } catch {
      // Checksums match but the text is not JSON: written by something else; skip it.
      skippedBytes += frame.payload.length;
      skippedRanges += 1;
    }
  }
  return { entries, skippedBytes, skippedRanges };
}

/** The frame of one check-in. */
export function checkInFrame(checkIn: CheckIn): Buffer {
  return encodeFrame(Buffer.from(JSON.stringify(checkIn), 'utf8'));
}

/**
 * Segments taken out of segments/ by one owner (a sender's drain, or the size bound) into its own
 * folder sending/<id>/. The owner touches the folder while it works; a folder left untouched for
 * longer than the claim timeout belongs to an owner that died, and `adoptStaleClaims` puts its
 * segments back. Nothing is ever deleted from a claim except what its owner finished with.
 */
export class SegmentClaim {
  readonly id: string;
  readonly dir: string;
  private created = false;
  private readonly held = new Set<string>();

  constructor(private readonly layout: SpoolLayout) {
    this.id = `${Date.now()}-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.dir = path.join(layout.sendingDir, this.id);
  }

  /** The segments this claim holds. */
  get segments(): ReadonlySet<string> {
    return this.held;
  }

  pathOf(name: string): string {
    return path.join(this.dir, name);
  }

  /** Takes `name` out of segments/; false when another owner took it first. */
  async take(name: string): Promise<boolean> {
    if (!this.created) {
      await mkdir(this.dir, { recursive: true, mode: this.layout.modes.directoryMode });
      this.created = true;
    }
    const source = path.join(this.layout.segmentsDir, name);
    for (let attempt = 0; ; attempt += 1) {
      try {
        await rename(source, this.pathOf(name));
        break;
      } catch (error) {
        if (!isErrno(error, 'ENOENT')) throw error;
        // Either another owner took the segment, or our folder was adopted by a process that
        // took us for dead (we stalled past the claim timeout): then make it again, once.
        if (attempt > 0 || (await exists(this.dir)) || !(await exists(source))) return false;
        await mkdir(this.dir, { recursive: true, mode: this.layout.modes.directoryMode });
      }
    }
    this.held.add(name);
    return true;
  }

  /** Marks the claim as alive, so no other process adopts it. */
  async touch(): Promise<void> {
    if (!this.created) return;
    const now = new Date();
    try {
      await utimes(this.dir, now, now);
    } catch (error) {
      if (!isErrno(error, 'ENOENT')) throw error;
    }
  }

  /**
   * Rewrites a held segment with `frames` (a temporary file, fsynced, renamed over it), e.g.
   * without the check-ins already acknowledged, or without output bodies.
   */
  async replace(name: string, frames: readonly Buffer[]): Promise<void> {
    const temporary = path.join(this.dir, `.${name}.${randomBytes(4).toString('hex')}.tmp`);
    const handle = await open(temporary, 'wx', this.layout.modes.fileMode);
    try {
      await handle.writev([...frames]);
      await handle.sync();
    } catch (error) {
      await handle.close();
      await rm(temporary, { force: true });
      throw error;
    }
    await handle.close();
    try {
      await rename(temporary, this.pathOf(name));
    } catch (error) {
      await rm(temporary, { force: true });
      throw error;
    }
  }

  /** Deletes a held segment whose check-ins are all done with. */
  async remove(name: string): Promise<void> {
    this.held.delete(name);
    try {
      await unlink(this.pathOf(name));
    } catch (error) {
      // Another process adopted this claim (we looked dead to it): it will resend, never lose.
      if (!isErrno(error, 'ENOENT')) throw error;
    }
  }

  /** Puts a held segment back into segments/, as `asName` (e.g. its bare name). */
  async release(name: string, asName: string = name): Promise<void> {
    this.held.delete(name);
    await moveIntoSegments(this.layout, this.pathOf(name), asName);
  }

  /** Puts back whatever is still held and removes the folder. */
  async close(): Promise<void> {
    for (const name of [...this.held]) await this.release(name);
    if (this.created) {
      try {
        await rmdir(this.dir);
      } catch (error) {
        if (!isErrno(error, 'ENOENT', 'ENOTEMPTY', 'EEXIST')) throw error;
      }
      this.created = false;
    }
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

async function sameFile(a: string, b: string): Promise<boolean> {
  try {
    const [first, second] = await Promise.all([
      stat(a, { bigint: true }),
      stat(b, { bigint: true }),
    ]);
    return first.ino === second.ino && first.dev === second.dev;
  } catch (error) {
    if (isErrno(error, 'ENOENT')) return false;
    throw error;
  }
}

/**
 * Moves `source` into segments/ as `name` without ever replacing a file there (a hard link, then
 * the unlink of the source). Should the name be taken (it cannot be, unless someone edited the
 * folder by hand) the segment comes back under a new highest number instead.
 */
async function moveIntoSegments(layout: SpoolLayout, source: string, name: string): Promise<void> {
  let target = name;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    const destination = path.join(layout.segmentsDir, target);
    try {
      await link(source, destination);
      await unlink(source);
      return;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) {
        // Already moved (or adopted by another process): nothing left to do here.
        try {
          await stat(source);
        } catch {
          return;
        }
        throw error;
      }
      if (isErrno(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'EXDEV')) {
        // No hard links on this file system: check, then rename (a tiny window, never hit in use).
        try {
          await stat(destination);
        } catch (missing) {
          if (!isErrno(missing, 'ENOENT')) throw missing;
          await rename(source, destination);
          return;
        }
      } else if (!isErrno(error, 'EEXIST')) {
        throw error;
      } else if (await sameFile(source, destination)) {
        // A move that a power loss interrupted between the link and the unlink: finish it.
        await unlink(source);
        return;
      }
      const segments = await layout.listSegments();
      target = segmentName((segments.at(-1)?.seq ?? 0) + 1);
    }
  }
  throw new Error(`cannot move ${source} back into ${layout.segmentsDir}: every name was taken`);
}

/**
 * Puts back the segments of claims whose owner stopped touching them more than `timeoutMs` ago
 * (a sender or wrapper killed mid-send). The folder is first renamed to a name of our own, so two
 * processes never adopt the same claim. Returns the number of segments put back.
 */
export async function adoptStaleClaims(
  layout: SpoolLayout,
  timeoutMs: number,
  nowMs: number = Date.now(),
): Promise<number> {
  let adopted = 0;
  for (const claim of await layout.listClaims()) {
    const dir = path.join(layout.sendingDir, claim);
    let modified: number;
    try {
      modified = (await stat(dir)).mtimeMs;
    } catch (error) {
      if (isErrno(error, 'ENOENT')) continue;
      throw error;
    }
    if (nowMs - modified < timeoutMs) continue;
    const mine = path.join(
      layout.sendingDir,
      `adopting-${process.pid}-${randomBytes(4).toString('hex')}`,
    );
    try {
      await rename(dir, mine);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) continue;
      throw error;
    }
    // Fresh again, so that nobody adopts it from us while we work (an adoption that dies midway
    // becomes stale in turn and is finished by someone else).
    const now = new Date(nowMs);
    let names: string[];
    try {
      await utimes(mine, now, now);
      names = await readdir(mine);
    } catch (error) {
      if (isErrno(error, 'ENOENT')) continue;
      throw error;
    }
    for (const name of names) {
      const file = path.join(mine, name);
      if (parseSegmentName(name) === undefined) {
        await rm(file, { force: true });
        continue;
      }
      await moveIntoSegments(layout, file, name);
      adopted += 1;
    }
    try {
      await rmdir(mine);
    } catch (error) {
      if (!isErrno(error, 'ENOENT', 'ENOTEMPTY', 'EEXIST')) throw error;
    }
  }
  return adopted;
}
