import { randomBytes } from 'node:crypto';
import { access, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Condition, ManifestErrorReport, SchedulerBackendName } from '@cronfleet/core/contract';
import { z } from 'zod';
import { writeFileAtomically, writeFilesAtomically } from './atomicFile.js';
import { RunSpec } from './runSpec.js';
import {
  isRunSpecKey,
  runSpecFile,
  runSpecFolder,
  runSpecKeyOf,
  runSpecKeyOfFile,
  singleRunSpecKey,
} from './runSpecPath.js';
import {
  areRealDirectories,
  directoryChain,
  ensureRealDirectories,
  readStateFile,
  secureStateDirectory,
} from './stateDirectory.js';

/**
 * The agent's state directory:
 *
 *   agent-id                          this installation's owner id (carried by crontab markers)
 *   inventory.json                    what the agent installed: the only list it may prune from
 *   status.json                       conditions, revisions, errors, the failure memory
 *   specs/<namespace>/<key>.json     the run specs as applied, packed (runSpecPath.ts); a job a
 *                                     commit leaves as it was keeps its spec, its revision and
 *                                     its file: a one-job change writes one spec
 *   repository/                       the Git checkout (owned by the Git sync)
 *
 * Every file is written atomically; a file that does not parse is an error that names it and is
 * never silently replaced (the inventory is what keeps the agent from deleting foreign entries).
 */

export const ScheduledJobRecord = z.object({
  id: z.string(),
  namespace: z.string(),
  name: z.string(),
  schedule: RunSpec.shape.native,
  suspended: z.boolean(),
  user: z.string().optional(),
  /** The key of the file holding the job's run spec (runSpecPath.ts); absent in older ones. */
  specKey: z.string().optional(),
});

/**
 * What a job's native schedule was translated from, and when: a later tick reuses the translation
 * while these inputs are the same and it is younger than TRANSLATION_REUSE_DAYS (nativeSchedule.ts).
 */
export const TranslationRecord = z.object({
  schedule: z.string(),
  timezone: z.string(),
  nativeZone: z.string(),
  /** The IANA database version (process.versions.tz) the offsets came from. */
  tzdata: z.string(),
  /** The UTC day (YYYY-MM-DD) the verified horizon starts on. */
  from: z.string(),
});
export type TranslationRecord = z.infer<typeof TranslationRecord>;

export const InventoryEntry = z.object({
  id: z.string(),
  namespace: z.string(),
  name: z.string(),
  revision: z.string(),
  sourcePath: z.string(),
  /** runSpecDigest of the spec as applied. */
  specDigest: z.string(),
  commandDigest: z.string(),
  /** The native text as rendered by the backend when applied (drift detection). */
  rendered: z.string(),
  job: ScheduledJobRecord,
  translation: TranslationRecord.optional(),
});
export type InventoryEntry = z.infer<typeof InventoryEntry>;

export const Inventory = z.object({
  version: z.literal(1),
  // Agents before the scheduler registry wrote "cron-d" for cron.d.
  scheduler: z.preprocess((name) => (name === 'cron-d' ? 'cron.d' : name), SchedulerBackendName),
  jobs: z.record(z.string(), InventoryEntry),
});
export type Inventory = z.infer<typeof Inventory>;

/** A revision that failed, remembered so that the same failure is not retried in a loop. */
export const FailureMemory = z.object({
  revision: z.string().nullable(),
  /** What failed, e.g. the formatted errors; the same revision failing the same way is skipped. */
  signature: z.string(),
  kind: z.enum(['stalled', 'transient']),
  attempts: z.number().int().min(1),
  nextAttemptAt: z.string(),
});
export type FailureMemory = z.infer<typeof FailureMemory>;

export const AgentStatus = z.object({
  version: z.literal(1),
  lastAppliedRevision: z.string().nullable(),
  lastAttemptedRevision: z.string().nullable(),
  conditions: z.array(Condition),
  errors: z.array(ManifestErrorReport),
  failure: FailureMemory.nullable(),
  /** When the scheduler was last read whole and matched the inventory (or was written). */
  lastSyncAt: z.string().nullable(),
  /** The scheduler's fingerprint then: while it and the revision hold, a tick has nothing to do. */
  schedulerFingerprint: z.string().nullable().default(null),
});
export type AgentStatus = z.infer<typeof AgentStatus>;

export const emptyStatus: AgentStatus = {
  version: 1,
  lastAppliedRevision: null,
  lastAttemptedRevision: null,
  conditions: [],
  errors: [],
  failure: null,
  lastSyncAt: null,
  schedulerFingerprint: null,
};

/** A file of run specs (runSpecPath.ts). */
export const RunSpecFile = z.object({
  version: z.literal(1),
  specs: z.record(z.string(), RunSpec),
});

