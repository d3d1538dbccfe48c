import type { ValidationIssue } from './errorContract.js';

/**
 * The errors the typed client throws. Each names the route it concerns; none ever contains the
 * bearer token (the client redacts it from anything the server echoes, and never keeps the raw
 * HTTP library error, whose config holds the Authorization header).
 */

/** The route an error concerns. */
export interface RouteIdentity {
  readonly name: string;
  readonly method: string;
  readonly path: string;
}

function describe(route: RouteIdentity): string {
  return `${route.name} (${route.method} ${route.path})`;
}

function summarizeIssues(issues: readonly ValidationIssue[], limit = 5): string {
  const shown = issues.slice(0, limit).map((issue) => `${issue.path}: ${issue.message}`);
  const more = issues.length > limit ? `; and ${issues.length - limit} more` : '';
  return shown.join('; ') + more;
}

/** The base class of every error the client throws for a call. */
export abstract class CronfleetError extends Error {
  readonly route: RouteIdentity;

  protected constructor(route: RouteIdentity, message: string, options?: ErrorOptions) {
    super(message, options);
    this.route = route;
  }
}

/** Which part of a request did not match the contract. */
export type RequestPart = 'body' | 'query' | 'params' | 'token';

/**
 * The request does not match the API contract (or the client has no token for it). It was
 * detected before anything was sent: nothing reached the server.
 */
export class CronfleetRequestValidationError extends CronfleetError {
  override readonly name = 'CronfleetRequestValidationError';
  readonly part: RequestPart;
  readonly issues: readonly ValidationIssue[];

  constructor(route: RouteIdentity, part: RequestPart, issues: readonly ValidationIssue[]) {
    super(
      route,
      `${describe(route)}: the request was not sent because its ${part} does not match the API contract: ${summarizeIssues(issues)}. Fix the values at these paths.`,
    );
    this.part = part;
    this.issues = issues;
  }
}

/**
 * The server answered with a success status, but the body is not JSON or does not match the
 * response schema. Usually the server and this client run different Cronfleet versions, or
 * `baseUrl` points at something that is not a Cronfleet backend.
 */
export class CronfleetProtocolError extends CronfleetError {
  override readonly name = 'CronfleetProtocolError';
  readonly status: number;
  readonly issues: readonly ValidationIssue[];

  constructor(route: RouteIdentity, status: number, issues: readonly ValidationIssue[]) {
    super(
      route,
      `${describe(route)}: the server's ${status} answer does not match the API contract: ${summarizeIssues(issues)}. Check that baseUrl points at a Cronfleet backend and that the backend and this client run the same Cronfleet version.`,
    );
    this.status = status;
    this.issues = issues;
  }
}

export interface CronfleetApiErrorInit {
  status: number;
  /** The server's error code (e.g. `validation_failed`), or one derived from the status. */
  code: string;
  /** The server's message, or a description of the answer when it had no error body. */
  serverMessage: string;
  details: unknown;
  /** How long the server asked to wait (`Retry-After`), when it said. */
  retryAfterMs: number | null;
  attempts: number;
  /** Advice on how to fix, appended to the message. */
  hint?: string;
}

/** The server answered with an error status (4xx, 5xx, or an unexpected 3xx). */
export class CronfleetApiError extends CronfleetError {
  override readonly name = 'CronfleetApiError';
  readonly status: number;
  readonly code: string;
  readonly serverMessage: string;
  readonly details: unknown;
  readonly retryAfterMs: number | null;
  readonly attempts: number;

  constructor(route: RouteIdentity, init: CronfleetApiErrorInit) {
    const attempts = init.attempts > 1 ? ` after ${init.attempts} attempts` : '';
    const hint = init.hint === undefined ? '' : ` ${init.hint}`;
    super(
      route,
      `${describe(route)} failed${attempts}: the server answered ${init.status} ${init.code}: ${init.serverMessage}${hint}`,
    );
    this.status = init.status;
    this.code = init.code;
    this.serverMessage = init.serverMessage;
    this.details = init.details;
    this.retryAfterMs = init.retryAfterMs;
    this.attempts = init.attempts;
  }
}

export interface CronfleetNetworkErrorInit {
  baseUrl: string;
  /** The system or library error code, e.g. `ECONNREFUSED`, `ECONNABORTED`, `ERR_CANCELED`. */
  code: string | null;
  /** A short description of what went wrong. */
  reason: string;
  timedOut: boolean;
  aborted: boolean;
  attempts: number;
  cause: unknown;
}

/** No answer came back: connection refused or reset, DNS failure, timeout, or the call was aborted. */
export class CronfleetNetworkError extends CronfleetError {
  override readonly name = 'CronfleetNetworkError';
  readonly baseUrl: string;
  readonly code: string | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly attempts: number;

  constructor(route: RouteIdentity, init: CronfleetNetworkErrorInit) {
    const attempts = init.attempts > 1 ? ` after ${init.attempts} attempts` : '';
    const code = init.code === null ? '' : ` (${init.code})`;
    const advice = init.aborted
      ? 'The call was aborted by its caller.'
      : init.timedOut
        ? 'The server did not answer in time; check that it is healthy, or raise timeoutMs.'
        : 'Check baseUrl, the network and that the server is running.';
    super(
      route,
      `${describe(route)}: no answer from ${init.baseUrl}${attempts}: ${init.reason}${code}. ${advice}`,
      { cause: init.cause },
    );
    this.baseUrl = init.baseUrl;
    this.code = init.code;
    this.timedOut = init.timedOut;
    this.aborted = init.aborted;
    this.attempts = init.attempts;
  }
}

/** `createCronfleetClient` was given invalid options. */
export class CronfleetClientOptionsError extends Error {
  override readonly name = 'CronfleetClientOptionsError';
  readonly issues: readonly ValidationIssue[];

  constructor(issues: readonly ValidationIssue[]) {
    super(`Invalid Cronfleet client options: ${summarizeIssues(issues)}.`);
    this.issues = issues;
  }
}
