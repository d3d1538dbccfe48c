import { execFile } from 'node:child_process';
import { readFile, readdir, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

import { pino } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

import { GitRepository, type GitSourceOptions } from '../../src/git/gitRepository.js';
import { GitSyncError } from '../../src/git/gitSyncError.js';
import { OutageListener } from '../outageListener.js';
import {
  filesContaining,
  makeTempDir,
  processesExposing,
  readWorkTree,
  removeDir,
  ServedRepository,
} from './gitFixtures.js';
import {
  beforeSideBand,
  callHttpBackend,
  pktLine,
  startGitHttpServer,
  type GitHttpServer,
  type GitHttpServerOptions,
} from './gitHttpServer.js';

const execFileAsync = promisify(execFile);

const PASSWORD = 'pw-7f3a9c2e-correct-horse';
const TOKEN = 'tok-51d2b8e0-battery-staple';

let tempDir: string;
let projectRoot: string;
let served: ServedRepository;
let firstSha: string;
let tipSha: string;
let secretsDir: string;
let caFile: string;
let tls: { key: string; cert: string };
let stateCounter = 0;
const servers: GitHttpServer[] = [];

beforeAll(async () => {
  tempDir = await makeTempDir('git-http');
  projectRoot = path.join(tempDir, 'server');
  served = await ServedRepository.create(projectRoot);
  firstSha = await served.commit({ 'jobs/a.yaml': 'a: 1\n' });
  tipSha = await served.commit({ 'jobs/a.yaml': 'a: 2\n' });
  secretsDir = path.join(tempDir, 'secrets');
  await execFileAsync('mkdir', ['-p', secretsDir]);
  await writeFile(path.join(secretsDir, 'password'), `${PASSWORD}\n`, { mode: 0o600 });
  await writeFile(path.join(secretsDir, 'token'), TOKEN, { mode: 0o600 });
  await writeFile(path.join(secretsDir, 'wrong'), 'not-the-password\n', { mode: 0o600 });
  ({ caFile, tls } = await makeCertificates(path.join(tempDir, 'tls')));
});

afterAll(async () => {
  await removeDir(tempDir);
});

afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function serve(options: Partial<GitHttpServerOptions> = {}): Promise<GitHttpServer> {
  const server = await startGitHttpServer({ projectRoot, ...options });
  servers.push(server);
  return server;
}

function newStateDir(): string {
  stateCounter += 1;
  return path.join(tempDir, `state-${stateCounter}`);
}

function repository(
  url: string,
  stateDir: string,
  overrides: Partial<GitSourceOptions> = {},
): GitRepository {
  return new GitRepository({
    url,
    ref: { kind: 'branch', name: 'main' },
    checkoutDir: path.join(stateDir, 'repository'),
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

function captureLogs(): { logger: pino.Logger; text: () => string } {
  const lines: string[] = [];
  return {
    logger: pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) }),
    text: () => lines.join(''),
  };
}

/** A throwaway CA and a server certificate for 127.0.0.1 signed by it. */
async function makeCertificates(dir: string): Promise<{
  caFile: string;
  tls: { key: string; cert: string };
}> {
  await execFileAsync('mkdir', ['-p', dir]);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  const run = (args: string[]) => execFileAsync('openssl', args, { cwd: dir });
  await run([
    'req',
    '-x509',
    ...ec,
    '-keyout',
    'ca.key',
    '-out',
    'ca.pem',
    '-days',
    '2',
    '-subj',
    '/CN=cronfleet test CA',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
  ]);
  await run([
    'req',
    ...ec,
    '-keyout',
    'server.key',
    '-out',
    'server.csr',
    '-subj',
    '/CN=127.0.0.1',
  ]);
  await writeFile(path.join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\n');
  await run([
    'x509',
    '-req',
    '-in',
    'server.csr',
    '-CA',
    'ca.pem',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-out',
    'server.pem',
    '-days',
    '2',
    '-extfile',
    'ext.cnf',
  ]);
  return {
    caFile: path.join(dir, 'ca.pem'),
    tls: {
      key: await readFile(path.join(dir, 'server.key'), 'utf8'),
      cert: await readFile(path.join(dir, 'server.pem'), 'utf8'),
    },
  };
}

describe('GitRepository over smart HTTP', () => {
  it('authenticates with basic credentials through askpass, exposing the password nowhere', async () => {
    const exposures: string[] = [];
    const server = await serve({
      auth: { username: 'deploy', password: PASSWORD },
      // While git and its helpers run, no process may carry the secret in argv or environment.
      onAuthorized: async () => void exposures.push(...(await processesExposing(PASSWORD))),
    });
    const stateDir = newStateDir();
    const logs = captureLogs();
    const repo = repository(`${server.baseUrl}/origin.git`, stateDir, {
      credentials: {
        kind: 'basic',
        username: 'deploy',
        passwordFile: path.join(secretsDir, 'password'),
      },
      logger: logs.logger,
    });

    const result = await repo.sync();
    expect(result.revision).toBe(tipSha);
    expect(await readWorkTree(result.workTree)).toEqual({ 'jobs/a.yaml': 'a: 2\n' });
    expect((await repo.sync()).changed).toBe(false);

    // git first asked anonymously, was refused, then answered with the password from the file.
    expect(server.requests[0]?.status).toBe(401);
    const authorized = server.requests.filter((request) => request.status === 200);
    expect(authorized.length).toBeGreaterThanOrEqual(2);
    expect(exposures).toEqual([]);
    expect(await filesContaining(stateDir, PASSWORD)).toEqual([]);
    expect(await readFile(path.join(stateDir, 'repository', '.git', 'config'), 'utf8')).not.toMatch(
      /deploy|127\.0\.0\.1|credential/,
    );
    expect(logs.text()).toContain('"msg":"git command"');
    expect(logs.text()).not.toContain(PASSWORD);
  });

  it('authenticates with a token file (username x-access-token) and follows new commits', async () => {
    const server = await serve({ auth: { username: 'x-access-token', password: TOKEN } });
    const stateDir = newStateDir();
    const repo = repository(`${server.baseUrl}/origin.git`, stateDir, {
      credentials: { kind: 'token', tokenFile: path.join(secretsDir, 'token') },
    });
    expect((await repo.sync()).revision).toBe(tipSha);
    const next = await served.commit({ 'jobs/b.yaml': 'b: 1\n' });
    expect(await repo.sync()).toMatchObject({
      revision: next,
      previousRevision: tipSha,
      changed: true,
    });
    tipSha = next;
    expect(await filesContaining(stateDir, TOKEN)).toEqual([]);
  });

  it('reports refused credentials as stalled without quoting any secret', async () => {
    const server = await serve({ auth: { username: 'deploy', password: PASSWORD } });
    const stateDir = newStateDir();
    const url = `${server.baseUrl}/origin.git`;
    const wrong = await syncError(
      repository(url, stateDir, {
        credentials: {
          kind: 'basic',
          username: 'deploy',
          passwordFile: path.join(secretsDir, 'wrong'),
        },
      }).sync(),
    );
    expect(wrong.kind).toBe('stalled');
    expect(wrong.reason).toBe('auth-refused');
    expect(wrong.message).toBe(
      `cloning branch "main" of ${url} into ${path.join(stateDir, 'repository')} failed at ` +
        '"git fetch": check the configured credentials (token, password or SSH key file) and ' +
        "that they grant read access to this repository. git said: fatal: Authentication failed for '" +
        `${url}/'`,
    );
    const everything = `${wrong.message} ${String((wrong.cause as Error).message)}`;
    expect(everything).not.toContain('not-the-password');
    expect(everything).not.toContain(PASSWORD);
    expect(await readdir(stateDir)).toEqual(['.repository.git-home']);

    const anonymous = await syncError(repository(url, newStateDir()).sync());
    expect(anonymous.reason).toBe('auth-refused');
    expect(anonymous.message).toContain('terminal prompts disabled');
  });

  it('finds a pinned commit when a protocol v0 server refuses to send it by SHA', async () => {
    const server = await serve({ protocolV2: false });
    const logs = captureLogs();
    const repo = repository(`${server.baseUrl}/origin.git`, newStateDir(), {
      ref: { kind: 'commit', name: firstSha },
      logger: logs.logger,
    });
    const result = await repo.sync();
    expect(result.revision).toBe(firstSha);
    expect(await readWorkTree(result.workTree)).toEqual({ 'jobs/a.yaml': 'a: 1\n' });
    expect(logs.text()).toContain('the server refused to send the commit by SHA');
    // Pinned and present: the next sync does not even fetch.
    const requestsBefore = server.requests.length;
    expect((await repo.sync()).changed).toBe(false);
    expect(server.requests.length).toBe(requestsBefore);
  });

  it('trusts an HTTPS server signed by a custom CA only with caFile', async () => {
    const server = await serve({ tls });
    const url = `${server.baseUrl}/origin.git`;
    const untrusted = await syncError(repository(url, newStateDir()).sync());
    expect(untrusted.kind).toBe('stalled');
    expect(untrusted.reason).toBe('tls');
    expect(untrusted.message).toContain('set caFile to the CA bundle');

    const stateDir = newStateDir();
    const result = await repository(url, stateDir, { caFile }).sync();
    expect(result.revision).toBe(tipSha);
    // The CA setting is passed per command, never written to the repository's config.
    expect(
      await readFile(path.join(stateDir, 'repository', '.git', 'config'), 'utf8'),
    ).not.toContain('sslCAInfo');
  });

  it('reports a server that is down as transient', async () => {
    // A port this test holds, whose every connection is reset: no other process can take it.
    const down = await OutageListener.listen();
    try {
      const error = await syncError(repository(`${down.url}/origin.git`, newStateDir()).sync());
      expect(error.kind).toBe('transient');
      expect(error.reason).toBe('network');
      expect(error.message).toMatch(
        /Failed to connect|Connection reset by peer|Recv failure|Empty reply from server/,
      );
    } finally {
      await down.close();
    }
  });

  it('kills a fetch at the deadline although the server keeps trickling progress', async () => {
    const server = await serve({
      uploadPack: (request, response) => {
        void callHttpBackend(request, { projectRoot }).then((answer) => {
          const negotiation = beforeSideBand(answer.body);
          response.writeHead(200, { 'Content-Type': 'application/x-git-upload-pack-result' });
          if (negotiation.length === answer.body.length) {
            response.end(answer.body);
            return;
          }
          response.write(negotiation);
          let tick = 0;
          const timer = setInterval(() => {
            tick += 1;
            response.write(
              pktLine(Buffer.concat([Buffer.from([2]), Buffer.from(`working ${tick}\r`)])),
            );
          }, 100);
          response.on('close', () => clearInterval(timer));
        });
      },
    });
    const port = new URL(server.baseUrl).port;
    const stateDir = newStateDir();
    const started = performance.now();
    const error = await syncError(
      repository(`${server.baseUrl}/origin.git`, stateDir, {
        timeoutMs: 1_500,
        stallTimeoutMs: 1_000,
      }).sync(),
    );
    const elapsed = performance.now() - started;
    expect(error.kind).toBe('transient');
    expect(error.reason).toBe('deadline');
    expect(error.message).toContain('did not finish within the 1500 ms deadline (timeoutMs)');
    expect(elapsed).toBeGreaterThanOrEqual(1_500);
    expect(elapsed).toBeLessThan(5_000);
    // git, git-remote-http and fetch-pack are gone; nothing half-cloned is left.
    expect(await processesExposing(`127.0.0.1:${port}`)).toEqual([]);
    expect(await readdir(stateDir)).toEqual(['.repository.git-home']);
  });

  it('kills a fetch that makes no progress at the stall timeout', async () => {
    const server = await serve({
      uploadPack: (request) => void request.resume(), // never answers
    });
    const port = new URL(server.baseUrl).port;
    const stateDir = newStateDir();
    const started = performance.now();
    const error = await syncError(
      repository(`${server.baseUrl}/origin.git`, stateDir, {
        timeoutMs: 20_000,
        stallTimeoutMs: 800,
      }).sync(),
    );
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(error.kind).toBe('transient');
    expect(error.reason).toBe('stall-timeout');
    expect(error.message).toContain(
      'it printed nothing for 800 ms (stall timeout, stallTimeoutMs)',
    );
    expect(await processesExposing(`127.0.0.1:${port}`)).toEqual([]);
    await expect(stat(path.join(stateDir, 'repository'))).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
