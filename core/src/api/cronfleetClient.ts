import axios, { isAxiosError } from 'axios';
import type { AxiosError, AxiosRequestConfig, AxiosResponse } from 'axios';
import axiosRetry from 'axios-retry';
import { z } from 'zod';
import type {
  EnrollRequest,
  EnrollResponse,
  HeartbeatRequest,
  HeartbeatResponse,
  ListAgentsQuery,
  ListAgentsResponse,
} from './agentContract.js';
import {
  CronfleetApiError,
  CronfleetClientOptionsError,
  CronfleetNetworkError,
  CronfleetProtocolError,
  CronfleetRequestValidationError,
} from './apiClientErrors.js';
import type { RequestPart, RouteIdentity } from './apiClientErrors.js';
import { apiRoutes, buildRoutePath } from './apiRoutes.js';
import type { RouteAuth } from './apiRouteDefinition.js';
import type { ApiRoute } from './apiRoutes.js';
import type { CheckInBatchRequest, CheckInBatchResponse } from './checkInContract.js';
import { ApiErrorBody, apiErrorStatus, toValidationIssues } from './errorContract.js';
import type { ValidationIssue } from './errorContract.js';
import { singleLineText } from './fieldContract.js';
import type {
  Incident,
  IncidentDetail,
  ListIncidentsQuery,
  ListIncidentsResponse,
  ResolveIncidentRequest,
} from './incidentContract.js';
import type { InventoryRequest, InventoryResponse } from './inventoryContract.js';
import {
  DEFAULT_RETRY_POLICY,
  isRetryableStatus,
  isTransientNetworkCode,
  parseRetryAfterMs,
  retryDelayMs,
} from './retryPolicy.js';
import type { RetryPolicy } from './retryPolicy.js';
import type { JobDetail } from './jobDetailContract.js';
import type {
  ListJobsQuery,
  ListJobsResponse,
  ListRunsQuery,
  ListRunsResponse,
  RunDetail,
  StatsResponse,
} from './runContract.js';
import type {
  CreateSilenceRequest,
  ListSilencesQuery,
  ListSilencesResponse,
  Silence,
} from './silenceContract.js';

/** Reported before each resend, e.g. to log it. */
export interface CronfleetRetryEvent {
  readonly route: RouteIdentity;
  /** 1 for the first resend. */
  readonly retryNumber: number;
  readonly delayMs: number;
  /** Why: `503 Service Unavailable`, `ECONNREFUSED`… (never contains the token). */
  readonly reason: string;
}

export interface CronfleetClientOptions {
  /** The backend's address, e.g. `https://cronfleet.example.com` (a path prefix is kept). */
  baseUrl: string;
  /** The bearer token: enrollment (`cfe_…`), agent (`cfa_…`) or user token, as the routes need. */
  token?: string;
  /** Timeout of each attempt, in milliseconds. Default 30 000. */
  timeoutMs?: number;
  /** Resends of an idempotent call after a transient failure. Default 3; 0 disables. */
  retries?: number;
  /** Backoff before the first resend; doubles each time, with jitter. Default 250 ms. */
  retryBaseDelayMs?: number;
  /** Longest wait between attempts; a longer `Retry-After` fails the call instead. Default 30 s. */
  retryMaxDelayMs?: number;
  /** Sent as User-Agent (Node only; browsers set their own), e.g. `cronfleet-agent/0.1.0`. */
  userAgent?: string;
  /** A `node:http` Agent (keep-alive, proxies) for http:// base URLs. */
  httpAgent?: AxiosRequestConfig['httpAgent'];
  /** A `node:https` Agent (CA bundle, client certificates) for https:// base URLs. */
  httpsAgent?: AxiosRequestConfig['httpsAgent'];
  /** Called before each resend. */
  onRetry?: (event: CronfleetRetryEvent) => void;
}

/** Per-call options. */
export interface CallOptions {
  /** Aborts the call, including any wait between attempts. */
  signal?: AbortSignal;
}

/** Filters of `listRuns`; every field is optional (limit defaults to 50). */
export type ListRunsFilter = Partial<ListRunsQuery>;

/** Filters of `listAgents`; `label` takes one `key=value` or several (all must match). */
export type ListAgentsFilter = Partial<Omit<ListAgentsQuery, 'label'>> & {
  label?: string | string[];
};

