import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  crontabMarkers,
  latin1Of,
  parseCrontab,
  spliceCrontab,
  type CrontabEntryBytes,
} from './crontabDocument.js';
import { SchedulerError } from './schedulerBackend.js';

const owner = 'agent-a';
const { begin, end } = crontabMarkers(owner);
const where = 'the crontab of user t';

function bytes(text: string): Buffer {
  return Buffer.from(text, 'utf8');
}

function entry(id: string, line: string): CrontabEntryBytes {
  return { id, bytes: latin1Of(`# cronfleet-job: ${id}\n${line}`) };
}

function splice(text: string | Buffer, entries: readonly CrontabEntryBytes[]): string {
  const content = typeof text === 'string' ? bytes(text) : text;
  return spliceCrontab(parseCrontab(content, owner, where), owner, entries).toString('utf8');
}

function parseError(text: string): SchedulerError {
  try {
    parseCrontab(bytes(text), owner, where);
  } catch (error) {
    if (error instanceof SchedulerError) return error;
    throw error;
  }
  throw new Error('expected the crontab to be refused');
}

const backup = entry('production/backup', '0 2 * * * /usr/bin/node /a.js run production/backup');
const report = entry('reports/daily', '@daily /usr/bin/node /a.js run reports/daily');

describe('crontab markers', () => {
  it('carry the owner id and say not to edit', () => {
    expect(begin).toBe('# BEGIN cronfleet-agent agent-a: managed by cronfleet-agent, do not edit');
    expect(end).toBe('# END cronfleet-agent agent-a');
  });
});

describe('spliceCrontab', () => {
  it('appends the block after foreign content, CRLF and all, byte for byte', () => {
    const foreign = '# mine\r\nMAILTO=ops@example.com\r\n\r\n0 * * * * /bin/date +\\%F\r\n';
    expect(splice(foreign, [backup, report])).toBe(
      `${foreign}${begin}\n` +
        '# cronfleet-job: production/backup\n0 2 * * * /usr/bin/node /a.js run production/backup\n' +
        '# cronfleet-job: reports/daily\n@daily /usr/bin/node /a.js run reports/daily\n' +
        `${end}\n`,
    );
  });

  it('replaces the block in place and removes it entirely when it becomes empty', () => {
    const text = `A=1\n${begin}\n# cronfleet-job: production/backup\nold line\n${end}\nB=2\r\n`;
    expect(splice(text, [report])).toBe(
      `A=1\n${begin}\n# cronfleet-job: reports/daily\n@daily /usr/bin/node /a.js run reports/daily\n${end}\nB=2\r\n`,
    );
    expect(splice(text, [])).toBe('A=1\nB=2\r\n');
  });

  it('leaves a crontab without a block untouched when there is nothing to install', () => {
    for (const text of ['', 'A=1', '# no final newline\r', 'A=1\n\n\n']) {
      expect(splice(text, [])).toBe(text);
    }
  });

  it('adds the final newline crontab(1) requires only when it writes', () => {
    expect(splice('A=1', [backup])).toBe(
      `A=1\n${begin}\n# cronfleet-job: production/backup\n0 2 * * * /usr/bin/node /a.js run production/backup\n${end}\n`,
    );
    const blockFirst = `${begin}\n# cronfleet-job: production/backup\nx\n${end}\nB=2`;
    expect(splice(blockFirst, [])).toBe('B=2\n');
  });

  it('keeps bytes that are not UTF-8 exactly (a latin1 comment)', () => {
    const foreign = Buffer.from([0x23, 0x20, 0xe9, 0xe8, 0x0d, 0x0a]);
    const result = spliceCrontab(parseCrontab(foreign, owner, where), owner, [backup]);
    expect(result.subarray(0, foreign.length)).toEqual(foreign);
    const removed = spliceCrontab(parseCrontab(result, owner, where), owner, []);
    expect(removed).toEqual(foreign);
  });

  it('writes UTF-8 job lines and reads them back as text', () => {
    const unicode = entry('a/b', "0 2 * * * /x 'grüße 日本'");
    const document = parseCrontab(
      spliceCrontab(parseCrontab(Buffer.alloc(0), owner, where), owner, [unicode]),
      owner,
      where,
    );
    expect(document.block?.entries.map((e) => e.text)).toEqual([
      "# cronfleet-job: a/b\n0 2 * * * /x 'grüße 日本'",
    ]);
  });
});

