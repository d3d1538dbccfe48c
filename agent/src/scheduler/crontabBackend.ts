import { createHash } from 'node:crypto';
import { systemTimeZone } from '@cronfleet/core/cron';
import {
  assertCronTimeZone,
  assertJobIdentity,
  assertOwnerId,
  isCronUserName,
  renderCronCommand,
  renderCronExpression,
  renderCronLine,
  renderJobIdComment,
} from './cronEntryText.js';
import {
  latin1Of,
  parseCrontab,
  spliceCrontab,
  type CrontabEntryBytes,
} from './crontabDocument.js';
import {
  describeCrontab,
  readCrontabExactly,
  removeCrontab,
  sameCrontabContent,
  writeCrontab,
  type CrontabProgram,
} from './crontabProcess.js';
import {
  RenderedTexts,
  SchedulerError,
  type ApplyOutcome,
  type ScheduledJob,
  type SchedulerBackend,
} from './schedulerBackend.js';
import { currentUserName } from '../processUser.js';

export interface CrontabBackendOptions {
  /** The agent instance id: it marks the block, so several agents can share one crontab. */
  ownerId: string;
  /** Install into this user's crontab with `crontab -u USER` (root only); default: our own. */
  user?: string;
  /**
   * The absolute argv cron must execute for a job, e.g. `[/usr/bin/node,
   * /opt/cronfleet/agent/dist/main.js, run, --state-dir, /var/lib/cronfleet, production/backup]`.
   */
  runCommand: (job: ScheduledJob) => readonly string[];
  /** The crontab binary; default `crontab` through PATH. */
  crontabPath?: string;
  /** The zone cron evaluates schedules in; default the system zone. */
  cronTimeZone?: string;
  /** How long one `crontab` call may take; default 30 s. */
  timeoutMs?: number;
  /**
   * Where cron keeps crontabs (Debian, then cronie), read only when `crontab -l` escaped a
   * control character and only if readable (root).
   */
  spoolDirectories?: readonly string[];
}

/**
 * The crontab backend: the agent's jobs live in one block of a user's crontab, between markers
 * that carry the agent's id; every other byte of the crontab (the user's own lines, other
 * agents' blocks, CRLF endings) stays as it was. Reads with `crontab -l`, writes the whole file
 * with `crontab -`, and refuses to write when it cannot tell exactly what is its own.
 *
 * Each job is two lines in the block: `# cronfleet-job: namespace/name`, then the cron line that
 * starts the run wrapper by absolute paths (or that line commented out while the job is
 * suspended). `observe` reads them back as `render` wrote them.
 */
export class CrontabBackend implements SchedulerBackend {
  readonly name = 'crontab' as const;
  readonly #ownerId: string;
  readonly #program: CrontabProgram;
  readonly #runCommand: (job: ScheduledJob) => readonly string[];
  readonly #cronTimeZone: string;
  /** Whose crontab it is: the only user its jobs may run as. */
  readonly #crontabUser: string | undefined;
  /**
   * The bytes observe() read, for the write that applies the plan made from them (used once):
   * the new text is spliced into what was planned against, and the crontab is read again just
   * before writing, which is abandoned if anyone changed it since.
   */
  #observed: { content: Buffer | null } | undefined;