export interface CronfleetClient {
  /** The normalised base URL (no trailing slash). */
  readonly baseUrl: string;
  /** Enrolls this agent (client token: an enrollment token). Never retried. */
  enroll(body: EnrollRequest, options?: CallOptions): Promise<EnrollResponse>;
  /** Sends a heartbeat (client token: an agent token). */
  heartbeat(body: HeartbeatRequest, options?: CallOptions): Promise<HeartbeatResponse>;
  /** Replaces the agent's inventory (client token: an agent token). */
  putInventory(body: InventoryRequest, options?: CallOptions): Promise<InventoryResponse>;
  /** Sends a batch of check-ins (client token: an agent token). */
  sendCheckIns(body: CheckInBatchRequest, options?: CallOptions): Promise<CheckInBatchResponse>;
  listRuns(filter?: ListRunsFilter, options?: CallOptions): Promise<ListRunsResponse>;
  getRun(runId: string, options?: CallOptions): Promise<RunDetail>;
  /** The jobs view: one row per namespace/name across agents. */
  listJobs(filter?: Partial<ListJobsQuery>, options?: CallOptions): Promise<ListJobsResponse>;
  /** One job: instances with their agents, the next 10 fire times, open incidents. */
  getJob(namespace: string, name: string, options?: CallOptions): Promise<JobDetail>;
  /**
   * The URL of the live events stream (`GET /api/v1/events`, Server-Sent Events): open it with
   * an EventSource (the session cookie) or fetch (a bearer token), and check each message with
   * parseLiveEvent. The client itself does not call it: it answers JSON only.
   */
  readonly liveEventsUrl: string;
  /** The overview: agents by status, jobs by health, runs per hour over 24 hours. */
  getStats(options?: CallOptions): Promise<StatsResponse>;
  listAgents(filter?: ListAgentsFilter, options?: CallOptions): Promise<ListAgentsResponse>;
  /** Incidents, newest first (filters: status, kind, namespace, job, agent). */
  listIncidents(
    filter?: Partial<ListIncidentsQuery>,
    options?: CallOptions,
  ): Promise<ListIncidentsResponse>;
  /** One incident with its timeline. */
  getIncident(incidentId: string, options?: CallOptions): Promise<IncidentDetail>;
  /** Acknowledges an open incident: no more re-alerts. */
  acknowledgeIncident(incidentId: string, options?: CallOptions): Promise<Incident>;
  /** Resolves an open incident by hand, with an optional comment. */
  resolveIncident(
    incidentId: string,
    body?: ResolveIncidentRequest,
    options?: CallOptions,
  ): Promise<Incident>;
  listSilences(
    filter?: Partial<ListSilencesQuery>,
    options?: CallOptions,
  ): Promise<ListSilencesResponse>;
  /** Creates a silence. Never retried. */
  createSilence(body: CreateSilenceRequest, options?: CallOptions): Promise<Silence>;
  /** Expires a silence now. */
  expireSilence(silenceId: string, options?: CallOptions): Promise<Silence>;
  /** A client with the same options and another token (e.g. the agent token after enrolling). */
  withToken(token: string): CronfleetClient;
}

const BaseUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({
      code: 'custom',
      message: 'must be an absolute http(s) URL, e.g. https://cronfleet.example.com',
    });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    ctx.addIssue({ code: 'custom', message: `must use http or https, not ${url.protocol}` });
  }
  if (url.username !== '' || url.password !== '') {
    ctx.addIssue({
      code: 'custom',
      message: 'must not contain credentials; pass the token in the token option instead',
    });
  }
  if (url.search !== '' || url.hash !== '') {
    ctx.addIssue({ code: 'custom', message: 'must not contain a query string or fragment' });
  }
});

/** The options that can be checked (agents and callbacks are passed through as given). */
const CheckedClientOptions = z.object({
  baseUrl: BaseUrl,
  token: z
    .string()
    .regex(/^[\x21-\x7e]+$/, 'must be printable ASCII without spaces or line breaks')
    .optional(),
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
  retries: z.number().int().min(0).max(20).optional(),
  retryBaseDelayMs: z.number().int().min(0).max(3_600_000).optional(),
  retryMaxDelayMs: z.number().int().min(0).max(3_600_000).optional(),
  userAgent: singleLineText(256).optional(),
});

const DEFAULT_TIMEOUT_MS = 30_000;
const MAX_RESPONSE_BYTES = 64 * 1024 * 1024;

