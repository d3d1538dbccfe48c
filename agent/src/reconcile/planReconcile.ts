import type { ScheduledJob } from '../scheduler/schedulerBackend.js';
import type { InventoryEntry, TranslationRecord } from '../state/agentStateStore.js';
import type { RunSpec } from '../state/runSpec.js';

/**
 * The reconcile planner: a pure diff of the jobs this agent should run against what its
 * inventory says it installed and what the native scheduler holds now. It decides; the
 * scheduler backend only carries the decision out.
 */

/** A job that is valid, targeted at this agent and supported by its scheduler backend. */
export interface DesiredJob {
  id: string;
  spec: RunSpec;
  specDigest: string;
  commandDigest: string;
  job: ScheduledJob;
  /** The backend's native text for `job`. */
  rendered: string;
  /** What `job.schedule` was translated from, and when. */
  translation: TranslationRecord;
}

export type PlannedChange =
  | { action: 'add'; id: string; after: DesiredJob }
  | {
      action: 'change';
      id: string;
      before: InventoryEntry;
      after: DesiredJob;
      /** What differs: the spec, the native text, or the scheduler drifted from the inventory. */
      reasons: ChangeReason[];
    }
  | { action: 'remove'; id: string; before: InventoryEntry }
  | { action: 'unchanged'; id: string; before: InventoryEntry; after: DesiredJob }
  | {
      action: 'retain';
      id: string;
      before: InventoryEntry;
      /** Why the job keeps its last applied version (its manifest is broken now). */
      reason: string;
    };

export type ChangeReason = 'spec' | 'schedule' | 'drift';

export interface PlanInput {
  desired: readonly DesiredJob[];
  /** What the agent's inventory says it installed. */
  inventory: Readonly<Record<string, InventoryEntry>>;
  /** What the native scheduler holds now of this agent's entries (id → native text). */
  observed: ReadonlyMap<string, string>;
  /** Installed jobs whose manifest cannot be loaded now, with the reason: they stay as they are. */
  retain: ReadonlyMap<string, string>;
  allowEmpty: boolean;
}

export interface ReconcilePlan {
  /** Sorted by job id. */
  changes: PlannedChange[];
  /** Set when the plan must not be applied (an emptied desired set without allowEmpty). */
  refused: string | null;
  /** Whether applying writes to the native scheduler (an add, change, remove or stray entry). */
  touchesScheduler: boolean;
  /** What the native scheduler must hold afterwards. */
  installed: ScheduledJob[];
}

const byId = (a: { id: string }, b: { id: string }) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

export function planReconcile(input: PlanInput): ReconcilePlan {
  const changes: PlannedChange[] = [];
  const desiredIds = new Set<string>();
  for (const after of input.desired) {
    desiredIds.add(after.id);
    const before = input.inventory[after.id];
    if (before === undefined) {
      changes.push({ action: 'add', id: after.id, after });
      continue;
    }
    const reasons: ChangeReason[] = [];
    if (before.specDigest !== after.specDigest) reasons.push('spec');
    if (before.rendered !== after.rendered) reasons.push('schedule');
    if (input.observed.get(after.id) !== before.rendered) reasons.push('drift');
    changes.push(
      reasons.length === 0
        ? { action: 'unchanged', id: after.id, before, after }
        : { action: 'change', id: after.id, before, after, reasons },
    );
  }
  for (const before of Object.values(input.inventory)) {
    if (desiredIds.has(before.id)) continue;
    const reason = input.retain.get(before.id);
    changes.push(
      reason === undefined
        ? { action: 'remove', id: before.id, before }
        : { action: 'retain', id: before.id, before, reason },
    );
  }
  changes.sort(byId);

  const installed: ScheduledJob[] = [];
  for (const change of changes) {
    if (change.action === 'add' || change.action === 'change' || change.action === 'unchanged') {
      installed.push(change.after.job);
    } else if (change.action === 'retain') {
      installed.push({ ...change.before.job, user: change.before.job.user });
    }
  }
  const retainedDrift = changes.some(
    (change) =>
      change.action === 'retain' && input.observed.get(change.id) !== change.before.rendered,
  );
  const strays = [...input.observed.keys()].some(
    (id) => !desiredIds.has(id) && input.inventory[id] === undefined,
  );
  const touchesScheduler =
    retainedDrift ||
    strays ||
    changes.some(
      (change) =>
        change.action === 'add' ||
        change.action === 'remove' ||
        (change.action === 'change' && change.reasons.some((reason) => reason !== 'spec')),
    );

  const installedBefore = Object.keys(input.inventory).length;
  const refused =
    installed.length === 0 && installedBefore > 0 && !input.allowEmpty
      ? `no job in the repository targets this agent any more, which would remove all ${installedBefore} installed job${installedBefore === 1 ? '' : 's'}; if that is intended, set allowEmpty (--allow-empty or CRONFLEET_ALLOW_EMPTY=true)`
      : null;
  return { changes, refused, touchesScheduler, installed };
}
