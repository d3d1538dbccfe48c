import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

import type { GitTransport } from './gitUrl.js';

/**
 * How the agent authenticates git without a secret ever reaching a URL, `.git/config`, a process
 * argument, the environment or a log (DESIGN.md, Security):
 * - HTTPS token or basic: GIT_ASKPASS names a fixed script that reads the secret file whose
 *   *path* the child environment carries; only that script ever reads the secret.
 * - SSH: GIT_SSH_COMMAND with one key, pinned known_hosts and StrictHostKeyChecking=yes.
 * Every git child also runs with no system or global configuration (GIT_CONFIG_NOSYSTEM,
 * GIT_CONFIG_GLOBAL=/dev/null, HOME in an agent-owned directory), no terminal prompt, the C
 * locale (its messages are classified), GIT_ALLOW_PROTOCOL limited to the URL's transport and
 * GIT_CEILING_DIRECTORIES at the checkout's parent.
 */
export type GitCredentials =
  /** An HTTPS access token; `username` defaults to `x-access-token` (GitHub, Gitea accept any). */
  | { kind: 'token'; tokenFile: string; username?: string }
  /** HTTPS basic authentication. */
  | { kind: 'basic'; username: string; passwordFile: string }
  /** An SSH private key; the server's host key must be in `knownHostsFile`. */
  | { kind: 'ssh'; privateKeyFile: string; knownHostsFile: string };

export const DEFAULT_TOKEN_USERNAME = 'x-access-token';

/** Variables taken from the agent's own environment; every other one (GIT_* too) is dropped. */
const INHERITED_VARIABLES = [
  'PATH',
  'TMPDIR',
  'SYSTEMROOT',
  'http_proxy',
  'https_proxy',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'all_proxy',
  'ALL_PROXY',
  'no_proxy',
  'NO_PROXY',
] as const;

const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The variable that carries the secret file's path to the askpass script. */
export const ASKPASS_SECRET_FILE_VARIABLE = 'CRONFLEET_GIT_SECRET_FILE';
/** The variable that carries the user name to the askpass script. */
export const ASKPASS_USERNAME_VARIABLE = 'CRONFLEET_GIT_USERNAME';

/**
 * git calls the askpass program with a prompt ("Username for …" or "Password for …") and reads
 * the answer from its stdout. The script uses shell builtins only, so the secret is never in the
 * arguments of another process; git keeps the first line of the answer.
 */
export const ASKPASS_SCRIPT = `#!/bin/sh
# Written by cronfleet-agent: answers git's credential prompts from files. Holds no secret.
case "$1" in
  Username*|username*) printf '%s\\n' "$${ASKPASS_USERNAME_VARIABLE}" ;;
  *)
    if [ -z "$${ASKPASS_SECRET_FILE_VARIABLE}" ] || [ ! -r "$${ASKPASS_SECRET_FILE_VARIABLE}" ]; then
      echo "cronfleet askpass: the secret file is not readable" >&2
      exit 1
    fi
    IFS= read -r secret < "$${ASKPASS_SECRET_FILE_VARIABLE}" || [ -n "$secret" ]
    printf '%s\\n' "$secret"
    ;;
esac
`;

export const ASKPASS_FILE_NAME = 'askpass.sh';

/** Quotes a word for POSIX sh, which is how git runs GIT_SSH_COMMAND. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * A file name as the value of an ssh `-o` option: ssh splits option values on whitespace
 * (honouring double quotes and backslash escapes) and expands `%` tokens in these paths.
 */
export function sshOptionPath(file: string): string {
  return `"${file.replace(/[\\"]/g, '\\$&').replace(/%/g, '%%')}"`;
}

/**
 * The GIT_SSH_COMMAND for a key and a pinned known_hosts file (absolute paths without control
 * characters). `-F /dev/null` keeps the user's ssh configuration out; the agent and other
 * identities are not offered; BatchMode turns every prompt (passphrase, unknown host) into a
 * failure instead of a hang. The key is given as `-o IdentityFile`, not `-i`, because `-i`
 * checks the unexpanded name while ssh later expands `%` in it.
 */
