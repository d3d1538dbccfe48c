import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { bootId, processStartTime } from '../git/repositoryLock.js';
import {
  LiveRunEntry,
  liveRunDirectory,
  liveRunLiveness,
  parseLiveRunRecord,
  readLiveRuns,
  type LiveRunRecord,
  type LiveRunStart,
} from './liveRunRegistry.js';

let stateDir: string;
beforeEach(async () => {
  stateDir = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-live-runs-'));
});
afterEach(() => rm(stateDir, { recursive: true, force: true }));

const runId = '6f9619ff-8b86-4d01-b42d-00cf4fc964ff';

function run(overrides: Partial<LiveRunStart> = {}): LiveRunStart {
  return {
    runId,
    namespace: 'ops',
    name: 'backup',
    attempt: 1,
    trigger: 'scheduled',
    manual: false,
    revision: 'a'.repeat(40),
    startedAt: '2026-05-01T02:00:00.000Z',
    outputMaxBytes: 1024,
    ...overrides,
  };
}

describe('the live-run registry', () => {
  it('records a run, then its process group, and forgets it when removed', async () => {
    const entry = await LiveRunEntry.create(stateDir, run());
    expect(entry.file).toBe(path.join(liveRunDirectory(stateDir), `${runId}.jsonl`));
    expect((await stat(liveRunDirectory(stateDir))).mode & 0o777).toBe(0o700);
    expect((await stat(entry.file)).mode & 0o777).toBe(0o600);

    let [listed] = await readLiveRuns(stateDir);
    expect(listed?.record).toEqual({
      ...run(),
      wrapper: {
        pid: process.pid,
        hostname: os.hostname(),
        startTime: processStartTime(process.pid),
        bootId: bootId(),
      },
      group: null,
    });
    entry.recordGroup({ pgid: 4242, startTime: '99' });
    [listed] = await readLiveRuns(stateDir);
    expect(listed?.record?.group).toEqual({ pgid: 4242, startTime: '99' });
    expect((await readFile(entry.file, 'utf8')).split('\n')).toHaveLength(3);
    expect(liveRunLiveness(listed!.record!)).toBe('alive');

    await entry.remove();
    expect(await readLiveRuns(stateDir)).toEqual([]);
    await entry.remove(); // twice is harmless
  });

  it('refuses a second record of the same run id (O_EXCL)', async () => {
    await LiveRunEntry.create(stateDir, run());
    await expect(LiveRunEntry.create(stateDir, run())).rejects.toMatchObject({ code: 'EEXIST' });
  });

  it('reads records as they may be caught: empty, torn, a stray file, no folder at all', async () => {
    expect(await readLiveRuns(stateDir)).toEqual([]);
    const entry = await LiveRunEntry.create(stateDir, run());
    const directory = liveRunDirectory(stateDir);
    const otherId = '0d0c1a51-3b7e-4c2b-9a59-0a53d5a3e6c1';
    await writeFile(path.join(directory, `${otherId}.jsonl`), '');
    await writeFile(path.join(directory, 'notes.txt'), 'not a run');
    const text = await readFile(entry.file, 'utf8');
    // A group line caught half written is ignored: the group stays unknown.
    expect(parseLiveRunRecord(runId, `${text}{"group":{"pgid":12`)?.group).toBeNull();
    // A first line caught half written is no record (yet).
    expect(parseLiveRunRecord(runId, text.slice(0, 20))).toBeUndefined();
    // A record under another run's name is not that run's.
    expect(parseLiveRunRecord(otherId, text)).toBeUndefined();

    const listed = await readLiveRuns(stateDir);
    expect(listed.map((file) => [file.runId, file.record === undefined])).toEqual(
      expect.arrayContaining([
        [runId, false],
        [otherId, true],
      ]),
    );
    expect(listed).toHaveLength(2);
    expect(await readdir(directory)).toContain('notes.txt');
  });

  it('tells a live wrapper from one that exited and from one of an earlier boot', async () => {
    const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)']);
    await once(child, 'spawn');
    const pid = child.pid!;
    const record: LiveRunRecord = {
      ...run(),
      wrapper: { pid, hostname: os.hostname(), startTime: processStartTime(pid), bootId: bootId() },
      group: null,
    };
    expect(liveRunLiveness(record)).toBe('alive');
    // A reused pid: same number, another start time.
    expect(liveRunLiveness({ ...record, wrapper: { ...record.wrapper, startTime: '1' } })).toBe(
      'wrapper-gone',
    );
    if (bootId() !== undefined) {
      expect(
        liveRunLiveness({ ...record, wrapper: { ...record.wrapper, bootId: 'earlier-boot' } }),
      ).toBe('earlier-boot');
    }
    child.kill('SIGKILL');
    await once(child, 'exit');
    expect(liveRunLiveness(record)).toBe('wrapper-gone');
  });
});
