import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { inflateSync } from 'node:zlib';

/**
 * The commit a checkout's HEAD names, read from the files git keeps (`.git/HEAD`, the loose ref,
 * the object store) instead of starting `git rev-parse --verify HEAD^{commit}`: every tick asks,
 * and a process of its own costs more than the rest of a tick with nothing to do.
 *
 * It answers only what it can tell for certain: HEAD (detached, or a loose branch ref) names an
 * object id, and that object is a commit stored loose or listed in a pack index. Anything else
 * (a packed ref, alternates, a missing or unreadable file, an object it cannot find) is
 * `undefined`, and the caller asks git, which also decides whether a damaged checkout is cloned
 * again.
 */
export async function checkedOutCommit(checkoutDir: string): Promise<string | undefined> {
  const gitDir = path.join(checkoutDir, '.git');
  try {
    const head = (await readFile(path.join(gitDir, 'HEAD'), 'utf8')).trim();
    const symbolic = /^ref: (refs\/heads\/[A-Za-z0-9._/-]+)$/.exec(head)?.[1];
    const id =
      symbolic === undefined
        ? head
        : symbolic.includes('..')
          ? ''
          : (await readFile(path.join(gitDir, symbolic), 'utf8')).trim();
    if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(id)) return undefined;
    return (await isStoredCommit(gitDir, id)) ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether `id` (an object id) is stored loose in the object store and is a commit: true, false
 * (another type of object), or undefined (not stored loose; packed, or absent).
 */
export async function isLooseCommit(gitDir: string, id: string): Promise<boolean | undefined> {
  if (!/^(?:[0-9a-f]{40}|[0-9a-f]{64})$/.test(id)) return undefined;
  const loose = await readFile(path.join(gitDir, 'objects', id.slice(0, 2), id.slice(2))).catch(
    () => undefined,
  );
  if (loose === undefined) return undefined;
  // A loose object is zlib data that starts "<type> <size>\0": a commit's, and readable.
  try {
    return inflateSync(loose).subarray(0, 7).toString('latin1') === 'commit ';
  } catch {
    return false;
  }
}

/** Whether the object store holds `id` as a loose commit or in a pack's index. */
async function isStoredCommit(gitDir: string, id: string): Promise<boolean> {
  const objects = path.join(gitDir, 'objects');
  const loose = await isLooseCommit(gitDir, id);
  if (loose !== undefined) return loose;
  const packs = await readdir(path.join(objects, 'pack')).catch(() => [] as string[]);
  const wanted = Buffer.from(id, 'hex');
  for (const name of packs) {
    if (!name.endsWith('.idx')) continue;
    const index = await readFile(path.join(objects, 'pack', name));
    if (packIndexHas(index, wanted)) return true;
  }
  return false;
}

/** A version 2 pack index (gitformat-pack(5)): a fan-out table, then the sorted object ids. */
function packIndexHas(index: Buffer, wanted: Buffer): boolean {
  const header = 8;
  if (index.length < header + 256 * 4 || index.readUInt32BE(0) !== 0xff744f63) return false;
  if (index.readUInt32BE(4) !== 2) return false;
  const first = wanted[0] ?? 0;
  let low = first === 0 ? 0 : index.readUInt32BE(header + (first - 1) * 4);
  let high = index.readUInt32BE(header + first * 4);
  const ids = header + 256 * 4;
  const size = wanted.length;
  if (index.length < ids + high * size) return false;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const order = index.compare(wanted, 0, size, ids + middle * size, ids + (middle + 1) * size);
    if (order === 0) return true;
    if (order < 0) low = middle + 1;
    else high = middle;
  }
  return false;
}
