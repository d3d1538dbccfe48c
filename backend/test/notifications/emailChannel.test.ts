import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import {
  deliverNotification,
  parseChannelConfig,
} from '../../src/notifications/channelRegistry.js';
import type { Notification } from '../../src/notifications/notification.js';
import {
  failingNotification,
  resolvedNotification,
  startSilentServer,
  testContext,
} from './notificationFixtures.js';

/** The email kind against a real SMTP server (smtp-server) on 127.0.0.1. */

interface ReceivedMail {
  from: string | undefined;
  to: string[];
  user: string | undefined;
  raw: string;
}

interface Options {
  starttls?: boolean;
  rejectRecipient?: number;
}

const servers: SMTPServer[] = [];
afterEach(async () => {
  await Promise.all(
    servers
      .splice(0)
      .map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
  );
});

async function startSmtpServer(options: Options = {}) {
  const mails: ReceivedMail[] = [];
  const server = new SMTPServer({
    disabledCommands: options.starttls === true ? [] : ['STARTTLS'],
    allowInsecureAuth: true,
    authOptional: true,
    logger: false,
    onAuth(auth, _session, callback) {
      if (auth.username === 'cronfleet' && auth.password === 'smtp password 1') {
        callback(null, { user: auth.username });
      } else {
        callback(Object.assign(new Error('Authentication failed'), { responseCode: 535 }));
      }
    },
    onRcptTo(address, _session, callback) {
      if (options.rejectRecipient !== undefined) {
        const error = Object.assign(new Error(`no mailbox ${address.address}`), {
          responseCode: options.rejectRecipient,
        });
        return callback(error);
      }
      callback();
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        mails.push({
          from: session.envelope.mailFrom === false ? undefined : session.envelope.mailFrom.address,
          to: session.envelope.rcptTo.map((recipient) => recipient.address),
          user: session.user as string | undefined,
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server.server, 'listening');
  const { port } = server.server.address() as AddressInfo;
  return { port, mails };
}

/** Headers (unfolded) and decoded parts of a MIME message: enough to check what we send. */
function parseMime(raw: string) {
  const [head = '', ...rest] = raw.split(/\r?\n\r?\n/);
  const body = rest.join('\r\n\r\n');
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon > 0) headers.set(line.slice(0, colon).toLowerCase(), line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decode(body: string, encoding: string | undefined): string {
  if (encoding === 'base64')
    return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
  if (encoding === 'quoted-printable') {
    const bytes = body
      .replace(/=\r?\n/g, '')
      .replace(/=([0-9A-F]{2})/g, (_match, hex: string) => String.fromCharCode(parseInt(hex, 16)));
    return Buffer.from(bytes, 'latin1').toString('utf8');
  }
  return body;
}

function partsOf(raw: string): Map<string, string> {
  const message = parseMime(raw);
  const boundary = /boundary="?([^";]+)"?/.exec(message.headers.get('content-type') ?? '')?.[1];
  if (boundary === undefined) throw new Error('not multipart');
  const parts = new Map<string, string>();
  for (const chunk of message.body.split(`--${boundary}`).slice(1, -1)) {
    const part = parseMime(chunk.replace(/^\r?\n/, ''));
    const type = (part.headers.get('content-type') ?? '').split(';')[0] as string;
    parts.set(
      type,
      decode(
        part.body.replace(/\r?\n$/, ''),
        part.headers.get('content-transfer-encoding'),
      ).replace(/\r\n/g, '\n'),
    );
  }
  return parts;
}

const baseConfig = (port: number) => ({
  host: '127.0.0.1',
  port,
  security: 'none',
  username: 'cronfleet',
  password: 'smtp password 1',
  from: 'cronfleet@example.com',
  to: ['ops@example.com', 'db-team@example.com'],
});

describe('email (SMTP)', () => {
  it('sends a text and an escaped HTML alternative, logged in, to every recipient', async () => {
    const smtp = await startSmtpServer();
    const result = await deliverNotification(
      'email',
      failingNotification,
      baseConfig(smtp.port),
      testContext(),
    );
    expect(result).toEqual({ outcome: 'delivered', status: 250 });
    expect(smtp.mails).toHaveLength(1);
    const mail = smtp.mails[0] as ReceivedMail;
    expect(mail.user).toBe('cronfleet');
    expect(mail.from).toBe('cronfleet@example.com');
    expect(mail.to).toEqual(['ops@example.com', 'db-team@example.com']);

    const { headers } = parseMime(mail.raw);
    expect(headers.get('subject')).toBe(
      '[Cronfleet] Failing: production/nightly-db-backup on db-1',
    );
    expect(headers.get('message-id')).toBe(
      `<${failingNotification.idempotencyKey}@cron.example.com>`,
    );
    expect(headers.get('references')).toBe('<incident-inc_8f14e45fceea167a@cron.example.com>');
    expect(headers.get('x-cronfleet-incident')).toBe('inc_8f14e45fceea167a');
    expect(headers.get('content-type')).toMatch(/^multipart\/alternative/);

    const parts = partsOf(mail.raw);
    const text = parts.get('text/plain') ?? '';
    expect(text).toContain('Failing: production/nightly-db-backup on db-1');
    expect(text).toContain(
      'What happened: 2 runs in a row exited 3 <the last at 02:00 America/New_York>',
    );
    expect(text).toContain('Last output:\npg_dump: error: connection to server failed');
    expect(text).toContain(
      'FATAL: password authentication failed for user "backup" & <script>alert(1)</script>',
    );
    expect(text).not.toContain('\u001b');
    expect(text).toContain(`Open in Cronfleet: ${failingNotification.dashboardUrl}`);

    const html = parts.get('text/html') ?? '';
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;the last at 02:00 America/New_York&gt;');
    expect(html).toContain('for user &quot;backup&quot; &amp;');
    expect(html).toContain(`<a href="${failingNotification.dashboardUrl}">Open in Cronfleet</a>`);
  });

  it('sends no output section for a resolved incident', async () => {
    const smtp = await startSmtpServer();
    const result = await deliverNotification(
      'email',
      resolvedNotification,
      baseConfig(smtp.port),
      testContext(),
    );
    expect(result.outcome).toBe('delivered');
    const mail = smtp.mails[0] as ReceivedMail;
    expect(parseMime(mail.raw).headers.get('subject')).toBe(
      '[Cronfleet] Resolved: Failing: production/nightly-db-backup on db-1',
    );
    expect(partsOf(mail.raw).get('text/plain')).not.toContain('Last output');
  });

  it('a refused password needs a person; a 5xx recipient refusal too; a 4xx is retried', async () => {
    const smtp = await startSmtpServer();
    const wrong = await deliverNotification(
      'email',
      failingNotification,
      { ...baseConfig(smtp.port), password: 'not it' },
      testContext(),
    );
    expect(wrong).toMatchObject({ outcome: 'failed', retryable: false, status: 535 });
    expect(JSON.stringify(wrong)).not.toContain('not it');

    const refusing = await startSmtpServer({ rejectRecipient: 550 });
    expect(
      await deliverNotification(
        'email',
        failingNotification,
        baseConfig(refusing.port),
        testContext(),
      ),
    ).toMatchObject({
      outcome: 'failed',
      retryable: false,
    });
    const busy = await startSmtpServer({ rejectRecipient: 451 });
    expect(
      await deliverNotification('email', failingNotification, baseConfig(busy.port), testContext()),
    ).toMatchObject({
      outcome: 'failed',
      retryable: true,
    });
  });

  it('with starttls, refuses a server without STARTTLS and one whose certificate does not verify', async () => {
    const plain = await startSmtpServer();
    const withoutTls = await deliverNotification(
      'email',
      failingNotification,
      { ...baseConfig(plain.port), security: 'starttls' },
      testContext(),
    );
    expect(withoutTls).toMatchObject({ outcome: 'failed', retryable: false });
    expect(withoutTls.outcome === 'failed' && withoutTls.reason).toMatch(
      /^127\.0\.0\.1 answered 5\d\d: /,
    );
    expect(plain.mails).toHaveLength(0);

    const selfSigned = await startSmtpServer({ starttls: true });
    const unverified = await deliverNotification(
      'email',
      failingNotification,
      { ...baseConfig(selfSigned.port), security: 'starttls' },
      testContext(),
    );
    // smtp-server's built-in certificate is self-signed (and expired): it must not verify.
    expect(unverified.outcome === 'failed' && unverified.reason).toMatch(/certificate/);
    expect(selfSigned.mails).toHaveLength(0);
  });

  it('gives up on a server that never greets, retryably', async () => {
    const silent = await startSilentServer();
    try {
      const result = await deliverNotification(
        'email',
        failingNotification,
        { ...baseConfig(silent.port), username: undefined, password: undefined },
        testContext({ connectTimeoutMs: 300, totalTimeoutMs: 60_000 }),
      );
      expect(result).toMatchObject({ outcome: 'failed', retryable: true });
      expect(silent.connections()).toBe(1);
    } finally {
      await silent.close();
    }
  });

  it('gives up on a host name whose resolution never ends, retryably', async () => {
    const result = await deliverNotification(
      'email',
      failingNotification,
      { ...baseConfig(25), host: 'smtp.hangs.example' },
      testContext({ resolve: () => new Promise<string[]>(() => {}), totalTimeoutMs: 300 }),
    );
    expect(result).toEqual({
      outcome: 'failed',
      retryable: true,
      reason: 'smtp.hangs.example did not take the mail within 300 ms',
    });
  });

  it('refuses an SMTP host on a private or loopback address unless allowed, before connecting', async () => {
    for (const host of ['10.0.0.1', '169.254.169.254', 'localhost']) {
      const result = await deliverNotification(
        'email',
        failingNotification,
        { ...baseConfig(25), host },
        testContext({ allowedNetworks: [] }),
      );
      expect(result).toMatchObject({ outcome: 'failed', retryable: false });
      expect(result.outcome === 'failed' && result.reason).toContain(
        'which notifications may not reach',
      );
    }
  });

  it('turns an unexpected error into a retryable failure, and logs no secret', async () => {
    const smtp = await startSmtpServer();
    const lines: string[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
    const broken = { ...failingNotification, dashboardUrl: 'not a URL' } as Notification;
    const result = await deliverNotification('email', broken, baseConfig(smtp.port), {
      ...testContext(),
      logger,
    });
    expect(result).toEqual({
      outcome: 'failed',
      retryable: true,
      reason: 'an internal error; see the backend log',
    });
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('notification delivery failed unexpectedly');
    expect(lines.join('')).not.toContain('smtp password 1');
  });

  it('checks its configuration: addresses, and username with password', () => {
    expect(parseChannelConfig('email', baseConfig(587)).success).toBe(true);
    expect(
      parseChannelConfig('email', { ...baseConfig(587), to: ['not an address'] }).success,
    ).toBe(false);
    expect(parseChannelConfig('email', { ...baseConfig(587), password: undefined }).success).toBe(
      false,
    );
    const defaults = parseChannelConfig('email', {
      host: 'smtp.example.com',
      from: 'a@example.com',
      to: ['b@example.com'],
    });
    expect(defaults.success && defaults.data).toEqual({
      host: 'smtp.example.com',
      port: 587,
      security: 'starttls',
      from: 'a@example.com',
      to: ['b@example.com'],
    });
  });
});
