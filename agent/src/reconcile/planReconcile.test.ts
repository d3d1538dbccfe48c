import { describe, expect, it } from 'vitest';
import type { InventoryEntry } from '../state/agentStateStore.js';
import type { RunSpec } from '../state/runSpec.js';
import { planReconcile, type DesiredJob, type PlanInput } from './planReconcile.js';

const revisionA = 'a'.repeat(40);
const revisionB = 'b'.repeat(40);

function desired(id: string, options: { digest?: string; line?: string } = {}): DesiredJob {
  const [namespace = '', name = ''] = id.split('/');
  return {
    id,
    spec: { id, namespace, name, revision: revisionB } as RunSpec,
    specDigest: options.digest ?? `digest-${id}`,
    commandDigest: `command-${id}`,
    job: {
      id,
      namespace,
      name,
      schedule: { expression: '0 2 * * *', timezone: 'UTC', exact: true },
      suspended: false,
      user: undefined,
    },
    rendered: options.line ?? `0 2 * * * run ${id}`,
    translation: {
      schedule: '0 2 * * *',
      timezone: 'UTC',
      nativeZone: 'UTC',
      tzdata: '2026a',
      from: '2026-12-01',
    },
  };
}

function installed(id: string, options: { digest?: string; line?: string } = {}): InventoryEntry {
  const job = desired(id, options);
  return {
    id,
    namespace: job.job.namespace,
    name: job.job.name,
    revision: revisionA,
    sourcePath: `${job.job.namespace}/jobs.yaml`,
    specDigest: job.specDigest,
    commandDigest: job.commandDigest,
    rendered: job.rendered,
    job: { ...job.job, user: undefined },
  };
}

function input(overrides: Partial<PlanInput>): PlanInput {
  return {
    desired: [],
    inventory: {},
    observed: new Map(),
    retain: new Map(),
    allowEmpty: false,
    ...overrides,
  };
}

function inventoryOf(...entries: InventoryEntry[]): Record<string, InventoryEntry> {
  return Object.fromEntries(entries.map((entry) => [entry.id, entry]));
}

function observedOf(...entries: InventoryEntry[]): Map<string, string> {
  return new Map(entries.map((entry) => [entry.id, entry.rendered]));
}

const summary = (plan: ReturnType<typeof planReconcile>) =>
  plan.changes.map((change) =>
    change.action === 'change'
      ? `${change.action} ${change.id} ${change.reasons.join('+')}`
      : `${change.action} ${change.id}`,
  );

describe('planReconcile', () => {
  it('adds, changes, removes and keeps, sorted by id', () => {
    const kept = installed('prod/kept');
    const edited = installed('prod/edited', { line: '0 3 * * * run prod/edited' });
    const gone = installed('prod/gone');
    const plan = planReconcile(
      input({
        desired: [desired('prod/new'), desired('prod/kept'), desired('prod/edited')],
        inventory: inventoryOf(kept, edited, gone),
        observed: observedOf(kept, edited, gone),
      }),
    );
    expect(summary(plan)).toEqual([
      'change prod/edited schedule',
      'remove prod/gone',
      'unchanged prod/kept',
      'add prod/new',
    ]);
    expect(plan.refused).toBeNull();
    expect(plan.touchesScheduler).toBe(true);
    expect(plan.installed.map((job) => job.id)).toEqual(['prod/edited', 'prod/kept', 'prod/new']);
  });

  it('does not touch the scheduler when only the spec changed (the run spec carries it)', () => {
    const entry = installed('prod/job', { digest: 'old' });
    const plan = planReconcile(
      input({
        desired: [desired('prod/job', { digest: 'new' })],
        inventory: inventoryOf(entry),
        observed: observedOf(entry),
      }),
    );
    expect(summary(plan)).toEqual(['change prod/job spec']);
    expect(plan.touchesScheduler).toBe(false);
  });

  it('reinstalls a job whose native entry drifted or vanished', () => {
    const a = installed('prod/a');
    const b = installed('prod/b');
    const plan = planReconcile(
      input({
        desired: [desired('prod/a'), desired('prod/b')],
        inventory: inventoryOf(a, b),
        observed: new Map([['prod/a', '0 4 * * * edited by hand']]),
      }),
    );
    expect(summary(plan)).toEqual(['change prod/a drift', 'change prod/b drift']);
    expect(plan.touchesScheduler).toBe(true);
  });

  it('is a no-op when everything matches', () => {
    const a = installed('prod/a');
    const plan = planReconcile(
      input({ desired: [desired('prod/a')], inventory: inventoryOf(a), observed: observedOf(a) }),
    );
    expect(summary(plan)).toEqual(['unchanged prod/a']);
    expect(plan.touchesScheduler).toBe(false);
  });

  it('keeps the last applied version of a job whose manifest is broken', () => {
    const broken = installed('prod/broken');
    const other = installed('prod/other');
    const plan = planReconcile(
      input({
        desired: [desired('prod/other')],
        inventory: inventoryOf(broken, other),
        observed: observedOf(broken, other),
        retain: new Map([['prod/broken', 'prod/jobs.yaml:3:13 spec.schedule: …']]),
      }),
    );
    expect(summary(plan)).toEqual(['retain prod/broken', 'unchanged prod/other']);
    expect(plan.installed.map((job) => job.id)).toEqual(['prod/broken', 'prod/other']);
    expect(plan.touchesScheduler).toBe(false);
  });

  it('refuses to empty an installed set unless allowEmpty', () => {
    const a = installed('prod/a');
    const b = installed('prod/b');
    const state = { inventory: inventoryOf(a, b), observed: observedOf(a, b) };
    const refused = planReconcile(input(state));
    expect(refused.refused).toBe(
      'no job in the repository targets this agent any more, which would remove all 2 installed jobs; if that is intended, set allowEmpty (--allow-empty or CRONFLEET_ALLOW_EMPTY=true)',
    );
    expect(summary(refused)).toEqual(['remove prod/a', 'remove prod/b']);
    expect(planReconcile(input({ ...state, allowEmpty: true })).refused).toBeNull();
    // Nothing installed and nothing desired is not a removal.
    expect(planReconcile(input({})).refused).toBeNull();
    // A broken manifest keeps its job, so the set is not empty.
    expect(
      planReconcile(input({ ...state, retain: new Map([['prod/a', 'broken']]) })).refused,
    ).toBeNull();
  });

  it('notices entries in the scheduler that the inventory does not list', () => {
    const plan = planReconcile(input({ observed: new Map([['prod/stray', 'line']]) }));
    expect(plan.touchesScheduler).toBe(true);
    expect(plan.changes).toEqual([]);
  });
});
