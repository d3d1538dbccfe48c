import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readAppliedRunSpec } from '../../src/run/appliedRunSpec.js';
import { specContentDigest } from '../../src/state/specDigest.js';
import { runSpecDigest } from '../../src/state/runSpec.js';
import { jobSpec, TestState } from './runFixtures.js';

/**
 * The wrapper's cheap read of the applied run spec: the inventory's digest vouches for the file,
 * and anything the digest does not vouch for goes through the state store's schemas.
 */

let state: TestState;
beforeAll(async () => {
  state = await TestState.create('spec');
});
afterAll(() => state.remove());

describe('readAppliedRunSpec', () => {
  it("computes runSpecDigest's digest without loading its module", () => {
    const specs = [
      jobSpec('a'),
      jobSpec('b', {
        command: ['/bin/echo', 'a b', 'ü'],
        env: { Z: '1', A: '"quoted"' },
        timeoutMs: 5_000,
        labels: { team: 'ops', 'example.com/tier': 'one' },
        retries: { limit: 3, delayMs: 10, backoff: 'exponential' },
      }),
    ];
    for (const spec of specs) {
      expect(specContentDigest(spec)).toBe(runSpecDigest(spec));
      expect(specContentDigest({ ...spec, revision: 'f'.repeat(40) })).toBe(runSpecDigest(spec));
    }
  });

  it('answers the spec the inventory names, trusting the digest the inventory recorded', async () => {
    const spec = jobSpec('trusted', { command: 'echo hi' });
    await state.install(spec);
    expect(await readAppliedRunSpec(state.stateDir, 'test/trusted')).toEqual(spec);
  });

  it('validates with the schemas what the digest does not vouch for', async () => {
    const spec = jobSpec('edited', { command: 'echo applied' });
    await state.install(spec);
    const file = state.store.specFile('test', 'edited', spec.revision);
    // Edited by hand, still valid: the schemas accept it (digest no longer matches).
    const edited = { ...spec, command: 'echo edited' };
    const specFile = (content: object) =>
      JSON.stringify({ version: 1, specs: { edited: content } });
    await writeFile(file, specFile(edited));
    expect(await readAppliedRunSpec(state.stateDir, 'test/edited')).toEqual(edited);
    // Broken: the store's finding, which names the file, and how to write it again.
    const rewrite = `Restore it from a backup, or reinstall this agent's jobs, which writes every run spec again: cronfleet-agent uninstall --state-dir ${state.stateDir} && cronfleet-agent sync --once --state-dir ${state.stateDir}`;
    await writeFile(file, specFile({ ...spec, timeoutMs: -1 }));
    expect(await readAppliedRunSpec(state.stateDir, 'test/edited')).toBe(
      `the run spec of test/edited cannot be used: ${file} does not have the expected shape (specs.edited.timeoutMs: Too small: expected number to be >0). ${rewrite}`,
    );
    await writeFile(file, (await readFile(file, 'utf8')).slice(0, 20));
    expect(await readAppliedRunSpec(state.stateDir, 'test/edited')).toBe(
      `the run spec of test/edited cannot be used: ${file} is not valid JSON. ${rewrite}`,
    );
  });

  it('says why there is no spec', async () => {
    expect(await readAppliedRunSpec(state.stateDir, 'test/absent')).toBe(
      `job test/absent is not installed by the agent of ${state.stateDir}: its inventory does not list it. See what is installed with: cronfleet-agent status --state-dir ${state.stateDir}; a scheduler entry left over from a removed job can be deleted`,
    );
    expect(await readAppliedRunSpec(state.stateDir, '../../etc/passwd')).toBe(
      '"../../etc/passwd" is not a job id; give namespace/name, e.g. production/backup',
    );
    const spec = jobSpec('vanished');
    await state.install(spec);
    const { rm } = await import('node:fs/promises');
    await rm(state.store.specFile('test', 'vanished', spec.revision));
    expect(await readAppliedRunSpec(state.stateDir, 'test/vanished')).toBe(
      `the run spec of test/vanished at revision ${spec.revision} is missing (${state.store.specFile('test', 'vanished', spec.revision)}). Restore it from a backup, or reinstall this agent's jobs, which writes every run spec again: cronfleet-agent uninstall --state-dir ${state.stateDir} && cronfleet-agent sync --once --state-dir ${state.stateDir}`,
    );
  });
});
