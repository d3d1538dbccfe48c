import { chmod, lstat, mkdir, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

/**
 * The modes of embedded PGlite's data directory. It holds the whole database: password hashes,
 * token hashes, run output. PGlite's WebAssembly file layer creates its files 0666 whatever the
 * umask, and `mkdir` leaves directories 0755, so without this any local user could read them, and
 * write them. The data directory and every directory in it are made 0700 and every file 0600
 * (owner only), when the database opens and again when it closes. A directory of 0700 keeps
 * everyone else away from the files PGlite creates while it runs.
 */

/** One path whose mode was loosened and has been repaired. */
export interface ModeRepair {
  path: string;
  /** The mode it had, e.g. 0o666. */
  from: number;
  to: number;
}

const directoryMode = 0o700;
const fileMode = 0o600;

/** Creates `directory` (0700) if needed. */
export async function createDataDirectory(directory: string): Promise<void> {
  await mkdir(directory, { recursive: true, mode: directoryMode });
}

/**
 * Makes `directory` and every directory under it 0700 and every regular file 0600, and answers
 * what it changed. Symbolic links are neither followed nor changed (below the top directory). A
 * path it may not change (owned by another user) throws, naming it.
 */
export async function secureDataDirectory(directory: string): Promise<ModeRepair[]> {
  const repairs: ModeRepair[] = [];
  const repair = async (target: string, mode: number, wanted: number) => {
    const current = mode & 0o777;
    if (current === wanted) return;
    try {
      await chmod(target, wanted);
    } catch (error) {
      throw new Error(
        `cannot make ${target} ${wanted.toString(8)} (it is ${current.toString(8)}): ${(error as Error).message}; run the backend as the owner of the data directory`,
        { cause: error },
      );
    }
    repairs.push({ path: target, from: current, to: wanted });
  };
  const modeOf = async (target: string) => {
    try {
      return (await lstat(target)).mode;
    } catch (error) {
      // Removed since it was listed: nothing to repair.
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  };
  const walk = async (folder: string) => {
    for (const entry of await readdir(folder, { withFileTypes: true })) {
      const target = path.join(folder, entry.name);
      const mode = entry.isDirectory() || entry.isFile() ? await modeOf(target) : undefined;
      if (mode === undefined) continue;
      await repair(target, mode, entry.isDirectory() ? directoryMode : fileMode);
      if (entry.isDirectory()) await walk(target);
    }
  };
  await repair(directory, (await stat(directory)).mode, directoryMode);
  await walk(directory);
  return repairs;
}

/** "0755 → 0700 for …": a repair as a log line shows it. */
export function describeRepairs(repairs: readonly ModeRepair[], limit = 5): string[] {
  return repairs
    .slice(0, limit)
    .map(
      (repair) =>
        `${repair.path}: ${repair.from.toString(8).padStart(4, '0')} → ${repair.to.toString(8).padStart(4, '0')}`,
    );
}
