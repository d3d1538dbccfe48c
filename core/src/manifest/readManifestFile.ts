import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import type { ManifestError } from './manifestErrors.js';
import { parseManifestSource, type LoadResult } from './parseManifestFile.js';

/** A manifest file found by the walk: its repository path for messages and the real path to read. */
export interface ManifestFileEntry {
  file: string;
  realPath: string;
}

export function fileLevelError(file: string, message: string, cause?: unknown): ManifestError {
  return {
    file,
    line: 1,
    column: 1,
    job: null,
    path: '',
    message,
    ...(cause === undefined ? {} : { cause }),
  };
}

/** Reads and parses manifest files (no duplicate check across them). */
export function readAndParseManifestFiles(
  entries: readonly ManifestFileEntry[],
  maxFileBytes: number,
): LoadResult {
  const result: LoadResult = { jobs: [], errors: [] };
  for (const entry of entries) {
    const read = readManifestFile(entry, maxFileBytes);
    if ('error' in read) {
      result.errors.push(read.error);
      continue;
    }
    const parsed = parseManifestSource(entry.file, read.bytes, maxFileBytes);
    // Per file both lists are bounded (the size cap, the error cap), so spreading is safe.
    result.jobs.push(...parsed.jobs);
    result.errors.push(...parsed.errors);
  }
  return result;
}

/** Open flags: read-only, and never block on a pipe or device swapped in after the walk. */
const readFlags = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * Reads one manifest file, at most one byte past the cap. Synchronous on purpose: thousands of
 * small files read an order of magnitude faster this way than through the thread pool, and the
 * caller yields to the event loop between batches.
 */
export function readManifestFile(
  entry: ManifestFileEntry,
  maxFileBytes: number,
): { bytes: Uint8Array } | { error: ManifestError } {
  let descriptor: number | undefined;
  try {
    descriptor = openSync(entry.realPath, readFlags);
    const info = fstatSync(descriptor);
    if (!info.isFile()) {
      return {
        error: fileLevelError(entry.file, 'not a regular file; manifests must be regular files'),
      };
    }
    if (info.size > maxFileBytes) {
      return {
        error: fileLevelError(
          entry.file,
          `file is ${info.size} bytes, over the ${maxFileBytes}-byte limit for a manifest file (maxFileBytes); split it into smaller files`,
        ),
      };
    }
    // One byte past the cap, so a file that grew since fstat is still caught.
    const buffer = new Uint8Array(Math.min(info.size, maxFileBytes) + 1);
    let length = 0;
    while (length < buffer.length) {
      const bytesRead = readSync(descriptor, buffer, length, buffer.length - length, null);
      if (bytesRead === 0) break;
      length += bytesRead;
    }
    return { bytes: buffer.subarray(0, length) };
  } catch (error) {
    return {
      error: fileLevelError(
        entry.file,
        `cannot read this file: ${error instanceof Error ? error.message : String(error)}`,
        error,
      ),
    };
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}
