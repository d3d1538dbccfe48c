import { randomBytes } from 'node:crypto';
import {
  access,
  constants,
  mkdir,
  readFile,
  readdir,
  rename,
  rm,
  writeFile,
} from 'node:fs/promises';
import path from 'node:path';

import type { Logger } from 'pino';

import { checkedOutCommit, isLooseCommit } from './checkedOutCommit.js';
import { GitCommandFailure, runGit, type GitCommandContext } from './gitCommandRunner.js';
import {
  gitConfigArguments,
  gitEnvironment,
  prepareGitHome,
  type GitCredentials,
} from './gitProcessEnvironment.js';
import {
  describeGitRef,
  gitRefKey,
  normalizeGitRef,
  TARGET_REF,
  targetRefspec,
  type GitRef,
} from './gitRef.js';
import { classifyGitOutput, GitSyncError, LOCAL_REPOSITORY_FAILURE } from './gitSyncError.js';
import { hasControlCharacter, parseGitUrl, redactText, type ParsedGitUrl } from './gitUrl.js';
import { LockAbortedError, LockTimeoutError, withRepositoryLock } from './repositoryLock.js';

export type { GitCredentials } from './gitProcessEnvironment.js';
export type { GitRef } from './gitRef.js';

/**
 * The agent's copy of the job repository, kept at one target revision (issue 4 §2). The reconcile
 * loop calls `sync()` each tick; it returns the revision now checked out in `checkoutDir` and
 * whether it changed.
 *
 * - The first sync, and any re-clone (a damaged checkout, or one made for another URL or ref),
 *   fetches into a temporary directory next to `checkoutDir` and renames it into place, so a
 *   failed or interrupted clone never leaves a half repository in use. Leftovers of a crash are
 *   removed by the next sync.
 * - Later syncs fetch only the target (depth 1, one ref, a `+` refspec so force-pushes and moved
 *   tags are followed), then `reset --hard` and `clean -ffdx`, so the work tree is exactly the
 *   revision whatever was changed in it. A pinned commit is fetched once.
 * - Git work is serialised per checkout within the process and across processes
 *   (repositoryLock.ts); every git command has a stall timeout and a deadline
 *   (gitCommandRunner.ts); credentials never leave their files (gitProcessEnvironment.ts).
 */
export interface GitSourceOptions {
  /** https://, http://, ssh://, git@host:path, git://, file:// or an absolute path. */
  url: string;
  ref: GitRef;
  /** The work tree the agent owns, e.g. `<stateDir>/repository`. */
  checkoutDir: string;
  credentials?: GitCredentials | undefined;
  /** A CA bundle (PEM) for HTTPS servers whose certificate a private CA signed. */
  caFile?: string | undefined;
  /** Deadline of each git command; output does not extend it. Default 120 s. */
  timeoutMs?: number | undefined;
  /** A git command with no output for this long is killed. Default 30 s. */
  stallTimeoutMs?: number | undefined;
  /** How long sync() waits for another sync of the same checkout. Default 10 minutes. */
  lockTimeoutMs?: number | undefined;
  /**
   * The agent's environment as its config module read it. git inherits only PATH, TMPDIR and
   * the proxy variables from it; without it PATH is the usual system path.
   */
  environment?: Readonly<Record<string, string | undefined>> | undefined;
  logger?: Logger | undefined;
}

export interface SyncResult {
  /** The commit now checked out. */
  revision: string;
  /** The commit checked out before this sync; null when there was no usable checkout. */
  previousRevision: string | null;
  changed: boolean;
  /** Absolute path of the work tree (checkoutDir). */
  workTree: string;
}

export const DEFAULT_GIT_TIMEOUT_MS = 120_000;
export const DEFAULT_GIT_STALL_TIMEOUT_MS = 30_000;
export const DEFAULT_GIT_LOCK_TIMEOUT_MS = 600_000;

/** Written into `.git/` of every checkout the agent makes: which source it holds. */
const SOURCE_FILE = 'cronfleet-source.json';

interface SourceRecord {
  url: string;
  ref: string;
}