describe('parseCrontab', () => {
  it('reads the entries of our block and ignores other owners', () => {
    const text =
      `# BEGIN cronfleet-agent agent-b: managed by cronfleet-agent, do not edit\n# cronfleet-job: x/y\n* * * * * /y\n# END cronfleet-agent agent-b\n` +
      `${begin}\n# cronfleet-job: production/backup\n#suspended by cronfleet: 0 2 * * * /x\n${end}\n`;
    const document = parseCrontab(bytes(text), owner, where);
    expect(document.block?.entries.map((e) => [e.id, e.text])).toEqual([
      [
        'production/backup',
        '# cronfleet-job: production/backup\n#suspended by cronfleet: 0 2 * * * /x',
      ],
    ]);
    expect(document.block?.start).toBe(text.indexOf(begin));
    expect(document.block?.end).toBe(text.length);
  });

  const fix = 'Fix the crontab by hand (crontab -e)';
  it.each([
    [
      'a begin without an end',
      `A=1\n${begin}\n# cronfleet-job: a/b\n* * * * * /x\n`,
      `the crontab of user t, line 2: the begin marker of cronfleet-agent agent-a has no end marker ("${end}"). ${fix}`,
    ],
    [
      'an end without a begin',
      `# cronfleet-job: a/b\n* * * * * /x\n${end}\n`,
      `the crontab of user t, line 3: the end marker of cronfleet-agent agent-a has no begin marker ("${begin}"). ${fix}`,
    ],
    [
      'a duplicated begin',
      `${begin}\n${begin}\n${end}\n`,
      `the crontab of user t: the begin marker of cronfleet-agent agent-a appears 2 times (lines 1, 2); a crontab holds at most one block per agent. ${fix}`,
    ],
    [
      'the same block twice',
      `${begin}\n${end}\nA=1\n${begin}\n${end}\n`,
      `the crontab of user t: the begin marker of cronfleet-agent agent-a appears 2 times (lines 1, 4); a crontab holds at most one block per agent. ${fix}`,
    ],
    [
      'markers in the wrong order',
      `${end}\n${begin}\n`,
      `the crontab of user t: the end marker of cronfleet-agent agent-a (line 1) comes before its begin marker (line 2). ${fix}`,
    ],
    [
      'a marker altered by hand (CRLF)',
      `${begin}\r\n${end}\n`,
      `the crontab of user t, line 1: "${begin}\\r" looks like a marker of cronfleet-agent agent-a but is not exactly "${begin}" or "${end}". ${fix}`,
    ],
    [
      'a blank line in the block',
      `${begin}\n# cronfleet-job: a/b\n* * * * * /x\n\n${end}\n`,
      'the crontab of user t, line 4: "" is not a job id comment ("# cronfleet-job: namespace/name"). The block between the cronfleet-agent markers was edited by hand',
    ],
    [
      'a line added by hand',
      `${begin}\n* * * * * /evil\n${end}\n`,
      'the crontab of user t, line 2: "* * * * * /evil" is not a job id comment',
    ],
    [
      'an id comment without its line',
      `${begin}\n# cronfleet-job: a/b\n${end}\n`,
      'the crontab of user t, line 2: job a/b has no cron line after its id comment.',
    ],
    [
      'the same job twice',
      `${begin}\n# cronfleet-job: a/b\n* * * * * /x\n# cronfleet-job: a/b\n* * * * * /y\n${end}\n`,
      'the crontab of user t: job a/b appears twice in the block (lines 2 and 4).',
    ],
  ])('refuses %s', (_what, text, message) => {
    const error = parseError(text);
    expect(error.kind).toBe('stalled');
    expect(error.message.startsWith(message)).toBe(true);
  });

  it('does not mistake another owner whose id starts like ours', () => {
    const other = `# BEGIN cronfleet-agent agent-a2: managed by cronfleet-agent, do not edit\n# END cronfleet-agent agent-a2\n`;
    expect(parseCrontab(bytes(other), owner, where).block).toBeUndefined();
  });
});

