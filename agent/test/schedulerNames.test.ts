import { mkdir, readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import { SchedulerBackendName } from '@cronfleet/core/contract';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../src/main.js';
import { schedulerNames } from '../src/scheduler/schedulerRegistry.js';
import { makeTempDir, ServedRepository } from './git/gitFixtures.js';

/**
 * One name per scheduler: every scheduler name the agent prints (a message's advice, `plan
 * --json`, `status --json`, the inventory, the list of choices) is fed back through the command
 * line, which must accept it. Runs in-process against a real repository over file:// and a cron.d
 * directory of its own; `crontab` is only ever named for a user that does not exist.
 */

let root: string;
let served: ServedRepository;

beforeAll(async () => {
  root = await makeTempDir('scheduler-names');
  served = await ServedRepository.create(path.join(root, 'served'));
  await served.commit({
    'ops/jobs.yaml': `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: tidy
spec:
  schedule: '0 3 * * *'
  command: /bin/true
`,
  });
});
afterAll(() => rm(root, { recursive: true, force: true }));

const stateDir = () => path.join(root, 'state');
const cronDir = () => path.join(root, 'cron.d');

async function agent(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await main([...args, '--state-dir', stateDir()], {
    stdout: new Writable({
      write(chunk: Buffer, _encoding, done) {
        stdout += chunk.toString();
        done();
      },
    }),
    stderr: new Writable({
      write(chunk: Buffer, _encoding, done) {
        stderr += chunk.toString();
        done();
      },
    }),
    environment: {
      PATH: process.env.PATH,
      CRONFLEET_CRON_D_DIRECTORY: cronDir(),
      CRONFLEET_CRONTAB_USER: 'cronfleet-no-such-user',
      CRONFLEET_REPO_URL: served.fileUrl,
    },
  });
  return { code, stdout, stderr };
}

/** The command line accepts `name` as a scheduler: no configuration error (exit 2 "must be"). */
async function accepted(name: string): Promise<void> {
  const ran = await agent('status', '--scheduler', name);
  expect(ran.stderr).not.toMatch(/scheduler.*must be one of/);
  expect(ran.code, `status --scheduler ${name}: ${ran.stderr}`).toBe(0);
}

describe('scheduler names', () => {
  it('the registry implements names of core’s contract, and the flag accepts each', async () => {
    for (const name of schedulerNames) {
      expect(SchedulerBackendName.options).toContain(name);
      await accepted(name);
    }
  });

  it('every name a message, plan, status or the inventory prints is accepted back', async () => {
    await mkdir(cronDir(), { recursive: true });
    const printed = new Set<string>();

    const applied = await agent('sync', '--once', '--scheduler', 'cron.d', '--json');
    expect(applied.code).toBe(0);
    printed.add((JSON.parse(applied.stdout) as { plan: { scheduler: string } }).plan.scheduler);

    const plan = await agent('plan', '--scheduler', 'cron.d', '--json');
    printed.add((JSON.parse(plan.stdout) as { scheduler: string }).scheduler);
    const status = await agent('status', '--scheduler', 'cron.d', '--json');
    printed.add((JSON.parse(status.stdout) as { scheduler: string }).scheduler);
    const inventory = JSON.parse(
      await readFile(path.join(stateDir(), 'inventory.json'), 'utf8'),
    ) as { scheduler: string };
    printed.add(inventory.scheduler);

    // The jobs were applied with cron.d; an agent now configured for embedded is told how to
    // remove them, in words it then accepts.
    const switched = await agent('sync', '--once', '--scheduler', 'embedded');
    expect(switched.code).toBe(1);
    const advice = /uninstall --scheduler (\S+?)"/.exec(switched.stdout + switched.stderr);
    expect(advice, switched.stdout + switched.stderr).not.toBeNull();
    printed.add(advice![1]!);

    // The choices a wrong name is answered with.
    const wrong = await agent('status', '--scheduler', 'cron-daemon');
    expect(wrong.code).toBe(2);
    const choices = /must be one of ([^\n]+)/.exec(wrong.stderr)?.[1] ?? '';
    for (const name of choices.split(/,\s*|\s+or\s+/).filter((word) => word !== '')) {
      printed.add(name.trim());
    }

    expect([...printed].sort()).toEqual([...schedulerNames].sort());
    for (const name of printed) await accepted(name);

    const removed = await agent('uninstall', '--scheduler', advice![1]!);
    expect(removed.code, removed.stderr).toBe(0);
    expect(removed.stdout).toBe('Removed 1 job from cron.d:\n  ops/tidy\n');
  });
});