  constructor(options: CrontabBackendOptions) {
    assertOwnerId(options.ownerId);
    if (options.user !== undefined && !isCronUserName(options.user)) {
      throw new SchedulerError(
        `crontab user ${JSON.stringify(options.user)} is not a user name crontab -u accepts`,
        'stalled',
      );
    }
    this.#ownerId = options.ownerId;
    this.#crontabUser = options.user ?? currentUserName();
    this.#program = {
      path: options.crontabPath ?? 'crontab',
      user: options.user,
      timeoutMs: options.timeoutMs ?? 30_000,
      owner: this.#crontabUser,
      spoolDirectories: options.spoolDirectories ?? ['/var/spool/cron/crontabs', '/var/spool/cron'],
    };
    this.#runCommand = options.runCommand;
    this.#cronTimeZone = options.cronTimeZone ?? systemTimeZone();
  }

  /** Each job object is rendered once per plan and apply (see RenderedTexts). */
  readonly #renderedTexts = new RenderedTexts((job) => this.#renderText(job));

  render(job: ScheduledJob): string {
    return this.#renderedTexts.of(job);
  }

  #renderText(job: ScheduledJob): string {
    assertJobIdentity(job);
    assertCronTimeZone(job, this.#cronTimeZone);
    if (job.user !== undefined && job.user !== this.#crontabUser) {
      throw new SchedulerError(
        `job ${job.id}: spec.user is ${JSON.stringify(job.user)}, but jobs in ${describeCrontab(this.#program)} run as ${this.#crontabUser ?? 'its owner'}; use the cron.d scheduler (as root) to run jobs as other users`,
        'stalled',
      );
    }
    const expression = renderCronExpression(job.schedule.expression, job.id);
    const command = renderCronCommand(this.#runCommand(job), job.id);
    const line = renderCronLine({ expression, command, suspended: job.suspended });
    return `${renderJobIdComment(job.id)}\n${line}`;
  }

  async observe(): Promise<ReadonlyMap<string, string>> {
    const content = await readCrontabExactly(this.#program);
    this.#observed = { content };
    const document = parseCrontab(content ?? Buffer.alloc(0), this.#ownerId, this.#where());
    return new Map((document.block?.entries ?? []).map((entry) => [entry.id, entry.text]));
  }

  /** The digest of the whole crontab: any edit, ours or anyone's, changes it. */
  async fingerprint(): Promise<string> {
    const content = await readCrontabExactly(this.#program);
    return createHash('sha256')
      .update(content ?? 'no crontab')
      .digest('hex');
  }

  apply(desired: readonly ScheduledJob[], owned: ReadonlySet<string>): Promise<ApplyOutcome> {
    return this.#write(desired, owned);
  }

  uninstall(owned: ReadonlySet<string>): Promise<ApplyOutcome> {
    return this.#write([], owned);
  }

  #where(): string {
    return describeCrontab(this.#program);
  }

  /**
   * The block becomes `desired` plus the entries the inventory does not list as ours (left as
   * they are: the planner decides about them), sorted by id so the text is stable. Nothing is
   * written when the bytes would not change. The crontab is read again just before writing: if
   * anyone changed it since the read the new text was based on, the write is abandoned (transient:
   * the next tick starts over from the new content).
   */
  async #write(
    desired: readonly ScheduledJob[],
    owned: ReadonlySet<string>,
  ): Promise<ApplyOutcome> {
    const rendered = new Map<string, string>();
    for (const job of desired) {
      const text = this.render(job);
      if (rendered.has(job.id)) {
        throw new SchedulerError(`job ${job.id} is listed twice in the desired jobs`, 'stalled');
      }
      rendered.set(job.id, text);
    }

    // The plan was made from what observe() read: the new text is spliced into those bytes.
    const before =
      this.#observed === undefined
        ? await readCrontabExactly(this.#program)
        : this.#observed.content;
    this.#observed = undefined;
    const document = parseCrontab(before ?? Buffer.alloc(0), this.#ownerId, this.#where());
    const entries: CrontabEntryBytes[] = [];
    for (const entry of document.block?.entries ?? []) {
      if (!rendered.has(entry.id) && !owned.has(entry.id)) {
        entries.push({ id: entry.id, bytes: entry.bytes });
      }
    }
    for (const [id, text] of rendered) entries.push({ id, bytes: latin1Of(text) });
    entries.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));

    const next = spliceCrontab(document, this.#ownerId, entries);
    if (next.equals(before ?? Buffer.alloc(0))) return { written: false };

    const now = await readCrontabExactly(this.#program);
    if (!sameCrontabContent(before, now)) {
      throw new SchedulerError(
        `${this.#where()} changed while the agent was updating it; nothing was written, the next sync starts over from the new content`,
        'transient',
      );
    }
    // An empty result means only the agent's block was there: remove the crontab, so the user
    // is left as before the agent ("no crontab for …") rather than with an empty file.
    if (next.length === 0) await removeCrontab(this.#program);
    else await writeCrontab(this.#program, next);
    return { written: true };
  }
}
