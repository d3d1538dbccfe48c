import { createHash } from 'node:crypto';
import {
  closeSync,
  constants,
  fstatSync,
  openSync,
  readdirSync,
  readFileSync,
  statSync,
  type Stats,
} from 'node:fs';
import { open, readdir, rm, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { systemTimeZone } from '@cronfleet/core/cron';
import {
  assertCronTimeZone,
  assertCronUser,
  assertJobIdentity,
  assertOwnerId,
  isCronUserName,
  renderCronCommand,
  renderCronExpression,
  renderCronLine,
} from './cronEntryText.js';
import {
  cronDFileName,
  cronDOwnerPrefix,
  readCronDFileMarks,
  renderCronDFile,
} from './cronDFile.js';
import {
  RenderedTexts,
  SchedulerError,
  type ApplyOutcome,
  type ScheduledJob,
  type SchedulerBackend,
} from './schedulerBackend.js';
import { writeFilesAtomically } from '../state/atomicFile.js';

export interface CronDBackendOptions {
  /** Where cron reads system crontabs; default /etc/cron.d (root only). */
  directory?: string;
  /** The agent instance id, written into every file it creates. */
  ownerId: string;
  /** The absolute argv cron must execute for a job (see CrontabBackendOptions.runCommand). */
  runCommand: (job: ScheduledJob) => readonly string[];
  /** The user field for jobs without spec.user; default root. */
  defaultUser?: string;
  /** The zone cron evaluates schedules in; default the system zone. */
  cronTimeZone?: string;
}

interface InstalledFile {
  fileName: string;
  text: string;
}

/** Errors a human must fix (permissions, a missing directory) are stalled; the rest transient. */
const stalledCodes = new Set(['EACCES', 'EPERM', 'EROFS', 'ENOENT', 'ENOTDIR', 'EISDIR']);

function fileSystemError(what: string, error: unknown): SchedulerError {
  if (error instanceof SchedulerError) return error;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return new SchedulerError(
    `${what}: ${message}`,
    code !== undefined && stalledCodes.has(code) ? 'stalled' : 'transient',
    { cause: error },
  );
}

/**
 * The /etc/cron.d backend (root): one file per job, named after the agent and the job, with the
 * user field from spec.user. Files are written whole to a dot-named temporary file in the same
 * directory (cron ignores names with a dot), fsynced, and renamed over the old one, so cron
 * never reads half a file. Only files whose first line carries this agent's id are read as its
 * own; other agents' files and hand-written files are never opened for writing, and a file named
 * like the agent's without its marker stops every write until a human looks at it.
 */
export class CronDBackend implements SchedulerBackend {
  readonly name = 'cron.d' as const;
  readonly #directory: string;
  /**
   * The last fingerprint and the folder's times it was read at: while they hold, no file was added,
   * removed or renamed, and the daemon's idle tick skips listing 10,000 names.
   */
  #fingerprinted: { mtimeMs: number; ctimeMs: number; ino: number; value: string } | undefined;
  readonly #ownerId: string;
  readonly #runCommand: (job: ScheduledJob) => readonly string[];
  readonly #defaultUser: string;
  readonly #cronTimeZone: string;

  constructor(options: CronDBackendOptions) {
    assertOwnerId(options.ownerId);
    const defaultUser = options.defaultUser ?? 'root';
    if (!isCronUserName(defaultUser)) {
      throw new SchedulerError(
        `default user ${JSON.stringify(defaultUser)} is not a user name cron accepts`,
        'stalled',
      );
    }
    this.#directory = options.directory ?? '/etc/cron.d';
    this.#ownerId = options.ownerId;
    this.#runCommand = options.runCommand;
    this.#defaultUser = defaultUser;
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
    const user = job.user ?? this.#defaultUser;
    assertCronUser(user, job.id);
    const expression = renderCronExpression(job.schedule.expression, job.id);
    const command = renderCronCommand(this.#runCommand(job), job.id);
    const line = renderCronLine({ expression, user, command, suspended: job.suspended });
    return renderCronDFile(this.#ownerId, job.id, line);
  }

  async observe(): Promise<ReadonlyMap<string, string>> {
    const installed = await this.#scan();
    return new Map([...installed].map(([id, file]) => [id, file.text]));
  }

  async apply(desired: readonly ScheduledJob[], owned: ReadonlySet<string>): Promise<ApplyOutcome> {
    const rendered = new Map<string, InstalledFile>();
    for (const job of desired) {
      const text = this.render(job);
      if (rendered.has(job.id)) {
        throw new SchedulerError(`job ${job.id} is listed twice in the desired jobs`, 'stalled');
      }
      rendered.set(job.id, {
        fileName: cronDFileName(this.#ownerId, job.namespace, job.name),
        text,
      });
    }
    const installed = await this.#scan();
    await this.#removeLeftoverTemporaries();
    const changed = [...rendered]
      .filter(([id, file]) => installed.get(id)?.text !== file.text)
      .map(([, file]) => file);
    let written = changed.length > 0;
    if (written) await this.#writeAll(changed);
    for (const id of owned) {
      const file = installed.get(id);
      if (file === undefined || rendered.has(id)) continue;
      await this.#unlink(file.fileName);
      written = true;
    }
    if (written) await this.#syncDirectory();
    return { written };
  }

  async uninstall(owned: ReadonlySet<string>): Promise<ApplyOutcome> {
    const installed = await this.#scan();
    await this.#removeLeftoverTemporaries();
    let written = false;
    for (const id of owned) {
      const file = installed.get(id);
      if (file === undefined) continue;
      await this.#unlink(file.fileName);
      written = true;
    }
    if (written) await this.#syncDirectory();
    return { written };
  }

  async #list(): Promise<string[]> {
    try {
      return await readdir(this.#directory);
    } catch (error) {
      throw fileSystemError(`cannot list ${this.#directory}`, error);
    }
  }

  /**
   * The agent's files, by job id. Files whose names start with this owner's prefix must be
   * exactly what the agent writes (a regular file, its header with our id, a job id whose file
   * name is this one); anything else throws stalled, since writing could then destroy something
   * a human put there. Files of other owners and all other files are never read.
   */
  async #scan(): Promise<Map<string, InstalledFile>> {
    const prefix = cronDOwnerPrefix(this.#ownerId);
    const installed = new Map<string, InstalledFile>();
    for (const fileName of (await this.#list()).sort()) {
      if (!fileName.startsWith(prefix)) continue;
      const filePath = path.join(this.#directory, fileName);
      const moveAway = `move ${filePath} out of ${this.#directory} (or delete it); the agent then reinstalls its own file`;
      let text: string;
      try {
        text = this.#readRegularFile(filePath, moveAway);
      } catch (error) {
        throw fileSystemError(`cannot read ${filePath}`, error);
      }
      const marks = readCronDFileMarks(text);
      if (marks.owner !== this.#ownerId) {
        throw new SchedulerError(
          `${filePath} is named like a file of cronfleet-agent ${this.#ownerId} but does not start with its marker line; ${moveAway}`,
          'stalled',
        );
      }
      const slash = marks.id?.indexOf('/') ?? -1;
      const expected =
        marks.id === undefined
          ? undefined
          : cronDFileName(this.#ownerId, marks.id.slice(0, slash), marks.id.slice(slash + 1));
      if (marks.id === undefined || expected !== fileName) {
        throw new SchedulerError(
          marks.id === undefined
            ? `${filePath} carries the marker of cronfleet-agent ${this.#ownerId} but no "# cronfleet-job: namespace/name" line; ${moveAway}`
            : `${filePath} holds job ${marks.id}, whose file is ${expected}; ${moveAway}`,
          'stalled',
        );
      }
      installed.set(marks.id, { fileName, text });
    }
    return installed;
  }

  /**
   * The text of a regular file, never through a symbolic link. Synchronous: a scan reads
   * thousands of small files, and the promise API costs ten times the CPU per file.
   */
  #readRegularFile(filePath: string, moveAway: string): string {
    let fd: number;
    try {
      fd = openSync(filePath, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
        throw new SchedulerError(
          `${filePath} is named like a file of cronfleet-agent ${this.#ownerId} but is not a regular file (a symbolic link); ${moveAway}`,
          'stalled',
        );
      }
      throw error;
    }
    try {
      if (!fstatSync(fd).isFile()) {
        throw new SchedulerError(
          `${filePath} is named like a file of cronfleet-agent ${this.#ownerId} but is not a regular file; ${moveAway}`,
          'stalled',
        );
      }
      return readFileSync(fd, 'utf8');
    } finally {
      closeSync(fd);
    }
  }

  /**
   * A cheap token that changes when the agent's files may have changed: their names and the
   * directory's modification time (a file added, removed or replaced by rename, as editors and
   * package managers do). An edit in place keeps the token: the full check every
   * fullReconcileInterval reads every file and repairs it.
   */
  async fingerprint(): Promise<string> {
    const prefix = cronDOwnerPrefix(this.#ownerId);
    let names: string[];
    let folder: Stats;
    try {
      folder = statSync(this.#directory);
      const cached = this.#fingerprinted;
      if (
        cached !== undefined &&
        cached.mtimeMs === folder.mtimeMs &&
        cached.ctimeMs === folder.ctimeMs &&
        cached.ino === folder.ino
      ) {
        return cached.value;
      }
      names = readdirSync(this.#directory).filter((name) => name.startsWith(prefix));
    } catch (error) {
      throw fileSystemError(`cannot list ${this.#directory}`, error);
    }
    names.sort();
    const value = createHash('sha256')
      .update(`${folder.mtimeMs}\n${names.join('\n')}`)
      .digest('hex');
    // Kept only when the folder's last change was over a second before it was listed: any later
    // change then gives it another time, even on a file system whose clock is coarse.
    this.#fingerprinted =
      Date.now() - folder.mtimeMs > 1_000
        ? { mtimeMs: folder.mtimeMs, ctimeMs: folder.ctimeMs, ino: folder.ino, value }
        : undefined;
    return value;
  }

  /** Temporary files of this owner left by a crash (cron ignores them; they are only litter). */
  async #removeLeftoverTemporaries(): Promise<void> {
    const prefix = `.${cronDOwnerPrefix(this.#ownerId)}`;
    for (const fileName of await this.#list()) {
      if (!fileName.startsWith(prefix) || !fileName.endsWith('.tmp')) continue;
      await rm(path.join(this.#directory, fileName), { force: true }).catch((error: unknown) => {
        throw fileSystemError(`cannot remove ${fileName} from ${this.#directory}`, error);
      });
    }
  }

  /**
   * Writes the files whole and durably (writeFilesAtomically: dot-named temporaries, which cron
   * ignores, fsynced together, then renamed), mode 0644 and root-owned when we run as root, as
   * cron requires whatever the umask.
   */
  async #writeAll(files: readonly InstalledFile[]): Promise<void> {
    const owner = process.getuid?.() === 0 ? { uid: 0, gid: 0 } : undefined;
    try {
      await writeFilesAtomically(
        files.map((file) => ({
          file: path.join(this.#directory, file.fileName),
          content: file.text,
          mode: 0o644,
          owner,
        })),
      );
    } catch (error) {
      throw fileSystemError(`cannot write into ${this.#directory}`, error);
    }
  }

  async #unlink(fileName: string): Promise<void> {
    const filePath = path.join(this.#directory, fileName);
    try {
      await rm(filePath, { force: true });
    } catch (error) {
      throw fileSystemError(`cannot remove ${filePath}`, error);
    }
  }

  /** Makes the renames and unlinks durable (the files themselves were fsynced before). */
  async #syncDirectory(): Promise<void> {
    let handle: FileHandle | undefined;
    try {
      handle = await open(this.#directory, 'r');
      await handle.sync();
    } catch (error) {
      throw fileSystemError(`cannot sync ${this.#directory}`, error);
    } finally {
      await handle?.close().catch(() => undefined);
    }
  }
}