type CheckoutState =
  | { state: 'absent' }
  | { state: 'current'; revision: string }
  | { state: 'replace'; revision: string | null; why: string };

type Operation = 'fetch' | 'clone' | 'checkout';

/** The object id on FETCH_HEAD's first line (the one ref fetched), or undefined. */
async function fetchedObject(dir: string): Promise<string | undefined> {
  const text = await readFile(path.join(dir, '.git', 'FETCH_HEAD'), 'utf8').catch(() => '');
  return /^([0-9a-f]{40}(?:[0-9a-f]{24})?)\t/.exec(text)?.[1];
}

export class GitRepository {
  readonly url: string;
  readonly ref: GitRef;
  readonly checkoutDir: string;
  private readonly parsedUrl: ParsedGitUrl;
  private readonly credentials: GitCredentials | undefined;
  private readonly caFile: string | undefined;
  private readonly timeoutMs: number;
  private readonly stallTimeoutMs: number;
  private readonly lockTimeoutMs: number;
  private readonly logger: Logger | undefined;
  /** The lock every sync and read of this checkout takes (processes and callers alike). */
  private get lockFile(): string {
    return path.join(this.parentDir, `.${this.baseName}.lock`);
  }
  /** Whether this process's last sync left the work tree checked (verifyWorkTree then skips). */
  private workTreeVerified = false;
  /** The running sync's caller, told when its `git fetch` started (sync's whileFetching). */
  private whileFetching: (() => void) | undefined;
  private readonly parentDir: string;
  private readonly baseName: string;
  private readonly homeDir: string;
  private readonly env: Record<string, string>;
  private readonly config: string[];

  /** Checks the options; throws a stalled GitSyncError (reason invalid-options) when wrong. */
  constructor(options: GitSourceOptions) {
    const invalid = (message: string, cause?: unknown): GitSyncError =>
      new GitSyncError(`invalid git source: ${message}`, {
        kind: 'stalled',
        reason: 'invalid-options',
        cause,
      });
    try {
      this.parsedUrl = parseGitUrl(options.url);
    } catch (error) {
      throw invalid((error as Error).message, error);
    }
    try {
      this.ref = normalizeGitRef(options.ref);
    } catch (error) {
      throw invalid((error as Error).message, error);
    }
    if (!path.isAbsolute(options.checkoutDir)) {
      throw invalid(`checkoutDir ${JSON.stringify(options.checkoutDir)} must be an absolute path`);
    }
    const credentials = options.credentials;
    const transport = this.parsedUrl.transport;
    if (credentials?.kind === 'ssh' && transport !== 'ssh') {
      throw invalid(`SSH credentials need an ssh:// or git@host:path URL, not ${transport}`);
    }
    if (
      (credentials?.kind === 'token' || credentials?.kind === 'basic') &&
      transport !== 'https' &&
      transport !== 'http'
    ) {
      throw invalid(`${credentials.kind} credentials need an https:// URL, not ${transport}`);
    }
    if (transport === 'ssh' && credentials?.kind !== 'ssh') {
      throw invalid(
        'an SSH URL needs SSH credentials (a private key file and a pinned known_hosts file)',
      );
    }
    const files: Array<[string, string | undefined]> = [['caFile', options.caFile]];
    if (credentials?.kind === 'token') files.push(['tokenFile', credentials.tokenFile]);
    if (credentials?.kind === 'basic') files.push(['passwordFile', credentials.passwordFile]);
    if (credentials?.kind === 'ssh') {
      files.push(['privateKeyFile', credentials.privateKeyFile]);
      files.push(['knownHostsFile', credentials.knownHostsFile]);
    }
    for (const [name, file] of files) {
      if (file !== undefined && (!path.isAbsolute(file) || hasControlCharacter(file))) {
        throw invalid(
          `${name} ${JSON.stringify(file)} must be an absolute path without control characters`,
        );
      }
    }
    if (credentials?.kind === 'basic' && hasControlCharacter(credentials.username)) {
      throw invalid('the basic-auth username contains control characters');
    }
    for (const [name, value] of [
      ['timeoutMs', options.timeoutMs],
      ['stallTimeoutMs', options.stallTimeoutMs],
      ['lockTimeoutMs', options.lockTimeoutMs],
    ] as const) {
      if (value !== undefined && !(Number.isFinite(value) && value > 0)) {
        throw invalid(`${name} must be a positive number of milliseconds`);
      }
    }
    this.url = options.url;
    this.checkoutDir = path.resolve(options.checkoutDir);
    this.credentials = credentials;
    this.caFile = options.caFile;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_GIT_TIMEOUT_MS;
    this.stallTimeoutMs = options.stallTimeoutMs ?? DEFAULT_GIT_STALL_TIMEOUT_MS;
    this.lockTimeoutMs = options.lockTimeoutMs ?? DEFAULT_GIT_LOCK_TIMEOUT_MS;
    this.logger = options.logger?.child({
      component: 'git',
      repository: this.parsedUrl.redacted,
      ref: gitRefKey(this.ref),
    });
    this.parentDir = path.dirname(this.checkoutDir);
    this.baseName = path.basename(this.checkoutDir);
    this.homeDir = path.join(this.parentDir, `.${this.baseName}.git-home`);
    this.env = gitEnvironment({
      inherited: options.environment,
      homeDir: this.homeDir,
      ceilingDir: this.parentDir,
      transport,
      credentials,
    });
    this.config = gitConfigArguments(options.caFile);
  }

