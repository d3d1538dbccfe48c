import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

/**
 * Real git repositories for the git sync tests: a bare "server" repository and a work clone that
 * commits and pushes to it, with fixed identities and dates so commit SHAs are reproducible.
 */
const execFileAsync = promisify(execFile);

const baseEnv = {
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  HOME: os.tmpdir(),
  LC_ALL: 'C',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_NAME: 'Fixture',
  GIT_AUTHOR_EMAIL: 'fixture@example.com',
  GIT_COMMITTER_NAME: 'Fixture',
  GIT_COMMITTER_EMAIL: 'fixture@example.com',
};

/** Runs git with a clean, fixed environment and returns its trimmed stdout. */
export async function git(cwd: string, args: string[], env: Record<string, string> = {}) {
  const { stdout } = await execFileAsync('git', args, {
    cwd,
    env: { ...baseEnv, ...env },
    maxBuffer: 16 * 1024 * 1024,
  });
  return stdout.trim();
}

/** A temporary directory removed by `dispose()`; every test makes its own. */
export async function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(path.join(os.tmpdir(), `cronfleet-${prefix}-`));
}

export class ServedRepository {
  private clock = 1_700_000_000;

  private constructor(
    /** Directory holding `origin.git` (the served bare repository) and `work`. */
    readonly root: string,
  ) {}

  /** Path of the bare repository. */
  get barePath(): string {
    return path.join(this.root, 'origin.git');
  }

  get fileUrl(): string {
    return `file://${this.barePath}`;
  }

  private get work(): string {
    return path.join(this.root, 'work');
  }

  static async create(root: string): Promise<ServedRepository> {
    const repository = new ServedRepository(root);
    await mkdir(root, { recursive: true });
    await git(root, ['init', '--quiet', '--bare', '--initial-branch=main', 'origin.git']);
    await git(root, ['init', '--quiet', '--initial-branch=main', 'work']);
    await git(repository.work, ['remote', 'add', 'origin', repository.barePath]);
    return repository;
  }

  /**
   * Commits `files` (null deletes) on `branch` and pushes it. `parent: null` starts the branch
   * afresh (history rewritten; pushed with force). Returns the new commit's SHA.
   */
  async commit(
    files: Record<string, string | null>,
    options: { branch?: string; message?: string; parent?: string | null } = {},
  ): Promise<string> {
    const branch = options.branch ?? 'main';
    const branches = await git(this.work, ['branch', '--list', '--format=%(refname:short)']);
    if (options.parent === null) {
      await git(this.work, ['checkout', '--quiet', '--orphan', `rewrite-${this.clock}`]);
      await git(this.work, ['rm', '-rf', '--quiet', '--ignore-unmatch', '.']);
    } else if (options.parent !== undefined) {
      await git(this.work, ['checkout', '--quiet', '--detach', options.parent]);
    } else if (branches.split('\n').includes(branch)) {
      await git(this.work, ['checkout', '--quiet', branch]);
    } else if (branches.length > 0) {
      await git(this.work, ['checkout', '--quiet', '-b', branch]);
    } else {
      await git(this.work, ['checkout', '--quiet', '--orphan', branch]);
    }
    for (const [name, content] of Object.entries(files)) {
      const file = path.join(this.work, name);
      if (content === null) {
        await rm(file, { force: true });
      } else {
        await mkdir(path.dirname(file), { recursive: true });
        await writeFile(file, content);
      }
    }
    await git(this.work, ['add', '--all']);
    this.clock += 60;
    const date = `@${this.clock} +0000`;
    await git(
      this.work,
      ['commit', '--quiet', '--allow-empty', '-m', options.message ?? `commit ${this.clock}`],
      { GIT_AUTHOR_DATE: date, GIT_COMMITTER_DATE: date },
    );
    const sha = await git(this.work, ['rev-parse', 'HEAD']);
    await git(this.work, ['checkout', '--quiet', '-B', branch]);
    await git(this.work, [
      'push',
      '--quiet',
      '--force',
      'origin',
      `${branch}:refs/heads/${branch}`,
    ]);
    return sha;
  }

  /** Creates (or moves, with force) a tag and pushes it. */
  async tag(name: string, target: string, options: { annotated?: boolean } = {}): Promise<void> {
    const args = options.annotated === true ? ['-a', '-m', `tag ${name}`] : [];
    this.clock += 60;
    const date = `@${this.clock} +0000`;
    await git(this.work, ['tag', '--force', ...args, name, target], {
      GIT_COMMITTER_DATE: date,
    });
    await git(this.work, ['push', '--quiet', '--force', 'origin', `refs/tags/${name}`]);
  }

  async deleteBranch(branch: string): Promise<void> {
    await git(this.work, ['push', '--quiet', 'origin', `:refs/heads/${branch}`]);
  }

  /** Sets a config value in the served (bare) repository. */
  async configureServer(key: string, value: string): Promise<void> {
    await git(this.barePath, ['config', key, value]);
  }
}

/** Reads every file of a work tree (outside .git) into a map, for exact comparisons. */
export async function readWorkTree(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  async function walk(relative: string): Promise<void> {
    for (const entry of await readdir(path.join(dir, relative), { withFileTypes: true })) {
      const name = path.join(relative, entry.name);
      if (relative === '' && entry.name === '.git') continue;
      if (entry.isDirectory()) await walk(name);
      else out[name] = await readFile(path.join(dir, name), 'utf8');
    }
  }
  await walk('');
  return out;
}

/** Every file below `dir` whose bytes contain `needle`. */
export async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  async function walk(current: string): Promise<void> {
    for (const entry of await readdir(current, { withFileTypes: true })) {
      const file = path.join(current, entry.name);
      if (entry.isDirectory()) await walk(file);
      else if (entry.isFile() && (await readFile(file)).includes(needle)) hits.push(file);
    }
  }
  await walk(dir);
  return hits;
}

/** Every process whose command line or environment contains `needle` (Linux /proc). */
export async function processesExposing(needle: string): Promise<string[]> {
  const hits: string[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    for (const file of ['cmdline', 'environ']) {
      const content = await readFile(`/proc/${entry}/${file}`).catch(() => undefined);
      if (content?.includes(needle) === true) hits.push(`${entry}/${file}`);
    }
  }
  return hits;
}

export async function removeDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}
