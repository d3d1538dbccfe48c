import { isIP } from 'node:net';
import nodemailer from 'nodemailer';
import { z } from 'zod';
import type { DeliveryResult } from './channelKind.js';
import { defineChannelKind } from './channelKind.js';
import { bodyExcerpt } from './httpDeliveryResult.js';
import type { Notification } from './notification.js';
import { displayableTail, factsOf, plainTextOf, summaryOf } from './notificationText.js';
import { OutboundError } from './outboundHttp.js';

/**
 * Email over SMTP with nodemailer: a plain-text body and an HTML alternative (every value
 * HTML-escaped, the output tail in <pre> as text). The SMTP host goes through the same address
 * rule as the HTTP kinds: it is resolved once, every address judged, and nodemailer connects to
 * the address judged, with the host name kept for TLS.
 */

export const smtpSecurityModes = ['starttls', 'tls', 'none'] as const;

export const EmailConfig = z
  .strictObject({
    host: z.string().min(1).max(253),
    port: z.number().int().min(1).max(65535).default(587),
    /**
     * starttls: upgrade with STARTTLS, and fail without it (port 587). tls: TLS from the first
     * byte (port 465). none: no TLS at all, for a relay on a trusted network.
     */
    security: z.enum(smtpSecurityModes).default('starttls'),
    username: z.string().min(1).optional(),
    password: z.string().min(1).optional(),
    from: z.email({ message: 'must be an email address' }),
    to: z
      .array(z.email({ message: 'each must be an email address' }))
      .min(1)
      .max(50),
  })
  .refine((config) => (config.username === undefined) === (config.password === undefined), {
    message: 'username and password go together',
    path: ['password'],
  });
export type EmailConfig = z.output<typeof EmailConfig>;

export function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

export function emailHtmlOf(notification: Notification): string {
  const rows = factsOf(notification)
    .map(
      (fact) =>
        `<tr><th align="left" style="padding:2px 12px 2px 0">${escapeHtml(fact.label)}</th><td>${escapeHtml(fact.value)}</td></tr>`,
    )
    .join('');
  const tail =
    notification.outputTail === undefined || notification.outputTail === ''
      ? ''
      : `<h3>Last output</h3><pre style="white-space:pre-wrap">${escapeHtml(displayableTail(notification.outputTail, 8000))}</pre>`;
  return [
    '<!DOCTYPE html><html><body>',
    `<h2>${escapeHtml(summaryOf(notification))}</h2>`,
    `<table>${rows}</table>`,
    tail,
    `<p><a href="${escapeHtml(notification.dashboardUrl)}">Open in Cronfleet</a></p>`,
    '</body></html>',
  ].join('');
}

/** The Message-ID's right-hand side: the dashboard's host, which names this installation. */
function messageDomain(notification: Notification): string {
  return new URL(notification.dashboardUrl).hostname || 'cronfleet.invalid';
}

export const emailChannel = defineChannelKind({
  label: 'Email (SMTP)',
  configSchema: EmailConfig,
  secretFields: ['password'],
  async deliver(notification, config, context): Promise<DeliveryResult> {
    const { connectTimeoutMs, totalTimeoutMs } = context.outbound.settings;
    const domain = messageDomain(notification);
    // One deadline for the whole delivery: resolving the host, connecting, and the conversation.
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new OutboundError(
              'timeout',
              `${config.host} did not take the mail within ${totalTimeoutMs} ms`,
              true,
            ),
          ),
        totalTimeoutMs,
      );
    });
    let transport: ReturnType<typeof nodemailer.createTransport> | undefined;
    try {
      const address = await Promise.race([context.outbound.checkedAddress(config.host), deadline]);
      transport = nodemailer.createTransport({
        host: address,
        port: config.port,
        secure: config.security === 'tls',
        requireTLS: config.security === 'starttls',
        ignoreTLS: config.security === 'none',
        // The certificate is checked against the configured name, not the address connected to.
        ...(isIP(config.host) === 0 ? { tls: { servername: config.host } } : {}),
        ...(config.username === undefined
          ? {}
          : { auth: { user: config.username, pass: config.password ?? '' } }),
        connectionTimeout: connectTimeoutMs,
        greetingTimeout: connectTimeoutMs,
        socketTimeout: totalTimeoutMs,
        // Nothing of the conversation goes to a log: it carries the password.
        logger: false,
        debug: false,
      });
      const sent = await Promise.race([
        transport.sendMail({
          from: config.from,
          to: config.to,
          subject: `[Cronfleet] ${summaryOf(notification)}`,
          text: plainTextOf(notification),
          html: emailHtmlOf(notification),
          // The same on every retry, so a receiver can drop a duplicate; one thread per incident.
          messageId: `<${notification.idempotencyKey}@${domain}>`,
          references: `<incident-${notification.incident.id}@${domain}>`,
          headers: {
            'X-Cronfleet-Event': notification.event,
            'X-Cronfleet-Incident': notification.incident.id,
          },
        }),
        deadline,
      ]);
      const code = /^(\d{3})/.exec(sent.response ?? '')?.[1];
      return { outcome: 'delivered', ...(code === undefined ? {} : { status: Number(code) }) };
    } catch (error) {
      return resultOfSmtpError(error, config.host);
    } finally {
      clearTimeout(timer);
      transport?.close();
    }
  },
});

/** 4xx replies and connection trouble are worth retrying; 5xx replies and refused logins are not. */
function resultOfSmtpError(error: unknown, host: string): DeliveryResult {
  if (error instanceof OutboundError) {
    return { outcome: 'failed', retryable: error.retryable, reason: error.message };
  }
  const problem = error as {
    code?: string;
    responseCode?: number;
    response?: string;
    message?: string;
  };
  const status = problem.responseCode;
  // The server's reply ("550 5.1.1 no such mailbox"), without its code, which is `status`.
  const said = bodyExcerpt((problem.response ?? '').replace(/^\d{3}[ -]?/, ''));
  const suffix = said === '' ? '' : `: ${said}`;
  if (problem.code === 'EAUTH') {
    return {
      outcome: 'failed',
      retryable: false,
      ...(status === undefined ? {} : { status }),
      reason: `${host} refused the username and password${suffix}`,
    };
  }
  if (status !== undefined) {
    return {
      outcome: 'failed',
      retryable: status < 500,
      status,
      reason: `${host} answered ${status}${suffix}`,
    };
  }
  // EENVELOPE: no valid sender or recipient; sending again changes nothing.
  const permanent = problem.code === 'EENVELOPE';
  return {
    outcome: 'failed',
    retryable: !permanent,
    reason: `${host}: ${problem.code ?? 'error'}: ${bodyExcerpt(problem.message ?? '')}`,
  };
}