  /**
   * Brings `checkoutDir` to the target revision. Rejects with GitSyncError only. With
   * `verifyUnchanged: false`, a fetch that finds the revision unchanged does not check the work
   * tree: the caller calls verifyWorkTree() before it reads the files (an agent's tick that has
   * nothing to do reads none, and saves the `git status`).
   */
  async sync(
    signal?: AbortSignal,
    options: {
      verifyUnchanged?: boolean;
      /** Called once, when the `git fetch` process started (the caller may work meanwhile). */
      whileFetching?: (() => void) | undefined;
    } = {},
  ): Promise<SyncResult> {
    try {
      await mkdir(this.parentDir, { recursive: true });
      return await withRepositoryLock(
        this.lockFile,
        {
          timeoutMs: this.lockTimeoutMs,
          signal,
          onWait: (holder) =>
            this.logger?.info({ holder }, 'waiting for another sync of this checkout'),
          onStale: (holder) => this.logger?.warn({ holder }, 'took over a stale repository lock'),
        },
        async () => {
          this.workTreeVerified = false;
          this.whileFetching = options.whileFetching;
          const result = await this.syncLocked(signal, options.verifyUnchanged ?? true).finally(
            () => {
              this.whileFetching = undefined;
            },
          );
          // Only an unchanged revision synced without the check leaves it to verifyWorkTree.
          this.workTreeVerified = result.changed || (options.verifyUnchanged ?? true);
          return result;
        },
      );
    } catch (error) {
      throw this.toSyncError(error);
    }
  }

  /**
   * Makes the work tree exactly its checked-out commit again: what a sync with `verifyUnchanged:
   * false` left unchecked. Files edited or added by hand are reset and removed.
   */
  async verifyWorkTree(signal?: AbortSignal): Promise<void> {
    // The sync just before checked it (a clone, a new revision): not twice in a row.
    if (this.workTreeVerified) return;
    try {
      await withRepositoryLock(
        this.lockFile,
        { timeoutMs: this.lockTimeoutMs, signal },
        async () => {
          await this.cleanWorkTree('HEAD', await this.workTreeStatus(signal), signal);
          this.workTreeVerified = true;
        },
      );
    } catch (error) {
      throw this.toSyncError(error);
    }
  }

  /**
   * The commit checked out in `checkoutDir` if it is a checkout of this source, else null.
   * Waits for a sync of this process in progress; never touches the network.
   */
  async currentRevision(): Promise<string | null> {
    try {
      return await withRepositoryLock(
        this.lockFile,
        { timeoutMs: this.lockTimeoutMs },
        async () => {
          const checkout = await this.inspectCheckout();
          return checkout.state === 'current' ? checkout.revision : null;
        },
      );
    } catch (error) {
      throw this.toSyncError(error);
    }
  }

