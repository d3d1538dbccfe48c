import { mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { pruneRunLogs, RunLogFile, runLogDirectory } from './runLogFile.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-run-log-'));
});
afterEach(() => rm(root, { recursive: true, force: true }));

describe('RunLogFile', () => {
  it('writes the whole output, mode 0600, and stops at the byte budget with a note', async () => {
    const file = path.join(runLogDirectory(root, 'team', 'job'), 'run.log');
    const warnings: string[] = [];
    const log = RunLogFile.create(file, 10, (message) => warnings.push(message));
    log.write(Buffer.from('12345'));
    log.write(Buffer.from('67890abc'));
    log.write(Buffer.from('more'));
    log.note('timed out');
    log.close();
    expect(await readFile(file, 'utf8')).toBe(
      '1234567890\n[cronfleet] log stopped after 10 bytes (the per-job budget)\n[cronfleet] timed out\n',
    );
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(log.bytesWritten).toBe(10);
    expect(warnings).toEqual([]);
  });

  it('goes on without a log, after one warning, when the file cannot be created', () => {
    const blocker = path.join(root, 'not-a-dir');
    const warnings: string[] = [];
    return writeFile(blocker, '').then(() => {
      const log = RunLogFile.create(path.join(blocker, 'x.log'), 100, (m) => warnings.push(m));
      log.write(Buffer.from('output'));
      log.close();
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /not-a-dir is not a directory; .*Move it away .*\. This run's output is not logged$/,
      );
    });
  });
});

describe('pruneRunLogs', () => {
  async function logs(sizes: number[]): Promise<string[]> {
    // Oldest first: log-0 is the oldest.
    const files: string[] = [];
    for (const [index, size] of sizes.entries()) {
      const file = path.join(root, `log-${index}.log`);
      await writeFile(file, Buffer.alloc(size, 0x61));
      const time = new Date(Date.UTC(2026, 0, 1, 0, index));
      await utimes(file, time, time);
      files.push(file);
    }
    return files;
  }
  const left = async () => (await readdir(root)).sort();

  it('keeps the newest keepRuns logs', async () => {
    await logs([1, 1, 1, 1, 1]);
    await writeFile(path.join(root, 'other.txt'), 'not a log');
    const removed = await pruneRunLogs(root, { keepRuns: 3, maxBytesPerJob: 1000 });
    expect(removed.map((file) => path.basename(file)).sort()).toEqual(['log-0.log', 'log-1.log']);
    expect(await left()).toEqual(['log-2.log', 'log-3.log', 'log-4.log', 'other.txt']);
  });

  it('keeps the newest logs that fit in the byte budget, and nothing older', async () => {
    await logs([10, 10, 50, 30, 20]);
    await pruneRunLogs(root, { keepRuns: 10, maxBytesPerJob: 60 });
    // 20 + 30 fit; 50 does not; the older 10s go as well although they would fit.
    expect(await left()).toEqual(['log-3.log', 'log-4.log']);
  });

  it('always keeps the logs of the run just finished', async () => {
    const files = await logs([100, 100]);
    await pruneRunLogs(root, { keepRuns: 1, maxBytesPerJob: 10 }, new Set([files[0] ?? '']));
    expect(await left()).toEqual(['log-0.log']);
  });

  it('does nothing for a job without logs', async () => {
    expect(await pruneRunLogs(path.join(root, 'none'), { keepRuns: 1, maxBytesPerJob: 1 })).toEqual(
      [],
    );
  });
});
