import { readdir, realpath, stat } from 'node:fs/promises';
import { setImmediate as yieldToEventLoop } from 'node:timers/promises';
import type { Dirent } from 'node:fs';
import path from 'node:path';
import type { ManifestError } from './manifestErrors.js';
import {
  compareLocations,
  defaultMaxFileBytes,
  rejectDuplicateJobs,
  type LoadResult,
} from './parseManifestFile.js';
import {
  fileLevelError,
  readAndParseManifestFiles,
  type ManifestFileEntry,
} from './readManifestFile.js';

export interface LoadOptions {
  /** Largest manifest file read, in bytes; larger files are errors. Default 1 MiB. */
  maxFileBytes?: number;
  /** Most manifest files read; beyond it the load reports an error. Default 50,000. */
  maxFiles?: number;
}

export const defaultMaxFiles = 50_000;

/** Files read and parsed between two yields to the event loop. */
const yieldEveryFiles = 64;

/** The repository root itself cannot be read: not a manifest problem, so it is thrown. */
export class JobRepositoryError extends Error {
  override readonly name = 'JobRepositoryError';
  readonly rootDir: string;

  constructor(rootDir: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.rootDir = rootDir;
  }
}

const manifestExtension = /\.ya?ml$/i;

/**
 * Loads every job manifest (.yaml/.yml, several documents per file) under `rootDir`. Skips
 * hidden files and folders (.git, .github, …) and node_modules; never follows a symlinked folder;
 * a symlinked file that resolves outside the repository is an error. Returns the valid jobs and
 * every error, sorted by file then line; a namespace/name defined twice is an error and neither
 * definition is returned. Throws JobRepositoryError only when rootDir itself cannot be read.
 */
export async function loadJobRepository(
  rootDir: string,
  options: LoadOptions = {},
): Promise<LoadResult> {
  const maxFileBytes = options.maxFileBytes ?? defaultMaxFileBytes;
  const maxFiles = options.maxFiles ?? defaultMaxFiles;
  let root: string;
  try {
    root = await realpath(rootDir);
    if (!(await stat(root)).isDirectory()) throw new Error('not a directory');
  } catch (error) {
    throw new JobRepositoryError(
      rootDir,
      `cannot read the job repository at ${rootDir}: ${error instanceof Error ? error.message : String(error)}`,
      { cause: error },
    );
  }

  const errors: ManifestError[] = [];
  const files = await findManifestFiles(root, maxFiles, errors);

  const parsed = await parseManifestsHere(files, maxFileBytes);
  const checked = rejectDuplicateJobs(parsed.jobs);
  // concat, not push(...): a repository can hold more errors than a call takes arguments.
  const allErrors = errors.concat(parsed.errors, checked.errors);
  return { jobs: checked.jobs, errors: allErrors.sort(compareLocations) };
}

/** Reads and parses on this thread, yielding to the event loop between batches of files. */
async function parseManifestsHere(
  files: readonly ManifestFileEntry[],
  maxFileBytes: number,
): Promise<LoadResult> {
  const batches: LoadResult[] = [];
  for (let start = 0; start < files.length; start += yieldEveryFiles) {
    if (start > 0) await yieldToEventLoop();
    batches.push(
      readAndParseManifestFiles(files.slice(start, start + yieldEveryFiles), maxFileBytes),
    );
  }
  return {
    jobs: batches.flatMap((batch) => batch.jobs),
    errors: batches.flatMap((batch) => batch.errors),
  };
}

function toRepositoryPath(root: string, absolute: string): string {
  return path.relative(root, absolute).split(path.sep).join('/');
}

function isInside(root: string, candidate: string): boolean {
  const relative = path.relative(root, candidate);
  return relative !== '..' && !relative.startsWith(`..${path.sep}`) && !path.isAbsolute(relative);
}

async function findManifestFiles(
  root: string,
  maxFiles: number,
  errors: ManifestError[],
): Promise<ManifestFileEntry[]> {
  const found: ManifestFileEntry[] = [];
  const pending: string[] = [root];
  while (pending.length > 0) {
    const directory = pending.pop();
    if (directory === undefined) break;
    let entries: Dirent[];
    try {
      entries = await readdir(directory, { withFileTypes: true });
    } catch (error) {
      errors.push(
        fileLevelError(
          toRepositoryPath(root, directory) || '.',
          `cannot read this folder: ${error instanceof Error ? error.message : String(error)}`,
          error,
        ),
      );
      continue;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    const subdirectories: string[] = [];
    for (const entry of entries) {
      if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
      const absolute = path.join(directory, entry.name);
      const file = toRepositoryPath(root, absolute);
      const isManifestName = manifestExtension.test(entry.name);
      if (entry.isDirectory()) {
        subdirectories.push(absolute);
      } else if (entry.isSymbolicLink()) {
        const resolved = await resolveSymlink(root, absolute, file, isManifestName, errors);
        if (resolved !== null) found.push({ file, realPath: resolved });
      } else if (isManifestName) {
        if (entry.isFile()) found.push({ file, realPath: absolute });
        else
          errors.push(
            fileLevelError(
              file,
              'not a regular file (a device, socket or pipe); manifests must be regular files',
            ),
          );
      }
      if (found.length > maxFiles) {
        errors.push(
          fileLevelError(
            file,
            `more than ${maxFiles} manifest files (maxFiles); the load stopped here — raise maxFiles or split the repository`,
          ),
        );
        found.length = maxFiles;
        return found;
      }
    }
    // Depth-first in name order: push in reverse so the first name is visited first.
    pending.push(...subdirectories.reverse());
  }
  return found;
}

/**
 * The real path of a symlinked manifest file inside the repository, or null (errors reported).
 * Symlinked folders are never followed: inside the repository their files are reached through
 * their real folder; outside it they are an error.
 */
async function resolveSymlink(
  root: string,
  absolute: string,
  file: string,
  isManifestName: boolean,
  errors: ManifestError[],
): Promise<string | null> {
  let target: string;
  try {
    target = await realpath(absolute);
  } catch (error) {
    if (isManifestName) {
      const code = (error as NodeJS.ErrnoException).code;
      const what = code === 'ELOOP' ? 'a symlink loop' : 'a broken symlink';
      errors.push(
        fileLevelError(
          file,
          `${what}: point it at a manifest file inside the repository or remove it`,
          error,
        ),
      );
    }
    return null;
  }
  // A target that vanished since realpath counts as a file: the read reports it.
  const info = await stat(target).catch(() => null);
  const isDirectory = info?.isDirectory() ?? false;
  const isFile = info?.isFile() ?? true;
  const inside = isInside(root, target);
  if (!inside && (isManifestName || isDirectory)) {
    errors.push(
      fileLevelError(
        file,
        `symlink leaves the repository (it resolves outside the repository root); Cronfleet reads only files inside the repository — copy the ${isDirectory ? 'folder' : 'file'} in instead`,
      ),
    );
    return null;
  }
  if (isDirectory || !isManifestName) return null;
  if (!isFile) {
    // Never open a pipe or device: reading one could block forever.
    errors.push(
      fileLevelError(
        file,
        'not a regular file (a device, socket or pipe); manifests must be regular files',
      ),
    );
    return null;
  }
  return target;
}