  private async syncLocked(
    signal: AbortSignal | undefined,
    verifyUnchanged: boolean,
  ): Promise<SyncResult> {
    const started = Date.now();
    this.logger?.debug({ checkoutDir: this.checkoutDir }, 'git sync started');
    await this.removeLeftovers();
    await this.checkCredentialFiles();
    await prepareGitHome(this.homeDir);
    const checkout = await this.inspectCheckout();
    let result: SyncResult;
    if (checkout.state === 'current') {
      try {
        result = await this.update(checkout.revision, signal, verifyUnchanged);
      } catch (error) {
        if (!(error instanceof GitSyncError && error.reason === 'local-repository')) throw error;
        this.logger?.warn({ err: error }, 'the checkout is damaged; cloning it again');
        result = await this.cloneAndSwap(checkout.revision, signal);
      }
    } else {
      if (checkout.state === 'replace') {
        this.logger?.warn({ why: checkout.why }, 'replacing the checkout with a fresh clone');
      }
      result = await this.cloneAndSwap(
        checkout.state === 'replace' ? checkout.revision : null,
        signal,
      );
    }
    this.logger?.[result.changed ? 'info' : 'debug'](
      {
        revision: result.revision,
        previousRevision: result.previousRevision,
        changed: result.changed,
        durationMs: Date.now() - started,
      },
      'git sync finished',
    );
    return result;
  }

  /**
   * Fetches the target into the existing checkout and makes the work tree exactly that revision.
   * When the revision is unchanged and `git status` shows nothing (or is not asked for), no other
   * command runs.
   */
  private async update(
    previous: string,
    signal: AbortSignal | undefined,
    verifyUnchanged: boolean,
  ): Promise<SyncResult> {
    const revision =
      this.ref.kind === 'commit' && previous === this.ref.name
        ? previous
        : await this.fetchTarget(this.checkoutDir, 'fetch', signal, previous);
    if (revision !== previous) {
      await this.git(['reset', '--hard', revision], this.checkoutDir, 'checkout', signal);
      await this.cleanWorkTree(revision, await this.workTreeStatus(signal), signal);
    } else if (verifyUnchanged) {
      await this.cleanWorkTree(revision, await this.workTreeStatus(signal), signal);
    }
    return {
      revision,
      previousRevision: previous,
      changed: revision !== previous,
      workTree: this.checkoutDir,
    };
  }

  /** Resets what `status` found modified to `revision` and removes what it found untracked. */
  private async cleanWorkTree(
    revision: string,
    status: { modified: boolean; untracked: boolean },
    signal: AbortSignal | undefined,
  ): Promise<void> {
    let current = status;
    if (current.modified) {
      await this.git(['reset', '--hard', revision], this.checkoutDir, 'checkout', signal);
      current = await this.workTreeStatus(signal);
    }
    if (current.untracked) {
      await this.git(['clean', '-ffdx'], this.checkoutDir, 'checkout', signal);
    }
  }

  /**
   * What differs from HEAD in the work tree.
   */
  private async workTreeStatus(
    signal: AbortSignal | undefined,
  ): Promise<{ modified: boolean; untracked: boolean }> {
    const output = await this.git(
      ['status', '--porcelain=v2', '--branch', '--ignored=traditional', '--untracked-files=all'],
      this.checkoutDir,
      'checkout',
      signal,
    );
    let modified = false;
    let untracked = false;
    for (const line of output.split('\n')) {
      if (line.startsWith('?') || line.startsWith('!')) untracked = true;
      else if (line.length > 0 && !line.startsWith('#')) modified = true;
    }
    return { modified, untracked };
  }

