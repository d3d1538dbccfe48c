import path from 'node:path';

/**
 * Where run specs live: `specs/<namespace>/<key>.json`, a file of one or more specs of that
 * namespace, `{"version":1,"specs":{"<name>":{…}}}`. The scheduler entry of a job names its key
 * (`cronfleet-agent run --spec KEY`), so the wrapper reads one small file, never the inventory.
 *
 * - A sync packs the specs it writes into files of at most RUN_SPECS_PER_FILE per namespace, keyed
 *   `<revision>_<digest>` (the first 12 hex digits of the SHA-256 of their content): creating a
 *   file costs more than its bytes, so the first apply of 10,000 jobs writes about 160 files, and
 *   a one-job change writes one file holding one spec. Equal content, equal key: a file is never
 *   rewritten with other content.
 * - A spec written alone (older inventories, tests) is keyed `<revision>.<name>`.
 *
 * Names are DNS labels and revisions hex, so neither key can be read as the other. No zod, no
 * core: the run wrapper loads this.
 */
export const RUN_SPECS_PER_FILE = 64;

const keyPattern = /^[0-9a-f]{7,64}(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?|_[0-9a-f]{12})$/;

export function isRunSpecKey(key: string): boolean {
  return keyPattern.test(key);
}

export function runSpecFolder(stateDir: string, namespace: string): string {
  return path.join(stateDir, 'specs', namespace);
}

export function runSpecFile(stateDir: string, namespace: string, key: string): string {
  return path.join(runSpecFolder(stateDir, namespace), `${key}.json`);
}

/** The key of a spec written alone. */
export function singleRunSpecKey(name: string, revision: string): string {
  return `${revision}.${name}`;
}

/** The key of a job as its inventory entry records it (older entries: its spec alone). */
export function runSpecKeyOf(entry: {
  name: string;
  revision: string;
  job: { specKey?: string | undefined };
}): string {
  return entry.job.specKey ?? singleRunSpecKey(entry.name, entry.revision);
}

/** The key of a spec file's name; undefined for anything else (temporary files, litter). */
export function runSpecKeyOfFile(file: string): string | undefined {
  if (!file.endsWith('.json')) return undefined;
  const key = file.slice(0, -'.json'.length);
  return keyPattern.test(key) ? key : undefined;
}