const tokenKinds: Record<RouteAuth, string> = {
  enrollment: 'an enrollment token (cfe_…)',
  agent: 'an agent token (cfa_…)',
  user: 'a user session or API token',
  none: 'no token',
};

/** Replaces every occurrence of `secret` in the strings of `value` with `[redacted]`. */
function redact<T>(value: T, secret: string | undefined): T {
  if (secret === undefined || secret === '') return value;
  const visit = (item: unknown): unknown => {
    if (typeof item === 'string') return item.split(secret).join('[redacted]');
    if (Array.isArray(item)) return item.map(visit);
    if (item !== null && typeof item === 'object') {
      return Object.fromEntries(Object.entries(item).map(([key, inner]) => [key, visit(inner)]));
    }
    return item;
  };
  return visit(value) as T;
}

function snippet(text: string, limit = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > limit ? `${flat.slice(0, limit)}…` : flat;
}

function codeForStatus(status: number): string {
  for (const [code, codeStatus] of Object.entries(apiErrorStatus)) {
    if (codeStatus === status) return code;
  }
  if (status >= 300 && status < 400) return 'unexpected_redirect';
  return `http_${status}`;
}

function headerText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && typeof value[0] === 'string') return value[0];
  return undefined;
}

function toQueryString(query: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null) continue;
    const values: unknown[] = Array.isArray(value) ? value : [value];
    for (const item of values) search.append(key, String(item));
  }
  const text = search.toString();
  return text === '' ? '' : `?${text}`;
}

interface RouteInput {
  params?: unknown;
  query?: unknown;
  body?: unknown;
}

/**
 * Creates the typed client of the Cronfleet API. It validates each request against the route's
 * schema before sending (nothing is sent when it does not match), validates each answer against
 * the response schema, resends idempotent calls after transient failures with exponential
 * backoff and jitter (honouring `Retry-After`), and throws typed errors.
 *
 * @throws CronfleetClientOptionsError when the options are invalid.
 */