  /** Clones into a temporary directory and swaps it in place of `checkoutDir`. */
  private async cloneAndSwap(
    previous: string | null,
    signal: AbortSignal | undefined,
  ): Promise<SyncResult> {
    const suffix = randomBytes(6).toString('hex');
    const temporary = path.join(this.parentDir, `.${this.baseName}.tmp-${suffix}`);
    await mkdir(temporary, { recursive: false, mode: 0o755 });
    try {
      await this.git(['init', '--initial-branch=cronfleet'], temporary, 'clone', signal);
      const revision = await this.fetchTarget(temporary, 'clone', signal);
      await this.git(['reset', '--hard', revision], temporary, 'clone', signal);
      const record: SourceRecord = { url: this.url, ref: gitRefKey(this.ref) };
      await writeFile(
        path.join(temporary, '.git', SOURCE_FILE),
        `${JSON.stringify(record, null, 2)}\n`,
      );
      await this.swapIn(temporary, suffix);
      return {
        revision,
        previousRevision: previous,
        changed: revision !== previous,
        workTree: this.checkoutDir,
      };
    } catch (error) {
      await rm(temporary, { recursive: true, force: true });
      throw error;
    }
  }

  private async swapIn(temporary: string, suffix: string): Promise<void> {
    const retired = path.join(this.parentDir, `.${this.baseName}.old-${suffix}`);
    let hadCheckout = true;
    try {
      await rename(this.checkoutDir, retired);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      hadCheckout = false;
    }
    await rename(temporary, this.checkoutDir);
    if (hadCheckout) await rm(retired, { recursive: true, force: true });
  }

  /**
   * Fetches the target ref into TARGET_REF and returns its commit. A commit that the server will
   * not serve by SHA (protocol v0 without allowReachableSHA1InWant) is looked for in the full
   * history of every branch and tag instead.
   */
  private async fetchTarget(
    dir: string,
    operation: Operation,
    signal: AbortSignal | undefined,
    previous?: string,
  ): Promise<string> {
    const fetchArgs = ['fetch', '--verbose', '--progress', '--no-tags', '--no-recurse-submodules'];
    try {
      const started = this.whileFetching;
      this.whileFetching = undefined;
      await this.git(
        [...fetchArgs, '--depth=1', '--', this.url, targetRefspec(this.ref)],
        dir,
        operation,
        signal,
        started,
      );
      // FETCH_HEAD names what the fetch brought (git-fetch(1) documents it for scripts): when it
      // is the commit already checked out, the target ref is that commit and needs no rev-parse.
      // An annotated tag's FETCH_HEAD is the tag object, never equal: rev-parse peels it.
      const fetched = await fetchedObject(dir);
      if (previous !== undefined && fetched === previous) return previous;
      // A commit stored loose is what rev-parse would answer (a tag object, or a packed object
      // whose type the pack index does not tell, is left to it).
      if (fetched !== undefined && (await isLooseCommit(path.join(dir, '.git'), fetched))) {
        return fetched;
      }
    } catch (error) {
      if (
        !(this.ref.kind === 'commit' && error instanceof GitSyncError) ||
        error.reason !== 'unknown-ref'
      ) {
        throw error;
      }
      this.logger?.info(
        { commit: this.ref.name },
        'the server refused to send the commit by SHA; fetching every branch and tag',
      );
      const shallow = await access(path.join(dir, '.git', 'shallow'), constants.F_OK).then(
        () => true,
        () => false,
      );
      await this.git(
        [
          ...fetchArgs,
          ...(shallow ? ['--unshallow'] : []),
          '--',
          this.url,
          '+refs/heads/*:refs/cronfleet/all/heads/*',
          '+refs/tags/*:refs/cronfleet/all/tags/*',
        ],
        dir,
        operation,
        signal,
      );
      try {
        await this.git(['cat-file', '-e', `${this.ref.name}^{commit}`], dir, operation, signal);
      } catch (missing) {
        throw new GitSyncError(
          `${this.describeOperation(operation)} failed: commit ${this.ref.name} is not in any branch or tag of ${this.parsedUrl.redacted}. Check the configured commit; it may have been removed by a force-push.`,
          { kind: 'stalled', reason: 'unknown-ref', cause: missing },
        );
      }
      await this.git(['update-ref', TARGET_REF, this.ref.name], dir, operation, signal);
    }
    return this.git(['rev-parse', '--verify', `${TARGET_REF}^{commit}`], dir, operation, signal);
  }