describe('every byte outside the block survives install, update and uninstall (property)', () => {
  const foreignLine = fc.oneof(
    fc
      .constantFrom(
        '',
        '# a comment',
        'MAILTO=ops@example.com',
        'SHELL=/bin/bash',
        '0 * * * * /usr/bin/backup --date=+\\%F%stdin%more',
        '@reboot /usr/local/bin/start',
        '# BEGIN cronfleet-agent agent-b: managed by cronfleet-agent, do not edit',
        '# cronfleet-job: other/job',
        '# END cronfleet-agent agent-b',
        '   # indented comment',
        '# größe 日本 🎉',
      )
      .map(latin1Of),
    fc
      .string({ unit: 'binary', maxLength: 40 })
      .map((text) => latin1Of(text).replaceAll('\n', ' ')),
    fc
      .uint8Array({ maxLength: 30 })
      .map((array) => Buffer.from(array).toString('latin1').replaceAll('\n', ' ')),
  );
  const foreignText = fc
    .record({
      lines: fc.array(fc.tuple(foreignLine, fc.boolean()), { maxLength: 12 }),
      finalNewline: fc.boolean(),
    })
    .map(({ lines, finalNewline }) => {
      const text = lines.map(([line, crlf]) => `${line}${crlf ? '\r' : ''}`).join('\n');
      return text === '' || !finalNewline ? text : `${text}\n`;
    })
    // A line naming our owner would be (part of) our block, not foreign content.
    .filter((text) => !/cronfleet-agent[ \t]+agent-a(?![A-Za-z0-9._-])/i.test(text));
  const entries = fc
    .uniqueArray(fc.constantFrom('a/b', 'a/c', 'prod/backup', 'z/last'), { maxLength: 4 })
    .map((ids) =>
      ids.sort().map((id) => entry(id, `0 2 * * * /usr/bin/node /a.js run ${id} '100'\\%'`)),
    );

  it('for 3,000 generated crontabs (seeded)', () => {
    fc.assert(
      fc.property(foreignText, entries, entries, (text, first, second) => {
        const foreign = Buffer.from(text, 'latin1');
        const finalForeign = text === '' || text.endsWith('\n') ? text : `${text}\n`;
        const installed = spliceCrontab(parseCrontab(foreign, owner, where), owner, first);
        const afterInstall = parseCrontab(installed, owner, where);
        if (first.length === 0) {
          expect(installed.equals(foreign)).toBe(true);
          expect(afterInstall.block).toBeUndefined();
          return;
        }
        expect(afterInstall.block?.entries.map((e) => e.bytes)).toEqual(first.map((e) => e.bytes));
        const source = afterInstall.source;
        const block = afterInstall.block;
        if (block === undefined) throw new Error('no block');
        expect(source.slice(0, block.start) + source.slice(block.end)).toBe(finalForeign);

        const updated = spliceCrontab(afterInstall, owner, second);
        const afterUpdate = parseCrontab(updated, owner, where);
        const updatedSource = afterUpdate.source;
        const updatedBlock = afterUpdate.block;
        const outside =
          updatedBlock === undefined
            ? updatedSource
            : updatedSource.slice(0, updatedBlock.start) + updatedSource.slice(updatedBlock.end);
        expect(outside).toBe(finalForeign);
        expect(updatedBlock?.entries.map((e) => e.bytes) ?? []).toEqual(second.map((e) => e.bytes));

        const uninstalled = spliceCrontab(afterUpdate, owner, []);
        expect(uninstalled.toString('latin1')).toBe(finalForeign);
      }),
      { seed: 20260522, numRuns: 3000 },
    );
  });
});
