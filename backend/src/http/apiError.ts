import type { ApiErrorCode, ValidationIssue } from '@cronfleet/core/api';
import { apiErrorStatus } from '@cronfleet/core/api';

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
