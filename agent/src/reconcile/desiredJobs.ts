import { createHash } from 'node:crypto';
import type { LoadedJob, ManifestError } from '@cronfleet/core/manifest';
import { formatManifestError } from '@cronfleet/core/manifest';
import { targetVerdict, type AgentIdentity } from '../jobTargeting.js';
import { TRANSLATION_REUSE_DAYS, translateSchedule } from '../schedule/nativeSchedule.js';
import type {
  NativeSchedule,
  SchedulerBackend,
  ScheduledJob,
} from '../scheduler/schedulerBackend.js';
import type { InventoryEntry, TranslationRecord } from '../state/agentStateStore.js';
import { buildRunSpec, commandDigest, runSpecDigest, type RunSpec } from '../state/runSpec.js';
import { RUN_SPECS_PER_FILE, runSpecKeyOf } from '../state/runSpecPath.js';
import type { DesiredJob } from './planReconcile.js';

/**
 * The "keep those targeted at this agent" step of the pipeline: from the jobs loaded out of the
 * repository to the jobs this agent should install, each with its run spec, its native schedule
 * and its rendered text. A job its scheduler backend cannot honour becomes a located error (a
 * field is applied or rejected, never ignored); an installed job whose manifest is broken now is
 * retained at its last applied version.
 */

/** What the backend and the agent's process can honour. */
export interface BackendCapabilities {
  /** The zone the native scheduler evaluates expressions in (system zone; UTC for embedded). */
  nativeZone: string;
  /** A job with no timezone runs in this zone (the agent's). */
  defaultZone: string;
  /** The user whose scheduler is managed, or null when each entry names its user (cron.d). */
  schedulerUser: string | null;
  /** The run wrapper may switch to spec.user (it runs as root). */
  canSwitchUser: boolean;
}

export interface DesiredJobsInput {
  jobs: readonly LoadedJob[];
  errors: readonly ManifestError[];
  revision: string;
  identity: AgentIdentity;
  backend: Pick<SchedulerBackend, 'render'>;
  capabilities: BackendCapabilities;
  inventory: Readonly<Record<string, InventoryEntry>>;
  /** The instant the native translation is verified from. */
  now: Date;
}

export interface DesiredJobsResult {
  desired: DesiredJob[];
  /** Manifest errors and jobs the backend cannot honour, located. */
  errors: ManifestError[];
  /** Installed jobs that keep their last applied version, with the reason. */
  retain: Map<string, string>;
  /** Jobs of the repository that do not target this agent, with the reason. */
  notTargeted: { id: string; reason: string }[];
}

function unsupported(job: LoadedJob, path: string, message: string): ManifestError {
  return {
    file: job.file,
    line: job.line,
    column: job.column,
    job: job.id,
    path,
    message,
  };
}

/** Why this backend cannot run `job` as written, or null when it can. */
function backendProblem(
  job: LoadedJob,
  identity: AgentIdentity,
  capabilities: BackendCapabilities,
): ManifestError | null {
  const { spec } = job.manifest;
  if (spec.user !== undefined && spec.user !== capabilities.schedulerUser) {
    if (capabilities.schedulerUser !== null && !capabilities.canSwitchUser) {
      return unsupported(
        job,
        'spec.user',
        `this agent manages the crontab of "${capabilities.schedulerUser}" without root and cannot run jobs as "${spec.user}"; run the agent as root (cron.d scheduler or crontab -u) or remove spec.user`,
      );
    }
    if (spec.user.includes('\\') && identity.platform !== 'windows') {
      return unsupported(
        job,
        'spec.user',
        `"${spec.user}" is a Windows account; on ${identity.platform} give a local user name`,
      );
    }
  }
  const windowsPath = (text: string) => /^[A-Za-z]:[\\/]/.test(text);
  if (
    spec.workingDir !== undefined &&
    windowsPath(spec.workingDir) !== (identity.platform === 'windows')
  ) {
    return unsupported(
      job,
      'spec.workingDir',
      identity.platform === 'windows'
        ? `"${spec.workingDir}" is not a Windows path; give one such as C:\\jobs`
        : `"${spec.workingDir}" is a Windows path; on ${identity.platform} give an absolute path such as /var/backups`,
    );
  }
  return null;
}

const dayMs = 24 * 60 * 60 * 1000;
/** The IANA database the offsets come from: a new one (a rule change) translates again. */
const tzdataVersion = process.versions.tz ?? 'unknown';

function sameInputs(recorded: TranslationRecord, inputs: Omit<TranslationRecord, 'from'>): boolean {
  return (
    recorded.schedule === inputs.schedule &&
    recorded.timezone === inputs.timezone &&
    recorded.nativeZone === inputs.nativeZone &&
    recorded.tzdata === inputs.tzdata
  );
}

/** A targeted job the backend can honour, before its spec file is decided and it is rendered. */
interface Pending {
  job: LoadedJob;
  spec: RunSpec;
  specDigest: string;
  /** The file holding its spec: an installed job's own, or decided once all are known. */
  specKey: string | undefined;
  native: NativeSchedule;
  translation: TranslationRecord;
}

