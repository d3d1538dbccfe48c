import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseDuration } from '@cronfleet/core/duration';
import { parseDocument } from 'yaml';
import { z } from 'zod';
import { schedulerNames } from '../scheduler/schedulerRegistry.js';

/**
 * The agent's one configuration module. Settings come from a YAML file (`--config FILE`), the
 * environment (`CRONFLEET_*`) and flags, in that order of precedence (a flag wins over the
 * environment, which wins over the file); they are parsed once, at start, by
 * {@link loadAgentConfig}. Nothing else in the agent reads `process.env`.
 */

const labelKey = /^[A-Za-z0-9]([A-Za-z0-9._/-]{0,61}[A-Za-z0-9])?$/;
const labelValue = /^[A-Za-z0-9._:/@+-]{0,63}$/;

const duration = (what: string) =>
  z
    .string()
    .refine((text) => {
      try {
        parseDuration(text);
        return true;
      } catch {
        return false;
      }
    }, `${what} must be a duration such as 30s, 5m or 1h`)
    .transform((text) => parseDuration(text));

/** The agent may run from any directory (cron, systemd): secret files are named absolutely. */
const absoluteFile = z
  .string()
  .refine(
    (text) => path.isAbsolute(text),
    'must be an absolute path, such as /etc/cronfleet/git-token',
  );

const credentialsSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('token'),
    tokenFile: absoluteFile,
    username: z.string().min(1).optional(),
  }),
  z.strictObject({
    kind: z.literal('basic'),
    username: z.string().min(1),
    passwordFile: absoluteFile,
  }),
  z.strictObject({
    kind: z.literal('ssh'),
    privateKeyFile: absoluteFile,
    knownHostsFile: absoluteFile,
  }),
]);

const repositorySchema = z
  .strictObject({
    url: z.string().min(1, 'must be the URL of the job repository').optional(),
    branch: z.string().min(1).optional(),
    tag: z.string().min(1).optional(),
    commit: z
      .string()
      .regex(/^[0-9a-f]{7,64}$/, 'must be a commit id (hexadecimal, at least 7 characters)')
      .optional(),
    /** Folder of the repository holding the manifests. */
    path: z
      .string()
      .default('.')
      .refine(
        (text) =>
          !path.posix.isAbsolute(text) &&
          !text.split(/[\\/]/).includes('..') &&
          !text.includes('\0'),
        'must be a folder inside the repository, such as "." or "jobs/production"',
      ),
    credentials: credentialsSchema.optional(),
    /** A CA bundle (PEM) trusted for the repository's HTTPS server. */
    caFile: absoluteFile.optional(),
  })
  .refine(
    (repository) =>
      [repository.branch, repository.tag, repository.commit].filter((ref) => ref !== undefined)
        .length <= 1,
    'give at most one of branch, tag and commit',
  );

export const AgentConfig = z.strictObject({
  /** The control plane, e.g. https://cronfleet.example.com. Absent: offline, nothing reported. */
  backendUrl: z
    .url({ protocol: /^https?$/, message: 'must be an http:// or https:// URL' })
    .optional(),
  /** Where the agent keeps its token, checkout, inventory and run specs. */
  stateDir: z.string().min(1),
  /** The agent token (written by `enroll`); default <stateDir>/agent-token. */
  tokenFile: z.string().min(1).optional(),
  repository: repositorySchema.default({ path: '.' }),
  /** How often the agent fetches the repository. */
  pollInterval: duration('pollInterval')
    .refine((ms) => ms >= 1000, 'pollInterval must be at least 1s')
    .prefault('30s'),
  /** Each wait is the poll interval ± this fraction, so that a fleet does not fetch in step. */
  pollJitter: z.number().min(0).max(0.5).default(0.1),
  labels: z
    .record(
      z.string().regex(labelKey, 'label keys are letters, digits, ".", "_", "-" and "/"'),
      z.string().regex(labelValue, 'label values are at most 63 letters, digits or ._:/@+-'),
    )
    .default({}),
  /** Overrides the host name jobs are targeted by. */
  hostname: z.string().min(1).optional(),
  scheduler: z
    .enum(schedulerNames, { message: `must be one of ${schedulerNames.join(', ')}` })
    .default('crontab'),
  /** crontab only: manage this user's crontab (`crontab -u USER`; root only). */
  crontabUser: z.string().min(1).optional(),
  /** cron.d only: the directory (default /etc/cron.d). */
  cronDDirectory: z.string().min(1).default('/etc/cron.d'),
  /** Let a desired set that became empty remove every installed job. */
  allowEmpty: z.boolean().default(false),
  logLevel: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});
