import { z } from 'zod';

/**
 * The error body every route answers with when it fails:
 * `{"error":{"code":"validation_failed","message":"…","details":[{"path":"…","message":"…"}]}}`.
 */

/** The stable error codes the backend uses, with the HTTP status each one is sent with. */
export const apiErrorStatus = {
  validation_failed: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  payload_too_large: 413,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
} as const;

export const ApiErrorCode = z.enum(
  Object.keys(apiErrorStatus) as [keyof typeof apiErrorStatus, ...(keyof typeof apiErrorStatus)[]],
);
export type ApiErrorCode = z.infer<typeof ApiErrorCode>;

/** One problem found in a request or a response: where it is and what is wrong. */
export const ValidationIssue = z.object({
  /** Where, written like `checkIns[3].runId`; `(root)` for the value as a whole. */
  path: z.string(),
  message: z.string(),
});
export type ValidationIssue = z.infer<typeof ValidationIssue>;

/** The `details` of a `validation_failed` error. */
export const ValidationErrorDetails = z.array(ValidationIssue);
export type ValidationErrorDetails = z.infer<typeof ValidationErrorDetails>;

/**
 * The error body. `code` is one of {@link ApiErrorCode} when the backend sends it; clients accept
 * any non-empty code so that a newer backend's new code does not turn into a protocol error.
 */
export const ApiErrorBody = z.object({
  error: z.object({
    code: z.string().min(1),
    message: z.string(),
    details: z.unknown().optional(),
  }),
});
export type ApiErrorBody = z.infer<typeof ApiErrorBody>;

/** Writes a zod issue path as `checkIns[3].runId` (`(root)` when the path is empty). */
export function formatIssuePath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text === '' ? '(root)' : text;
}

/** Turns a zod error into the `details` list of a `validation_failed` error. */
export function toValidationIssues(error: z.ZodError): ValidationIssue[] {
  return error.issues.map((issue) => ({
    path: formatIssuePath(issue.path),
    message: issue.message,
  }));
}

/** Builds an error body; the backend's error handler and tests use it. */
export function apiErrorBody(code: ApiErrorCode, message: string, details?: unknown): ApiErrorBody {
  return details === undefined
    ? { error: { code, message } }
    : { error: { code, message, details } };
}