  /** Runs one git command; failures become GitSyncError with the operation and a fix. */
  private async git(
    args: string[],
    cwd: string,
    operation: Operation,
    signal: AbortSignal | undefined,
    onSpawned?: () => void,
  ): Promise<string> {
    const context: GitCommandContext = {
      cwd,
      onSpawned,
      env: this.env,
      config: this.config,
      timeoutMs: this.timeoutMs,
      stallTimeoutMs: this.stallTimeoutMs,
      signal,
      logger: this.logger,
      redact: (text) => redactText(text, this.url),
    };
    try {
      return await runGit(args, context);
    } catch (error) {
      if (!(error instanceof GitCommandFailure)) throw error;
      throw this.commandError(error, operation);
    }
  }

  private commandError(failure: GitCommandFailure, operation: Operation): GitSyncError {
    const what = `${this.describeOperation(operation)} failed at "git ${failure.args[0] ?? ''}"`;
    switch (failure.interruption) {
      case 'deadline':
        return new GitSyncError(
          `${what}: it did not finish within the ${this.timeoutMs} ms deadline (timeoutMs), so it was killed with every process it started. Check the server's speed and reachability, or raise timeoutMs.`,
          { kind: 'transient', reason: 'deadline', cause: failure },
        );
      case 'stall-timeout':
        return new GitSyncError(
          `${what}: it printed nothing for ${this.stallTimeoutMs} ms (stall timeout, stallTimeoutMs), so it was killed with every process it started. Check network connectivity to the server, or raise stallTimeoutMs.`,
          { kind: 'transient', reason: 'stall-timeout', cause: failure },
        );
      case 'aborted':
        return new GitSyncError(`${what}: the sync was aborted.`, {
          kind: 'transient',
          reason: 'aborted',
          cause: failure,
        });
      case undefined:
        break;
    }
    const local =
      operation === 'checkout' ||
      ['rev-parse', 'reset', 'clean', 'status', 'init'].includes(failure.args[0] ?? '');
    // A purely local command (reset, status…) that fails for an unknown reason means the checkout
    // is damaged: the caller clones again rather than retrying the same broken repository.
    const verdict =
      local && classifyGitOutput(failure.output).reason === 'unknown'
        ? LOCAL_REPOSITORY_FAILURE
        : classifyGitOutput(failure.output);
    const { kind, reason, hint } = verdict;
    return new GitSyncError(`${what}: ${hint}. git said: ${lastLines(failure.output)}`, {
      kind,
      reason,
      cause: failure,
    });
  }

  private describeOperation(operation: Operation): string {
    const source = `${describeGitRef(this.ref)} of ${this.parsedUrl.redacted}`;
    switch (operation) {
      case 'fetch':
        return `fetching ${source}`;
      case 'clone':
        return `cloning ${source} into ${this.checkoutDir}`;
      case 'checkout':
        return `checking out ${source} in ${this.checkoutDir}`;
    }
  }

