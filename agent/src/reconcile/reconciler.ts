import path from 'node:path';
import type { Condition, ManifestErrorReport } from '@cronfleet/core/api';
import type { ManifestError } from '@cronfleet/core/manifest';
import type { Logger } from 'pino';
import type { AgentIdentity } from '../jobTargeting.js';
import { SchedulerError, type SchedulerBackend } from '../scheduler/schedulerBackend.js';
import type {
  AgentStateStore,
  AgentStatus,
  FailureMemory,
  Inventory,
  InventoryEntry,
  RunSpecBatch,
} from '../state/agentStateStore.js';
import { runSpecKeyOf } from '../state/runSpecPath.js';
import type { BackendCapabilities } from './desiredJobs.js';
import type { DesiredJob, ReconcilePlan } from './planReconcile.js';

/**
 * One reconcile tick, in Flux's shape: fetch → (skip when nothing changed) → load → keep the jobs
 * targeted at this agent → plan → apply → prune → record. Each step returns a result; a failure
 * is either stalled (needs a human: a broken manifest, an emptied job set, a crontab edited by
 * hand) and reported without a retry loop, or transient (network, git, a busy crontab) and
 * retried with backoff and jitter.
 */

/** Where the manifests come from: a Git checkout, or a local folder for `plan --repo DIR`. */
export interface JobSource {
  /**
   * Brings the source to its target revision; returns it and the folder holding the files. A
   * source may leave an unchanged revision's files unchecked until prepare().
   */
  fetch(
    signal?: AbortSignal,
    /**
     * Called once the slow part runs in a process of its own (git fetching): the moment to load
     * what planning needs, on this process's core, without delaying that process's start.
     */
    whileFetching?: () => void,
  ): Promise<{ revision: string; workTree: string }>;
  /** Makes the fetched files exactly the revision before they are read (a Git work tree). */
  prepare?(signal?: AbortSignal): Promise<void>;
}

export interface ReconcilerOptions {
  store: AgentStateStore;
  backend: SchedulerBackend;
  source: JobSource;
  /** The folder of the repository holding the manifests ("." for the root). */
  repositoryPath: string;
  capabilities: BackendCapabilities;
  identity: AgentIdentity;
  allowEmpty: boolean;
  logger: Logger;
  now?: () => Date;
  /** A full reconcile runs at least this often even when nothing changed (re-verifies schedules). */
  fullReconcileIntervalMs?: number;
  /** Base and cap of the backoff after transient failures. */
  backoffBaseMs?: number;
  backoffCapMs?: number;
  random?: () => number;
}

export type TickOutcome =
  | { result: 'unchanged'; revision: string }
  | { result: 'applied'; revision: string; plan: ReconcilePlan; errors: ManifestError[] }
  | {
      result: 'stalled';
      revision: string | null;
      message: string;
      errors: ManifestError[];
      plan: ReconcilePlan | null;
    }
  | { result: 'failed'; revision: string | null; message: string; retryAt: Date };

/** What the cheap half of a tick read, for the half that plans. */
interface TickInProgress {
  status: AgentStatus;
  now: Date;
  revision: string;
  workTree: string;
  /** Undefined when the revision changed: the tick plans anyway, and reads it after applying. */
  fingerprint: string | undefined;
  log: Logger;
  cpuMs: () => number;
  signal: AbortSignal | undefined;
}

export interface PlanPreview {
  revision: string;
  plan: ReconcilePlan;
  errors: ManifestError[];
  notTargeted: { id: string; reason: string }[];
}

/**
 * How often a tick with nothing changed still reads the scheduler whole and re-plans: it catches
 * what the fingerprint cannot see (a cron.d file edited in place) and refreshes translations.
 */
const fullReconcileInterval = 60 * 60 * 1000;

function inventoryEntryOf(after: DesiredJob): InventoryEntry {
  return {
    id: after.id,
    namespace: after.spec.namespace,
    name: after.spec.name,
    revision: after.spec.revision,
    sourcePath: after.spec.sourcePath,
    specDigest: after.specDigest,
    commandDigest: after.commandDigest,
    rendered: after.rendered,
    job: after.job,
    translation: after.translation,
  };
}

/** Whether the entry records the same translation (a reused one is the same object's copy). */
function sameTranslation(before: InventoryEntry, after: InventoryEntry): boolean {
  const a = before.translation;
  const b = after.translation;
  if (a === undefined || b === undefined) return a === b;
  return (
    a.from === b.from &&
    a.schedule === b.schedule &&
    a.timezone === b.timezone &&
    a.nativeZone === b.nativeZone &&
    a.tzdata === b.tzdata
  );
}