export type AgentConfig = z.output<typeof AgentConfig>;
export type AgentConfigInput = z.input<typeof AgentConfig>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/** The flags that set configuration, as parsed from the command line. */
export interface ConfigFlags {
  config?: string | undefined;
  backend?: string | undefined;
  repo?: string | undefined;
  branch?: string | undefined;
  tag?: string | undefined;
  commit?: string | undefined;
  path?: string | undefined;
  stateDir?: string | undefined;
  scheduler?: string | undefined;
  label?: readonly string[] | undefined;
  allowEmpty?: boolean | undefined;
  logLevel?: string | undefined;
}

/** Each environment variable and the setting (a key path) it sets. */
export const environmentVariables = {
  CRONFLEET_BACKEND_URL: 'backendUrl',
  CRONFLEET_STATE_DIR: 'stateDir',
  CRONFLEET_TOKEN_FILE: 'tokenFile',
  CRONFLEET_REPO_URL: 'repository.url',
  CRONFLEET_REPO_BRANCH: 'repository.branch',
  CRONFLEET_REPO_TAG: 'repository.tag',
  CRONFLEET_REPO_COMMIT: 'repository.commit',
  CRONFLEET_REPO_PATH: 'repository.path',
  CRONFLEET_REPO_CA_FILE: 'repository.caFile',
  CRONFLEET_POLL_INTERVAL: 'pollInterval',
  CRONFLEET_LABELS: 'labels',
  CRONFLEET_HOSTNAME: 'hostname',
  CRONFLEET_SCHEDULER: 'scheduler',
  CRONFLEET_CRONTAB_USER: 'crontabUser',
  CRONFLEET_CRON_D_DIRECTORY: 'cronDDirectory',
  CRONFLEET_ALLOW_EMPTY: 'allowEmpty',
  CRONFLEET_LOG_LEVEL: 'logLevel',
} as const;

/** The default state directory: /var/lib/cronfleet as root, else the XDG state home. */
export function defaultStateDir(
  environment: NodeJS.ProcessEnv,
  isRoot = process.getuid?.() === 0,
): string {
  if (isRoot) return '/var/lib/cronfleet';
  const stateHome = environment.XDG_STATE_HOME;
  const base =
    stateHome !== undefined && path.isAbsolute(stateHome)
      ? stateHome
      : path.join(os.homedir(), '.local', 'state');
  return path.join(base, 'cronfleet');
}

/** Where a setting came from: a flag, an environment variable, or the config file. */
type Origin = string;
type Tree = Record<string, unknown>;

function setPath(tree: Tree, keyPath: string, value: unknown): void {
  const keys = keyPath.split('.');
  let node = tree;
  for (const key of keys.slice(0, -1)) {
    const child = node[key];
    if (typeof child === 'object' && child !== null && !Array.isArray(child)) {
      node = child as Tree;
    } else {
      const created: Tree = {};
      node[key] = created;
      node = created;
    }
  }
  node[keys.at(-1)!] = value;
}

/** `team=platform,role=db` or repeated `--label` values → a record; rejects malformed pairs. */
export function parseLabelPairs(pairs: readonly string[], origin: Origin): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) {
      throw new ConfigError(`${origin}: "${pair}" must be key=value, for example role=db`);
    }
    labels[pair.slice(0, equals).trim()] = pair.slice(equals + 1).trim();
  }
  return labels;
}

const booleanWords: Record<string, boolean> = {
  true: true,
  false: false,
  '1': true,
  '0': false,
  yes: true,
  no: false,
};

function readConfigFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new ConfigError(
      `cannot read the config file ${file}: ${(error as NodeJS.ErrnoException).code ?? String(error)}; check --config`,
      { cause: error },
    );
  }
  const document = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (document.errors.length > 0) {
    const [first] = document.errors;
    const where = first?.linePos?.[0];
    throw new ConfigError(
      `${file}${where === undefined ? '' : `:${where.line}:${where.col}`}: ${first?.message.split('\n')[0] ?? 'invalid YAML'}`,
    );
  }
  const value: unknown = document.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new ConfigError(`${file}: must be a mapping of settings, such as "scheduler: crontab"`);
  }
  return value as Tree;
}

function issuePath(issue: z.core.$ZodIssue): string {
  return issue.path.map(String).join('.');
}

/**
 * Parses the file, environment and flags into an AgentConfig, once. A wrong value throws a
 * ConfigError that names the setting, where it came from (flag, variable or file) and what is
 * allowed.
 */
