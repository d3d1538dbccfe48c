import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import { once } from 'node:events';
import { createServer, type AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

import { afterAll, beforeAll, expect, it } from 'vitest';

import { GitRepository, type GitSourceOptions } from '../../src/git/gitRepository.js';
import { GitSyncError } from '../../src/git/gitSyncError.js';
import { describeNeeding, executable, runningAsRoot } from '../requireRoot.js';
import { makeTempDir, readWorkTree, removeDir, ServedRepository } from './gitFixtures.js';

/**
 * Git over SSH against a real sshd started by the test on 127.0.0.1, with the server's host key
 * pinned in a known_hosts file. sshd must run as root (privilege separation) and comes from
 * Debian's openssh-server package; CI runs as root and installs it.
 */
const execFileAsync = promisify(execFile);
const SSHD = '/usr/sbin/sshd';

let tempDir: string;
let served: ServedRepository;
let tipSha: string;
let sshd: { port: number; stop: () => Promise<void> } | undefined;
let port: number;
let keyFile: string;
let strangerKeyFile: string;
let knownHosts: string;
let wrongKnownHosts: string;
let stateCounter = 0;

/**
 * sshd in inetd mode (`sshd -i`) behind a listener that the test binds on port 0: each
 * connection gets its own sshd on that socket. The port is the listener's from the start, so
 * there is no window in which another process could take it (as there is when a free port is
 * probed and then handed to a daemon to bind).
 */
async function startSshd(config: string): Promise<{ port: number; stop: () => Promise<void> }> {
  const sessions = new Set<ChildProcess>();
  let errors = '';
  const server = createServer({ pauseOnConnect: true }, (socket) => {
    const session = spawn(SSHD, ['-i', '-e', '-f', config], { stdio: [socket, socket, 'pipe'] });
    // The child has its own copy of the socket.
    socket.destroy();
    sessions.add(session);
    session.stderr?.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    session.once('exit', () => sessions.delete(session));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    stop: async () => {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.kill('SIGTERM');
      if (errors.trim() !== '') process.stderr.write(`sshd said: ${errors}`);
    },
  };
}

async function keygen(file: string): Promise<string> {
  await execFileAsync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'test', '-f', file]);
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

describeNeeding(
  [runningAsRoot, executable(SSHD, 'openssh-server')],
  'GitRepository over SSH (a local sshd: root and openssh-server)',
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

      const config = path.join(sshDir, 'sshd_config');
      await writeFile(
        config,
        [
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
      sshd = await startSshd(config);
      port = sshd.port;
      const [hostKeyType, hostKeyData] = hostKey.split(' ');
      const [otherType, otherData] = otherHostKey.split(' ');
      knownHosts = path.join(keysDir, 'known_hosts');
      wrongKnownHosts = path.join(keysDir, 'wrong_known_hosts');
      await writeFile(knownHosts, `[127.0.0.1]:${port} ${hostKeyType} ${hostKeyData}\n`);
      await writeFile(wrongKnownHosts, `[127.0.0.1]:${port} ${otherType} ${otherData}\n`);
    });

    afterAll(async () => {
      await sshd?.stop();
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
        // Deadlines only against a git that hangs: well past a slow fetch on a busy machine.
        timeoutMs: 50_000,
        stallTimeoutMs: 40_000,
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
