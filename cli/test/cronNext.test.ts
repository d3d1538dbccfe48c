import { describeCron, validateCron } from '@cronfleet/core/cron';
import { describe, expect, it } from 'vitest';
import { hasAnsi, runCli } from './runCli.js';

function descriptionOf(expression: string): string {
  const validation = validateCron(expression);
  if (!validation.valid) throw new Error(`test expression ${expression} is invalid`);
  return describeCron(validation.schedule);
}

describe('cronfleet cron next', () => {
  it('prints exact instants for --tz Europe/Berlin --from a fixed instant -n 3 (--json)', async () => {
    const run = await runCli([
      'cron',
      'next',
      '0 9 * * 1-5',
      '--tz',
      'Europe/Berlin',
      '--from',
      '2025-01-03T08:00:00Z',
      '-n',
      '3',
      '--json',
    ]);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['expression', 'timezone', 'description', 'next']);
    expect(result).toEqual({
      expression: '0 9 * * 1-5',
      timezone: 'Europe/Berlin',
      description: descriptionOf('0 9 * * 1-5'),
      // Friday 2025-01-03 09:00 CET is 08:00Z, not strictly after --from; then Mon, Tue.
      next: ['2025-01-06T08:00:00.000Z', '2025-01-07T08:00:00.000Z', '2025-01-08T08:00:00.000Z'],
    });
  });

  it('follows the spring-forward gap in Berlin: the 02:30 run happens once, right after it', async () => {
    const run = await runCli([
      'cron',
      'next',
      '30 2 * * *',
      '--tz',
      'Europe/Berlin',
      '--from',
      '2025-03-29T00:00:00Z',
      '-n',
      '3',
      '--json',
    ]);
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as { next: string[] };
    expect(result.next).toEqual([
      '2025-03-29T01:30:00.000Z', // 02:30 CET
      '2025-03-30T01:00:00.000Z', // 02:30 does not exist: 03:00 CEST, right after the gap
      '2025-03-31T00:30:00.000Z', // 02:30 CEST
    ]);
  });

  it('prints the description, the zone, then local time with offset and abbreviation and UTC', async () => {
    const run = await runCli([
      'cron',
      'next',
      '0 9 * * 1-5',
      '--tz',
      'Europe/Berlin',
      '--from',
      '2025-01-03T08:00:00Z',
      '-n',
      '3',
    ]);
    expect(run.exitCode).toBe(0);
    expect(hasAnsi(run.stdout)).toBe(false);
    const lines = run.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(descriptionOf('0 9 * * 1-5'));
    expect(lines[1]).toBe('Time zone: Europe/Berlin');
    expect(lines[2]).toBe('');
    expect(lines[3]).toMatch(/^Local time \(Europe\/Berlin\) +UTC$/);
    expect(lines.slice(4)).toEqual([
      'Mon 2025-01-06 09:00:00 +01:00 CET  2025-01-06T08:00:00.000Z',
      'Tue 2025-01-07 09:00:00 +01:00 CET  2025-01-07T08:00:00.000Z',
      'Wed 2025-01-08 09:00:00 +01:00 CET  2025-01-08T08:00:00.000Z',
    ]);
  });

  it('defaults --tz to the system zone and --from to now, with 5 fire times', async () => {
    const before = Date.now();
    const run = await runCli(['cron', 'next', '* * * * *', '--json'], {
      env: { TZ: 'America/New_York' },
    });
    expect(run.exitCode).toBe(0);
    const result = JSON.parse(run.stdout) as { timezone: string; next: string[] };
    expect(result.timezone).toBe('America/New_York');
    expect(result.next).toHaveLength(5);
    const first = Date.parse(result.next[0] ?? '');
    expect(first).toBeGreaterThan(before - 1000);
    expect(first).toBeLessThanOrEqual(Date.now() + 60_000);
  });

  it('exits 0 for @reboot with the description, no fire time and a note', async () => {
    const json = await runCli(['cron', 'next', '@reboot', '--tz', 'UTC', '--json']);
    expect(json.exitCode).toBe(0);
    const result = JSON.parse(json.stdout) as Record<string, unknown>;
    expect(Object.keys(result)).toEqual(['expression', 'timezone', 'description', 'next']);
    expect(result['next']).toEqual([]);
    expect(result['description']).toEqual(expect.any(String));
    const human = await runCli(['cron', 'next', '@reboot', '--tz', 'UTC']);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toContain('@reboot has no fire time');
  });
});

describe('cronfleet cron next usage errors (exit 2)', () => {
  it("prints the evaluator's message for an invalid expression", async () => {
    const validation = validateCron('61 * * * *');
    if (validation.valid) throw new Error('61 should be an invalid minute');
    const run = await runCli(['cron', 'next', '61 * * * *', '--tz', 'UTC']);
    expect(run.exitCode).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Invalid cron expression "61 * * * *"');
    expect(run.stderr).toContain(validation.message);
  });

  it('prints a JSON error for an invalid expression with --json', async () => {
    const run = await runCli(['cron', 'next', 'not a cron', '--json']);
    expect(run.exitCode).toBe(2);
    const body = JSON.parse(run.stdout) as { error: Record<string, unknown> };
    expect(Object.keys(body.error)).toEqual(['name', 'message', 'exitCode']);
    expect(body.error['exitCode']).toBe(2);
    expect(body.error['message']).toContain('Invalid cron expression "not a cron"');
  });

  it('rejects an unknown time zone', async () => {
    const run = await runCli(['cron', 'next', '0 2 * * *', '--tz', 'Mars/Olympus_Mons']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('Unknown time zone "Mars/Olympus_Mons"');
  });

  it.each([['yesterday'], ['2025-03-29T01:00:00'], ['2025-02-30T00:00:00Z']])(
    'rejects --from %s',
    async (from) => {
      const run = await runCli(['cron', 'next', '0 2 * * *', '--from', from]);
      expect(run.exitCode).toBe(2);
      expect(run.stderr).toContain(`--from "${from}" is not an ISO 8601 instant`);
    },
  );

  it.each([['0'], ['1001'], ['-3']])('rejects -n %s', async (count) => {
    const run = await runCli(['cron', 'next', '0 2 * * *', '-n', count]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('Ask for 1 to 1000 fire times');
  });

  it('accepts -n 1000', async () => {
    const run = await runCli(['cron', 'next', '* * * * *', '--tz', 'UTC', '-n', '1000', '--json']);
    expect(run.exitCode).toBe(0);
    expect((JSON.parse(run.stdout) as { next: string[] }).next).toHaveLength(1000);
  });

  it('asks to quote an expression given as several arguments', async () => {
    const run = await runCli(['cron', 'next', '0', '2', '*', '*', '*']);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toContain('Quote the expression');
  });

  it('rejects an unknown flag, and a missing EXPR', async () => {
    const unknown = await runCli(['cron', 'next', '0 2 * * *', '--bogus']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain('--bogus');
    const missing = await runCli(['cron', 'next']);
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr).toMatch(/EXPR/);
  });
});
