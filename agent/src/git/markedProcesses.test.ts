import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';

import { describe, expect, it } from 'vitest';

import { findMarkedProcesses, killMarkedProcesses } from './markedProcesses.js';

const isLinux = process.platform === 'linux';

describe.skipIf(!isLinux)('killMarkedProcesses (Linux /proc)', () => {
  it('kills a process and the children it started, and nothing unmarked', async () => {
    const marker = randomUUID();
    // sh starts two background sleeps and waits: three marked processes.
    const parent = spawn('sh', ['-c', 'sleep 30 & sleep 30 & wait'], {
      env: { PATH: '/usr/bin:/bin', TEST_MARK: marker },
    });
    const bystander = spawn('sleep', ['30'], {
      env: { PATH: '/usr/bin:/bin', TEST_MARK: 'other' },
    });
    try {
      let found: number[] = [];
      for (let i = 0; i < 100 && found.length < 3; i += 1) {
        found = findMarkedProcesses('TEST_MARK', marker);
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(found).toHaveLength(3);
      expect(found).toContain(parent.pid);

      const exited = new Promise((resolve) =>
        parent.on('exit', (_code, signal) => resolve(signal)),
      );
      expect(killMarkedProcesses('TEST_MARK', marker).sort()).toEqual(found.sort());
      expect(await exited).toBe('SIGKILL');
      for (let i = 0; i < 100 && findMarkedProcesses('TEST_MARK', marker).length > 0; i += 1) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(findMarkedProcesses('TEST_MARK', marker)).toEqual([]);
      expect(bystander.exitCode).toBeNull();
      expect(findMarkedProcesses('TEST_MARK', 'other')).toEqual([bystander.pid]);
    } finally {
      parent.kill('SIGKILL');
      bystander.kill('SIGKILL');
    }
  });
});
