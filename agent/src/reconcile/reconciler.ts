import path from 'node:path';
import type { Condition, ManifestErrorReport } from '@cronfleet/core/api';
import {
  formatManifestError,
  JobRepositoryError,
  loadJobRepository,
  type ManifestError,
} from '@cronfleet/core/manifest';
import type { Logger } from 'pino';
import type { AgentIdentity } from '../jobTargeting.js';
import { SchedulerError, type SchedulerBackend } from '../scheduler/schedulerBackend.js';
import type {
  AgentStateStore,
  AgentStatus,
  FailureMemory,
  Inventory,
  InventoryEntry,
} from '../state/agentStateStore.js';
import { desiredJobs, type BackendCapabilities } from './desiredJobs.js';
import { planReconcile, schedulerMatchesInventory, type ReconcilePlan } from './planReconcile.js';

/**
 * One reconcile tick, in Flux's shape: fetch → (skip when nothing changed) → load → keep the jobs
 * targeted at this agent → plan → apply → prune → record. Each step returns a result; a failure
 * is either stalled (needs a human: a broken manifest, an emptied job set, a crontab edited by
 * hand) and reported without a retry loop, or transient (network, git, a busy crontab) and
 * retried with backoff and jitter.
 */

/** Where the manifests come from: a Git checkout, or a local folder for `plan --repo DIR`. */
export interface JobSource {
  /** Brings the source to its target revision; returns it and the folder holding the files. */
  fetch(signal?: AbortSignal): Promise<{ revision: string; workTree: string }>;
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

export interface PlanPreview {
  revision: string;
  plan: ReconcilePlan;
  errors: ManifestError[];
  notTargeted: { id: string; reason: string }[];
}

const day = 24 * 60 * 60 * 1000;

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

/** A JobRepositoryError or a SchedulerError marked stalled needs a human. */
function isStalled(error: unknown): boolean {
  if (error instanceof JobRepositoryError) return true;
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
    const inventory = (await this.options.store.readInventory())?.jobs ?? {};
    const observed = await this.options.backend.observe();
    const planned = await this.planAt(revision, workTree, inventory, observed);
    return { revision, ...planned };
  }

  private async planAt(
    revision: string,
    workTree: string,
    inventory: Readonly<Record<string, InventoryEntry>>,
    observed: ReadonlyMap<string, string>,
  ) {
    const root = path.resolve(workTree, this.options.repositoryPath);
    const loaded = await loadJobRepository(root);
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
   * One tick. `force` skips the "nothing changed" shortcut and the failure memory (an operator's
   * explicit `sync --once`); the daemon calls it without.
   */
  async tick(options: { force?: boolean; signal?: AbortSignal } = {}): Promise<TickOutcome> {
    const { store } = this.options;
    const status = await store.readStatus();
    const now = this.now();

    let revision: string;
    let workTree: string;
    try {
      ({ revision, workTree } = await this.options.source.fetch(options.signal));
    } catch (error) {
      return this.recordFailure(status, null, error, 'FetchFailed');
    }
    const log = this.log.child({ revision: revision.slice(0, 12) });

    let inventory: Inventory;
    let observed: ReadonlyMap<string, string>;
    try {
      inventory = (await store.readInventory()) ?? {
        version: 1,
        scheduler: this.options.backend.name,
        jobs: {},
      };
      if (
        inventory.scheduler !== this.options.backend.name &&
        Object.keys(inventory.jobs).length > 0
      ) {
        throw new SchedulerError(
          `the installed jobs were applied with the ${inventory.scheduler} scheduler, and this agent is configured for ${this.options.backend.name}; run "cronfleet-agent uninstall --scheduler ${inventory.scheduler}" first, then sync again`,
          'stalled',
        );
      }
      observed = await this.options.backend.observe();
    } catch (error) {
      return this.recordFailure(status, revision, error, 'SchedulerUnreadable');
    }

    const matches = schedulerMatchesInventory(inventory.jobs, observed);
    const recentFull =
      status.lastSyncAt !== null &&
      now.getTime() - Date.parse(status.lastSyncAt) < (this.options.fullReconcileIntervalMs ?? day);
    if (options.force !== true && matches && revision === status.lastAttemptedRevision) {
      const remembered = status.failure;
      if (remembered === null && recentFull) {
        log.debug('revision and scheduler unchanged; nothing to do');
        return { result: 'unchanged', revision };
      }
      if (remembered?.kind === 'stalled' && remembered.revision === revision) {
        // The same revision fails the same way until someone commits a fix: no retry loop.
        return {
          result: 'stalled',
          revision,
          message: remembered.signature,
          errors: [],
          plan: null,
        };
      }
      if (
        remembered?.kind === 'transient' &&
        Date.parse(remembered.nextAttemptAt) > now.getTime()
      ) {
        return {
          result: 'failed',
          revision,
          message: remembered.signature,
          retryAt: new Date(remembered.nextAttemptAt),
        };
      }
    }

    let planned: Awaited<ReturnType<Reconciler['planAt']>>;
    try {
      planned = await this.planAt(revision, workTree, inventory.jobs, observed);
    } catch (error) {
      return this.recordFailure(status, revision, error, 'ManifestLoadFailed');
    }
    const { plan, errors, selection } = planned;
    if (plan.refused !== null) {
      log.warn({ refused: plan.refused }, 'plan refused; nothing applied');
      return this.recordStalled(status, revision, plan.refused, 'EmptyDesiredSet', errors, plan);
    }

    try {
      // Run specs first: the native scheduler may start a job the moment it is installed.
      for (const job of selection.desired) await store.writeRunSpec(job.spec);
      if (plan.touchesScheduler) {
        const owned = new Set([...Object.keys(inventory.jobs), ...observed.keys()]);
        await this.options.backend.apply(plan.installed, owned);
      }
    } catch (error) {
      return this.recordFailure(status, revision, error, 'ApplyFailed', errors);
    }

    const jobs: Record<string, InventoryEntry> = {};
    for (const change of plan.changes) {
      if (change.action === 'retain') {
        jobs[change.id] = change.before;
      } else if (change.action !== 'remove') {
        const { after } = change;
        jobs[change.id] = {
          id: after.id,
          namespace: after.spec.namespace,
          name: after.spec.name,
          revision,
          sourcePath: after.spec.sourcePath,
          specDigest: after.specDigest,
          commandDigest: after.commandDigest,
          rendered: after.rendered,
          job: after.job,
        };
      }
    }
    const nextInventory: Inventory = { version: 1, scheduler: this.options.backend.name, jobs };
    await store.writeInventory(nextInventory);
    await store.pruneRunSpecs(nextInventory);

    const counts = { add: 0, change: 0, remove: 0, unchanged: 0, retain: 0 };
    for (const change of plan.changes) counts[change.action] += 1;
    log.info({ ...counts, errors: errors.length }, 'reconciled');

    if (errors.length > 0) {
      const message = `${errors.length} manifest error${errors.length === 1 ? '' : 's'}; the other jobs are applied:\n${errors.map(formatManifestError).join('\n')}`;
      return this.recordStalled(status, revision, message, 'ManifestInvalid', errors, plan, {
        applied: true,
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
    options: { applied?: boolean } = {},
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