/** Specs of one namespace to write into one file. */
export interface RunSpecBatch {
  namespace: string;
  key: string;
  specs: readonly RunSpec[];
}

export class StateError extends Error {
  override readonly name = 'StateError';
}

function isMissing(error: unknown): boolean {
  return (error as NodeJS.ErrnoException).code === 'ENOENT';
}

/** Job ids are `namespace/name` of DNS labels; anything else never becomes a path. */
const pathSafeSegment = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const revisionSegment = /^[0-9a-f]{7,64}$/;

export class AgentStateStore {
  readonly inventoryFile: string;
  readonly statusFile: string;
  readonly specsDir: string;
  readonly ownerIdFile: string;
  readonly repositoryDir: string;

  constructor(readonly stateDir: string) {
    this.inventoryFile = path.join(stateDir, 'inventory.json');
    this.statusFile = path.join(stateDir, 'status.json');
    this.specsDir = path.join(stateDir, 'specs');
    this.ownerIdFile = path.join(stateDir, 'agent-id');
    this.repositoryDir = path.join(stateDir, 'repository');
  }

  /**
   * Creates the state directory (0700) or checks and repairs it; refuses one that another user
   * could write (stateDirectory.ts). `warn` hears about a repaired mode.
   */
  async ensureDirectory(warn: (message: string) => void = () => {}): Promise<void> {
    secureStateDirectory(this.stateDir, { create: true, warn });
    return Promise.resolve();
  }

  /** This installation's id: created once, then stable (the crontab markers carry it). */
  async ownerId(): Promise<string> {
    try {
      const content = readStateFile(this.ownerIdFile);
      if (content === undefined) throw Object.assign(new Error('missing'), { code: 'ENOENT' });
      const text = content.toString('utf8').trim();
      if (!/^[0-9a-f]{16}$/.test(text)) {
        throw new StateError(
          `${this.ownerIdFile} does not hold an agent id (16 hex digits); restore it from a backup — a new id would orphan the installed entries`,
        );
      }
      return text;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
    const id = randomBytes(8).toString('hex');
    await writeFileAtomically(this.ownerIdFile, `${id}\n`, 0o644);
    return id;
  }

  /**
   * `jitless`: check without zod's compiled fast path, which costs more to generate than it saves
   * on a small file read once (the status, in a `sync --once` with nothing to do); large files
   * (the inventory) keep it.
   */
  private async readJson<T>(
    file: string,
    schema: z.ZodType<T>,
    options: { jitless?: boolean } = {},
  ): Promise<T | undefined> {
    // Never through a symbolic link; a run spec readable by others is repaired to 0600.
    const content = readStateFile(file, file.startsWith(this.specsDir) ? 0o600 : undefined);
    if (content === undefined) return undefined;
    const text = content.toString('utf8');
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw new StateError(`${file} is not valid JSON; restore it or remove it deliberately`, {
        cause: error,
      });
    }
    const result = schema.safeParse(value, { jitless: options.jitless === true });
    if (!result.success) {
      throw new StateError(
        `${file} does not have the expected shape (${result.error.issues
          .slice(0, 3)
          .map((issue) => `${issue.path.join('.') || 'root'}: ${issue.message}`)
          .join('; ')}); restore it or remove it deliberately`,
      );
    }
    return result.data;
  }

  async readInventory(): Promise<Inventory | undefined> {
    return this.readJson(this.inventoryFile, Inventory);
  }

  async writeInventory(inventory: Inventory): Promise<void> {
    // 0600: the rendered entries and the errors may quote commands and their arguments.
    await writeFileAtomically(this.inventoryFile, `${JSON.stringify(inventory, null, 2)}\n`, 0o600);
  }

  async readStatus(): Promise<AgentStatus> {
    return (await this.readJson(this.statusFile, AgentStatus, { jitless: true })) ?? emptyStatus;
  }

  async writeStatus(status: z.input<typeof AgentStatus>): Promise<void> {
    await writeFileAtomically(this.statusFile, `${JSON.stringify(status, null, 2)}\n`, 0o600);
  }

  /** The file of a job's run spec: `key` as its entry names it, else its spec alone. */
  specFile(
    namespace: string,
    name: string,
    revision: string,
    key = singleRunSpecKey(name, revision),
  ): string {
    if (
      !pathSafeSegment.test(namespace) ||
      !pathSafeSegment.test(name) ||
      !revisionSegment.test(revision) ||
      !isRunSpecKey(key)
    ) {
      throw new StateError(`no run spec path for ${namespace}/${name} at ${revision}`);
    }
    return runSpecFile(this.stateDir, namespace, key);
  }

