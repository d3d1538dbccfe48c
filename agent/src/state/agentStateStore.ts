import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { Condition, ManifestErrorReport, SchedulerBackendName } from '@cronfleet/core/contract';
import { z } from 'zod';
import { writeFileAtomically, writeFilesAtomically } from './atomicFile.js';
import { RunSpec } from './runSpec.js';
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
 *   specs/<namespace>/<name>/<rev>.json   each job's run spec as applied, keyed by the revision
 *                                     that last changed it (a job a commit leaves as it was keeps
 *                                     its file: a one-job change writes one spec)
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
  /** The revision of the run spec the wrapper runs (its file name); absent in older inventories. */
  revision: z.string().optional(),
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

  private async readJson<T>(file: string, schema: z.ZodType<T>): Promise<T | undefined> {
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
    const result = schema.safeParse(value);
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
    await writeFileAtomically(this.inventoryFile, `${JSON.stringify(inventory, null, 2)}\n`);
  }

  async readStatus(): Promise<AgentStatus> {
    return (await this.readJson(this.statusFile, AgentStatus)) ?? emptyStatus;
  }

  async writeStatus(status: z.input<typeof AgentStatus>): Promise<void> {
    await writeFileAtomically(this.statusFile, `${JSON.stringify(status, null, 2)}\n`);
  }

  specFile(namespace: string, name: string, revision: string): string {
    if (
      !pathSafeSegment.test(namespace) ||
      !pathSafeSegment.test(name) ||
      !revisionSegment.test(revision)
    ) {
      throw new StateError(`no run spec path for ${namespace}/${name} at ${revision}`);
    }
    return path.join(this.specsDir, namespace, name, `${revision}.json`);
  }

  /** Mode 0600: a run spec holds the job's env values. Its folders are never symbolic links. */
  async writeRunSpec(spec: RunSpec): Promise<void> {
    await this.writeRunSpecs([spec]);
  }

  /** Writes run specs durably, in batches (writeFilesAtomically); see writeRunSpec. */
  async writeRunSpecs(specs: readonly RunSpec[]): Promise<void> {
    const files = specs.map((spec) => {
      const file = this.specFile(spec.namespace, spec.name, spec.revision);
      ensureRealDirectories(directoryChain(this.stateDir, 'specs', spec.namespace, spec.name));
      return { file, content: `${JSON.stringify(spec)}\n`, mode: 0o600 };
    });
    await writeFilesAtomically(files);
  }

  async readRunSpec(
    namespace: string,
    name: string,
    revision: string,
  ): Promise<RunSpec | undefined> {
    const file = this.specFile(namespace, name, revision);
    if (!areRealDirectories(directoryChain(this.stateDir, 'specs', namespace, name))) {
      return undefined;
    }
    return this.readJson(file, RunSpec);
  }

  /**
   * Removes run specs that the inventory no longer points at, keeping `keepPrevious` older
   * revisions per job so that a wrapper that read the inventory a moment ago still finds its
   * spec. Specs of jobs no longer installed go entirely. With `only`, just those jobs' folders
   * are looked at (the ones a tick added, changed or removed); without, every folder.
   */
  async pruneRunSpecs(
    inventory: Inventory,
    keepPrevious = 1,
    only?: ReadonlySet<string>,
  ): Promise<void> {
    let namespaces: string[];
    try {
      namespaces = await readdir(this.specsDir);
    } catch (error) {
      if (isMissing(error)) return;
      throw error;
    }
    for (const namespace of namespaces) {
      if (only !== undefined && ![...only].some((id) => id.startsWith(`${namespace}/`))) continue;
      const namespaceDir = path.join(this.specsDir, namespace);
      for (const name of await readdir(namespaceDir)) {
        if (only !== undefined && !only.has(`${namespace}/${name}`)) continue;
        const jobDir = path.join(namespaceDir, name);
        const entry = inventory.jobs[`${namespace}/${name}`];
        if (entry === undefined) {
          await rm(jobDir, { recursive: true, force: true });
          continue;
        }
        const files = await readdir(jobDir, { withFileTypes: true });
        const stale = files
          .filter((file) => file.isFile() && file.name !== `${entry.revision}.json`)
          .map((file) => file.name);
        if (stale.length <= keepPrevious) continue;
        const withTimes = await Promise.all(
          stale.map(async (file) => {
            const { mtimeMs } = await stat(path.join(jobDir, file));
            return { file, mtimeMs };
          }),
        );
        withTimes.sort((a, b) => b.mtimeMs - a.mtimeMs);
        for (const { file } of withTimes.slice(keepPrevious)) {
          await rm(path.join(jobDir, file), { force: true });
        }
      }
      if ((await readdir(namespaceDir)).length === 0) await rm(namespaceDir, { recursive: true });
    }
  }
}
