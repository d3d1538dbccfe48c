import { spawn, type ChildProcess } from 'node:child_process';
import { mkdir, readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, ServedRepository } from './git/gitFixtures.js';

/**
 * The daemon (`sync` without --once, the built bin) with a scheduler that keeps what was
 * installed: a tick with nothing to do runs in the daemon, a tick that must plan runs in a process
 * of its own (`sync --once --daemon-tick`), and the daemon follows a new commit and stops cleanly
 * on SIGTERM. The cron.d directory is a temporary one.
 */

const agentBin = fileURLToPath(new URL('../bin/cronfleet-agent.js', import.meta.url));
let root: string;
let served: ServedRepository;

function job(name: string): string {
  return `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: ${name}
spec:
  schedule: '0 3 * * *'
  command: [echo, ${name}]
`;
}

beforeAll(async () => {
  root = await makeTempDir('daemon-planning');
  served = await ServedRepository.create(path.join(root, 'served'));
  await served.commit({ 'ops/first.yaml': job('first') });
});
/** Daemons a test started: killed after it, whatever happened (a failed wait leaves one behind). */
const started: ChildProcess[] = [];
afterAll(async () => {
  for (const child of started) if (child.exitCode === null) child.kill('SIGKILL');
  await rm(root, { recursive: true, force: true });
});

interface LogLine {
  msg: string;
  pid?: number;
  result?: string;
  add?: number;
}

/** Resolves when `check` holds; the test's time limit bounds the wait. */
async function until(check: () => Promise<boolean> | boolean): Promise<void> {
  while (!(await check())) await new Promise((resolve) => setTimeout(resolve, 100));
}

describe('the daemon with the cron.d scheduler', () => {
  it('plans in a child process, idles in its own, follows a commit and stops on SIGTERM', async () => {
    const cronDir = path.join(root, 'cron.d');
    await mkdir(cronDir);
    const child = spawn(
      process.execPath,
      [
        agentBin,
        'sync',
        '--scheduler',
        'cron.d',
        '--repo',
        served.fileUrl,
        '--state-dir',
        path.join(root, 'state'),
        '--log-level',
        'debug',
      ],
      {
        env: {
          PATH: process.env.PATH,
          CRONFLEET_CRON_D_DIRECTORY: cronDir,
          CRONFLEET_POLL_INTERVAL: '1s',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    started.push(child);
    const lines: LogLine[] = [];
    let stdout = '';
    let pending = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const complete = pending.split('\n');
      pending = complete.pop() ?? '';
      for (const line of complete) lines.push(JSON.parse(line) as LogLine);
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    const files = async () => (await readdir(cronDir).catch(() => [] as string[])).sort();
    const logged = (message: string) => lines.filter((line) => line.msg === message);

    await until(async () => (await files()).some((name) => name.endsWith('_ops_first')));
    await until(() => logged('revision and scheduler unchanged; nothing to do').length >= 2);
    const planners = logged('planning tick started in a child process');
    expect(planners).toHaveLength(1);
    // The plan was applied by that child: its pid is not the daemon's, and its log says so.
    expect(planners[0]?.pid).not.toBe(child.pid);
    expect(logged('reconciled')).toMatchObject([{ add: 1 }]);

    await served.commit({ 'ops/second.yaml': job('second') });
    await until(async () => (await files()).some((name) => name.endsWith('_ops_second')));
    expect(logged('planning tick started in a child process')).toHaveLength(2);

    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    // The daemon prints nothing on stdout: the children's summaries went to the daemon only.
    expect(stdout).toBe('');
    expect(await files()).toHaveLength(2);
  });
});