export function createCronfleetClient(options: CronfleetClientOptions): CronfleetClient {
  const checked = CheckedClientOptions.safeParse(options);
  if (!checked.success) {
    throw new CronfleetClientOptionsError(redact(toValidationIssues(checked.error), options.token));
  }
  const token = options.token;
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const policy: RetryPolicy = {
    retries: options.retries ?? DEFAULT_RETRY_POLICY.retries,
    baseDelayMs: options.retryBaseDelayMs ?? DEFAULT_RETRY_POLICY.baseDelayMs,
    maxDelayMs: options.retryMaxDelayMs ?? DEFAULT_RETRY_POLICY.maxDelayMs,
  };

  const http = axios.create({
    baseURL: baseUrl,
    allowAbsoluteUrls: false,
    timeout: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    // The API never redirects; following one could carry the token to another host.
    maxRedirects: 0,
    maxContentLength: MAX_RESPONSE_BYTES,
    maxBodyLength: Infinity,
    responseType: 'text',
    // Bodies are serialised and parsed here, so that a non-JSON answer is reported precisely.
    transformRequest: [(data: unknown) => data],
    transformResponse: [(data: unknown) => data],
    validateStatus: (status) => status >= 200 && status < 300,
    ...(options.httpAgent === undefined ? {} : { httpAgent: options.httpAgent }),
    ...(options.httpsAgent === undefined ? {} : { httpsAgent: options.httpsAgent }),
  });

  /** The wait before resend `retryNumber`, or null when the failure is not worth a resend. */
  const retryWait = (error: AxiosError, retryNumber: number): number | null => {
    if (error.response !== undefined) {
      if (!isRetryableStatus(error.response.status)) return null;
      const retryAfterMs = parseRetryAfterMs(error.response.headers['retry-after'], Date.now());
      return retryDelayMs(retryNumber, retryAfterMs, policy);
    }
    if (error.code === 'ERR_CANCELED' || !isTransientNetworkCode(error.code)) return null;
    return retryDelayMs(retryNumber, null, policy);
  };

  axiosRetry(http, {
    retries: policy.retries,
    // Each attempt gets the whole timeout.
    shouldResetTimeout: true,
    retryCondition: (error) => retryWait(error, 1) !== null,
    retryDelay: (retryNumber, error) => {
      const delayMs = retryWait(error, retryNumber) ?? 0;
      const route = (error.config as { cronfleetRoute?: RouteIdentity } | undefined)
        ?.cronfleetRoute;
      if (options.onRetry !== undefined && route !== undefined) {
        const reason =
          error.response !== undefined
            ? `${error.response.status} ${error.response.statusText}`.trim()
            : (error.code ?? 'network error');
        try {
          options.onRetry({ route, retryNumber, delayMs, reason });
        } catch {
          // A failing observer (e.g. a logger) must not change the outcome of the call.
        }
      }
      return delayMs;
    },
  });

  const routeIdentity = (route: ApiRoute): RouteIdentity => ({
    name: route.name,
    method: route.method,
    path: route.path,
  });

  const validate = (
    identity: RouteIdentity,
    part: RequestPart,
    schema: z.ZodType | undefined,
    value: unknown,
  ): unknown => {
    if (schema === undefined) return undefined;
    const result = schema.safeParse(value);
    if (!result.success) {
      throw new CronfleetRequestValidationError(
        identity,
        part,
        redact(toValidationIssues(result.error), token),
      );
    }
    return result.data;
  };

  const attemptsOf = (error: AxiosError): number =>
    (error.config?.['axios-retry']?.retryCount ?? 0) + 1;

  const apiError = (identity: RouteIdentity, route: ApiRoute, error: AxiosError) => {
    const response = error.response as AxiosResponse<unknown>;
    const status = response.status;
    const text = typeof response.data === 'string' ? response.data : '';
    const retryAfterMs = parseRetryAfterMs(response.headers['retry-after'], Date.now());
    let parsedBody: unknown;
    try {
      parsedBody = JSON.parse(text);
    } catch {
      parsedBody = undefined;
    }
    const body = ApiErrorBody.safeParse(parsedBody);
    let hint: string | undefined;
    if (status === 401) {
      hint = `This route takes ${tokenKinds[route.auth]}; check that the token is the right kind, complete and not revoked.`;
    } else if (status === 403) {
      hint = 'The token is valid but may not do this; use one with the needed role or scope.';
    } else if (status >= 300 && status < 400) {
      const location = headerText(response.headers['location']);
      hint = `Set baseUrl to the final address${location === undefined ? '' : ` (the server redirected to ${location})`}.`;
    }
    if (body.success) {
      return new CronfleetApiError(
        identity,
        redact(
          {
            status,
            code: body.data.error.code,
            serverMessage: body.data.error.message,
            details: body.data.error.details,
            retryAfterMs,
            attempts: attemptsOf(error),
            ...(hint === undefined ? {} : { hint }),
          },
          token,
        ),
      );
    }
    const contentType = headerText(response.headers['content-type']) ?? 'no content type';
    const shown = text === '' ? 'an empty body' : `${contentType}: ${snippet(text)}`;
    return new CronfleetApiError(
      identity,
      redact(
        {
          status,
          code: codeForStatus(status),
          serverMessage: `${response.statusText || 'error'} without a Cronfleet error body (got ${shown})`,
          details: undefined,
          retryAfterMs,
          attempts: attemptsOf(error),
          ...(hint === undefined ? {} : { hint }),
        },
        token,
      ),
    );
  };

  const networkError = (identity: RouteIdentity, error: AxiosError) => {
    const code = error.code ?? null;
    const aborted = code === 'ERR_CANCELED';
    const timedOut = code === 'ECONNABORTED' || code === 'ETIMEDOUT';
    // Keep the underlying system error, never the axios error: its config holds the token.
    const original: unknown = (error as { cause?: unknown }).cause;
    const cause =
      original instanceof Error && !isAxiosError(original)
        ? original
        : Object.assign(new Error(redact(error.message, token)), { code });
    return new CronfleetNetworkError(identity, {
      baseUrl,
      code,
      reason: redact(error.message || 'the connection failed', token),
      timedOut,
      aborted,
      attempts: attemptsOf(error),
      cause,
    });
  };

  async function call<Route extends ApiRoute>(
    route: Route,
    input: RouteInput,
    callOptions: CallOptions | undefined,
  ): Promise<z.output<Route['response']>> {
    const definition: ApiRoute = route;
    const identity = routeIdentity(definition);
    const params =
      'params' in definition
        ? (validate(identity, 'params', definition.params, input.params) as Record<string, string>)
        : {};
    const query =
      'query' in definition
        ? (validate(identity, 'query', definition.query, input.query ?? {}) as Record<
            string,
            unknown
          >)
        : {};
    const body =
      'body' in definition ? validate(identity, 'body', definition.body, input.body) : undefined;
    const auth = definition.auth as RouteAuth;
    if (token === undefined && auth !== 'none') {
      throw new CronfleetRequestValidationError(identity, 'token', [
        {
          path: '(token)',
          message: `this route takes ${tokenKinds[definition.auth]}, but the client has none; pass token to createCronfleetClient or use withToken()`,
        },
      ]);
    }

    const headers: Record<string, string> = { Accept: 'application/json' };
    if (token !== undefined) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (options.userAgent !== undefined) headers['User-Agent'] = options.userAgent;

    const config: AxiosRequestConfig & { cronfleetRoute: RouteIdentity } = {
      method: definition.method,
      url: buildRoutePath(definition.path, params) + toQueryString(query),
      headers,
      ...(body === undefined ? {} : { data: JSON.stringify(body) }),
      ...(callOptions?.signal === undefined ? {} : { signal: callOptions.signal }),
      'axios-retry': { retries: definition.idempotent ? policy.retries : 0 },
      cronfleetRoute: identity,
    };

    let response: AxiosResponse<unknown>;
    try {
      response = await http.request<unknown>(config);
    } catch (error) {
      if (isAxiosError(error)) {
        if (error.response !== undefined) throw apiError(identity, definition, error);
        throw networkError(identity, error);
      }
      throw error;
    }

    const text = typeof response.data === 'string' ? response.data : '';
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      const contentType = headerText(response.headers['content-type']) ?? 'no content type';
      throw new CronfleetProtocolError(identity, response.status, [
        {
          path: '(root)',
          message: redact(
            `the body is not JSON (${contentType}: ${text === '' ? 'empty' : snippet(text)})`,
            token,
          ),
        },
      ]);
    }
    const parsed = definition.response.safeParse(json);
    if (!parsed.success) {
      const issues: ValidationIssue[] = redact(toValidationIssues(parsed.error), token);
      throw new CronfleetProtocolError(identity, response.status, issues);
    }
    return parsed.data as z.output<Route['response']>;
  }

  return {
    baseUrl,
    enroll: (body, callOptions) => call(apiRoutes.enroll, { body }, callOptions),
    heartbeat: (body, callOptions) => call(apiRoutes.heartbeat, { body }, callOptions),
    putInventory: (body, callOptions) => call(apiRoutes.putInventory, { body }, callOptions),
    sendCheckIns: (body, callOptions) => call(apiRoutes.sendCheckIns, { body }, callOptions),
    listRuns: (filter, callOptions) =>
      call(apiRoutes.listRuns, { query: filter ?? {} }, callOptions),
    getRun: (runId, callOptions) => call(apiRoutes.getRun, { params: { runId } }, callOptions),
    listJobs: (filter, callOptions) =>
      call(apiRoutes.listJobs, { query: filter ?? {} }, callOptions),
    getJob: (namespace, name, callOptions) =>
      call(apiRoutes.getJob, { params: { namespace, name } }, callOptions),
    liveEventsUrl: `${baseUrl}${apiRoutes.streamEvents.path}`,
    getStats: (callOptions) => call(apiRoutes.getStats, {}, callOptions),
    listAgents: (filter, callOptions) =>
      call(apiRoutes.listAgents, { query: filter ?? {} }, callOptions),
    listIncidents: (filter, callOptions) =>
      call(apiRoutes.listIncidents, { query: filter ?? {} }, callOptions),
    getIncident: (incidentId, callOptions) =>
      call(apiRoutes.getIncident, { params: { incidentId } }, callOptions),
    acknowledgeIncident: (incidentId, callOptions) =>
      call(apiRoutes.acknowledgeIncident, { params: { incidentId } }, callOptions),
    resolveIncident: (incidentId, body, callOptions) =>
      call(apiRoutes.resolveIncident, { params: { incidentId }, body: body ?? {} }, callOptions),
    listSilences: (filter, callOptions) =>
      call(apiRoutes.listSilences, { query: filter ?? {} }, callOptions),
    createSilence: (body, callOptions) => call(apiRoutes.createSilence, { body }, callOptions),
    expireSilence: (silenceId, callOptions) =>
      call(apiRoutes.expireSilence, { params: { silenceId } }, callOptions),
    withToken: (nextToken) => createCronfleetClient({ ...options, token: nextToken }),
  };
}
