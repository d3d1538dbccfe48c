import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { pino, type DestinationStream, type Logger, type LoggerOptions } from 'pino';
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

/** The access-log level: errors for 5xx, debug for probes, info for everything else. */
function accessLogLevel(request: IncomingMessage, statusCode: number): 'error' | 'debug' | 'info' {
  if (statusCode >= 500) return 'error';
  const path = (request.url ?? '').split('?')[0] ?? '';
  return probePaths.has(path) ? 'debug' : 'info';
}

/** Who called, once the route authenticated the caller (response.locals.principal). */
function principalFields(response: ServerResponse): Record<string, string> {
  const principal = (response as { locals?: { principal?: Principal } }).locals?.principal;
  if (principal === undefined) return {};
  return {
    organizationId: principal.organizationId,
    ...(principal.kind === 'agent' ? { agentId: principal.agentId } : {}),
    ...(principal.kind === 'user' ? { userId: principal.userId } : {}),
  };
}

/** The URL as received (Express's `originalUrl` once Express saw the request). */
function receivedUrl(request: IncomingMessage): string | undefined {
  return (request as { originalUrl?: string }).originalUrl ?? request.url;
}

export interface RequestTrackingOptions {
  /** Called once per request whose response was sent in full, with its duration. */
  onEnd?: (request: IncomingMessage, response: ServerResponse, seconds: number) => void;
}

/**
 * One access-log line per request when its response is finished, with the request id (taken from
 * X-Request-Id or generated, and echoed in the X-Request-Id response header), the organization and
 * agent or user once the route authenticated the caller, the status and the time taken. 5xx
 * answers are logged at error; probes (/healthz, /readyz, /metrics) at debug so they do not flood
 * the log. Authorization, Cookie and Set-Cookie headers and token/password fields are redacted.
 *
 * `request.log` is a child logger carrying the request id (`reqId`) for handlers; it is made only
 * when a handler uses it, and the access line is built only when its level is enabled: the agent
 * calls are the hot path, and a replica logging at warn should not pay for lines it drops.
 *
 * Answers the function that starts tracking one request: createApp's first middleware and the
 * lean lane (leanRoutes.ts) both call it first.
 */
export function requestTracker(
  logger: Logger,
  options: RequestTrackingOptions = {},
): (request: IncomingMessage, response: ServerResponse) => void {
  const accessLog = logger.child({}, { redact: logRedaction });
  const { onEnd } = options;
  return (request, response) => {
    const started = performance.now();
    const supplied = request.headers['x-request-id'];
    const id =
      typeof supplied === 'string' && acceptableRequestId.test(supplied) ? supplied : randomUUID();
    response.setHeader(requestIdHeader, id);
    (request as { id?: string }).id = id;
    let child: Logger | undefined;
    Object.defineProperty(request, 'log', {
      configurable: true,
      enumerable: false,
      get: () => (child ??= accessLog.child({ reqId: id })),
    });
    // A server response emits 'close' once, after 'finish' or when the connection dropped first.
    response.once('close', () => {
      const elapsedMs = performance.now() - started;
      const aborted = !response.writableFinished;
      if (!aborted) onEnd?.(request, response, elapsedMs / 1000);
      const level = aborted ? 'warn' : accessLogLevel(request, response.statusCode);
      if (!accessLog.isLevelEnabled(level)) return;
      accessLog[level](
        {
          req: { id, method: request.method, url: receivedUrl(request), headers: request.headers },
          res: { statusCode: response.statusCode, headers: response.getHeaders() },
          responseTime: Math.round(elapsedMs),
          ...principalFields(response),
        },
        aborted ? 'request aborted' : 'request completed',
      );
    });
  };
}
