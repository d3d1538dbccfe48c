import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { RunSpec } from '../state/runSpec.js';
import { specContentDigest } from '../state/specDigest.js';

/**
 * Reads the run spec the inventory says is applied for a job, cheaply: the wrapper starts on
 * every cron fire, and validating with the state store's zod schemas costs more than the whole
 * rest of a run's overhead (zod, and the core modules the schemas import, take hundreds of ms to
 * load on a busy machine). The files are the agent's own, written atomically after validation; the
 * inventory records each spec's digest (runSpecDigest). So the fast path parses the two JSON files
 * and checks that the spec's digest is the one the inventory recorded: a spec that is exactly what
 * was applied is used as it is. Anything else (a missing, edited, truncated or older-format file)
 * goes through AgentStateStore and its schemas, loaded only then, which give the precise error.
 */

const jobId = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)\/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/;
const revisionPattern = /^[0-9a-f]{7,64}$/;

async function readJson(file: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as unknown;
  } catch {
    return undefined;
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The spec as applied, when the fast path can vouch for it; undefined otherwise. */
async function fastRunSpec(
  stateDir: string,
  id: string,
  namespace: string,
  name: string,
): Promise<RunSpec | undefined> {
  const inventory = await readJson(path.join(stateDir, 'inventory.json'));
  if (!isRecord(inventory) || inventory.version !== 1 || !isRecord(inventory.jobs))
    return undefined;
  const entry = inventory.jobs[id];
  if (!isRecord(entry)) return undefined;
  const { revision, specDigest } = entry;
  if (typeof revision !== 'string' || !revisionPattern.test(revision)) return undefined;
  if (typeof specDigest !== 'string' || entry.namespace !== namespace || entry.name !== name) {
    return undefined;
  }
  const spec = await readJson(path.join(stateDir, 'specs', namespace, name, `${revision}.json`));
  if (!isRecord(spec) || spec.version !== 1 || spec.id !== id || spec.revision !== revision) {
    return undefined;
  }
  return specContentDigest(spec) === specDigest ? (spec as RunSpec) : undefined;
}

/** The run spec the inventory says is applied for `id` (`namespace/name`), or why there is none. */
export async function readAppliedRunSpec(stateDir: string, id: string): Promise<RunSpec | string> {
  const match = jobId.exec(id);
  if (match === null) return `"${id}" is not a job id; give namespace/name, e.g. production/backup`;
  const [, namespace = '', , name = ''] = match;
  const fast = await fastRunSpec(stateDir, id, namespace, name);
  if (fast !== undefined) return fast;

  const { AgentStateStore } = await import('../state/agentStateStore.js');
  const store = new AgentStateStore(stateDir);
  const inventory = await store.readInventory();
  const entry = inventory?.jobs[id];
  if (entry === undefined) {
    return `job ${id} is not installed by this agent (see cronfleet-agent status)`;
  }
  const spec = await store.readRunSpec(entry.namespace, entry.name, entry.revision);
  if (spec === undefined) {
    return `the run spec of ${id} at ${entry.revision} is missing from ${store.specsDir}; run cronfleet-agent sync --once`;
  }
  return spec;
}
