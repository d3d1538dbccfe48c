import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { InventoryRequest } from '@cronfleet/core/api';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildInventoryRequest, reportedUnmanagedEntry } from '../control/agentReports.js';
import { AgentStateStore } from '../state/agentStateStore.js';
import { redactCommandSecrets } from './redactCommandSecrets.js';

/**
 * Issue 11 §3i: unmanaged crontab commands used to reach the backend verbatim, while the docs said
 * commands may hold secrets and are not sent. They are sent (the dashboard shows what still runs
 * outside Git), with every value that looks like a secret replaced by `[redacted]`.
 */

describe('redactCommandSecrets', () => {
  const cases: [string, string][] = [
    [
      'PGPASSWORD=hunter2 pg_dump -h db app > /b.sql',
      'PGPASSWORD=[redacted] pg_dump -h db app > /b.sql',
    ],
    ['export API_KEY=xyz; run', 'export API_KEY=[redacted]; run'],
    [
      "AWS_SECRET_ACCESS_KEY='k/ey+1' aws s3 sync /data s3://bucket",
      'AWS_SECRET_ACCESS_KEY=[redacted] aws s3 sync /data s3://bucket',
    ],
    ['GITHUB_TOKEN="a b" ./release.sh', 'GITHUB_TOKEN=[redacted] ./release.sh'],
    ['backup --password=topsecret --all', 'backup --password=[redacted] --all'],
    ['backup --db-password "two words" --all', 'backup --db-password [redacted] --all'],
    [
      'sync --token abc123 --api-key=k --secret s',
      'sync --token [redacted] --api-key=[redacted] --secret [redacted]',
    ],
    [
      'git clone https://deploy:s3cr3t@git.example.com/ops/jobs.git /tmp/jobs',
      'git clone https://deploy:[redacted]@git.example.com/ops/jobs.git /tmp/jobs',
    ],
    [
      'curl https://ghp_abcdefghijklmnopqrstuvwxyz0123@api.github.com/x',
      'curl https://[redacted]@api.github.com/x',
    ],
    [
      'psql postgres://app:pw@db/app -c "vacuum"',
      'psql postgres://app:[redacted]@db/app -c "vacuum"',
    ],
    [
      'curl -fsS -H "Authorization: Bearer abc.def.ghi" https://hooks.example.com/ping',
      'curl -fsS -H "Authorization: [redacted]" https://hooks.example.com/ping',
    ],
    ['curl -u admin:pa55 https://host/', 'curl -u admin:[redacted] https://host/'],
    ['curl --user=admin:pa55 https://host/', 'curl --user=admin:[redacted] https://host/'],
    [
      'wget --header "X-Api-Key: k123" https://host/',
      'wget --header "X-Api-Key: [redacted]" https://host/',
    ],
    ['notify cfp_AAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'notify [redacted]'],
    ['slack xoxb-1234567890-abcdef', 'slack [redacted]'],
    ['aws --profile x AKIAABCDEFGHIJKLMNOP', 'aws --profile x [redacted]'],
  ];

  for (const [command, expected] of cases) {
    it(`redacts ${JSON.stringify(command)}`, () => {
      expect(redactCommandSecrets(command)).toBe(expected);
    });
  }

  it('leaves commands without secrets as they are', () => {
    for (const command of [
      '/opt/scripts/backup.sh --all > /tmp/backup.log 2>&1',
      'wget --passive-ftp ftp://ftp.example.com/file',
      'git log --author bob',
      'ssh://git@github.com/ops/jobs.git',
      'printf \'[\\%s]\' "x y" \'c\\%d\' "\\$HOME"',
      'mail -s "half year" root%It is time.%',
      'PATH=/usr/bin:/bin run-parts /etc/cron.daily',
    ]) {
      expect(redactCommandSecrets(command)).toBe(command);
    }
  });

  it('never leaves a generated secret behind in the forms it knows (fast-check, seeded)', () => {
    const secret = fc.stringMatching(/^[A-Za-z0-9]{8,24}$/);
    const form = fc.constantFrom(
      (value: string) => `PGPASSWORD=${value} pg_dump app`,
      (value: string) => `run --password=${value}`,
      (value: string) => `run --token ${value} --verbose`,
      (value: string) => `git clone https://user:${value}@host/repo.git`,
      (value: string) => `curl -H 'Authorization: Bearer ${value}' https://x`,
      (value: string) => `curl -u me:${value} https://x`,
      (value: string) => `export MY_SECRET="${value}"; job`,
    );
    fc.assert(
      fc.property(secret, form, (value, render) => {
        const redacted = redactCommandSecrets(render(value));
        expect(redacted).not.toContain(value);
        expect(redacted).toContain('[redacted]');
      }),
      { seed: 1103, numRuns: 300 },
    );
  });
});

describe('what the inventory sends', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'cronfleet-redact-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('carries unmanaged commands with their secrets redacted, within the contract', async () => {
    const store = new AgentStateStore(path.join(root, 'state'));
    const { request } = await buildInventoryRequest(store, [
      { schedule: '0 2 * * *', command: 'PGPASSWORD=hunter2 pg_dump app > /b.sql' },
      { schedule: '@reboot', command: '/usr/local/bin/warm-cache' },
    ]);
    expect(request.unmanaged).toEqual([
      { schedule: '0 2 * * *', command: 'PGPASSWORD=[redacted] pg_dump app > /b.sql' },
      { schedule: '@reboot', command: '/usr/local/bin/warm-cache' },
    ]);
    expect(JSON.stringify(request)).not.toContain('hunter2');
    expect(InventoryRequest.safeParse(request).success).toBe(true);
  });

  it('cuts a command that redaction made longer than the contract allows', () => {
    const command = `${'TOKEN=a '.repeat(1024)}`.slice(0, 8192);
    const reported = reportedUnmanagedEntry({ schedule: '* * * * *', command });
    expect(reported.command.length).toBeLessThanOrEqual(8192);
    expect(reported.command.endsWith(' …[cut]')).toBe(true);
    expect(reported.command).not.toMatch(/TOKEN=a /);
  });
});
