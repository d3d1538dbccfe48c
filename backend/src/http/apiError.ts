import type { IncomingMessage, ServerResponse } from 'node:http';
import type { ApiErrorCode, ValidationIssue } from '@cronfleet/core/api';
import { apiErrorBody, apiErrorStatus } from '@cronfleet/core/api';
import type { Logger } from 'pino';

/**
 * An error the caller can fix (validation, authentication, permission, not found, conflict):
 * answered verbatim as {"error":{"code","message","details"}} with its 4xx status and logged at
 * warn. Anything else that escapes a handler is a generic 500 and a full stack in the log.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;

  constructor(
    readonly code: ApiErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.status = apiErrorStatus[code];
  }
}

export const badRequest = (message: string, details?: ValidationIssue[]) =>
  new ApiError('validation_failed', message, details);
export const unauthorized = (message: string) => new ApiError('unauthorized', message);
export const forbidden = (message: string) => new ApiError('forbidden', message);
/** Also for rows of another organization: never reveal that they exist. */
export const notFound = (what: string) => new ApiError('not_found', `${what} not found`);
export const conflict = (message: string) => new ApiError('conflict', message);

/** A request body that is not JSON (what Express's JSON parser refuses the same way). */
export const invalidJson = (problem: string) =>
  badRequest(`the request body is not valid JSON: ${problem}`);

/**
 * Answers `body` as JSON with `status`, straight on the Node response: no ETag and no freshness
 * check (writes are never cached), no Express needed.
 */
export function sendJson(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status;
  response.setHeader('Content-Type', 'application/json; charset=utf-8');
  response.end(JSON.stringify(body));
}

/**
 * Answers an error that escaped a route: an ApiError verbatim with its status (logged at warn),
 * anything else as a generic 500 for the caller and a full stack in the log. The request's own
 * logger (with its request id) is used when request logging gave it one.
 */
export function sendError(
  error: unknown,
  request: IncomingMessage,
  response: ServerResponse,
  logger: Logger,
): void {
  const log = (request as { log?: Logger }).log ?? logger;
  const path = (request.url ?? '').split('?')[0];
  if (response.headersSent) {
    // Too late for an answer: end the connection so the caller sees the failure.
    log.error({ err: error, path }, 'error after the response started');
    response.destroy();
    return;
  }
  if (error instanceof ApiError) {
    log.warn({ path, code: error.code }, error.message);
    sendJson(response, error.status, apiErrorBody(error.code, error.message, error.details));
    return;
  }
  log.error({ err: error, path }, 'unhandled error');
  sendJson(response, 500, apiErrorBody('internal', 'Internal server error'));
}
