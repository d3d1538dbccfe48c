import { describe, expect, it } from 'vitest';
import { GroupCommit } from './groupCommit.js';

/** A writer that records each group it was given and answers after the test lets it. */
function recordingWriter(refuse: (item: number) => boolean = () => false) {
  const groups: number[][] = [];
  const releases: (() => void)[] = [];
  const write = async (items: readonly number[]) => {
    groups.push([...items]);
    await new Promise<void>((resolve) => releases.push(resolve));
    if (items.some(refuse)) throw new Error(`refused ${items.join(',')}`);
    return items.map((item) => item * 10);
  };
  const releaseAll = async () => {
    for (;;) {
      await new Promise((resolve) => setImmediate(resolve));
      const release = releases.shift();
      if (release === undefined) return;
      release();
    }
  };
  return { groups, write, releaseAll };
}

describe('GroupCommit', () => {
  it('writes alone under light load, then groups what queued meanwhile', async () => {
    const writer = recordingWriter();
    const group = new GroupCommit(writer.write, { maxConcurrentWrites: 1 });
    const answers = Promise.all([1, 2, 3, 4].map((item) => group.submit(item)));
    await writer.releaseAll();
    expect(await answers).toEqual([10, 20, 30, 40]);
    expect(writer.groups).toEqual([[1], [2, 3, 4]]);
  });

  it('keeps each write within maxWeightPerWrite, but writes a heavier item alone', async () => {
    const writer = recordingWriter();
    const group = new GroupCommit(writer.write, {
      maxConcurrentWrites: 1,
      maxWeightPerWrite: 5,
      weightOf: (item) => item,
    });
    const answers = Promise.all([1, 2, 2, 3, 9, 1].map((item) => group.submit(item)));
    await writer.releaseAll();
    expect(await answers).toEqual([10, 20, 20, 30, 90, 10]);
    expect(writer.groups).toEqual([[1], [2, 2], [3], [9], [1]]);
  });

  it('retries a refused group one item at a time: only the culprit fails', async () => {
    const writer = recordingWriter((item) => item === 3);
    const group = new GroupCommit(writer.write, { maxConcurrentWrites: 1 });
    const answers = Promise.allSettled([1, 2, 3, 4].map((item) => group.submit(item)));
    await writer.releaseAll();
    const settled = await answers;
    expect(settled.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(writer.groups).toEqual([[1], [2, 3, 4], [2], [3], [4]]);
  });
});
