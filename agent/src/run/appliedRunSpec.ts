import path from 'node:path';
import type { RunSpec } from '../state/runSpec.js';
import { isRunSpecKey, runSpecFile, runSpecKeyOf } from '../state/runSpecPath.js';
import { specContentDigest } from '../state/specDigest.js';
import {
  areRealDirectories,
  describeStateFileError,
  directoryChain,
  readStateFile,
} from '../state/stateDirectory.js';

/**
 * Reads the run spec the inventory says is applied for a job, cheaply: the wrapper starts on
 * every cron fire, and validating with the state store's zod schemas costs more than the whole
 * rest of a run's overhead (zod, and the core modules the schemas import, take hundreds of ms to
 * load on a busy machine). The files are the agent's own, written atomically after validation; the
 * inventory records each spec's digest (runSpecDigest). So the fast path parses the two JSON files
 * and checks that the spec's digest is the one the inventory recorded: a spec that is exactly what
 * was applied is used as it is. Anything else (a missing, edited, truncated or older-format file)
 * goes through AgentStateStore and its schemas, loaded only then, which give the precise error.
 * Neither path follows a symbolic link inside the state directory (stateDirectory.ts), and every
 * failure becomes a sentence that says what is wrong and how to fix it: cron mails what the
 * wrapper prints, so no stack and no system error text.
 */