/** Adds a spec to the batch of its file (`namespace/key`), starting the batch if need be. */
function addToBatch(
  batches: Map<string, RunSpecBatch>,
  namespace: string,
  key: string,
  spec: RunSpecBatch['specs'][number],
): void {
  const id = `${namespace}/${key}`;
  const batch = batches.get(id);
  if (batch === undefined) batches.set(id, { namespace, key, specs: [spec] });
  else batches.set(id, { ...batch, specs: [...batch.specs, spec] });
}

function condition(
  type: Condition['type'],
  status: Condition['status'],
  reason: string,
  message: string,
  previous: readonly Condition[],
  now: Date,
): Condition {
  const before = previous.find((item) => item.type === type);
  const lastTransitionTime =
    before !== undefined && before.status === status
      ? before.lastTransitionTime
      : now.toISOString();
  return { type, status, reason, message: message.slice(0, 32_768), lastTransitionTime };
}

function reportOf(error: ManifestError): ManifestErrorReport {
  return {
    file: error.file,
    line: error.line,
    column: error.column,
    job: error.job,
    path: error.path === '' ? null : error.path,
    message: error.message.slice(0, 8192),
  };
}

/**
 * The modules that load and plan a repository: loaded by the first tick that plans, so a tick
 * with nothing to do (and `status`, `uninstall`) never pays for the manifest schema and YAML.
 */
const planning = () =>
  Promise.all([
    import('@cronfleet/core/manifest'),
    import('./desiredJobs.js'),
    import('./planReconcile.js'),
  ]).then(([manifest, desired, planner]) => ({ ...manifest, ...desired, ...planner }));

/** A JobRepositoryError (core's loader) or a SchedulerError marked stalled needs a human. */
function isStalled(error: unknown): boolean {
  if (error instanceof Error && error.name === 'JobRepositoryError') return true;
  const kind = (error as { kind?: unknown }).kind;
  return kind === 'stalled';
}

export class Reconciler {
  private readonly now: () => Date;
  private readonly random: () => number;

  constructor(private readonly options: ReconcilerOptions) {
    this.now = options.now ?? (() => new Date());
    this.random = options.random ?? Math.random;
  }

  private get log(): Logger {
    return this.options.logger;
  }

  /** Loads, targets and plans at the source's revision without changing anything. */
  async preview(signal?: AbortSignal): Promise<PlanPreview> {
    const { revision, workTree } = await this.options.source.fetch(signal);
    await this.options.source.prepare?.(signal);
    const inventory = (await this.options.store.readInventory())?.jobs ?? {};
    const observed = await this.options.backend.observe();
    const planned = await this.planAt(revision, await this.loadAt(workTree), inventory, observed);
    return { revision, ...planned };
  }

  /** The repository's manifests in the work tree (the planning modules load first). */
  private async loadAt(workTree: string) {
    const { loadJobRepository } = await planning();
    return loadJobRepository(path.resolve(workTree, this.options.repositoryPath));
  }

  private async planAt(
    revision: string,
    loaded: Awaited<ReturnType<Reconciler['loadAt']>>,
    inventory: Readonly<Record<string, InventoryEntry>>,
    observed: ReadonlyMap<string, string>,
  ) {
    const { desiredJobs, planReconcile } = await planning();
    const selection = desiredJobs({
      jobs: loaded.jobs,
      errors: loaded.errors,
      revision,
      identity: this.options.identity,
      backend: this.options.backend,
      capabilities: this.options.capabilities,
      inventory,
      now: this.now(),
    });
    const plan = planReconcile({
      desired: selection.desired,
      inventory,
      observed,
      retain: selection.retain,
      allowEmpty: this.options.allowEmpty,
    });
    return { plan, errors: selection.errors, notTargeted: selection.notTargeted, selection };
  }

  /**
   * One tick. Nothing is read but the status, the source's revision and the scheduler's
   * fingerprint when neither changed since the last tick that verified the scheduler whole (at
   * most `fullReconcileIntervalMs` ago): such a tick writes nothing. `force` (an operator's
   * `sync --once`) ignores the failure memory: a stalled revision or a transient failure's
   * backoff is retried at once.
   */
  async tick(
    options: { force?: boolean; signal?: AbortSignal; expectPlanning?: boolean } = {},
  ): Promise<TickOutcome> {
    const checked = await this.checkTick(options);
    return 'outcome' in checked ? checked.outcome : this.planAndApply(checked);
  }

