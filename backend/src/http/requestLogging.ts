import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestHandler } from 'express';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
import { pinoHttp } from 'pino-http';
import type { Principal } from './authenticate.js';

/** Body and object fields whose values never reach a log line, at any of the first three levels. */
const secretFields = [
  'password',
  'currentPassword',
  'newPassword',
  'token',
  'agentToken',
  'secret',
  'authorization',
];

/**
 * What pino replaces with "[Redacted]": credentials in request and response headers, and any
 * `token`/`password`-like field of a logged object (`log.info({ body })`, `{ err }`, …).
 */
export const redactedLogPaths: string[] = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["proxy-authorization"]',
  'res.headers["set-cookie"]',
  ...secretFields.flatMap((field) => [field, `*.${field}`, `*.*.${field}`]),
];

export const logRedaction: LoggerOptions['redact'] = {
  paths: redactedLogPaths,
  censor: '[Redacted]',
};

/**
 * The backend's root logger: JSON lines, secrets redacted. main.ts should build its logger here
 * so that every log line (not only the request log) is redacted.
 */
export function createLogger(options: { level: string }, destination?: DestinationStream): Logger {
  const loggerOptions: LoggerOptions = { level: options.level, redact: logRedaction };
  return destination === undefined ? pino(loggerOptions) : pino(loggerOptions, destination);
}

/** A caller-supplied X-Request-Id is kept when it is short and printable; otherwise a UUID. */
const acceptableRequestId = /^[A-Za-z0-9._:@/+=-]{1,128}$/;

export const requestIdHeader = 'X-Request-Id';

/** The request id of a request that went through {@link requestLogging}. */
export function requestIdOf(request: IncomingMessage): string | undefined {
  const id = (request as { id?: unknown }).id;
  return typeof id === 'string' ? id : undefined;
}

const probePaths = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * pino-http: one line per request when its response is finished, with the request id (taken from
 * X-Request-Id or generated, and echoed in the X-Request-Id response header), the organization and
 * agent once the route authenticated the caller (response.locals.principal), the status and the
 * time taken. `request.log` is a child logger carrying the request id for handlers to use. 5xx
 * answers are logged at error; probes (/healthz, /readyz, /metrics) at debug so they do not flood
 * the log. Authorization, Cookie and Set-Cookie headers and token/password fields are redacted.
 */
export function requestLogging(logger: Logger): RequestHandler {
  return pinoHttp({
    logger,
    redact: logRedaction,
    quietReqLogger: true,
    genReqId: (request: IncomingMessage, response: ServerResponse) => {
      const supplied = request.headers['x-request-id'];
      const id =
        typeof supplied === 'string' && acceptableRequestId.test(supplied)
          ? supplied
          : randomUUID();
      response.setHeader(requestIdHeader, id);
      return id;
    },
    customProps: (_request: IncomingMessage, response: ServerResponse) => {
      const locals = (response as { locals?: { principal?: Principal } }).locals;
      const principal = locals?.principal;
      if (principal === undefined) return {};
      return {
        organizationId: principal.organizationId,
        ...(principal.kind === 'agent' ? { agentId: principal.agentId } : {}),
        ...(principal.kind === 'user' ? { userId: principal.userId } : {}),
      };
    },
    customLogLevel: (request: IncomingMessage, response: ServerResponse, error?: Error) => {
      if (error !== undefined || response.statusCode >= 500) return 'error';
      const path = (request.url ?? '').split('?')[0] ?? '';
      return probePaths.has(path) ? 'debug' : 'info';
    },
  }) as unknown as RequestHandler;
}