export function sshCommand(credentials: {
  privateKeyFile: string;
  knownHostsFile: string;
}): string {
  return [
    'ssh',
    '-F',
    '/dev/null',
    '-o',
    shellQuote(`IdentityFile=${sshOptionPath(credentials.privateKeyFile)}`),
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'IdentityAgent=none',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    shellQuote(`UserKnownHostsFile=${sshOptionPath(credentials.knownHostsFile)}`),
    '-o',
    'GlobalKnownHostsFile=/dev/null',
    '-o',
    'UpdateHostKeys=no',
    '-o',
    'BatchMode=yes',
    '-o',
    'PasswordAuthentication=no',
    '-o',
    'KbdInteractiveAuthentication=no',
  ].join(' ');
}

const ALLOWED_PROTOCOLS: Readonly<Record<GitTransport, string>> = {
  https: 'https',
  // An http:// server may redirect to https://, never the other way round.
  http: 'http:https',
  ssh: 'ssh',
  git: 'git',
  file: 'file',
};

export interface GitEnvironmentInput {
  /** The agent's environment as its config module read it; only INHERITED_VARIABLES are used. */
  inherited: Readonly<Record<string, string | undefined>> | undefined;
  /** Agent-owned directory used as HOME; holds the askpass script. */
  homeDir: string;
  /**
   * The directory that holds the checkout (and its temporary clones). git never looks above it
   * for a repository, so a checkout whose `.git` is damaged can never make `reset --hard` or
   * `clean -ffdx` act on an enclosing repository.
   */
  ceilingDir: string;
  transport: GitTransport;
  credentials: GitCredentials | undefined;
}

/** The complete environment of every git child process. */
export function gitEnvironment(input: GitEnvironmentInput): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_VARIABLES) {
    const value = input.inherited?.[name];
    if (value !== undefined) env[name] = value;
  }
  env.PATH ??= DEFAULT_PATH;
  Object.assign(env, {
    HOME: input.homeDir,
    XDG_CONFIG_HOME: input.homeDir,
    LC_ALL: 'C',
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_ALLOW_PROTOCOL: ALLOWED_PROTOCOLS[input.transport],
    GIT_CEILING_DIRECTORIES: input.ceilingDir,
  });
  const credentials = input.credentials;
  if (credentials?.kind === 'token' || credentials?.kind === 'basic') {
    env.GIT_ASKPASS = path.join(input.homeDir, ASKPASS_FILE_NAME);
    env[ASKPASS_USERNAME_VARIABLE] =
      credentials.kind === 'token'
        ? (credentials.username ?? DEFAULT_TOKEN_USERNAME)
        : credentials.username;
    env[ASKPASS_SECRET_FILE_VARIABLE] =
      credentials.kind === 'token' ? credentials.tokenFile : credentials.passwordFile;
  } else if (credentials?.kind === 'ssh') {
    env.GIT_SSH_COMMAND = sshCommand(credentials);
    env.GIT_SSH_VARIANT = 'ssh';
  }
  return env;
}

/**
 * The `-c` settings given to every git command: they live on the command line, never in
 * `.git/config`. `credential.helper=` empties the helper list so no helper stores the secret;
 * `gc.autoDetach=false` keeps the automatic gc inside the timed, killable git process.
 */
export function gitConfigArguments(caFile: string | undefined): string[] {
  const config = ['credential.helper=', 'gc.autoDetach=false', 'core.logAllRefUpdates=false'];
  if (caFile !== undefined) config.push(`http.sslCAInfo=${caFile}`);
  return config;
}

/** Creates the agent's git HOME (mode 0700) and (re)writes the askpass script when it differs. */
export async function prepareGitHome(homeDir: string): Promise<void> {
  await mkdir(homeDir, { recursive: true, mode: 0o700 });
  await chmod(homeDir, 0o700);
  const script = path.join(homeDir, ASKPASS_FILE_NAME);
  const current = await readFile(script, 'utf8').catch(() => undefined);
  if (current === ASKPASS_SCRIPT) return;
  const temporary = `${script}.${process.pid}.tmp`;
  await writeFile(temporary, ASKPASS_SCRIPT, { mode: 0o700 });
  await rename(temporary, script);
}