export function desiredJobs(input: DesiredJobsInput): DesiredJobsResult {
  const pending: Pending[] = [];
  const { capabilities } = input;
  const desired: DesiredJob[] = [];
  const errors: ManifestError[] = [...input.errors];
  const notTargeted: { id: string; reason: string }[] = [];
  const rejected = new Map<string, string>();

  for (const job of input.jobs) {
    const verdict = targetVerdict(job.manifest.spec.targets, input.identity);
    if (!verdict.targeted) {
      notTargeted.push({ id: job.id, reason: verdict.reason });
      continue;
    }
    const problem = backendProblem(job, input.identity, capabilities);
    if (problem !== null) {
      errors.push(problem);
      rejected.set(job.id, formatManifestError(problem));
      continue;
    }
    const timezone = job.manifest.spec.timezone ?? capabilities.defaultZone;
    const installed = input.inventory[job.id];
    let native: NativeSchedule;
    let translation: TranslationRecord;
    try {
      const inputs = {
        schedule: job.manifest.spec.schedule,
        timezone,
        nativeZone: capabilities.nativeZone,
        tzdata: tzdataVersion,
      };
      // The translation of an installed job whose inputs did not change is reused while young:
      // a superset is verified over 400 days, so it holds for this one and more.
      if (
        installed?.translation !== undefined &&
        sameInputs(installed.translation, inputs) &&
        input.now.getTime() - Date.parse(installed.translation.from) <
          TRANSLATION_REUSE_DAYS * dayMs
      ) {
        native = { ...installed.job.schedule };
        translation = installed.translation;
      } else {
        native = translateSchedule(inputs.schedule, timezone, inputs.nativeZone, {
          from: input.now,
        });
        translation = { ...inputs, from: input.now.toISOString().slice(0, 10) };
      }
    } catch (error) {
      const located = unsupported(
        job,
        'spec.schedule',
        `cannot be installed in the native scheduler: ${(error as Error).message}`,
      );
      errors.push(located);
      rejected.set(job.id, formatManifestError(located));
      continue;
    }
    let spec = buildRunSpec(job, input.revision, timezone, native);
    const specDigest = runSpecDigest(spec);
    // A job this revision leaves as it was keeps the spec, its revision and its file.
    let specKey: string | undefined;
    if (installed !== undefined && installed.specDigest === specDigest) {
      spec = { ...spec, revision: installed.revision };
      specKey = runSpecKeyOf(installed);
    }
    pending.push({ job, spec, specDigest, specKey, native, translation });
  }

  // The new specs, packed per namespace into files of RUN_SPECS_PER_FILE (runSpecPath.ts).
  const fresh = pending
    .filter((entry) => entry.specKey === undefined)
    .sort((a, b) => (a.job.id < b.job.id ? -1 : a.job.id > b.job.id ? 1 : 0));
  const byNamespace = new Map<string, Pending[]>();
  for (const entry of fresh) {
    const entries = byNamespace.get(entry.job.namespace);
    if (entries === undefined) byNamespace.set(entry.job.namespace, [entry]);
    else entries.push(entry);
  }
  for (const entries of byNamespace.values()) {
    for (let start = 0; start < entries.length; start += RUN_SPECS_PER_FILE) {
      const packed = entries.slice(start, start + RUN_SPECS_PER_FILE);
      const digest = createHash('sha256');
      for (const entry of packed) digest.update(`${entry.spec.name}\n${entry.specDigest}\n`);
      const key = `${input.revision}_${digest.digest('hex').slice(0, 12)}`;
      for (const entry of packed) entry.specKey = key;
    }
  }

  for (const { job, spec, specDigest, specKey, native, translation } of pending) {
    const scheduled: ScheduledJob = {
      id: job.id,
      namespace: job.namespace,
      name: job.name,
      schedule: native,
      suspended: spec.suspend,
      // The scheduler starts the wrapper as its own user (root for cron.d and root's crontab);
      // the wrapper switches to spec.user, so that it can always write the agent's spool.
      user: undefined,
      specKey,
    };
    let rendered: string;
    try {
      rendered = input.backend.render(scheduled);
    } catch (error) {
      const located = unsupported(job, 'spec', (error as Error).message);
      errors.push(located);
      rejected.set(job.id, formatManifestError(located));
      continue;
    }
    desired.push({
      id: job.id,
      spec,
      specDigest,
      commandDigest: commandDigest(spec),
      job: scheduled,
      rendered,
      translation,
    });
  }

  const desiredIds = new Set(desired.map((job) => job.id));
  const loadedIds = new Set(input.jobs.map((job) => job.id));
  const retain = new Map<string, string>();
  for (const entry of Object.values(input.inventory)) {
    if (desiredIds.has(entry.id)) continue;
    const reason = rejected.get(entry.id);
    if (reason !== undefined) {
      retain.set(entry.id, reason);
      continue;
    }
    if (loadedIds.has(entry.id)) continue; // loaded and not targeted any more: removed
    // Not loaded: its document is broken (an error names it) or its file is (an error without a
    // job in the file it came from). A file that was deleted has no error: the job is removed.
    const named = errors.find((error) => error.job === entry.id);
    const inItsFile = errors.find((error) => error.job === null && error.file === entry.sourcePath);
    const cause = named ?? inItsFile;
    if (cause !== undefined) retain.set(entry.id, formatManifestError(cause));
  }
  return { desired, errors, retain, notTargeted };
}