const jobId = /^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)\/([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)$/;
const revisionPattern = /^[0-9a-f]{7,64}$/;

function readJson(file: string, privateMode?: number): unknown {
  try {
    const content = readStateFile(file, privateMode);
    return content === undefined ? undefined : (JSON.parse(content.toString('utf8')) as unknown);
  } catch {
    return undefined; // the store's path below says what is wrong
  }
}

const isRecord = (value: unknown): value is Record<string, unknown> =>
  value !== null && typeof value === 'object' && !Array.isArray(value);

/** The spec of `name` in the spec file `key` of `namespace`, if it reads and looks whole. */
function specInFile(
  stateDir: string,
  id: string,
  namespace: string,
  name: string,
  key: string,
): Record<string, unknown> | undefined {
  try {
    if (!areRealDirectories(directoryChain(stateDir, 'specs', namespace))) return undefined;
  } catch {
    return undefined;
  }
  const file = readJson(runSpecFile(stateDir, namespace, key), 0o600);
  if (!isRecord(file) || file.version !== 1 || !isRecord(file.specs)) return undefined;
  const spec = file.specs[name];
  if (!isRecord(spec) || spec.version !== 1 || spec.id !== id) return undefined;
  return spec;
}

/**
 * The spec in the file the scheduler entry names (`--spec KEY`): no inventory to read (it lists
 * every job, megabytes for thousands). The file is the agent's own (0600 in a 0700 directory,
 * written whole after validation); a truncated or foreign file fails these checks and goes the
 * slow way.
 */
function namedRunSpec(
  stateDir: string,
  id: string,
  namespace: string,
  name: string,
  key: string,
): RunSpec | undefined {
  const spec = specInFile(stateDir, id, namespace, name, key);
  const whole =
    spec !== undefined &&
    typeof spec.revision === 'string' &&
    isRecord(spec.native) &&
    (typeof spec.command === 'string' || Array.isArray(spec.command));
  return whole ? (spec as RunSpec) : undefined;
}

/** The spec as applied, when the fast path can vouch for it; undefined otherwise. */
function fastRunSpec(
  stateDir: string,
  id: string,
  namespace: string,
  name: string,
): RunSpec | undefined {
  const inventory = readJson(path.join(stateDir, 'inventory.json'));
  if (!isRecord(inventory) || inventory.version !== 1 || !isRecord(inventory.jobs))
    return undefined;
  const entry = inventory.jobs[id];
  if (!isRecord(entry)) return undefined;
  const { revision, specDigest, job } = entry;
  if (typeof revision !== 'string' || !revisionPattern.test(revision)) return undefined;
  if (typeof specDigest !== 'string' || entry.namespace !== namespace || entry.name !== name) {
    return undefined;
  }
  const specKey = isRecord(job) && typeof job.specKey === 'string' ? job.specKey : undefined;
  const key = runSpecKeyOf({ name, revision, job: { specKey } });
  if (!isRunSpecKey(key)) return undefined;
  const spec = specInFile(stateDir, id, namespace, name, key);
  if (spec === undefined || spec.revision !== revision) return undefined;
  return specContentDigest(spec) === specDigest ? (spec as RunSpec) : undefined;
}

/**
 * How to get a damaged or missing spec back. A sync writes only the specs of jobs that changed
 * (a job a commit left alone keeps its file), so `sync --once` alone would not; reinstalling
 * writes them all.
 */
const rewriteSpecs = (stateDir: string) =>
  `Restore it from a backup, or reinstall this agent's jobs, which writes every run spec again: cronfleet-agent uninstall --state-dir ${stateDir} && cronfleet-agent sync --once --state-dir ${stateDir}`;

/** The run spec the inventory says is applied for `id` (`namespace/name`), or why there is none. */
export async function readAppliedRunSpec(
  stateDir: string,
  id: string,
  specKey?: string,
): Promise<RunSpec | string> {
  const match = jobId.exec(id);
  if (match === null) return `"${id}" is not a job id; give namespace/name, e.g. production/backup`;
  const [, namespace = '', , name = ''] = match;
  if (specKey !== undefined && !isRunSpecKey(specKey)) {
    return `"${specKey}" is not the key of a run-spec file; the scheduler entry that started this run is damaged: run cronfleet-agent sync --once --state-dir ${stateDir} to rewrite it`;
  }
  const fast =
    specKey === undefined
      ? fastRunSpec(stateDir, id, namespace, name)
      : namedRunSpec(stateDir, id, namespace, name, specKey);
  if (fast !== undefined) return fast;

  // The bundle (npm run bundle -w agent) keeps this import external: dist/fast/runFastPath.js
  // loads dist/state/agentStateStore.js as tsc compiled it, the same modules as the full CLI
  // (dist/fast/ and dist/run/ sit at the same depth, so the relative path holds in both). Bundled,
  // it dragged zod, core's API contract and the CommonJS packages behind it (yaml, axios-retry)
  // into an ES module, where their require("process") failed: "Dynamic require of "process" is
  // not supported" for every unknown job. A createRequire banner would have mended the symptom
  // but kept a second, 1.2 MB copy of all that for a path cron takes only when something is wrong.
  const { AgentStateStore, StateError } = await import('../state/agentStateStore.js');
  const store = new AgentStateStore(stateDir);
  let inventory;
  try {
    inventory = await store.readInventory();
  } catch (error) {
    return error instanceof StateError
      ? error.message
      : describeStateFileError(store.inventoryFile, error);
  }
  const listed = inventory?.jobs[id];
  // A named spec file is read as named (the scheduler may fire while a sync moves on); its key
  // starts with the revision the spec was written at.
  const entry =
    listed !== undefined && specKey !== undefined
      ? {
          ...listed,
          revision: specKey.split(/[._]/)[0] ?? listed.revision,
          job: { ...listed.job, specKey },
        }
      : listed;
  if (entry === undefined) {
    return inventory === undefined
      ? `job ${id} is not installed: no job is installed in the state directory ${stateDir} (it has no inventory.json). Check the --state-dir of the scheduler entry that started this run, or install the jobs with: cronfleet-agent sync --once --state-dir ${stateDir}`
      : `job ${id} is not installed by the agent of ${stateDir}: its inventory does not list it. See what is installed with: cronfleet-agent status --state-dir ${stateDir}; a scheduler entry left over from a removed job can be deleted`;
  }
  const key = runSpecKeyOf(entry);
  let specFile = runSpecFile(stateDir, namespace, key);
  try {
    specFile = store.specFile(entry.namespace, entry.name, entry.revision, key);
    const spec = await store.readRunSpec(entry.namespace, entry.name, entry.revision, key);
    if (spec !== undefined) return spec;
  } catch (error) {
    if (!(error instanceof StateError)) return describeStateFileError(specFile, error);
    return `the run spec of ${id} cannot be used: ${error.message.replace(/; restore it or remove it deliberately$/, '')}. ${rewriteSpecs(stateDir)}`;
  }
  return `the run spec of ${id} at revision ${entry.revision} is missing (${specFile}). ${rewriteSpecs(stateDir)}`;
}
