import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import {
  ASKPASS_FILE_NAME,
  ASKPASS_SCRIPT,
  gitConfigArguments,
  gitEnvironment,
  prepareGitHome,
  shellQuote,
  sshCommand,
} from './gitProcessEnvironment.js';

const execFileAsync = promisify(execFile);

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-gitenv-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sshCommand', () => {
  it('pins the key and the known_hosts file, with strict host key checking', () => {
    expect(
      sshCommand({
        privateKeyFile: '/etc/cronfleet/id_ed25519',
        knownHostsFile: '/etc/cronfleet/kh',
      }),
    ).toBe(
      'ssh -F /dev/null -o \'IdentityFile="/etc/cronfleet/id_ed25519"\' -o IdentitiesOnly=yes ' +
        '-o IdentityAgent=none -o StrictHostKeyChecking=yes -o \'UserKnownHostsFile="/etc/cronfleet/kh"\' ' +
        '-o GlobalKnownHostsFile=/dev/null -o UpdateHostKeys=no -o BatchMode=yes ' +
        '-o PasswordAuthentication=no -o KbdInteractiveAuthentication=no',
    );
  });

  it('survives sh and ssh parsing for paths with spaces, quotes, backslashes, $ and %', async () => {
    const key = `/keys/it's "a" \\ $(touch x) 50%/id`;
    const knownHosts = `/keys/known hosts ' " %h`;
    // ssh -G prints the configuration as ssh resolved it, after the shell and its own parser.
    const { stdout } = await execFileAsync('sh', [
      '-c',
      `${sshCommand({ privateKeyFile: key, knownHostsFile: knownHosts })} -G example.com`,
    ]);
    const resolved = stdout.split('\n');
    expect(resolved).toContain(`userknownhostsfile ${knownHosts}`);
    // IdentityFile is printed before ssh expands %-tokens (%% becomes % when it connects).
    expect(resolved).toContain(`identityfile ${key.replace('%', '%%')}`);
    expect(resolved).toContain('stricthostkeychecking true');
    expect(resolved).toContain('identitiesonly yes');
    expect(resolved).toContain('batchmode yes');
  });

  it('quotes words for sh', () => {
    expect(shellQuote("a'b")).toBe(`'a'\\''b'`);
  });
});

describe('gitEnvironment', () => {
  it('keeps only PATH and proxies of the agent environment and points askpass at the files', () => {
    const env = gitEnvironment({
      inherited: {
        PATH: '/opt/bin:/usr/bin',
        HTTPS_PROXY: 'http://proxy:3128',
        GIT_DIR: '/elsewhere',
        GIT_SSH_COMMAND: 'evil',
        HOME: '/root',
        SECRET: 'nope',
      },
      homeDir: '/var/lib/cronfleet/.repository.git-home',
      ceilingDir: '/var/lib/cronfleet',
      transport: 'https',
      credentials: { kind: 'token', tokenFile: '/etc/cronfleet/token' },
    });
    expect(env).toEqual({
      PATH: '/opt/bin:/usr/bin',
      HTTPS_PROXY: 'http://proxy:3128',
      HOME: '/var/lib/cronfleet/.repository.git-home',
      XDG_CONFIG_HOME: '/var/lib/cronfleet/.repository.git-home',
      LC_ALL: 'C',
      GIT_TERMINAL_PROMPT: '0',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_ALLOW_PROTOCOL: 'https',
      GIT_CEILING_DIRECTORIES: '/var/lib/cronfleet',
      GIT_ASKPASS: '/var/lib/cronfleet/.repository.git-home/askpass.sh',
      CRONFLEET_GIT_USERNAME: 'x-access-token',
      CRONFLEET_GIT_SECRET_FILE: '/etc/cronfleet/token',
    });
  });

  it('sets GIT_SSH_COMMAND for ssh and a default PATH', () => {
    const env = gitEnvironment({
      inherited: undefined,
      homeDir: '/h',
      ceilingDir: '/',
      transport: 'ssh',
      credentials: { kind: 'ssh', privateKeyFile: '/k', knownHostsFile: '/kh' },
    });
    expect(env.PATH).toBe('/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
    expect(env.GIT_SSH_COMMAND).toBe(sshCommand({ privateKeyFile: '/k', knownHostsFile: '/kh' }));
    expect(env.GIT_ASKPASS).toBeUndefined();
    expect(env.GIT_ALLOW_PROTOCOL).toBe('ssh');
  });

  it('passes the CA bundle per command', () => {
    expect(gitConfigArguments('/etc/ssl/ca.pem')).toEqual([
      'credential.helper=',
      'gc.autoDetach=false',
      'core.logAllRefUpdates=false',
      'http.sslCAInfo=/etc/ssl/ca.pem',
    ]);
  });
});

describe('the askpass script', () => {
  it('answers the username and the first line of the secret file', async () => {
    await prepareGitHome(path.join(dir, 'home'));
    const script = path.join(dir, 'home', ASKPASS_FILE_NAME);
    expect(await readFile(script, 'utf8')).toBe(ASKPASS_SCRIPT);
    expect((await stat(script)).mode & 0o777).toBe(0o700);
    expect((await stat(path.join(dir, 'home'))).mode & 0o777).toBe(0o700);
    await writeFile(path.join(dir, 'secret'), "s3cr3t 'with' $(quotes)\nsecond line\n");
    const env = {
      PATH: '/usr/bin:/bin',
      CRONFLEET_GIT_USERNAME: 'deploy',
      CRONFLEET_GIT_SECRET_FILE: path.join(dir, 'secret'),
    };
    const ask = (prompt: string) => execFileAsync(script, [prompt], { env });
    expect((await ask("Username for 'https://example.com': ")).stdout).toBe('deploy\n');
    expect((await ask("Password for 'https://deploy@example.com': ")).stdout).toBe(
      "s3cr3t 'with' $(quotes)\n",
    );
    await writeFile(path.join(dir, 'secret'), 'no-final-newline');
    expect((await ask('Password: ')).stdout).toBe('no-final-newline\n');
    await rm(path.join(dir, 'secret'));
    await expect(ask('Password: ')).rejects.toMatchObject({
      code: 1,
      stderr: 'cronfleet askpass: the secret file is not readable\n',
    });
  });
});
