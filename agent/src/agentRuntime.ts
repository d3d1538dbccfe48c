import { readFileSync, readlinkSync } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { isValidTimeZone, systemTimeZone } from '@cronfleet/core/cron';
import type { Logger } from 'pino';
import type { AgentConfig } from './config/agentConfig.js';
import { GitRepository } from './git/gitRepository.js';
import type { AgentIdentity, AgentPlatform } from './jobTargeting.js';
import type { BackendCapabilities } from './reconcile/desiredJobs.js';
import { Reconciler, type JobSource } from './reconcile/reconciler.js';
import { CronDBackend } from './scheduler/cronDBackend.js';
import { CrontabBackend } from './scheduler/crontabBackend.js';
import { EMBEDDED_NATIVE_ZONE, EmbeddedBackend } from './scheduler/embeddedBackend.js';
import type { ScheduledJob, SchedulerBackend } from './scheduler/schedulerBackend.js';
import { AgentStateStore } from './state/agentStateStore.js';
import { currentUserName } from './processUser.js';

/**
 * The agent's composition root: from the parsed configuration to the state store, the scheduler
 * backend, the job source and the reconciler. Commands build one runtime and use what they need.
 */

/** The executable cron must start (`…/bin/cronfleet-agent.js`, next to dist/). */
export const agentMainScript = fileURLToPath(new URL('../bin/cronfleet-agent.js', import.meta.url));

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

/**
 * The zone the cron daemon runs in: the system zone of /etc/localtime (or /etc/timezone), not
 * the TZ of the agent's own environment, which cron does not see.
 */
export function cronDaemonTimeZone(): string {
  try {
    const target = readlinkSync('/etc/localtime');
    const match = /zoneinfo\/(.+)$/.exec(target);
    if (match?.[1] !== undefined && isValidTimeZone(match[1])) return match[1];
  } catch {
    // Not a symbolic link: try /etc/timezone.
  }
  try {
    const name = readFileSync('/etc/timezone', 'utf8').trim();
    if (isValidTimeZone(name)) return name;
  } catch {
    // No /etc/timezone either.
  }
  return systemTimeZone();
}

export interface RuntimeOptions {
  logger: Logger;
  environment: Readonly<Record<string, string | undefined>>;
  /** Replaces the configured Git repository (`plan --repo DIR`). */
  source?: JobSource;
  /** The embedded scheduler's way to start a run. */
  onEmbeddedFire?: (job: ScheduledJob, scheduledAt: Date) => void | Promise<void>;
  /** The embedded scheduler's view of each job's own schedule and zone. */
  embeddedTimingOf?: (job: ScheduledJob) => { schedule: string; timezone: string } | undefined;
}

/** The argv cron runs for a job: absolute node and agent paths, so cron's PATH never matters. */
export function runCommandFor(stateDir: string): (job: ScheduledJob) => readonly string[] {
  return (job) => [process.execPath, agentMainScript, 'run', '--state-dir', stateDir, job.id];
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

  let backend: SchedulerBackend;
  let capabilities: BackendCapabilities;
  if (config.scheduler === 'embedded') {
    backend = new EmbeddedBackend({
      onFire: options.onEmbeddedFire ?? (() => {}),
      timingOf: options.embeddedTimingOf ?? (() => undefined),
      logger,
    });
    capabilities = {
      nativeZone: EMBEDDED_NATIVE_ZONE,
      defaultZone: systemTimeZone(),
      schedulerUser: processUser,
      canSwitchUser: isRoot,
    };
  } else {
    const cronZone = cronDaemonTimeZone();
    if (config.scheduler === 'cron.d') {
      backend = new CronDBackend({
        directory: config.cronDDirectory,
        ownerId,
        runCommand,
        cronTimeZone: cronZone,
      });
      capabilities = {
        nativeZone: cronZone,
        defaultZone: cronZone,
        schedulerUser: null,
        canSwitchUser: true,
      };
    } else {
      backend = new CrontabBackend({
        ownerId,
        runCommand,
        cronTimeZone: cronZone,
        ...(config.crontabUser === undefined ? {} : { user: config.crontabUser }),
      });
      capabilities = {
        nativeZone: cronZone,
        defaultZone: cronZone,
        schedulerUser: config.crontabUser ?? processUser,
        // cron runs root's own crontab as root: its wrapper may switch to spec.user.
        canSwitchUser: isRoot && config.crontabUser === undefined,
      };
    }
  }

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
    fetch: async (signal) => {
      const result = await git.sync(signal);
      return { revision: result.revision, workTree: result.workTree };
    },
  };
}