  /**
   * The cheap half of a tick: fetch, fingerprint, failure memory. It ends the tick (the outcome)
   * or says that the tick must plan, which the daemon does in a process of its own so that it
   * never holds what planning loads and allocates (syncCommand.ts).
   */
  async check(
    options: { signal?: AbortSignal } = {},
  ): Promise<TickOutcome | { result: 'plan-needed'; revision: string }> {
    const checked = await this.checkTick(options);
    return 'outcome' in checked
      ? checked.outcome
      : { result: 'plan-needed', revision: checked.revision };
  }

  private async checkTick(options: {
    force?: boolean;
    signal?: AbortSignal;
    /** Load the planning modules while git fetches (a tick the daemon knows must plan). */
    expectPlanning?: boolean;
  }): Promise<{ outcome: TickOutcome } | TickInProgress> {
    const { store, backend } = this.options;
    // This process's CPU for the tick (git's own runs in its children): the logs carry it.
    const cpuAtStart = process.cpuUsage();
    const cpuMs = () => {
      const used = process.cpuUsage(cpuAtStart);
      return Math.round((used.user + used.system) / 100) / 10;
    };
    const status = await store.readStatus();
    const now = this.now();
    // git runs in processes of its own: the planning modules load meanwhile, once git started
    // (loading first would hold back each git command that the fetch starts).
    let loadPlanning =
      options.expectPlanning === true || status.lastSyncAt === null
        ? () => {
            planning()
              // Time-zone data loads on first use (tens of milliseconds): meanwhile too.
              .then(() => new Intl.DateTimeFormat('en-US', { timeZone: 'UTC' }).format(0))
              .catch(() => undefined);
          }
        : () => undefined;
    const whileFetching = () => {
      loadPlanning();
      loadPlanning = () => undefined;
    };

    let revision: string;
    let workTree: string;
    try {
      ({ revision, workTree } = await this.options.source.fetch(options.signal, whileFetching));
      whileFetching();
    } catch (error) {
      return { outcome: await this.recordFailure(status, null, error, 'FetchFailed') };
    }
    const log = this.log.child({ revision: revision.slice(0, 12) });

    // A new revision is planned whatever the scheduler holds: its fingerprint is read once,
    // after applying, instead of also before.
    let fingerprint: string | undefined;
    try {
      if (revision === status.lastAttemptedRevision) fingerprint = await backend.fingerprint();
    } catch (error) {
      return {
        outcome: await this.recordFailure(status, revision, error, 'SchedulerUnreadable'),
      };
    }
    const verifiedRecently =
      status.lastSyncAt !== null &&
      now.getTime() - Date.parse(status.lastSyncAt) <
        (this.options.fullReconcileIntervalMs ?? fullReconcileInterval);
    if (revision === status.lastAttemptedRevision && fingerprint === status.schedulerFingerprint) {
      const remembered = status.failure;
      if (remembered === null && verifiedRecently) {
        log.debug({ cpuMs: cpuMs() }, 'revision and scheduler unchanged; nothing to do');
        return { outcome: { result: 'unchanged', revision } };
      }
      if (
        options.force !== true &&
        remembered?.kind === 'stalled' &&
        remembered.revision === revision
      ) {
        // The same revision fails the same way until someone commits a fix: no retry loop.
        return {
          outcome: {
            result: 'stalled',
            revision,
            message: remembered.signature,
            errors: [],
            plan: null,
          },
        };
      }
      if (
        options.force !== true &&
        remembered?.kind === 'transient' &&
        Date.parse(remembered.nextAttemptAt) > now.getTime()
      ) {
        return {
          outcome: {
            result: 'failed',
            revision,
            message: remembered.signature,
            retryAt: new Date(remembered.nextAttemptAt),
          },
        };
      }
    }
    return { status, now, revision, workTree, fingerprint, log, cpuMs, signal: options.signal };
  }

