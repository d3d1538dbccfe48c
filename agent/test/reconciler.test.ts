import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Reconciler, type JobSource } from '../src/reconcile/reconciler.js';
import { CronDBackend } from '../src/scheduler/cronDBackend.js';
import { AgentStateStore } from '../src/state/agentStateStore.js';
import { makeTempDir } from './git/gitFixtures.js';

/**
 * The daemon's tick (not forced): the "nothing changed" shortcut, the failure memory that keeps
 * a broken revision from being retried in a loop, and the backoff after transient failures.
 */

let root: string;
beforeAll(async () => {
  root = await makeTempDir('reconciler');
});
afterAll(() => rm(root, { recursive: true, force: true }));

const job = (name: string, schedule: string) =>
  `apiVersion: cronfleet.dev/v1\nkind: Job\nmetadata: { name: ${name} }\nspec: { schedule: '${schedule}', command: /bin/true }\n`;

class FolderSource implements JobSource {
  revision = 'a'.repeat(40);
  fetches = 0;
  prepares = 0;
  failWith: Error | undefined;
  constructor(readonly folder: string) {}
  async fetch() {
    this.fetches += 1;
    if (this.failWith !== undefined) throw this.failWith;
    return { revision: this.revision, workTree: this.folder };
  }
  async prepare() {
    this.prepares += 1;
  }
}

async function setUp(name: string) {
  const folder = path.join(root, name, 'repo');
  const cronDir = path.join(root, name, 'cron.d');
  await mkdir(path.join(folder, 'ops'), { recursive: true });
  await mkdir(cronDir, { recursive: true });
  const store = new AgentStateStore(path.join(root, name, 'state'));
  await store.ensureDirectory();
  const source = new FolderSource(folder);
  let now = new Date('2026-03-01T12:00:00Z');
  const reconciler = new Reconciler({
    store,
    backend: new CronDBackend({
      directory: cronDir,
      ownerId: await store.ownerId(),
      runCommand: (scheduled) => ['/usr/bin/cronfleet-agent', 'run', scheduled.id],
      cronTimeZone: 'UTC',
    }),
    source,
    repositoryPath: '.',
    capabilities: {
      nativeZone: 'UTC',
      defaultZone: 'UTC',
      schedulerUser: null,
      canSwitchUser: true,
    },
    identity: { hostname: 'host-1', platform: 'linux', labels: {} },
    allowEmpty: false,
    logger: pino({ level: 'silent' }),
    now: () => now,
    random: () => 0.5,
  });
  return {
    folder,
    store,
    source,
    reconciler,
    advance: (ms: number) => {
      now = new Date(now.getTime() + ms);
    },
  };
}

