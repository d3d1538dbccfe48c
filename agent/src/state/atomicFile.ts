import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fchmodSync,
  fchownSync,
  fsync,
  mkdirSync,
  openSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `content` to `file` so that a reader sees the old content or the new, never a part:
 * a dot-named temporary file in the same directory, fsynced, renamed over the target, and the
 * directory fsynced so the rename survives a power loss.
 */
export async function writeFileAtomically(
  file: string,
  content: string | Uint8Array,
  mode = 0o644,
): Promise<void> {
  const directory = path.dirname(file);
  await mkdir(directory, { recursive: true, mode: 0o755 });
  const temporary = path.join(
    directory,
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const handle = await open(temporary, 'wx', mode);
  try {
    await handle.writeFile(content);
    await handle.chmod(mode);
    await handle.sync();
  } catch (error) {
    await handle.close();
    await rm(temporary, { force: true });
    throw error;
  }
  await handle.close();
  try {
    await rename(temporary, file);
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
  await syncDirectory(directory);
}

export async function syncDirectory(directory: string): Promise<void> {
  const handle = await open(directory, 'r');
  try {
    await handle.sync();
  } catch (error) {
    // Some file systems cannot fsync a directory; the rename itself already happened.
    if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
  } finally {
    await handle.close();
  }
}

export interface FileToWrite {
  file: string;
  content: string | Uint8Array;
  mode: number;
  /** chown the new file to this uid:gid (cron.d files must be root's). */
  owner?: { uid: number; gid: number } | undefined;
}

/** Files written between two fsync barriers: few enough open descriptors for any ulimit. */
const BATCH = 256;

/**
 * Writes many files as {@link writeFileAtomically} writes one, at a fraction of the cost: each
 * file goes to a dot-named temporary file in its directory; the temporaries of a batch are
 * fsynced together (in parallel on libuv's pool, so the file system commits them in a few journal
 * transactions instead of one each), then renamed over their targets; each directory is fsynced
 * once at the end. When it resolves, every file is durable; a reader sees each file old or new,
 * never a part. Writes and renames use the synchronous calls: they are short, and thousands of
 * small files through the promise API cost ten times the CPU. On an error, this batch's
 * temporaries are removed and the files renamed before it stay (each is whole).
 */
export async function writeFilesAtomically(files: readonly FileToWrite[]): Promise<void> {
  const directories = new Set<string>();
  for (let start = 0; start < files.length; start += BATCH) {
    const batch = files.slice(start, start + BATCH);
    const open: { fd: number; temporary: string; target: string }[] = [];
    try {
      for (const { file, content, mode, owner } of batch) {
        const directory = path.dirname(file);
        if (!directories.has(directory)) {
          mkdirSync(directory, { recursive: true, mode: 0o755 });
          directories.add(directory);
        }
        const temporary = path.join(
          directory,
          `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
        );
        const fd = openSync(temporary, 'wx', mode);
        open.push({ fd, temporary, target: file });
        writeFileSync(fd, content);
        fchmodSync(fd, mode);
        if (owner !== undefined) fchownSync(fd, owner.uid, owner.gid);
      }
      await Promise.all(open.map(({ fd }) => fsyncDescriptor(fd)));
    } catch (error) {
      for (const { fd, temporary } of open) {
        closeQuietly(fd);
        rmSync(temporary, { force: true });
      }
      throw error;
    }
    for (const { fd } of open) closeSync(fd);
    for (let index = 0; index < open.length; index++) {
      const { temporary, target } = open[index]!;
      try {
        renameSync(temporary, target);
      } catch (error) {
        for (const rest of open.slice(index)) rmSync(rest.temporary, { force: true });
        throw error;
      }
    }
  }
  const folders = [...directories];
  for (let start = 0; start < folders.length; start += BATCH) {
    await Promise.all(folders.slice(start, start + BATCH).map(syncDirectory));
  }
}

function fsyncDescriptor(fd: number): Promise<void> {
  return new Promise((resolve, reject) =>
    fsync(fd, (error) => (error ? reject(error) : resolve())),
  );
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
