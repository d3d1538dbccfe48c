import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, ServedRepository } from './git/gitFixtures.js';

/**
 * `sync --once` with the embedded scheduler, as its own process (the built bin): one tick, then
 * the process exits (no croner timer keeps it alive, no job fires), and with nothing changed the
 * second run changes nothing.
 */

const agentBin = fileURLToPath(new URL('../bin/cronfleet-agent.js', import.meta.url));
let root: string;
let served: ServedRepository;
let marker: string;

beforeAll(async () => {
  root = await makeTempDir('embedded-once');
  served = await ServedRepository.create(path.join(root, 'served'));
  marker = path.join(root, 'fired');
  await served.commit({
    'demo/every-minute.yaml': `apiVersion: cronfleet.dev/v1
kind: Job
metadata:
  name: every-minute
spec:
  schedule: '* * * * *'
  command: [touch, ${marker}]
`,
  });
});
afterAll(() => rm(root, { recursive: true, force: true }));

/** Runs the bin to its exit; a process that never exits fails the test at its time limit. */
function syncOnce(): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        agentBin,
        'sync',
        '--once',
        '--scheduler',
        'embedded',
        '--repo',
        served.fileUrl,
        '--state-dir',
        path.join(root, 'state'),
      ],
      { env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('sync --once with the embedded scheduler', () => {
  it('applies, exits without firing, and then finds nothing to change', async () => {
    const first = await syncOnce();
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/^Applied [0-9a-f]{12} \(embedded\): 1 to add/);

    const second = await syncOnce();
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout).toMatch(/^Up to date at [0-9a-f]{12}\.\n$/);
    // Each process ended after its tick: nothing armed a timer that fired the job.
    expect(existsSync(marker)).toBe(false);
  });
});
