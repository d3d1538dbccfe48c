import { parseManifestFile, type LoadedJob } from '@cronfleet/core/manifest';
import { describe, expect, it } from 'vitest';
import { buildRunSpec, RunSpec, runSpecDigest } from './runSpec.js';

/**
 * The run spec of a loaded manifest: what the wrapper runs and what the inventory reports. Its
 * digest is stored in every inventory and decides whether a job is written and installed again.
 */

const revision = 'c'.repeat(40);
const native = { expression: '0 2 * * *', timezone: 'UTC', exact: true };

function loadedJob(monitoring: string): LoadedJob {
  const text = [
    'apiVersion: cronfleet.dev/v1',
    'kind: Job',
    'metadata:',
    '  name: nightly-db-backup',
    '  labels: { team: platform }',
    'spec:',
    "  schedule: '0 2 * * *'",
    '  command: /opt/scripts/backup.sh',
    '  retries: { limit: 2 }',
    ...(monitoring === '' ? [] : [`  monitoring: ${monitoring}`]),
    '',
  ].join('\n');
  const { jobs, errors } = parseManifestFile('production/backup.yaml', text);
  expect(errors).toEqual([]);
  const [job] = jobs;
  if (job === undefined) throw new Error('expected a job');
  return job;
}

describe('buildRunSpec', () => {
  it('writes no monitoring key a manifest leaves at its default, so older specs keep their digest', () => {
    for (const monitoring of ['', '{ grace: 10m, alertAfter: 2 }', '{ recoverAfter: 1 }']) {
      const spec = buildRunSpec(loadedJob(monitoring), revision, 'UTC', native);
      expect(Object.keys(spec.monitoring).sort(), monitoring).toEqual([
        'alertAfter',
        'graceMs',
        'maxRuntimeMs',
      ]);
    }
    // The digest of this job as the agent wrote it before recoverAfter, realertEvery and notify
    // existed: an upgraded agent finds its inventory up to date and reinstalls nothing.
    expect(runSpecDigest(buildRunSpec(loadedJob(''), revision, 'UTC', native))).toBe(
      '26873bc4a7e507ce5d505e41cd3950b6bc52013b65107c66883a6755d6267663',
    );
  });

  it('carries recoverAfter, realertEvery (in ms) and notify when the manifest sets them', () => {
    const spec = buildRunSpec(
      loadedJob('{ recoverAfter: 3, realertEvery: 1h30m, notify: [dba-pager, ops] }'),
      revision,
      'UTC',
      native,
    );
    expect(spec.monitoring).toEqual({
      graceMs: 300_000,
      maxRuntimeMs: null,
      alertAfter: 1,
      recoverAfter: 3,
      realertEveryMs: 5_400_000,
      notify: ['dba-pager', 'ops'],
    });
    expect(spec.retries.limit).toBe(2);
    expect(spec.labels).toEqual({ team: 'platform' });
    // What the state store reads back is what was written.
    expect(RunSpec.parse(JSON.parse(JSON.stringify(spec)))).toEqual(spec);
  });
});
