import { open, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishes, jobSpec, spawnWrapper, TestState } from './runFixtures.js';

/**
 * 100 MB of output through a real wrapper process: the check-in keeps 64 KiB (head and tail),
 * the run log keeps every byte, and the wrapper's peak RSS stays where it is for a tiny output.
 */

const HUNDRED_MB = 100 * 1024 * 1024;

let state: TestState;
beforeAll(async () => {
  state = await TestState.create('large');
  await state.install(
    jobSpec('small', { command: "printf 'BEGIN\\nEND\\n'" }),
    jobSpec('large', {
      command: `printf 'BEGIN\\n'; head -c ${HUNDRED_MB} /dev/zero | tr '\\0' x; printf '\\nEND\\n'`,
    }),
  );
});
afterAll(() => state.remove());

async function runWrapper(name: string): Promise<number> {
  const reportFile = path.join(state.root, `${name}.report.json`);
  const { code, stderr } = await spawnWrapper(state, `test/${name}`, { reportFile }).exited;
  expect([code, stderr]).toEqual([0, '']);
  const report = JSON.parse(await readFile(reportFile, 'utf8')) as { maxRssKb: number };
  return report.maxRssKb * 1024;
}

describe('a large output', () => {
  it('keeps memory constant: 100 MB of output, 64 KiB kept, the whole in the log', async () => {
    const smallRss = await runWrapper('small');
    const largeRss = await runWrapper('large');
    // Proportional memory would add 100 MiB; without PipeMemoryTrimmer it adds ~34 MiB of
    // pipe buffers waiting for a collection; with it, a few MiB.
    const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
    expect(largeRss - smallRss, `peak RSS ${mib(smallRss)} → ${mib(largeRss)}`).toBeLessThan(
      16 * 1024 * 1024,
    );

    const finish = finishes(await state.checkIns()).find((checkIn) => checkIn.name === 'large');
    expect(finish).toMatchObject({ status: 'succeeded', exitCode: 0, outputTruncated: true });
    expect(finish?.outputHead).toBe(`BEGIN\n${'x'.repeat(32_768 - 6)}`);
    expect(finish?.outputTail).toBe(`${'x'.repeat(32_768 - 5)}\nEND\n`);

    const log = path.join(state.stateDir, 'logs', 'test', 'large', `${finish?.runId}.log`);
    const total = 6 + HUNDRED_MB + 5;
    expect((await stat(log)).size).toBe(total);
    const handle = await open(log, 'r');
    try {
      const edges = Buffer.alloc(11);
      await handle.read(edges, 0, 6, 0);
      await handle.read(edges, 6, 5, total - 5);
      expect(edges.toString()).toBe('BEGIN\n\nEND\n');
    } finally {
      await handle.close();
    }
  });
});
