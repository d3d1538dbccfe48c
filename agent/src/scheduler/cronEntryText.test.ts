import { spawnSync } from 'node:child_process';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  argumentsPrintedBy,
  cronCommandOf,
  printfArgv,
} from '../../test/scheduler/cronLineSemantics.js';
import {
  assertCronTimeZone,
  assertJobIdentity,
  maxCronCommandBytes,
  quoteCronShellWord,
  renderCronCommand,
  renderCronExpression,
  renderCronLine,
} from './cronEntryText.js';
import { SchedulerError, type ScheduledJob } from './schedulerBackend.js';

const shells = ['/bin/sh', '/bin/dash', '/bin/bash'].filter(
  (shell) => spawnSync(shell, ['-c', 'true']).status === 0,
);

/** Every backslash is the `\%` escape or followed by a quote: no cron reads it differently. */
function backslashesAreUnambiguous(command: string): boolean {
  return !/\\(?![%'])/.test(command);
}

function lineFor(words: readonly string[]): string {
  return renderCronLine({
    expression: '*/5 * * * *',
    command: renderCronCommand(printfArgv(words), 'test/job'),
    suspended: false,
  });
}

function job(overrides: Partial<ScheduledJob> = {}): ScheduledJob {
  return {
    id: 'production/backup',
    namespace: 'production',
    name: 'backup',
    schedule: { expression: '0 2 * * *', timezone: 'UTC', exact: true },
    suspended: false,
    user: undefined,
    ...overrides,
  };
}

function errorOf(action: () => unknown): SchedulerError {
  try {
    action();
  } catch (error) {
    if (error instanceof SchedulerError) return error;
    throw error;
  }
  throw new Error('expected a SchedulerError');
}

describe('quoteCronShellWord', () => {
  it.each([
    ['/usr/bin/node', '/usr/bin/node'],
    ['production/backup', 'production/backup'],
    ['--state-dir=/var/lib/cronfleet', '--state-dir=/var/lib/cronfleet'],
    ['', "''"],
    ['a b', "'a b'"],
    ["it's", "'it'\\''s'"],
    ['100%', "'100'\\%"],
    ['%%', '\\%\\%'],
    ['a\\b', "'a''\\''b'"],
    ['\\%', "'\\'\\%"],
    ['=cmd', "'=cmd'"],
    ['$(id)', "'$(id)'"],
    ['`id`', "'`id`'"],
    ['~root', "'~root'"],
    ['a;b', "'a;b'"],
    ['#x', "'#x'"],
    ['日本', "'日本'"],
  ])('%j renders as %j', (word, quoted) => {
    expect(quoteCronShellWord(word)).toBe(quoted);
  });
});

describe('renderCronExpression', () => {
  it.each([
    ['0 2 * * *', '0 2 * * *'],
    ['  0\t2  *  * mon-fri ', '0 2 * * mon-fri'],
    ['*/15 0-6/2 1,15 jan-jun 0', '*/15 0-6/2 1,15 jan-jun 0'],
    ['@reboot', '@reboot'],
    ['@daily', '@daily'],
    ['@annually', '@annually'],
  ])('%j renders as %j', (expression, rendered) => {
    expect(renderCronExpression(expression, 'a/b')).toBe(rendered);
  });

  it.each([
    ['0 2 * * * *', 'must be five fields'],
    ['0 2 * *', 'must be five fields'],
    ['0 2 * * ?', 'must be five fields'],
    ['0 2 L * *', 'job a/b: schedule "0 2 L * *"'],
    ['61 * * * *', 'job a/b: schedule "61 * * * *"'],
    ['0 2 * * *\n* * * * * /bin/sh', 'control character U+000A'],
    ['0 2 * * *;', 'must be five fields'],
    ['@every', 'not a macro cron knows'],
    ['@DAILY', 'not a macro cron knows'],
  ])('rejects %j', (expression, message) => {
    const error = errorOf(() => renderCronExpression(expression, 'a/b'));
    expect(error.kind).toBe('stalled');
    expect(error.message).toContain(message);
  });
});

describe('renderCronCommand', () => {
  it('quotes each word and keeps plain words bare', () => {
    expect(
      renderCronCommand(
        ['/usr/bin/node', '/opt/cronfleet agent/main.js', 'run', 'production/backup'],
        'production/backup',
      ),
    ).toBe("/usr/bin/node '/opt/cronfleet agent/main.js' run production/backup");
  });

  it.each([
    ['newline', 'a\nb', 'U+000A', 1],
    ['carriage return', 'a\rb', 'U+000D', 1],
    ['NUL', 'a\0b', 'U+0000', 1],
    ['tab', 'a\tb', 'U+0009', 1],
    ['escape', '\u001b[31m', 'U+001B', 0],
    ['DEL', 'a\u007f', 'U+007F', 1],
    ['C1 next line', 'a\u0085b', 'U+0085', 1],
    ['line separator', 'a\u2028b', 'U+2028', 1],
    ['lone surrogate', 'a\ud800b', 'U+D800', 1],
  ])('rejects a %s', (_what, word, codePoint, offset) => {
    const error = errorOf(() => renderCronCommand(['/bin/echo', word], 'p/j'));
    expect(error.kind).toBe('stalled');
    expect(error.message).toBe(
      `job p/j: argument 1 contains the control character ${codePoint} at offset ${offset}; newlines, NUL and other control characters cannot be written into a cron file`,
    );
  });

  it('rejects a relative program, an empty argv and a command cron would refuse as too long', () => {
    expect(errorOf(() => renderCronCommand(['node', 'x'], 'p/j')).message).toContain(
      'must start with an absolute path',
    );
    expect(errorOf(() => renderCronCommand([], 'p/j')).message).toBe(
      'job p/j: the run command is empty',
    );
    const fits = ['/x', 'a'.repeat(maxCronCommandBytes - 3)];
    expect(Buffer.byteLength(renderCronCommand(fits, 'p/j'))).toBe(maxCronCommandBytes);
    const tooLong = ['/x', 'a'.repeat(maxCronCommandBytes - 2)];
    expect(errorOf(() => renderCronCommand(tooLong, 'p/j')).message).toContain(
      `the rendered command is ${maxCronCommandBytes + 1} bytes; cron accepts at most ${maxCronCommandBytes}`,
    );
  });
});

describe('a rendered line runs exactly its argv', () => {
  const hostile = [
    '100%',
    '%%s%',
    '\\%',
    'a\\\\%b',
    'trailing\\',
    '\\',
    "'",
    "''",
    '"',
    'a;b',
    '; touch /tmp/cronfleet-pwned',
    '$(touch /tmp/cronfleet-pwned)',
    '`touch /tmp/cronfleet-pwned`',
    '${HOME:-x}',
    '$HOME',
    '#not-a-comment',
    '*',
    '~',
    '=x',
    '&& echo',
    '|',
    '> /tmp/x',
    '{a,b}',
    '!!',
    ' leading and trailing ',
    '',
    'grüße 日本語 🎉',
    '\u00a0nbsp',
  ];

  it.each(shells)('through %s, for hostile words', (shell) => {
    const line = lineFor(hostile);
    expect(line.split('\n')).toHaveLength(1);
    expect(backslashesAreUnambiguous(cronCommandOf(line, { userField: false }).command)).toBe(true);
    expect(argumentsPrintedBy(line, shell)).toEqual(hostile);
  });

  it('for generated words, or refuses them when they hold a control character (fast-check, seeded)', () => {
    // eslint-disable-next-line no-control-regex
    const controlCharacter = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]|[\ud800-\udfff]/u;
    const character = fc.oneof(
      fc.constantFrom('%', '\\', "'", '"', '$', '`', ';', '#', ' ', '*', '~', '=', '&', '|'),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
    );
    const word = fc.array(character, { maxLength: 12 }).map((characters) => characters.join(''));
    let refused = 0;
    fc.assert(
      fc.property(fc.array(word, { minLength: 1, maxLength: 6 }), (words) => {
        if (words.some((text) => controlCharacter.test(text))) {
          refused += 1;
          expect(() => lineFor(words)).toThrow(SchedulerError);
          return;
        }
        const line = lineFor(words);
        const { command } = cronCommandOf(line, { userField: false });
        expect(backslashesAreUnambiguous(command)).toBe(true);
        expect(argumentsPrintedBy(line, '/bin/sh')).toEqual(words);
      }),
      { seed: 4242, numRuns: 200 },
    );
    expect(refused).toBeGreaterThan(5);
    expect(refused).toBeLessThan(150);
  });

  it('is accepted by the real crontab syntax check (crontab -n)', () => {
    const lines = [
      '0 2 * * *',
      '@reboot',
      '@hourly',
      '*/15 0-6/2 1,15 jan-jun mon-fri',
      '0 0 29 2 7',
    ].map((expression) =>
      renderCronLine({
        expression: renderCronExpression(expression, 'a/b'),
        command: renderCronCommand(printfArgv(hostile), 'a/b'),
        suspended: false,
      }),
    );
    const result = spawnSync('crontab', ['-n', '-'], { input: `${lines.join('\n')}\n` });
    expect(result.stderr.toString()).not.toContain('error');
    expect(result.status).toBe(0);
  });
});

describe('renderCronLine', () => {
  it('writes the user field for /etc/cron.d and comments out a suspended job', () => {
    expect(
      renderCronLine({ expression: '@daily', user: 'postgres', command: '/x', suspended: false }),
    ).toBe('@daily postgres /x');
    expect(renderCronLine({ expression: '0 2 * * *', command: '/x', suspended: true })).toBe(
      '#suspended by cronfleet: 0 2 * * * /x',
    );
  });
});

describe('job checks', () => {
  it('accepts namespace/name DNS labels only', () => {
    expect(() => assertJobIdentity(job())).not.toThrow();
    expect(
      errorOf(() => assertJobIdentity(job({ name: 'Backup', id: 'production/Backup' }))).message,
    ).toBe('job "production/Backup": name "Backup" is not a DNS label');
    expect(
      errorOf(() => assertJobIdentity(job({ name: 'x\n* * * * * evil', id: 'p/x' }))).message,
    ).toContain('is not a DNS label');
    expect(errorOf(() => assertJobIdentity(job({ id: 'production/other' }))).message).toBe(
      'job "production/other": the id must be "production/backup" (namespace/name)',
    );
  });

  it('refuses a schedule computed for another zone than cron runs in', () => {
    expect(() => assertCronTimeZone(job(), 'UTC')).not.toThrow();
    expect(() => assertCronTimeZone(job(), 'Etc/UTC')).not.toThrow();
    const zoned = job({
      schedule: { expression: '0 2 * * *', timezone: 'Europe/Berlin', exact: true },
    });
    expect(errorOf(() => assertCronTimeZone(zoned, 'UTC')).message).toBe(
      'job production/backup: the native schedule is for time zone "Europe/Berlin" but cron here runs in "UTC"; translate the schedule into cron\'s zone before installing it',
    );
  });
});
