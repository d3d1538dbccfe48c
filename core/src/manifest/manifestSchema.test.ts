import { describe, expect, it } from 'vitest';
import { manifestErrorMap } from './manifestErrors.js';
import { jobManifestSchema, type JobManifest, type JobManifestInput } from './manifestSchema.js';

const minimal = {
  apiVersion: 'cronfleet.dev/v1',
  kind: 'Job',
  metadata: { name: 'nightly-db-backup' },
  spec: { schedule: '0 2 * * *', command: '/opt/scripts/backup.sh --compress' },
} satisfies JobManifestInput;

/** A copy of the minimal manifest with spec (or metadata) fields replaced. */
function withSpec(spec: Record<string, unknown>): unknown {
  return { ...minimal, spec: { ...minimal.spec, ...spec } };
}
function withMetadata(metadata: Record<string, unknown>): unknown {
  return { ...minimal, metadata: { ...minimal.metadata, ...metadata } };
}

/** The issues of an invalid manifest as "path: message" lines. */
function issuesOf(input: unknown): string[] {
  const result = jobManifestSchema.safeParse(input, { error: manifestErrorMap });
  expect(result.success).toBe(false);
  return (result.error?.issues ?? []).map((issue) => `${issue.path.join('.')}: ${issue.message}`);
}

