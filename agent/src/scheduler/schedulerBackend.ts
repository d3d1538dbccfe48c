import type { SchedulerBackendName } from '@cronfleet/core/api';

/**
 * The one interface every native scheduler backend implements (crontab, /etc/cron.d, the
 * embedded scheduler; later Windows Task Scheduler, systemd timers and launchd). Backends are
 * thin: the pure planner decides what to install; a backend renders and writes it, reads back
 * what it holds, and never touches an entry that the agent's inventory does not say it created.
 */

/**
 * When the native scheduler starts the run wrapper: an expression it evaluates in `timezone`
 * (the zone the native scheduler runs in, usually the system zone). `exact` says every native
 * fire is a fire of the job; otherwise the expression is a superset of the job's fire times in
 * the job's own zone and the run wrapper skips the native fires that are not the job's.
 */
export interface NativeSchedule {
  /** Five cron fields or a macro the native scheduler understands (`@reboot`). */
  expression: string;
  /** IANA zone the native scheduler evaluates `expression` in. */
  timezone: string;
  exact: boolean;
}

/** One job as a backend installs it. */
export interface ScheduledJob {
  /** `namespace/name` */
  id: string;
  namespace: string;
  name: string;
  schedule: NativeSchedule;
  /** A suspended job stays installed but never fires (commented out in cron). */
  suspended: boolean;
  /**
   * spec.user: the cron.d user field; the crontab backend installs only jobs for the crontab's
   * own user (a different user is rejected by the planner before apply).
   */
  user: string | undefined;
  /** The key of the file holding the job's run spec (runSpecPath.ts): the wrapper reads it. */
  specKey?: string | undefined;
}

/** What an apply changed, for logs and the sync report. */
export interface ApplyOutcome {
  written: boolean;
}

/** The native scheduler could not be read or written; nothing was changed. */
export class SchedulerError extends Error {
  override readonly name = 'SchedulerError';
  constructor(
    message: string,
    /** transient: retry with backoff (a busy lock, a failed spawn); stalled: needs a human. */
    readonly kind: 'transient' | 'stalled',
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The text a backend rendered for each job object, kept: the planner renders every desired job,
 * and apply() gets the same objects back, so a first apply of 1,000 jobs renders each once, not
 * twice. Keyed by the object (a new plan's jobs are new objects), so nothing stale is reused.
 */
export class RenderedTexts {
  readonly #texts = new WeakMap<ScheduledJob, string>();
  readonly #render: (job: ScheduledJob) => string;

  constructor(render: (job: ScheduledJob) => string) {
    this.#render = render;
  }

  of(job: ScheduledJob): string {
    const known = this.#texts.get(job);
    if (known !== undefined) return known;
    const text = this.#render(job);
    this.#texts.set(job, text);
    return text;
  }
}

export interface SchedulerBackend {
  readonly name: SchedulerBackendName;
  /**
   * The native text installed for `job` (a crontab line, a cron.d file, …), exactly as
   * `observe` will read it back. Pure: used for `plan` output and drift detection.
   */
  render(job: ScheduledJob): string;
  /**
   * What the native scheduler holds now of this agent's entries: job id → rendered text.
   * Throws SchedulerError when it cannot tell (a crontab that cannot be read, a missing or
   * duplicated marker): then nothing may be written.
   */
  observe(): Promise<ReadonlyMap<string, string>>;
  /**
   * A cheap token that changes whenever what the native scheduler holds of this agent's entries
   * may have changed (a digest of the crontab's bytes, the names in cron.d): a tick whose revision
   * and fingerprint are unchanged reads and writes nothing else. Throws SchedulerError as observe.
   */
  fingerprint(): Promise<string>;
  /**
   * Make the native scheduler hold exactly `desired` among this agent's entries. `owned` lists
   * the ids the agent's inventory says it created: only those may be removed or replaced; any
   * other entry is left byte for byte as it is.
   */
  apply(desired: readonly ScheduledJob[], owned: ReadonlySet<string>): Promise<ApplyOutcome>;
  /** Remove every entry in `owned` (and the backend's own markers) and nothing else. */
  uninstall(owned: ReadonlySet<string>): Promise<ApplyOutcome>;
  /** Stops what keeps the process alive (the embedded scheduler's timers); runs go on. */
  close?(): void;
}
