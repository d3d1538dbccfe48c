import os from 'node:os';
import type { Logger } from 'pino';
import { agentPackageFile } from './agentPackage.js';
import type { AgentConfig } from './config/agentConfig.js';
import { GitRepository } from './git/gitRepository.js';
import type { AgentIdentity, AgentPlatform } from './jobTargeting.js';
import type { BackendCapabilities } from './reconcile/desiredJobs.js';
import { Reconciler, type JobSource } from './reconcile/reconciler.js';
import { schedulerEntry } from './scheduler/schedulerRegistry.js';
import type { ScheduledJob, SchedulerBackend } from './scheduler/schedulerBackend.js';
import { AgentStateStore } from './state/agentStateStore.js';
import { currentUserName } from './processUser.js';

/**
 * The agent's composition root: from the parsed configuration to the state store, the scheduler
 * backend, the job source and the reconciler. Commands build one runtime and use what they need.
 */

/** The executable cron must start (`…/bin/cronfleet-agent.js`, next to dist/). */
export const agentMainScript = agentPackageFile('bin/cronfleet-agent.js');

export interface AgentRuntime {
  config: AgentConfig;
  store: AgentStateStore;
  backend: SchedulerBackend;
  capabilities: BackendCapabilities;
  identity: AgentIdentity;
  reconciler: Reconciler;
  logger: Logger;
}

export function agentPlatform(platform: NodeJS.Platform = process.platform): AgentPlatform {
  if (platform === 'win32') return 'windows';
  if (platform === 'darwin') return 'darwin';
  return 'linux';
}

export interface RuntimeOptions {
  logger: Logger;
  environment: Readonly<Record<string, string | undefined>>;
  /** Replaces the configured Git repository (`plan --repo DIR`). */
  source?: JobSource;
  /** An in-process scheduler may arm its timers (the daemon); default false (one-shot commands). */
  fires?: boolean;
  /** The embedded scheduler's way to start a run. */
  onEmbeddedFire?: (job: ScheduledJob, scheduledAt: Date) => void | Promise<void>;
  /** The embedded scheduler's view of each job's own schedule and zone. */
  embeddedTimingOf?: (job: ScheduledJob) => { schedule: string; timezone: string } | undefined;
}

/**
 * The argv cron runs for a job: absolute node and agent paths, so cron's PATH never matters, and
 * the key of the job's run-spec file, so the wrapper reads that one file and not the inventory.
 */
export function runCommandFor(stateDir: string): (job: ScheduledJob) => readonly string[] {
  return (job) => [
    process.execPath,
    agentMainScript,
    'run',
    '--state-dir',
    stateDir,
    ...(job.specKey === undefined ? [] : ['--spec', job.specKey]),
    job.id,
  ];
}

export async function createAgentRuntime(
  config: AgentConfig,
  options: RuntimeOptions,
): Promise<AgentRuntime> {
  const store = new AgentStateStore(config.stateDir);
  await store.ensureDirectory();
  const ownerId = await store.ownerId();
  const isRoot = process.getuid?.() === 0;
  const processUser = currentUserName() ?? String(process.getuid?.() ?? 'unknown');
  const runCommand = runCommandFor(config.stateDir);
  const logger = options.logger;

  const entry = schedulerEntry(config.scheduler);
  // What the inventory says is installed: an in-process scheduler starts out holding it.
  const inventory = entry.persistent ? undefined : await store.readInventory();
  const installed =
    inventory?.scheduler === entry.name
      ? Object.values(inventory.jobs).map(({ job }) => ({ ...job, user: job.user }))
      : [];
  const { backend, capabilities } = await entry.create({
    config,
    ownerId,
    isRoot,
    processUser,
    runCommand,
    logger,
    installed,
    fires: options.fires ?? false,
    onEmbeddedFire: options.onEmbeddedFire ?? (() => {}),
    embeddedTimingOf: options.embeddedTimingOf ?? (() => undefined),
  });

  const identity: AgentIdentity = {
    hostname: config.hostname ?? os.hostname(),
    platform: agentPlatform(),
    labels: config.labels,
  };
  const source = options.source ?? gitSource(config, store, options, logger);
  const reconciler = new Reconciler({
    store,
    backend,
    source,
    repositoryPath: config.repository.path,
    capabilities,
    identity,
    allowEmpty: config.allowEmpty,
    logger,
  });
  return { config, store, backend, capabilities, identity, reconciler, logger };
}

export class NoRepositoryError extends Error {
  override readonly name = 'NoRepositoryError';
  readonly kind = 'stalled';
}

function gitSource(
  config: AgentConfig,
  store: AgentStateStore,
  options: RuntimeOptions,
  logger: Logger,
): JobSource {
  const { repository } = config;
  if (repository.url === undefined) {
    return {
      fetch: () =>
        Promise.reject(
          new NoRepositoryError(
            'no job repository is configured: give --repo URL, CRONFLEET_REPO_URL or repository.url in the config file',
          ),
        ),
    };
  }
  const ref =
    repository.commit !== undefined
      ? ({ kind: 'commit', name: repository.commit } as const)
      : repository.tag !== undefined
        ? ({ kind: 'tag', name: repository.tag } as const)
        : ({ kind: 'branch', name: repository.branch ?? 'main' } as const);
  const git = new GitRepository({
    url: repository.url,
    ref,
    checkoutDir: store.repositoryDir,
    credentials: repository.credentials,
    caFile: repository.caFile,
    environment: options.environment,
    logger,
  });
  return {
    // An unchanged revision's work tree is checked only when a tick plans from it.
    fetch: async (signal, whileFetching) => {
      const result = await git.sync(signal, { verifyUnchanged: false, whileFetching });
      return { revision: result.revision, workTree: result.workTree };
    },
    prepare: (signal) => git.verifyWorkTree(signal),
  };
}
