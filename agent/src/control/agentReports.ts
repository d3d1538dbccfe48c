import {
  MAX_INVENTORY_JOBS,
  MAX_STORED_INTEGER,
  type Condition,
  type HeartbeatRequest,
  type InventoryJob,
  type InventoryRequest,
  type RepositoryRef,
  type UnmanagedEntry,
} from '@cronfleet/core/api';
import type { AgentConfig } from '../config/agentConfig.js';
import { redactCommandSecrets } from '../discovery/redactCommandSecrets.js';
import type { AgentStateStore, AgentStatus } from '../state/agentStateStore.js';

/**
 * The bodies of the heartbeat and the inventory, built from the state directory (status.json,
 * inventory.json and the run specs as applied): what the agent reports is what it applied, never
 * the working copy of the repository.
 */

/** Errors a heartbeat carries at most (the contract's limit). */
const maxHeartbeatErrors = 1000;
/** Unmanaged entries an inventory carries at most (the contract's limit). */
export const maxUnmanagedEntries = 1000;
/** The longest unmanaged command the contract carries; longer ones are cut with a marker. */
const maxUnmanagedCommandLength = 8192;
const cutMarker = ' …[cut]';

/**
 * An unmanaged entry as the backend gets it: its command with secret-looking values redacted
 * (redactCommandSecrets.ts), cut to the contract's length (a redaction may lengthen it).
 */
export function reportedUnmanagedEntry(entry: UnmanagedEntry): UnmanagedEntry {
  const command = redactCommandSecrets(entry.command);
  return {
    schedule: entry.schedule,
    command:
      command.length > maxUnmanagedCommandLength
        ? `${command.slice(0, maxUnmanagedCommandLength - cutMarker.length)}${cutMarker}`
        : command,
  };
}

/**
 * The repository as the heartbeat names it, or undefined when none is configured. A tag or a
 * commit is sent in `branch`, which is what the contract has for the ref the agent follows.
 */
export function repositoryReference(config: AgentConfig): RepositoryRef | undefined {
  const { url, branch, tag, commit } = config.repository;
  if (url === undefined) return undefined;
  return { url, branch: branch ?? tag ?? commit ?? 'main' };
}

/** One condition per type (the last one written wins), as the contract requires. */
function oneConditionPerType(conditions: readonly Condition[]): Condition[] {
  const byType = new Map<string, Condition>();
  for (const condition of conditions) byType.set(condition.type, condition);
  return [...byType.values()];
}

/**
 * `runs.runningRunIds`: the live runs, complete (undefined: not tracked, the field is left out);
 * `runs.acceptsCommands`: false when the sender cannot carry out commands (`sync --once`).
 */
export function buildHeartbeatRequest(
  status: AgentStatus,
  repository: RepositoryRef | null,
  version: string,
  runs: { runningRunIds?: readonly string[] | undefined; acceptsCommands?: boolean } = {},
): HeartbeatRequest {
  return {
    conditions: oneConditionPerType(status.conditions),
    lastAppliedRevision: status.lastAppliedRevision,
    lastAttemptedRevision: status.lastAttemptedRevision,
    repository,
    errors: status.errors.slice(0, maxHeartbeatErrors),
    version,
    ...(runs.runningRunIds === undefined ? {} : { runningRunIds: [...runs.runningRunIds] }),
    ...(runs.acceptsCommands === undefined ? {} : { acceptsCommands: runs.acceptsCommands }),
  };
}

const seconds = (milliseconds: number) =>
  Math.min(Math.round(milliseconds / 1000), MAX_STORED_INTEGER);

export interface InventoryBuild {
  request: InventoryRequest;
  /** Installed jobs left out because their run spec is missing or unreadable, with why. */
  skipped: { id: string; reason: string }[];
}

/**
 * The inventory request: one InventoryJob per job of inventory.json, with the schedule, zone,
 * monitoring (with where its incidents go and how many retries a run has), policy and labels of
 * its run spec as applied, plus the unmanaged entries (capped at the
 * contract's limit, secrets redacted). A job whose run spec cannot be read is left out and listed
 * in `skipped`: reporting a guessed schedule would make the backend expect runs that never come.
 */
export async function buildInventoryRequest(
  store: AgentStateStore,
  unmanaged: readonly UnmanagedEntry[],
): Promise<InventoryBuild> {
  const inventory = await store.readInventory();
  const status = await store.readStatus();
  const jobs: InventoryJob[] = [];
  const skipped: InventoryBuild['skipped'] = [];
  const entries = Object.values(inventory?.jobs ?? {}).sort((a, b) => (a.id < b.id ? -1 : 1));
  const specs = await store.readEntryRunSpecs(entries);
  for (const entry of entries) {
    const spec = specs.get(entry.id);
    if (spec instanceof Error) {
      skipped.push({ id: entry.id, reason: spec.message });
      continue;
    }
    if (spec === undefined) {
      skipped.push({ id: entry.id, reason: `no run spec for revision ${entry.revision}` });
      continue;
    }
    jobs.push({
      namespace: entry.namespace,
      name: entry.name,
      schedule: spec.schedule,
      timezone: spec.timezone,
      commandDigest: entry.commandDigest,
      sourcePath: entry.sourcePath,
      revision: entry.revision,
      suspended: entry.job.suspended,
      monitoring: {
        graceSeconds: seconds(spec.monitoring.graceMs),
        maxRuntimeSeconds:
          spec.monitoring.maxRuntimeMs === null
            ? null
            : Math.max(1, seconds(spec.monitoring.maxRuntimeMs)),
        alertAfter: spec.monitoring.alertAfter,
        recoverAfter: spec.monitoring.recoverAfter ?? 1,
        realertEverySeconds:
          spec.monitoring.realertEveryMs === undefined
            ? null
            : Math.max(60, seconds(spec.monitoring.realertEveryMs)),
        notify: [...(spec.monitoring.notify ?? [])],
        retryLimit: spec.retries.limit,
      },
      concurrencyPolicy: spec.concurrencyPolicy,
      scheduler: inventory?.scheduler ?? 'crontab',
      labels: { ...spec.labels },
    });
  }
  return {
    request: {
      revision: status.lastAppliedRevision,
      jobs: jobs.slice(0, MAX_INVENTORY_JOBS),
      unmanaged: unmanaged.slice(0, maxUnmanagedEntries).map(reportedUnmanagedEntry),
    },
    skipped,
  };
}