  /** Whether the file of run specs `key` names exists (a deleted one is written again). */
  async hasRunSpecFile(namespace: string, key: string): Promise<boolean> {
    if (!pathSafeSegment.test(namespace) || !isRunSpecKey(key)) return false;
    return access(runSpecFile(this.stateDir, namespace, key)).then(
      () => true,
      () => false,
    );
  }

  /** Writes one spec alone. Mode 0600: a run spec holds the job's env values. */
  async writeRunSpec(spec: RunSpec): Promise<void> {
    await this.writeRunSpecFiles([
      { namespace: spec.namespace, key: singleRunSpecKey(spec.name, spec.revision), specs: [spec] },
    ]);
  }

  /**
   * Writes files of run specs durably, in batches (writeFilesAtomically), mode 0600: specs hold
   * the jobs' env values. Their folders are never symbolic links.
   */
  async writeRunSpecFiles(batches: readonly RunSpecBatch[]): Promise<void> {
    const checked = new Set<string>();
    const files = batches.map(({ namespace, key, specs }) => {
      const file = this.specFile(namespace, specs[0]?.name ?? '', specs[0]?.revision ?? '', key);
      const chain = directoryChain(this.stateDir, 'specs', namespace);
      // Each folder is checked once per call: thousands of jobs share a few namespaces.
      ensureRealDirectories(chain.filter((directory) => !checked.has(directory)));
      for (const directory of chain) checked.add(directory);
      const content = {
        version: 1,
        specs: Object.fromEntries(specs.map((spec) => [spec.name, spec])),
      };
      return { file, content: `${JSON.stringify(content)}\n`, mode: 0o600 };
    });
    await writeFilesAtomically(files);
  }

  /** The run spec of a job at `revision`, from the file `key` names (default: its spec alone). */
  async readRunSpec(
    namespace: string,
    name: string,
    revision: string,
    key?: string,
  ): Promise<RunSpec | undefined> {
    const file = this.specFile(namespace, name, revision, key);
    if (!areRealDirectories(directoryChain(this.stateDir, 'specs', namespace))) {
      return undefined;
    }
    const spec = (await this.readJson(file, RunSpecFile))?.specs[name];
    return spec?.revision === revision && spec.namespace === namespace ? spec : undefined;
  }

  /**
   * The run specs the entries say are applied, each file read once (a file holds up to 64):
   * by job id, the spec, or undefined when it is missing, or the error that reading its file met.
   */
  async readEntryRunSpecs(
    entries: readonly InventoryEntry[],
  ): Promise<Map<string, RunSpec | undefined | Error>> {
    const files = new Map<string, Promise<z.infer<typeof RunSpecFile> | undefined | Error>>();
    const specs = new Map<string, RunSpec | undefined | Error>();
    for (const entry of entries) {
      let file: string;
      try {
        file = this.specFile(entry.namespace, entry.name, entry.revision, runSpecKeyOf(entry));
      } catch (error) {
        specs.set(entry.id, error as Error);
        continue;
      }
      let read = files.get(file);
      if (read === undefined) {
        read = (async () => {
          if (!areRealDirectories(directoryChain(this.stateDir, 'specs', entry.namespace))) {
            return undefined;
          }
          return this.readJson(file, RunSpecFile);
        })().catch((error: unknown) => error as Error);
        files.set(file, read);
      }
      const content = await read;
      if (content instanceof Error) {
        specs.set(entry.id, content);
        continue;
      }
      const spec = content?.specs[entry.name];
      specs.set(entry.id, spec?.revision === entry.revision ? spec : undefined);
    }
    return specs;
  }

  /**
   * Removes the files of run specs that neither `inventory` nor `previous` (the inventory it
   * replaced: a wrapper started a moment ago may still be reading its spec) points at. With
   * `namespaces`, only those folders are looked at (the ones a tick wrote or removed from).
   */
  async pruneRunSpecs(
    inventory: Inventory,
    previous?: Inventory,
    namespaces?: ReadonlySet<string>,
  ): Promise<void> {
    const kept = new Set<string>();
    for (const entry of [
      ...Object.values(inventory.jobs),
      ...Object.values(previous?.jobs ?? {}),
    ]) {
      kept.add(`${entry.namespace}/${runSpecKeyOf(entry)}`);
    }
    let folders: string[];
    try {
      folders = await readdir(this.specsDir);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const namespace of folders) {
      if (namespaces !== undefined && !namespaces.has(namespace)) continue;
      const folder = runSpecFolder(this.stateDir, namespace);
      for (const file of await readdir(folder)) {
        const key = runSpecKeyOfFile(file);
        if (key !== undefined && !kept.has(`${namespace}/${key}`)) {
          await rm(path.join(folder, file), { force: true });
        }
      }
      if ((await readdir(folder)).length === 0) await rm(folder, { recursive: true });
    }
  }
}