  private async planAndApply(tick: TickInProgress): Promise<TickOutcome> {
    const { store, backend } = this.options;
    const { status, now, revision, workTree, fingerprint, log, cpuMs } = tick;
    try {
      await this.options.source.prepare?.(tick.signal);
    } catch (error) {
      return this.recordFailure(status, revision, error, 'FetchFailed');
    }
    // The manifests load while the scheduler is read; a failure is reported in its turn below.
    const loading = this.loadAt(workTree);
    loading.catch(() => undefined);
    let inventory: Inventory;
    let observed: ReadonlyMap<string, string>;
    try {
      inventory = (await store.readInventory()) ?? {
        version: 1,
        scheduler: backend.name,
        jobs: {},
      };
      if (inventory.scheduler !== backend.name && Object.keys(inventory.jobs).length > 0) {
        throw new SchedulerError(
          `the installed jobs were applied with the ${inventory.scheduler} scheduler, and this agent is configured for ${backend.name}; run "cronfleet-agent uninstall --scheduler ${inventory.scheduler}" first, then sync again`,
          'stalled',
        );
      }
      observed = await backend.observe();
    } catch (error) {
      return this.recordFailure(status, revision, error, 'SchedulerUnreadable');
    }

    let planned: Awaited<ReturnType<Reconciler['planAt']>>;
    try {
      planned = await this.planAt(revision, await loading, inventory.jobs, observed);
    } catch (error) {
      return this.recordFailure(status, revision, error, 'ManifestLoadFailed');
    }
    const { plan, errors } = planned;
    if (plan.refused !== null) {
      log.warn({ refused: plan.refused }, 'plan refused; nothing applied');
      return this.recordStalled(status, revision, plan.refused, 'EmptyDesiredSet', errors, plan);
    }

    // Only what changed is written: a job a commit left as it was keeps its spec and its entry.
    const newSpecs = new Map<string, RunSpecBatch>();
    for (const change of plan.changes) {
      if (change.action !== 'add' && change.action !== 'change') continue;
      const { namespace } = change.after.spec;
      const key = change.after.job.specKey;
      if (
        key === undefined ||
        (change.action === 'change' && runSpecKeyOf(change.before) === key)
      ) {
        continue;
      }
      addToBatch(newSpecs, namespace, key, change.after.spec);
    }
    // A file of specs deleted behind the agent's back is written again, from the specs of the
    // jobs that still name it (a tick that plans checks the files its jobs need; one per 64 jobs).
    const kept = new Map<string, RunSpecBatch>();
    for (const change of plan.changes) {
      if (change.action !== 'unchanged' && change.action !== 'change') continue;
      const { namespace } = change.after.spec;
      const key = change.after.job.specKey;
      if (key === undefined || newSpecs.has(`${namespace}/${key}`)) continue;
      addToBatch(kept, namespace, key, change.after.spec);
    }
    for (const [id, batch] of kept) {
      if (!(await store.hasRunSpecFile(batch.namespace, batch.key))) {
        log.warn(
          { file: batch.key, namespace: batch.namespace },
          'a run spec file was missing; written again',
        );
        newSpecs.set(id, batch);
      }
    }
    let written = false;
    try {
      // Run specs first: the native scheduler may start a job the moment it is installed.
      if (newSpecs.size > 0) await store.writeRunSpecFiles([...newSpecs.values()]);
      if (plan.touchesScheduler) {
        const owned = new Set([...Object.keys(inventory.jobs), ...observed.keys()]);
        written = (await backend.apply(plan.installed, owned)).written;
      }
    } catch (error) {
      return this.recordFailure(status, revision, error, 'ApplyFailed', errors);
    }

    const jobs: Record<string, InventoryEntry> = {};
    const touched = new Set<string>();
    let inventoryChanged = inventory.scheduler !== backend.name;
    for (const change of plan.changes) {
      if (change.action === 'retain') {
        jobs[change.id] = change.before;
        continue;
      }
      if (change.action === 'remove') {
        touched.add(change.id);
        inventoryChanged = true;
        continue;
      }
      const entry = inventoryEntryOf(change.after);
      if (change.action === 'unchanged' && sameTranslation(change.before, entry)) {
        jobs[change.id] = change.before;
        continue;
      }
      jobs[change.id] = entry;
      touched.add(change.id);
      inventoryChanged = true;
    }
    const nextInventory: Inventory = { version: 1, scheduler: backend.name, jobs };
    if (inventoryChanged) {
      await store.writeInventory(nextInventory);
      await store.pruneRunSpecs(
        nextInventory,
        inventory,
        new Set([...touched].map((id) => id.slice(0, id.indexOf('/')))),
      );
    }
    let fingerprintAfter = fingerprint;
    try {
      if (written || fingerprintAfter === undefined) fingerprintAfter = await backend.fingerprint();
    } catch (error) {
      return this.recordFailure(status, revision, error, 'SchedulerUnreadable', errors);
    }

    const counts = { add: 0, change: 0, remove: 0, unchanged: 0, retain: 0 };
    for (const change of plan.changes) counts[change.action] += 1;
    log.info(
      { ...counts, errors: errors.length, specFiles: newSpecs.size, cpuMs: cpuMs() },
      'reconciled',
    );

    if (errors.length > 0) {
      const { formatManifestError } = await planning();
      const message = `${errors.length} manifest error${errors.length === 1 ? '' : 's'}; the other jobs are applied:\n${errors.map(formatManifestError).join('\n')}`;
      return this.recordStalled(status, revision, message, 'ManifestInvalid', errors, plan, {
        applied: true,
        fingerprint: fingerprintAfter,
      });
    }
    await store.writeStatus({
      version: 1,
      lastAppliedRevision: revision,
      lastAttemptedRevision: revision,
      conditions: [
        condition(
          'Ready',
          'true',
          'ReconciliationSucceeded',
          `applied ${Object.keys(jobs).length} job${Object.keys(jobs).length === 1 ? '' : 's'} at ${revision}`,
          status.conditions,
          now,
        ),
        condition('Reconciling', 'false', 'ReconciliationSucceeded', '', status.conditions, now),
        condition('Stalled', 'false', 'ReconciliationSucceeded', '', status.conditions, now),
      ],
      errors: [],
      failure: null,
      lastSyncAt: now.toISOString(),
      schedulerFingerprint: fingerprintAfter,
    });
    return { result: 'applied', revision, plan, errors: [] };
  }