  /** Tells whether `checkoutDir` holds a usable checkout of this source. */
  private async inspectCheckout(): Promise<CheckoutState> {
    let entries: string[];
    try {
      entries = await readdir(this.checkoutDir);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return { state: 'absent' };
      throw error;
    }
    const recordText = await readFile(
      path.join(this.checkoutDir, '.git', SOURCE_FILE),
      'utf8',
    ).catch(() => undefined);
    if (recordText === undefined) {
      if (entries.length === 0) return { state: 'replace', revision: null, why: 'it is empty' };
      throw new GitSyncError(
        `refusing to replace ${this.checkoutDir}: it exists and was not created by cronfleet-agent (no .git/${SOURCE_FILE}). Remove it or configure another state directory.`,
        { kind: 'stalled', reason: 'checkout-not-owned' },
      );
    }
    // Read from .git's files when they tell for certain; git decides otherwise (and a damaged
    // checkout, whose HEAD names no stored commit, is cloned again).
    let revision: string | null = (await checkedOutCommit(this.checkoutDir)) ?? null;
    if (revision === null) {
      try {
        revision = await this.git(
          ['rev-parse', '--verify', '--quiet', 'HEAD^{commit}'],
          this.checkoutDir,
          'checkout',
          undefined,
        );
      } catch {
        revision = null;
      }
    }
    let record: Partial<SourceRecord>;
    try {
      record = JSON.parse(recordText) as Partial<SourceRecord>;
    } catch {
      return { state: 'replace', revision, why: `.git/${SOURCE_FILE} is unreadable` };
    }
    if (record.url !== this.url || record.ref !== gitRefKey(this.ref)) {
      return {
        state: 'replace',
        revision,
        why: 'the checkout was made for another repository URL or ref',
      };
    }
    if (revision === null || !/^[0-9a-f]{40,64}$/.test(revision)) {
      return { state: 'replace', revision: null, why: 'the checkout has no valid HEAD' };
    }
    return { state: 'current', revision };
  }

  /** Removes temporary and retired directories that a crashed sync left next to checkoutDir. */
  private async removeLeftovers(): Promise<void> {
    const prefixes = [`.${this.baseName}.tmp-`, `.${this.baseName}.old-`];
    const entries = await readdir(this.parentDir).catch(() => [] as string[]);
    for (const entry of entries) {
      if (prefixes.some((prefix) => entry.startsWith(prefix))) {
        this.logger?.info({ leftover: entry }, 'removing a leftover of an interrupted sync');
        await rm(path.join(this.parentDir, entry), { recursive: true, force: true });
      }
    }
  }

  /** A missing secret file is a configuration error, not something to retry. */
  private async checkCredentialFiles(): Promise<void> {
    const files: Array<[string, string]> = [];
    const credentials = this.credentials;
    if (credentials?.kind === 'token') files.push(['tokenFile', credentials.tokenFile]);
    if (credentials?.kind === 'basic') files.push(['passwordFile', credentials.passwordFile]);
    if (credentials?.kind === 'ssh') {
      files.push(['privateKeyFile', credentials.privateKeyFile]);
      files.push(['knownHostsFile', credentials.knownHostsFile]);
    }
    if (this.caFile !== undefined) files.push(['caFile', this.caFile]);
    for (const [name, file] of files) {
      try {
        await access(file, constants.R_OK);
      } catch (error) {
        throw new GitSyncError(
          `the git ${name} ${file} cannot be read by the agent (${(error as NodeJS.ErrnoException).code ?? 'error'}); create it or fix its permissions`,
          { kind: 'stalled', reason: 'invalid-options', cause: error },
        );
      }
    }
  }

  private toSyncError(error: unknown): GitSyncError {
    if (error instanceof GitSyncError) return error;
    if (error instanceof LockTimeoutError) {
      return new GitSyncError(
        `syncing ${describeGitRef(this.ref)} of ${this.parsedUrl.redacted}: ${error.message}. Another cronfleet-agent process is syncing the same checkout; if it hangs, stop it.`,
        { kind: 'transient', reason: 'lock-timeout', cause: error },
      );
    }
    if (error instanceof LockAbortedError) {
      return new GitSyncError(error.message, {
        kind: 'transient',
        reason: 'aborted',
        cause: error,
      });
    }
    const text = redactText(error instanceof Error ? error.message : String(error), this.url);
    return new GitSyncError(
      `syncing ${describeGitRef(this.ref)} of ${this.parsedUrl.redacted} into ${this.checkoutDir} failed: ${text}`,
      { kind: 'transient', reason: 'unknown', cause: error },
    );
  }
}

function lastLines(output: string): string {
  const lines = output
    .split(/\r?\n|\r/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0 && !/^(remote: )?\S.*\d+% \(\d+\/\d+\)/.test(line));
  return lines.slice(-4).join(' | ') || '(no output)';
}