describe('Reconciler.tick', () => {
  it('does nothing else when the revision and the scheduler are unchanged', async () => {
    const setup = await setUp('unchanged');
    await writeFile(path.join(setup.folder, 'ops', 'a.yaml'), job('tidy', '0 3 * * *'));
    expect((await setup.reconciler.tick()).result).toBe('applied');
    expect(setup.source.prepares).toBe(1);
    expect(await setup.reconciler.tick()).toEqual({
      result: 'unchanged',
      revision: setup.source.revision,
    });
    // The files are not read, so the source is not asked to verify them.
    expect(setup.source.prepares).toBe(1);
    expect(await setup.reconciler.check()).toEqual({
      result: 'unchanged',
      revision: setup.source.revision,
    });
    // A forced tick (an operator's sync --once) retries failures; with nothing changed it too
    // reads nothing but the revision and the scheduler's fingerprint.
    expect((await setup.reconciler.tick({ force: true })).result).toBe('unchanged');
    // Every hour a full tick reads the scheduler whole and re-plans even when nothing changed.
    setup.advance(61 * 60 * 1000);
    // The daemon asks first, then plans in a process of its own (an ordinary tick).
    expect(await setup.reconciler.check()).toEqual({
      result: 'plan-needed',
      revision: setup.source.revision,
    });
    expect((await setup.reconciler.tick()).result).toBe('applied');
    expect(setup.source.prepares).toBe(2);
    expect((await setup.reconciler.tick()).result).toBe('unchanged');
    // A new revision is reconciled.
    setup.source.revision = 'b'.repeat(40);
    expect((await setup.reconciler.tick()).result).toBe('applied');
  });

  it('does not retry a revision that stalled, until the next commit', async () => {
    const setup = await setUp('stalled');
    await writeFile(path.join(setup.folder, 'ops', 'a.yaml'), job('tidy', '0 3 * * *'));
    await writeFile(path.join(setup.folder, 'ops', 'b.yaml'), job('broken', '0 99 * * *'));
    const first = await setup.reconciler.tick();
    expect(first.result).toBe('stalled');
    expect(first.result === 'stalled' && first.errors.map((error) => error.job)).toEqual([
      'ops/broken',
    ]);
    const again = await setup.reconciler.tick();
    // Remembered: no new load, no new error list, the same message.
    expect(again).toMatchObject({ result: 'stalled', errors: [], plan: null });
    expect(again.result === 'stalled' && again.message).toBe(
      first.result === 'stalled' ? first.message : '',
    );
    const status = await setup.store.readStatus();
    expect(status.failure).toMatchObject({
      kind: 'stalled',
      revision: 'a'.repeat(40),
      attempts: 1,
    });
    expect(status.conditions.find((condition) => condition.type === 'Stalled')).toMatchObject({
      status: 'true',
      reason: 'ManifestInvalid',
    });
    // The fix arrives with a new revision.
    await writeFile(path.join(setup.folder, 'ops', 'b.yaml'), job('broken', '0 9 * * *'));
    setup.source.revision = 'c'.repeat(40);
    expect((await setup.reconciler.tick()).result).toBe('applied');
    expect((await setup.store.readStatus()).failure).toBeNull();
  });

  it('backs off exponentially after transient failures', async () => {
    const setup = await setUp('transient');
    setup.source.failWith = new Error('connection reset by peer');
    const retries: number[] = [];
    for (let attempt = 0; attempt < 4; attempt += 1) {
      const outcome = await setup.reconciler.tick();
      expect(outcome.result).toBe('failed');
      if (outcome.result === 'failed')
        retries.push(outcome.retryAt.getTime() - Date.parse('2026-03-01T12:00:00Z'));
    }
    // 5 s × 2^(attempt-1) with the jitter factor at its middle (random 0.5 → ×1).
    expect(retries).toEqual([5_000, 10_000, 20_000, 40_000]);
    const status = await setup.store.readStatus();
    expect(status.failure).toMatchObject({ kind: 'transient', attempts: 4 });
    expect(status.conditions.find((condition) => condition.type === 'Reconciling')?.status).toBe(
      'true',
    );
    setup.source.failWith = undefined;
    await writeFile(path.join(setup.folder, 'ops', 'a.yaml'), job('tidy', '0 3 * * *'));
    expect((await setup.reconciler.tick()).result).toBe('applied');
  });

  it('writes again a run spec file deleted behind its back, at the next tick that plans', async () => {
    const setup = await setUp('deleted-spec');
    await writeFile(path.join(setup.folder, 'ops', 'a.yaml'), job('tidy', '0 3 * * *'));
    expect((await setup.reconciler.tick()).result).toBe('applied');
    const entry = (await setup.store.readInventory())?.jobs['ops/tidy'];
    expect(entry).toBeDefined();
    const file = setup.store.specFile('ops', 'tidy', entry!.revision, entry!.job.specKey);
    const before = await readFile(file, 'utf8');
    await rm(file);
    // Nothing in the scheduler changed: an idle tick does not look.
    expect((await setup.reconciler.tick()).result).toBe('unchanged');
    // The hourly full check plans, finds the file missing and writes the same bytes again.
    setup.advance(61 * 60 * 1000);
    expect((await setup.reconciler.tick()).result).toBe('applied');
    expect(await readFile(file, 'utf8')).toBe(before);
    expect(
      await setup.store.readRunSpec('ops', 'tidy', entry!.revision, entry!.job.specKey),
    ).toMatchObject({ id: 'ops/tidy', schedule: '0 3 * * *' });
  });
});