  private async recordStalled(
    status: AgentStatus,
    revision: string,
    message: string,
    reason: string,
    errors: ManifestError[],
    plan: ReconcilePlan | null,
    options: { applied?: boolean; fingerprint?: string } = {},
  ): Promise<TickOutcome> {
    const now = this.now();
    const failure: FailureMemory = {
      revision,
      signature: message,
      kind: 'stalled',
      attempts:
        status.failure?.revision === revision && status.failure.signature === message
          ? status.failure.attempts + 1
          : 1,
      nextAttemptAt: now.toISOString(),
    };
    await this.options.store.writeStatus({
      version: 1,
      lastAppliedRevision: status.lastAppliedRevision,
      lastAttemptedRevision: revision,
      conditions: [
        condition('Ready', 'false', reason, message, status.conditions, now),
        condition('Reconciling', 'false', reason, '', status.conditions, now),
        condition('Stalled', 'true', reason, message, status.conditions, now),
      ],
      errors: errors.slice(0, 1000).map(reportOf),
      failure,
      lastSyncAt: options.applied === true ? now.toISOString() : status.lastSyncAt,
      schedulerFingerprint:
        options.applied === true
          ? (options.fingerprint ?? status.schedulerFingerprint)
          : status.schedulerFingerprint,
    });
    return { result: 'stalled', revision, message, errors, plan };
  }

  private async recordFailure(
    status: AgentStatus,
    revision: string | null,
    error: unknown,
    reason: string,
    errors: ManifestError[] = [],
  ): Promise<TickOutcome> {
    const message = error instanceof Error ? error.message : String(error);
    if (isStalled(error) && revision !== null) {
      this.log.error({ err: error }, 'reconcile stalled');
      return this.recordStalled(status, revision, message, reason, errors, null);
    }
    const now = this.now();
    const sameFailure =
      status.failure !== null &&
      status.failure.kind === 'transient' &&
      status.failure.signature === message;
    const attempts = sameFailure ? (status.failure?.attempts ?? 0) + 1 : 1;
    const base = this.options.backoffBaseMs ?? 5_000;
    const cap = this.options.backoffCapMs ?? 10 * 60_000;
    const delay = Math.min(cap, base * 2 ** (attempts - 1)) * (0.5 + this.random());
    const retryAt = new Date(now.getTime() + Math.round(delay));
    this.log.warn({ err: error, attempts, retryAt: retryAt.toISOString() }, 'reconcile failed');
    await this.options.store.writeStatus({
      ...status,
      lastAttemptedRevision: revision ?? status.lastAttemptedRevision,
      conditions: [
        condition('Ready', 'false', reason, message, status.conditions, now),
        condition(
          'Reconciling',
          'true',
          reason,
          `retrying at ${retryAt.toISOString()}`,
          status.conditions,
          now,
        ),
        condition('Stalled', 'false', reason, '', status.conditions, now),
      ],
      failure: {
        revision,
        signature: message,
        kind: 'transient',
        attempts,
        nextAttemptAt: retryAt.toISOString(),
      },
    });
    return { result: 'failed', revision, message, retryAt };
  }
}
