import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { GitRepository, type GitSourceOptions } from '../../src/git/gitRepository.js';
import { GitSyncError } from '../../src/git/gitSyncError.js';
import { makeTempDir, readWorkTree, removeDir, ServedRepository } from './gitFixtures.js';

/**
 * Git over SSH against a real sshd started by the test on 127.0.0.1, with the server's host key
 * pinned in a known_hosts file. sshd must run as root (privilege separation) and comes from
 * Debian's openssh-server package; CI runs as root and installs it.
 */
const execFileAsync = promisify(execFile);
const SSHD = '/usr/sbin/sshd';
const isRoot = process.getuid?.() === 0;
const canRunSshd = isRoot && existsSync(SSHD);

let tempDir: string;
let served: ServedRepository;
let tipSha: string;
let sshd: ChildProcess | undefined;
let port: number;
let keyFile: string;
let strangerKeyFile: string;
let knownHosts: string;
let wrongKnownHosts: string;
let stateCounter = 0;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port: free } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return free;
}

async function waitForPort(target: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(target, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(true);
      });
      socket.once('error', () => resolve(false));
    });
    if (open) return;
    if (Date.now() > deadline) throw new Error(`sshd did not listen on port ${target}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function keygen(file: string): Promise<string> {
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', file]);
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

describe.skipIf(!canRunSshd)(
  'GitRepository over SSH (needs root and openssh-server for a local sshd)',
  () => {
    beforeAll(async () => {
      tempDir = await makeTempDir('git-ssh');
      served = await ServedRepository.create(path.join(tempDir, 'server'));
      tipSha = await served.commit({ 'jobs/a.yaml': 'a: 1\n' });
      const sshDir = path.join(tempDir, 'sshd');
      // Spaces, quotes and % in the path: GIT_SSH_COMMAND must quote them for sh and for ssh.
      const keysDir = path.join(tempDir, 'client keys/it\'s "50%"');
      await mkdir(sshDir, { recursive: true });
      await mkdir(keysDir, { recursive: true });
      const hostKey = await keygen(path.join(sshDir, 'host_key'));
      const otherHostKey = await keygen(path.join(sshDir, 'other_host_key'));
      keyFile = path.join(keysDir, 'id_ed25519');
      const clientKey = await keygen(keyFile);
      strangerKeyFile = path.join(keysDir, 'stranger');
      await keygen(strangerKeyFile);
      await writeFile(path.join(sshDir, 'authorized_keys'), `${clientKey}\n`, { mode: 0o600 });

      port = await freePort();
      const [hostKeyType, hostKeyData] = hostKey.split(' ');
      const [otherType, otherData] = otherHostKey.split(' ');
      knownHosts = path.join(keysDir, 'known_hosts');
      wrongKnownHosts = path.join(keysDir, 'wrong_known_hosts');
      await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostKeyType} ${hostKeyData}\n`);
      await writeFile(wrongKnownHosts, `[127.0.0.1]:${port} ${otherType} ${otherData}\n`);

      const config = path.join(sshDir, 'sshd_config');
      await writeFile(
        config,
        [
          `Port ${port}`,
          'ListenAddress 127.0.0.1',
          `HostKey ${path.join(sshDir, 'host_key')}`,
          `PidFile ${path.join(sshDir, 'sshd.pid')}`,
          `AuthorizedKeysFile ${path.join(sshDir, 'authorized_keys')}`,
          'StrictModes no',
          'UsePAM no',
          'PasswordAuthentication no',
          'KbdInteractiveAuthentication no',
          'PubkeyAuthentication yes',
          'PermitRootLogin prohibit-password',
          `AllowUsers ${os.userInfo().username}`,
          'LogLevel ERROR',
          '',
        ].join('\n'),
      );
      // Debian's unit creates the privilege separation directory at boot; so does this test.
      await mkdir('/run/sshd', { recursive: true, mode: 0o755 });
      sshd = spawn(SSHD, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'pipe'] });
      let sshdErrors = '';
      sshd.stderr?.on('data', (chunk: Buffer) => (sshdErrors += chunk.toString()));
      await waitForPort(port, 5_000).catch((error: unknown) => {
        throw new Error(`${String(error)}: ${sshdErrors}`);
      });
    });

    afterAll(async () => {
      if (sshd !== undefined && sshd.exitCode === null) {
        const exited = new Promise((resolve) => sshd?.once('exit', resolve));
        sshd.kill('SIGTERM');
        await exited;
      }
      await removeDir(tempDir);
    });

    function repository(overrides: Partial<GitSourceOptions> = {}): GitRepository {
      stateCounter += 1;
      return new GitRepository({
        url: `ssh://${os.userInfo().username}@127.0.0.1:${port}${served.barePath}`,
        ref: { kind: 'branch', name: 'main' },
        checkoutDir: path.join(tempDir, `state-${stateCounter}`, 'repository'),
        credentials: { kind: 'ssh', privateKeyFile: keyFile, knownHostsFile: knownHosts },
        environment: process.env,
        timeoutMs: 20_000,
        stallTimeoutMs: 10_000,
        ...overrides,
      });
    }

    async function syncError(promise: Promise<unknown>): Promise<GitSyncError> {
      const error = await promise.then(
        () => undefined,
        (caught: unknown) => caught,
      );
      expect(error).toBeInstanceOf(GitSyncError);
      return error as GitSyncError;
    }

    it('clones with the key when the host key matches the pinned one', async () => {
      const repo = repository();
      const result = await repo.sync();
      expect(result.revision).toBe(tipSha);
      expect(await readWorkTree(result.workTree)).toEqual({ 'jobs/a.yaml': 'a: 1\n' });
      expect((await repo.sync()).changed).toBe(false);
      const config = await readFile(path.join(result.workTree, '.git', 'config'), 'utf8');
      expect(config).not.toMatch(/ssh|id_ed25519|known_hosts/);
    });

    it('refuses a server whose host key is not the pinned one, and leaves known_hosts alone', async () => {
      const before = await readFile(wrongKnownHosts, 'utf8');
      const repo = repository({
        credentials: { kind: 'ssh', privateKeyFile: keyFile, knownHostsFile: wrongKnownHosts },
      });
      const error = await syncError(repo.sync());
      expect(error.kind).toBe('stalled');
      expect(error.reason).toBe('host-key');
      expect(error.message).toContain(
        "add the server's host key, verified out of band, to the pinned known_hosts file",
      );
      expect(error.message).toContain('Host key verification failed');
      expect(await readFile(wrongKnownHosts, 'utf8')).toBe(before);
      expect(await readdir(path.dirname(repo.checkoutDir))).toEqual(['.repository.git-home']);
    });

    it('reports a key the server does not accept as stalled', async () => {
      const error = await syncError(
        repository({
          credentials: { kind: 'ssh', privateKeyFile: strangerKeyFile, knownHostsFile: knownHosts },
        }).sync(),
      );
      expect(error.kind).toBe('stalled');
      expect(error.reason).toBe('auth-refused');
      expect(error.message).toContain('Permission denied (publickey)');
    });
  },
);
