import type { SchedulerBackendName } from '@cronfleet/core/api';
import type { Logger } from 'pino';
import type { AgentConfig } from '../config/agentConfig.js';
import type { AgentPlatform } from '../jobTargeting.js';
import type { BackendCapabilities } from '../reconcile/desiredJobs.js';
import type { JobTiming } from './embeddedBackend.js';
import type { ScheduledJob, SchedulerBackend } from './schedulerBackend.js';
import { systemTimeZone } from '@cronfleet/core/cron';
import { cronDaemonTimeZone } from './cronDaemonTimeZone.js';

/**
 * The one place that knows the agent's scheduler backends: a name (core's SchedulerBackendName,
 * the same word in the configuration, the `--scheduler` flag, messages, `plan --json`, status and
 * the inventory) maps to what the backend can do and how to build it. A new backend (Task
 * Scheduler, systemd, launchd) is one file implementing SchedulerBackend plus one entry here.
 * Each entry loads its backend's module only when it is built, so reading the configuration (which
 * checks a name against this registry) stays cheap.
 */

/** What a backend is built from; each factory takes what it needs. */
export interface SchedulerContext {
  config: AgentConfig;
  /** This installation's id: it marks the entries the agent owns. */
  ownerId: string;
  isRoot: boolean;
  /** The user the agent runs as. */
  processUser: string;
  /** The argv the native scheduler starts for a job (the run wrapper by absolute paths). */
  runCommand: (job: ScheduledJob) => readonly string[];
  logger: Logger;
  /**
   * The jobs the agent installed, as its inventory records them: a scheduler that lives in the
   * agent's process (embedded) starts out holding them, so a restart changes nothing.
   */
  installed: readonly ScheduledJob[];
  /** Whether an in-process scheduler may arm timers: only the daemon (`sync` without --once). */
  fires: boolean;
  onEmbeddedFire: (job: ScheduledJob, scheduledAt: Date) => void | Promise<void>;
  embeddedTimingOf: (job: ScheduledJob) => JobTiming | undefined;
}

export interface SchedulerEntry {
  name: SchedulerBackendName;
  /** One line for `--help` and messages. */
  summary: string;
  platforms: readonly AgentPlatform[];
  /**
   * The native scheduler keeps what was installed after the agent exits (cron, Task Scheduler,
   * systemd, launchd); the embedded scheduler fires only while `cronfleet-agent sync` runs.
   */
  persistent: boolean;
  create(
    context: SchedulerContext,
  ): Promise<{ backend: SchedulerBackend; capabilities: BackendCapabilities }>;
}

const crontab: SchedulerEntry = {
  name: 'crontab',
  summary: "the agent user's crontab (or crontabUser's, as root), one marked block",
  platforms: ['linux', 'darwin'],
  persistent: true,
  async create({ config, ownerId, isRoot, processUser, runCommand }) {
    const { CrontabBackend } = await import('./crontabBackend.js');
    const cronZone = cronDaemonTimeZone();
    return {
      backend: new CrontabBackend({
        ownerId,
        runCommand,
        cronTimeZone: cronZone,
        ...(config.crontabUser === undefined ? {} : { user: config.crontabUser }),
      }),
      capabilities: {
        nativeZone: cronZone,
        defaultZone: cronZone,
        schedulerUser: config.crontabUser ?? processUser,
        // cron runs root's own crontab as root: its wrapper may switch to spec.user.
        canSwitchUser: isRoot && config.crontabUser === undefined,
      },
    };
  },
};

const cronD: SchedulerEntry = {
  name: 'cron.d',
  summary: 'one file per job in /etc/cron.d (root)',
  platforms: ['linux'],
  persistent: true,
  async create({ config, ownerId, runCommand }) {
    const { CronDBackend } = await import('./cronDBackend.js');
    const cronZone = cronDaemonTimeZone();
    return {
      backend: new CronDBackend({
        directory: config.cronDDirectory,
        ownerId,
        runCommand,
        cronTimeZone: cronZone,
      }),
      capabilities: {
        nativeZone: cronZone,
        defaultZone: cronZone,
        schedulerUser: null,
        canSwitchUser: true,
      },
    };
  },
};

const embedded: SchedulerEntry = {
  name: 'embedded',
  summary: 'the agent daemon fires the jobs itself (containers, the demo)',
  platforms: ['linux', 'darwin', 'windows'],
  persistent: false,
  async create({
    isRoot,
    processUser,
    logger,
    installed,
    fires,
    onEmbeddedFire,
    embeddedTimingOf,
  }) {
    const { EMBEDDED_NATIVE_ZONE, EmbeddedBackend } = await import('./embeddedBackend.js');
    const backend = new EmbeddedBackend({
      onFire: onEmbeddedFire,
      timingOf: embeddedTimingOf,
      fires,
      logger,
    });
    backend.restore(installed);
    return {
      backend,
      capabilities: {
        nativeZone: EMBEDDED_NATIVE_ZONE,
        defaultZone: systemTimeZone(),
        schedulerUser: processUser,
        canSwitchUser: isRoot,
      },
    };
  },
};

/** Every backend this agent implements, by name, in the order help lists them. */
export const schedulerRegistry = new Map<SchedulerBackendName, SchedulerEntry>(
  [crontab, cronD, embedded].map((entry) => [entry.name, entry]),
);

/** The names `--scheduler` accepts. */
export const schedulerNames = [...schedulerRegistry.keys()] as [
  SchedulerBackendName,
  ...SchedulerBackendName[],
];

export function schedulerEntry(name: SchedulerBackendName): SchedulerEntry {
  const entry = schedulerRegistry.get(name);
  if (entry === undefined) {
    throw new RangeError(
      `the ${name} scheduler is not implemented by this agent; use one of ${schedulerNames.join(', ')}`,
    );
  }
  return entry;
}