export function loadAgentConfig(
  flags: ConfigFlags,
  environment: NodeJS.ProcessEnv,
  options: { isRoot?: boolean; hostname?: string } = {},
): AgentConfig {
  const origins = new Map<string, Origin>();
  const merged: Tree = {};
  let fileOrigin: string | undefined;
  const configFile = flags.config ?? environment.CRONFLEET_CONFIG;
  if (configFile !== undefined && configFile !== '') {
    const fromFile = readConfigFile(configFile);
    const walk = (node: Tree, prefix: string) => {
      for (const [key, value] of Object.entries(node)) {
        const keyPath = prefix === '' ? key : `${prefix}.${key}`;
        if (
          typeof value === 'object' &&
          value !== null &&
          !Array.isArray(value) &&
          keyPath !== 'labels' &&
          keyPath !== 'repository.credentials'
        ) {
          walk(value as Tree, keyPath);
        } else {
          setPath(merged, keyPath, value);
          origins.set(keyPath, `${configFile}: ${keyPath}`);
          fileOrigin = configFile;
        }
      }
    };
    walk(fromFile, '');
  }

  const set = (keyPath: string, value: unknown, origin: Origin) => {
    setPath(merged, keyPath, value);
    origins.set(keyPath, origin);
  };
  for (const [variable, keyPath] of Object.entries(environmentVariables)) {
    const text = environment[variable];
    if (text === undefined || text === '') continue;
    if (keyPath === 'labels') {
      set(keyPath, parseLabelPairs(text.split(','), variable), variable);
    } else if (keyPath === 'allowEmpty') {
      const value = booleanWords[text.toLowerCase()];
      if (value === undefined) throw new ConfigError(`${variable}: must be true or false`);
      set(keyPath, value, variable);
    } else {
      set(keyPath, text, variable);
    }
  }
  if (flags.backend !== undefined) set('backendUrl', flags.backend, '--backend');
  if (flags.repo !== undefined) set('repository.url', flags.repo, '--repo');
  for (const ref of ['branch', 'tag', 'commit'] as const) {
    const value = flags[ref];
    if (value === undefined) continue;
    // A ref flag replaces whatever ref the file or environment chose.
    for (const other of ['branch', 'tag', 'commit']) {
      const repository = merged.repository as Tree | undefined;
      if (repository !== undefined) delete repository[other];
    }
    set(`repository.${ref}`, value, `--${ref}`);
  }
  if (flags.path !== undefined) set('repository.path', flags.path, '--path');
  if (flags.stateDir !== undefined) set('stateDir', flags.stateDir, '--state-dir');
  if (flags.scheduler !== undefined) set('scheduler', flags.scheduler, '--scheduler');
  if (flags.label !== undefined && flags.label.length > 0) {
    const existing = (merged.labels as Record<string, string> | undefined) ?? {};
    set('labels', { ...existing, ...parseLabelPairs(flags.label, '--label') }, '--label');
  }
  if (flags.allowEmpty === true) set('allowEmpty', true, '--allow-empty');
  if (flags.logLevel !== undefined) set('logLevel', flags.logLevel, '--log-level');
  if (merged.stateDir === undefined) {
    merged.stateDir = defaultStateDir(environment, options.isRoot);
  }

  const result = AgentConfig.safeParse(merged);
  if (!result.success) {
    const lines = result.error.issues.map((issue) => {
      const keyPath = issuePath(issue);
      const exact = origins.get(keyPath);
      const enclosing = [...origins.entries()].find(([key]) => keyPath.startsWith(`${key}.`));
      const message =
        issue.code === 'unrecognized_keys'
          ? `unknown setting${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((key) => `"${key}"`).join(', ')}; see docs/agent.md for the settings`
          : issue.message;
      if (exact !== undefined) return `${exact}: ${message}`;
      if (enclosing !== undefined) return `${enclosing[1]} (${keyPath}): ${message}`;
      const where = keyPath === '' ? 'configuration' : keyPath;
      return fileOrigin === undefined
        ? `${where}: ${message}`
        : `${fileOrigin}: ${where}: ${message}`;
    });
    throw new ConfigError(`invalid agent configuration:\n  ${lines.join('\n  ')}`);
  }
  const config = result.data;
  const stateDir = path.resolve(config.stateDir);
  return {
    ...config,
    stateDir,
    hostname: config.hostname ?? options.hostname ?? os.hostname(),
    tokenFile: config.tokenFile ?? path.join(stateDir, 'agent-token'),
    repository: {
      ...config.repository,
      ...(config.repository.branch === undefined &&
      config.repository.tag === undefined &&
      config.repository.commit === undefined
        ? { branch: 'main' }
        : {}),
    },
  };
}
