import { isAscii } from 'node:buffer';
import {
  accessSync,
  closeSync,
  constants,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import vm from 'node:vm';

/**
 * Loads a CommonJS bundle written as one function expression (scripts/bundle.mjs:
 * dist/bundle/main.cjs) through V8's code cache, the one Node 20 offers (it has no
 * module.enableCompileCache): a `sync --once` is a process of its own, and compiling the agent's
 * code was most of what a tick with nothing to do cost it, and a fifth of a first apply.
 *
 * The cache sits next to the bundle (`.main.cjs.<key>.cache`), so it is exactly as trusted as the
 * code (V8 runs what it holds); the key is Node's version, the architecture and the bundle's size
 * and modification time, and V8 itself refuses a cache made by another V8 or with other flags. A
 * build replaces the folder, caches included. The cache is written once, after the command ran
 * (so it holds the functions that ran, not only the top level), when there was none or V8 refused
 * it; a folder the agent may not write in (a package root owns) only means no cache.
 */
export interface CachedBundle {
  exports: Record<string, unknown>;
  /** Writes the code cache when there was none (or V8 refused it); never throws. */
  saveCache(): void;
}

export function loadCachedBundle(file: string): CachedBundle {
  // The build writes the bundle in ASCII (scripts/bundle.mjs): read as Latin-1 it is the same
  // text, made without UTF-8 decoding (a third of what reading 2.6 MB cost).
  const bytes = readFileSync(file);
  const source = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  const stats = statSync(file);
  const key = `${process.version}-${process.arch}-${stats.size}-${Math.trunc(stats.mtimeMs)}`;
  const cacheFile = path.join(path.dirname(file), `.${path.basename(file)}.${key}.cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    cachedData = undefined;
  }
  // The file is a function expression (the build wrote the wrapper into it): CommonJS's
  // parameters, plus what the bundle's `import.meta.url` became (esbuild's define).
  const script = new vm.Script(source, { filename: file, cachedData });
  const module = { exports: {} as Record<string, unknown> };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(
    module.exports,
    module.exports,
    createRequire(file),
    module,
    file,
    path.dirname(file),
    pathToFileURL(file).href,
  );
  const needsCache = cachedData === undefined || script.cachedDataRejected === true;
  return {
    exports: module.exports,
    saveCache() {
      if (!needsCache) return;
      const temporary = `${cacheFile}.${process.pid}.tmp`;
      try {
        // Not even made (tens of milliseconds) where it could not be kept.
        accessSync(path.dirname(cacheFile), constants.W_OK);
        const data = script.createCachedData();
        const fd = openSync(temporary, 'wx', 0o644);
        try {
          writeSync(fd, data);
        } finally {
          closeSync(fd);
        }
        renameSync(temporary, cacheFile);
      } catch {
        // Not writable (a read-only package), or a concurrent writer: the next run tries again.
        rmSync(temporary, { force: true });
      }
    },
  };
}
