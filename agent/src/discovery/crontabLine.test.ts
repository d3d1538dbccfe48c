import { describe, expect, it } from 'vitest';
import { decodeCronCommand, parseCrontabLine } from './crontabLine.js';

describe('parseCrontabLine', () => {
  it('tells blank lines, comments and environment settings from entries', () => {
    expect(parseCrontabLine('')).toEqual({ kind: 'blank' });
    expect(parseCrontabLine(' \t ')).toEqual({ kind: 'blank' });
    expect(parseCrontabLine('\r')).toEqual({ kind: 'blank' });
    expect(parseCrontabLine('# m h dom mon dow command')).toEqual({ kind: 'comment' });
    expect(parseCrontabLine('  #0 2 * * * /disabled')).toEqual({ kind: 'comment' });
    expect(parseCrontabLine('MAILTO=ops@example.com')).toEqual({
      kind: 'environment',
      name: 'MAILTO',
    });
    expect(parseCrontabLine('PATH = /usr/bin:/bin')).toEqual({ kind: 'environment', name: 'PATH' });
    expect(parseCrontabLine('"CRON TZ"="Europe/Paris"')).toEqual({
      kind: 'environment',
      name: 'CRON TZ',
    });
  });

  it('reads five fields or a macro, then the command exactly as written', () => {
    expect(parseCrontabLine('0 2 * * * /opt/backup.sh --all  ')).toEqual({
      kind: 'entry',
      schedule: '0 2 * * *',
      command: '/opt/backup.sh --all  ',
    });
    expect(parseCrontabLine('\t*/15\t9-17 * jan-mar mon-fri\techo a=b %x')).toEqual({
      kind: 'entry',
      schedule: '*/15 9-17 * jan-mar mon-fri',
      command: 'echo a=b %x',
    });
    expect(parseCrontabLine('@reboot /usr/local/bin/warm\r')).toEqual({
      kind: 'entry',
      schedule: '@reboot',
      command: '/usr/local/bin/warm',
    });
    expect(parseCrontabLine('@daily FOO=1 run')).toEqual({
      kind: 'entry',
      schedule: '@daily',
      command: 'FOO=1 run',
    });
  });

  it('says why a line is not an entry', () => {
    expect(parseCrontabLine('0 2 * * *')).toEqual({
      kind: 'invalid',
      reason: 'the schedule "0 2 * * *" is not followed by a command',
    });
    expect(parseCrontabLine('@every 5m /bin/true')).toEqual({
      kind: 'invalid',
      reason:
        '"@every" is not a macro cron knows (@reboot @yearly @annually @monthly @weekly @daily @midnight @hourly)',
    });
    const outOfRange = parseCrontabLine('61 * * * * /bin/true');
    expect(outOfRange.kind).toBe('invalid');
    expect(outOfRange.kind === 'invalid' && outOfRange.reason).toMatch(/minute/);
    expect(parseCrontabLine('hello world')).toMatchObject({ kind: 'invalid' });
  });
});

describe('decodeCronCommand', () => {
  it('turns \\% into %, ends the command at an unescaped % and makes the rest stdin', () => {
    expect(decodeCronCommand('date +\\%Y-\\%m')).toEqual({ command: 'date +%Y-%m', stdin: null });
    expect(decodeCronCommand('mail -s hi root%line one%line two')).toEqual({
      command: 'mail -s hi root',
      stdin: 'line one\nline two',
    });
    expect(decodeCronCommand('cat%100\\% sure%')).toEqual({ command: 'cat', stdin: '100% sure\n' });
    expect(decodeCronCommand('printf "a\\\\b"')).toEqual({
      command: 'printf "a\\\\b"',
      stdin: null,
    });
    // `\\%`: the second backslash is not an escape, so the % ends the command.
    expect(decodeCronCommand('echo \\\\%in')).toEqual({ command: 'echo \\\\', stdin: 'in' });
    expect(decodeCronCommand('x%a\\b\\')).toEqual({ command: 'x', stdin: 'a\\b\\' });
  });
});
