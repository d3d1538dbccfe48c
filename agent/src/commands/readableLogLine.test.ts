import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { readableLogDestination, readableLogLine } from './readableLogLine.js';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  return {
    stream: new Writable({
      write(chunk: Buffer, _encoding, done) {
        text += chunk.toString();
        done();
      },
    }),
    text: () => text,
  };
}

/** A logger as main builds it for one-shot commands. */
function oneShotLogger(stream: Writable) {
  return pino(
    {
      level: 'warn',
      base: { component: 'cronfleet-agent' },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    readableLogDestination(stream),
  );
}

describe('readableLogLine', () => {
  it('words a warning with its reason as one sentence', () => {
    expect(
      readableLogLine({
        level: 40,
        time: 1,
        pid: 2,
        hostname: 'h',
        component: 'cronfleet-agent',
        msg: 'inventory not reported',
        reason: 'no answer from http://127.0.0.1:9 (ECONNREFUSED)',
      }),
    ).toBe('warning: inventory not reported: no answer from http://127.0.0.1:9 (ECONNREFUSED)\n');
  });

  it('puts other fields in parentheses, the job first, and indents continuation lines', () => {
    expect(
      readableLogLine({
        level: 50,
        msg: 'spool not drained',
        job: 'production/backup',
        outcome: 'unavailable',
        sent: 0,
        retryAt: null,
      }),
    ).toBe(
      'error: production/backup: spool not drained (outcome: unavailable, sent: 0, retryAt: none)\n',
    );
    expect(readableLogLine({ level: 30, msg: 'two\nlines' })).toBe('two\n  lines\n');
  });
});

describe('the one-shot logger', () => {
  it('renders an error by its message and causes, never as a JSON dump', () => {
    const out = capture();
    const logger = oneShotLogger(out.stream);
    const error = new Error('connect ECONNREFUSED 127.0.0.1:9', {
      cause: new Error('socket closed'),
    });
    logger.warn({ err: error }, 'heartbeat not sent');
    logger.warn({ error: new Error('disk full') }, 'spool not written');
    logger.info('not shown at warn');
    expect(out.text()).toBe(
      'warning: heartbeat not sent: connect ECONNREFUSED 127.0.0.1:9: socket closed\n' +
        'warning: spool not written: disk full\n',
    );
    expect(out.text()).not.toContain('{');
    expect(out.text()).not.toContain('stack');
  });

  it('keeps scoped children readable', () => {
    const out = capture();
    oneShotLogger(out.stream)
      .child({ component: 'spool' })
      .warn({ outcome: 'unauthorized', sent: 3 }, 'spool not drained');
    expect(out.text()).toBe('warning: spool not drained (outcome: unauthorized, sent: 3)\n');
  });
});
