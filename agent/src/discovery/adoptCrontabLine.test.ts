import { parseManifestFile } from '@cronfleet/core/manifest';
import { describe, expect, it } from 'vitest';
import { AdoptError, adoptCrontabLine, jobNameFromCommand } from './adoptCrontabLine.js';

function refusal(line: string, options: { namespace?: string; name?: string } = {}): string {
  try {
    adoptCrontabLine(line, { timezone: 'UTC', ...options });
  } catch (error) {
    if (error instanceof AdoptError) return error.message;
    throw error;
  }
  throw new Error('expected an AdoptError');
}

describe('adoptCrontabLine', () => {
  it('prints a manifest that loads as the same schedule, zone and command', () => {
    const adopted = adoptCrontabLine(
      '30 2 * * 1-5 /opt/scripts/backup.sh --all > /tmp/b.log 2>&1',
      {
        timezone: 'Europe/Paris',
        namespace: 'ops',
      },
    );
    expect(adopted).toMatchObject({
      namespace: 'ops',
      name: 'backup',
      schedule: '30 2 * * 1-5',
      timezone: 'Europe/Paris',
      command: '/opt/scripts/backup.sh --all > /tmp/b.log 2>&1',
    });
    expect(adopted.yaml).toContain(
      [
        'apiVersion: cronfleet.dev/v1',
        'kind: Job',
        'metadata:',
        '  name: backup',
        '  namespace: ops',
        'spec:',
        "  schedule: '30 2 * * 1-5'",
        '  timezone: Europe/Paris',
        '  command: /opt/scripts/backup.sh --all > /tmp/b.log 2>&1',
        '',
      ].join('\n'),
    );
    const loaded = parseManifestFile('ops/backup.yaml', adopted.yaml);
    expect(loaded.errors).toEqual([]);
    expect(
      loaded.jobs.map((job) => [job.id, job.manifest.spec.schedule, job.manifest.spec.command]),
    ).toEqual([['ops/backup', '30 2 * * 1-5', '/opt/scripts/backup.sh --all > /tmp/b.log 2>&1']]);
  });

  it('writes \\% as the % cron runs, and keeps quotes and other backslashes', () => {
    const adopted = adoptCrontabLine(
      `0 * * * * tar czf "/backups/$(date +\\%F).tgz" /etc 'it''s' \\$HOME`,
      { timezone: 'UTC', name: 'etc-backup' },
    );
    expect(adopted.command).toBe(`tar czf "/backups/$(date +%F).tgz" /etc 'it''s' \\$HOME`);
    expect(adopted.yaml).toContain('each "\\%" of the line is a "%" here');
    const [job] = parseManifestFile('default/etc-backup.yaml', adopted.yaml).jobs;
    expect(job?.manifest.spec.command).toBe(adopted.command);
  });

  it('adopts macros, @reboot included', () => {
    expect(
      adoptCrontabLine('@reboot /usr/local/bin/warm-cache', { timezone: 'UTC' }),
    ).toMatchObject({
      name: 'warm-cache',
      schedule: '@reboot',
    });
    expect(
      adoptCrontabLine('@weekly  run-parts /etc/cron.weekly', { timezone: 'UTC' }),
    ).toMatchObject({
      name: 'cron-weekly',
      schedule: '@weekly',
      command: 'run-parts /etc/cron.weekly',
    });
  });

  it('refuses what is not one crontab entry, saying what it is', () => {
    expect(refusal('')).toMatch(/^the line is empty/);
    expect(refusal('# 0 2 * * * /opt/x')).toMatch(/^the line is a comment/);
    expect(refusal('MAILTO=ops@example.com')).toMatch(
      /^the line sets the environment variable MAILTO, it is not a crontab entry; .* spec\.env/,
    );
    expect(refusal('0 2 * * 8 /opt/x')).toMatch(/^the line is not a crontab entry: .*day-of-week/);
    expect(refusal('0 2 * * * /opt/x\n0 3 * * * /opt/y')).toMatch(/^give one crontab line/);
    expect(refusal('0 2 * * * /opt/x', { namespace: 'Prod' })).toMatch(
      /^--namespace "Prod" must be/,
    );
    expect(refusal('0 2 * * * /opt/x', { name: 'a_b' })).toMatch(/^--name "a_b" must be/);
  });

  it('refuses an unescaped %, which cron turns into standard input', () => {
    expect(refusal('0 2 * * * mail -s report root%all good%bye')).toBe(
      'the command contains an unescaped "%": cron ends the command there and writes the rest ("all good\\nbye", each further "%" a newline) to its standard input, which a Cronfleet job does not have. If a literal percent sign was meant (as in date +%Y), escape it as "\\%" in the line; to feed input, pipe it explicitly (printf \'...\' | command) and adopt that line',
    );
  });

  it('derives a name from the program the command runs', () => {
    expect(jobNameFromCommand('/opt/scripts/Nightly_Report.py --fast')).toBe('nightly-report');
    expect(jobNameFromCommand('cd /srv/app && ./manage.py clearsessions')).toBe('manage');
    expect(jobNameFromCommand('FOO=1 nice -n 10 flock -n /tmp/l /usr/bin/rsync -a a b')).toBe(
      'rsync',
    );
    expect(jobNameFromCommand('timeout 5m /usr/local/bin/sync-users')).toBe('sync-users');
    expect(jobNameFromCommand('$HOME/bin/x')).toBe('adopted-job');
  });
});