describe('jobManifestSchema', () => {
  it('applies every default to a minimal manifest', () => {
    const parsed: JobManifest = jobManifestSchema.parse(minimal);
    expect(parsed).toEqual({
      apiVersion: 'cronfleet.dev/v1',
      kind: 'Job',
      metadata: { name: 'nightly-db-backup', labels: {}, annotations: {} },
      spec: {
        schedule: '0 2 * * *',
        command: '/opt/scripts/backup.sh --compress',
        env: {},
        concurrencyPolicy: 'Allow',
        retries: { limit: 0, delay: '10s', backoff: 'exponential' },
        suspend: false,
        monitoring: { grace: '5m', alertAfter: 1, recoverAfter: 1 },
        output: { maxBytes: 65_536 },
      },
    });
  });

  it('accepts the full example of DESIGN.md', () => {
    const full = {
      apiVersion: 'cronfleet.dev/v1',
      kind: 'Job',
      metadata: {
        name: 'nightly-db-backup',
        namespace: 'production',
        labels: { team: 'platform', 'example.com/tier': 'gold', empty: '' },
        annotations: {
          owner: 'ops@example.com',
          runbook: 'https://wiki.example.com/runbooks/backup',
        },
      },
      spec: {
        schedule: '0 2 * * *',
        timezone: 'America/New_York',
        command: ['/usr/bin/pg_dump', '--format=custom'],
        workingDir: '/var/backups',
        env: { PGHOST: 'db-1.internal', _X1: '' },
        user: 'postgres',
        timeout: '2h',
        concurrencyPolicy: 'Forbid',
        retries: { limit: 2, delay: '30s', backoff: 'constant' },
        suspend: true,
        targets: { labels: { role: 'db' }, hostnames: ['db-1'], platforms: ['linux', 'windows'] },
        monitoring: {
          grace: '10m',
          maxRuntime: '3h',
          alertAfter: 2,
          recoverAfter: 3,
          realertEvery: '4h',
          notify: ['dba-pager', 'ops'],
        },
        output: { maxBytes: 0 },
      },
    } satisfies JobManifestInput;
    expect(jobManifestSchema.parse(full)).toEqual(full);
  });

  it.each([
    ['multi-line shell script', { command: 'set -e\ncd /tmp\n./run.sh\n' }],
    ['Windows working dir', { workingDir: 'C:\\jobs' }],
    ['Windows working dir with slashes', { workingDir: 'D:/jobs' }],
    ['Windows user', { user: 'CORP\\svc-backup' }],
    ['machine account user', { user: 'backup$' }],
    ['@reboot', { schedule: '@reboot' }],
    ['UTC', { timezone: 'UTC' }],
    ['partial retries', { retries: { limit: 3 } }],
    ['realertEvery of exactly 1m', { monitoring: { realertEvery: '1m' } }],
    ['the largest recoverAfter', { monitoring: { recoverAfter: 1000 } }],
    ['20 channels', { monitoring: { notify: Array.from({ length: 20 }, (_, i) => `ch-${i}`) } }],
    // Whether a channel exists is the backend's to say (a warning), never a load error.
    ['a channel name nobody defined', { monitoring: { notify: ['no-such-channel'] } }],
  ])('accepts %s', (_label, spec) => {
    expect(jobManifestSchema.safeParse(withSpec(spec)).success).toBe(true);
  });

  it('fills nested defaults of a partial section', () => {
    const parsed = jobManifestSchema.parse(
      withSpec({ retries: { limit: 3 }, monitoring: { maxRuntime: '1h' } }),
    );
    expect(parsed.spec.retries).toEqual({ limit: 3, delay: '10s', backoff: 'exponential' });
    expect(parsed.spec.monitoring).toEqual({
      grace: '5m',
      maxRuntime: '1h',
      alertAfter: 1,
      recoverAfter: 1,
    });
  });

  it.each([
    ['empty command', { command: '' }, 'spec.command: must not be empty'],
    ['blank command', { command: '   \n' }, 'spec.command: must not be empty'],
    ['empty argv', { command: [] }, 'spec.command: must not be empty'],
    ['empty argv item', { command: ['ls', ''] }, 'spec.command.1: must not be an empty string'],
    ['numeric command', { command: 42 }, 'spec.command: must be a non-empty string'],
    ['NUL in command', { command: 'echo \0' }, 'spec.command: must not contain NUL'],
    [
      'relative working dir',
      { workingDir: 'backups' },
      'spec.workingDir: must be an absolute path',
    ],
    ['bad user', { user: 'Root User' }, 'spec.user: must be a user name'],
    ['long user', { user: 'a'.repeat(33) }, 'spec.user: must be a user name'],
    [
      'env number',
      { env: { PORT: 5432 } },
      'spec.env.PORT: expected a string, got the number 5432; quote it: "5432"',
    ],
    ['env NUL', { env: { A: 'x\0' } }, 'spec.env.A: must not contain NUL'],
    [
      'suspend yes',
      { suspend: 'yes' },
      'spec.suspend: expected true or false, got a string; write true or false',
    ],
    [
      'retries too many',
      { retries: { limit: 11 } },
      'spec.retries.limit: must be at most 10 (got 11)',
    ],
    [
      'retries fraction',
      { retries: { limit: 1.5 } },
      'spec.retries.limit: expected a whole number',
    ],
    [
      'retries backoff',
      { retries: { backoff: 'linear' } },
      'spec.retries.backoff: must be one of constant, exponential',
    ],
    [
      'bare number delay',
      { retries: { delay: 5 } },
      'spec.retries.delay: a duration needs a unit: write 5s, not 5',
    ],
    ['bad timeout', { timeout: '1 hour' }, 'spec.timeout: "1 hour" contains spaces'],
    ['bad policy', { concurrencyPolicy: 'forbid' }, 'did you mean Forbid?'],
    [
      'unknown platform',
      { targets: { platforms: ['freebsd'] } },
      'spec.targets.platforms.0: must be one of linux, darwin, windows',
    ],
    [
      'empty hostnames',
      { targets: { hostnames: [] } },
      'spec.targets.hostnames: must list at least one hostname',
    ],
    [
      'alertAfter 0',
      { monitoring: { alertAfter: 0 } },
      'spec.monitoring.alertAfter: must be at least 1 (got 0)',
    ],
    [
      'recoverAfter 0',
      { monitoring: { recoverAfter: 0 } },
      'spec.monitoring.recoverAfter: must be at least 1 (got 0)',
    ],
    [
      'recoverAfter too big',
      { monitoring: { recoverAfter: 1001 } },
      'spec.monitoring.recoverAfter: must be at most 1000 (got 1001)',
    ],
    [
      'recoverAfter fraction',
      { monitoring: { recoverAfter: 1.5 } },
      'spec.monitoring.recoverAfter: expected a whole number',
    ],
    [
      'realertEvery under a minute',
      { monitoring: { realertEvery: '59s' } },
      'spec.monitoring.realertEvery: "59s" is shorter than the minimum of 1m: write 1m or more',
    ],
    [
      'bare number realertEvery',
      { monitoring: { realertEvery: 30 } },
      'spec.monitoring.realertEvery: a duration needs a unit: write 30s, not 30',
    ],
    [
      'notify as one string',
      { monitoring: { notify: 'ops' } },
      'spec.monitoring.notify: must be a list of channel names: write [ops], not ops',
    ],
    [
      'empty notify',
      { monitoring: { notify: [] } },
      "spec.monitoring.notify: must list at least one channel, or leave notify out to use the organization's default channels",
    ],
    [
      'bad channel name',
      { monitoring: { notify: ['Ops_Pager'] } },
      'spec.monitoring.notify.0: must be a notification channel name: 1 to 63 characters, lowercase letters, digits and "-", starting and ending with a letter or digit (e.g. ops-pager) — try "ops-pager"',
    ],
    [
      'long channel name',
      { monitoring: { notify: ['a'.repeat(64)] } },
      'spec.monitoring.notify.0: must be a notification channel name',
    ],
    [
      'channel listed twice',
      { monitoring: { notify: ['ops', 'dba', 'ops'] } },
      'spec.monitoring.notify.2: "ops" is listed twice; list each channel once',
    ],
    [
      'too many channels',
      { monitoring: { notify: Array.from({ length: 21 }, (_, i) => `ch-${i}`) } },
      'spec.monitoring.notify: must list at most 20 channels',
    ],
    [
      'output too big',
      { output: { maxBytes: 10_485_761 } },
      'spec.output.maxBytes: must be at most 10485760',
    ],
    ['bad schedule', { schedule: '* * *' }, 'spec.schedule:'],
    [
      'bad time zone',
      { timezone: 'Europe/Atlantis' },
      'spec.timezone: "Europe/Atlantis" is not an IANA time zone',
    ],
    [
      'typo in nested section',
      { monitoring: { grase: '1m' } },
      'spec.monitoring: Unrecognized key',
    ],
  ])('rejects %s', (_label, spec, fragment) => {
    expect(issuesOf(withSpec(spec)).join('\n')).toContain(fragment);
  });

  it.each([
    ['upper-case name', { name: 'Backup' }, 'metadata.name: must be a DNS label'],
    ['long name', { name: 'a'.repeat(64) }, 'metadata.name: must be a DNS label'],
    ['name ending in dash', { name: 'backup-' }, 'try "backup"'],
    ['bad namespace', { namespace: 'Prod' }, 'metadata.namespace: must be a DNS label'],
    ['bad label key', { labels: { '-team': 'x' } }, 'metadata.labels.-team: Invalid key'],
    ['label value too long', { labels: { team: 'x'.repeat(64) } }, 'must be a label value'],
    ['label value with space', { labels: { team: 'a b' } }, 'must be a label value'],
    ['annotation number', { annotations: { n: 1 } }, 'metadata.annotations.n: expected a string'],
  ])('rejects %s', (_label, metadata, fragment) => {
    expect(issuesOf(withMetadata(metadata)).join('\n')).toContain(fragment);
  });

  it('rejects unknown keys at every level', () => {
    expect(issuesOf({ ...minimal, status: {} }).join('\n')).toContain('Unrecognized key');
    expect(issuesOf(withMetadata({ owner: 'me' })).join('\n')).toContain(
      'metadata: Unrecognized key',
    );
    expect(issuesOf(withSpec({ schedual: '0 1 * * *' })).join('\n')).toContain(
      'spec: Unrecognized key',
    );
    expect(issuesOf(withSpec({ targets: { hosts: ['a'] } })).join('\n')).toContain(
      'spec.targets: Unrecognized key',
    );
  });

  it('reports missing required keys', () => {
    expect(issuesOf({ ...minimal, spec: { command: 'x' } })).toEqual([
      'spec.schedule: is required (a string)',
    ]);
    expect(
      issuesOf({ apiVersion: 'cronfleet.dev/v1', kind: 'Job', metadata: { name: 'x' } }),
    ).toEqual(['spec: is required (a mapping (key: value pairs))']);
  });
});
