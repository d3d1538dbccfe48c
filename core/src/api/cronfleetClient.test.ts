import { createServer } from 'node:http';
import type { IncomingHttpHeaders, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { isAxiosError } from 'axios';
import { ListAgentsQuery } from './agentContract.js';
import {
  CronfleetApiError,
  CronfleetClientOptionsError,
  CronfleetNetworkError,
  CronfleetProtocolError,
  CronfleetRequestValidationError,
} from './apiClientErrors.js';
import { apiExamples } from './apiExamples.js';
import { createCronfleetClient } from './cronfleetClient.js';
import type { CronfleetClientOptions, CronfleetRetryEvent } from './cronfleetClient.js';
import { ListRunsQuery } from './runContract.js';

const TOKEN = 'cfa_SECRETsecretSECRETsecret0123456789';

interface RecordedRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

type Handler = (request: RecordedRequest, response: ServerResponse, index: number) => void;

interface TestServer {
  baseUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

const openServers: TestServer[] = [];

afterEach(async () => {
  await Promise.all(openServers.splice(0).map((server) => server.close()));
});

/** A real HTTP server on 127.0.0.1 that records each request and answers with `handler`. */
async function startServer(handler: Handler): Promise<TestServer> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const recorded: RecordedRequest = {
        method: req.method ?? '',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks).toString('utf8'),
        at: Date.now(),
      };
      requests.push(recorded);
      handler(recorded, res, requests.length - 1);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const testServer: TestServer = {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  openServers.push(testServer);
  return testServer;
}

function sendJson(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  response.end(JSON.stringify(body));
}

function errorBody(code: string, message: string, details?: unknown) {
  return { error: { code, message, ...(details === undefined ? {} : { details }) } };
}

function client(baseUrl: string, overrides: Partial<CronfleetClientOptions> = {}) {
  return createCronfleetClient({
    baseUrl,
    token: TOKEN,
    retries: 3,
    retryBaseDelayMs: 2,
    retryMaxDelayMs: 2000,
    timeoutMs: 2000,
    userAgent: 'cronfleet-test/1.0.0',
    ...overrides,
  });
}

async function caught(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to fail, but it succeeded');
}

/** Every way an error may end up in a log must be free of the token. */
function expectNoToken(error: unknown): void {
  expect(error).toBeInstanceOf(Error);
  const err = error as Error;
  expect(err.message).not.toContain(TOKEN);
  expect(String(err)).not.toContain(TOKEN);
  expect(err.stack ?? '').not.toContain(TOKEN);
  expect(inspect(err, { depth: 20, showHidden: true })).not.toContain(TOKEN);
  expect(JSON.stringify({ ...err, message: err.message })).not.toContain(TOKEN);
  expect(isAxiosError(err.cause)).toBe(false);
}

describe('createCronfleetClient: round trips against a real HTTP server', () => {
  it('enroll posts the validated body and returns the validated answer', async () => {
    const server = await startServer((_req, res) => sendJson(res, 201, apiExamples.enrollResponse));
    const result = await client(server.baseUrl, { token: 'cfe_enrollEnrollEnrollEnroll00' }).enroll(
      apiExamples.enrollRequest,
    );
    expect(result).toEqual(apiExamples.enrollResponse);
    const [request] = server.requests;
    expect(request?.method).toBe('POST');
    expect(request?.path).toBe('/api/v1/agents/enroll');
    expect(request?.headers.authorization).toBe('Bearer cfe_enrollEnrollEnrollEnroll00');
    expect(request?.headers['content-type']).toBe('application/json');
    expect(request?.headers['user-agent']).toBe('cronfleet-test/1.0.0');
    expect(JSON.parse(request?.body ?? '')).toEqual(apiExamples.enrollRequest);
  });

  it('heartbeat, putInventory and sendCheckIns use their routes and bearer header', async () => {
    const server = await startServer((req, res) => {
      if (req.path === '/api/v1/agents/heartbeat')
        sendJson(res, 200, apiExamples.heartbeatResponse);
      else if (req.path === '/api/v1/agents/inventory')
        sendJson(res, 200, apiExamples.inventoryResponse);
      else if (req.path === '/api/v1/check-ins')
        sendJson(res, 200, apiExamples.checkInBatchResponse);
      else sendJson(res, 404, errorBody('not_found', `no route ${req.path}`));
    });
    const api = client(server.baseUrl);
    expect(await api.heartbeat(apiExamples.heartbeatRequest)).toEqual(
      apiExamples.heartbeatResponse,
    );
    expect(await api.putInventory(apiExamples.inventoryRequest)).toEqual(
      apiExamples.inventoryResponse,
    );
    expect(await api.sendCheckIns(apiExamples.checkInBatchRequest)).toEqual(
      apiExamples.checkInBatchResponse,
    );
    expect(server.requests.map((r) => `${r.method} ${r.path}`)).toEqual([
      'POST /api/v1/agents/heartbeat',
      'PUT /api/v1/agents/inventory',
      'POST /api/v1/check-ins',
    ]);
    for (const request of server.requests) {
      expect(request.headers.authorization).toBe(`Bearer ${TOKEN}`);
    }
    expect(JSON.parse(server.requests[1]?.body ?? '')).toEqual(apiExamples.inventoryRequest);
    expect(JSON.parse(server.requests[2]?.body ?? '')).toEqual(apiExamples.checkInBatchRequest);
  });

  it('listRuns sends filters as query strings that the same schema parses back', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 200, apiExamples.listRunsResponse),
    );
    const filter = {
      job: 'production/nightly-db-backup',
      status: 'failed' as const,
      from: '2024-05-01T00:00:00Z',
      to: '2024-05-02T00:00:00Z',
      q: 'disk full',
      limit: 10,
      cursor: 'eyJ0IjoxNzE0NTM0NDAwfQ',
    };
    const result = await client(server.baseUrl).listRuns(filter);
    expect(result).toEqual(apiExamples.listRunsResponse);
    const request = server.requests[0];
    expect(request?.method).toBe('GET');
    expect(request?.path).toBe('/api/v1/runs');
    expect(request?.query.get('limit')).toBe('10');
    expect(request?.query.get('q')).toBe('disk full');
    // The backend parses the query with the same schema and gets the filter back.
    expect(ListRunsQuery.parse(Object.fromEntries(request?.query ?? []))).toEqual(filter);
  });

  it('listRuns without filters sends the default limit only', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 200, { items: [], nextCursor: null }),
    );
    expect(await client(server.baseUrl).listRuns()).toEqual({ items: [], nextCursor: null });
    expect(server.requests[0]?.query.toString()).toBe('limit=50');
  });

  it('listAgents repeats the label parameter for several label filters', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 200, apiExamples.listAgentsResponse),
    );
    const result = await client(server.baseUrl).listAgents({
      status: 'online',
      label: ['role=db', 'team=platform'],
    });
    expect(result).toEqual(apiExamples.listAgentsResponse);
    const query = server.requests[0]?.query;
    expect(query?.getAll('label')).toEqual(['role=db', 'team=platform']);
    expect(
      ListAgentsQuery.parse({ status: query?.get('status'), label: query?.getAll('label') }),
    ).toEqual({ status: 'online', label: ['role=db', 'team=platform'], limit: 50 });
  });

  it('getRun fills the path parameter and validates the run detail', async () => {
    const server = await startServer((_req, res) => sendJson(res, 200, apiExamples.runDetail));
    const result = await client(server.baseUrl).getRun(apiExamples.run.runId);
    expect(result).toEqual(apiExamples.runDetail);
    expect(server.requests[0]?.path).toBe(`/api/v1/runs/${apiExamples.run.runId}`);
  });

  it('keeps a path prefix of baseUrl', async () => {
    const server = await startServer((_req, res) => sendJson(res, 200, apiExamples.runDetail));
    await client(`${server.baseUrl}/cronfleet/`).getRun(apiExamples.run.runId);
    expect(server.requests[0]?.path).toBe(`/cronfleet/api/v1/runs/${apiExamples.run.runId}`);
  });

  it('withToken sends the new token', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 200, apiExamples.heartbeatResponse),
    );
    const enrolled = client(server.baseUrl, { token: 'cfe_enrollEnrollEnrollEnroll00' }).withToken(
      apiExamples.enrollResponse.agentToken,
    );
    await enrolled.heartbeat(apiExamples.heartbeatRequest);
    expect(server.requests[0]?.headers.authorization).toBe(
      `Bearer ${apiExamples.enrollResponse.agentToken}`,
    );
  });
});

describe('createCronfleetClient: client-side validation (nothing is sent)', () => {
  it('rejects a heartbeat that breaks the contract, naming each path', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 200, apiExamples.heartbeatResponse),
    );
    const bad = {
      ...apiExamples.heartbeatRequest,
      conditions: [{ ...apiExamples.heartbeatRequest.conditions[0], status: 'maybe' }],
      repository: {
        url: `https://x-access-token:${TOKEN}@git.example.com/ops/jobs.git`,
        branch: 'main',
      },
    };
    const error = await caught(
      client(server.baseUrl).heartbeat(bad as unknown as typeof apiExamples.heartbeatRequest),
    );
    expect(error).toBeInstanceOf(CronfleetRequestValidationError);
    const validation = error as CronfleetRequestValidationError;
    expect(validation.part).toBe('body');
    expect(validation.route.name).toBe('heartbeat');
    expect(validation.issues.map((issue) => issue.path)).toEqual([
      'conditions[0].status',
      'repository.url',
    ]);
    expect(validation.message).toContain('heartbeat (POST /api/v1/agents/heartbeat)');
    expect(validation.message).toContain('must not carry credentials');
    expect(server.requests).toHaveLength(0);
    expectNoToken(error);
  });

  it('rejects an empty check-in batch and an invalid query before sending', async () => {
    const server = await startServer((_req, res) => sendJson(res, 200, {}));
    const api = client(server.baseUrl);
    const batchError = await caught(api.sendCheckIns({ checkIns: [] }));
    expect(batchError).toBeInstanceOf(CronfleetRequestValidationError);
    expect((batchError as CronfleetRequestValidationError).issues[0]?.path).toBe('checkIns');
    const queryError = await caught(api.listRuns({ limit: 500 }));
    expect(queryError).toBeInstanceOf(CronfleetRequestValidationError);
    expect((queryError as CronfleetRequestValidationError).part).toBe('query');
    const paramsError = await caught(api.getRun('not-a-uuid'));
    expect((paramsError as CronfleetRequestValidationError).part).toBe('params');
    expect(server.requests).toHaveLength(0);
  });

  it('refuses to call without a token', async () => {
    const server = await startServer((_req, res) => sendJson(res, 200, {}));
    const error = await caught(
      client(server.baseUrl, { token: undefined }).heartbeat(apiExamples.heartbeatRequest),
    );
    expect(error).toBeInstanceOf(CronfleetRequestValidationError);
    expect((error as CronfleetRequestValidationError).part).toBe('token');
    expect((error as Error).message).toContain('an agent token (cfa_…)');
    expect(server.requests).toHaveLength(0);
  });

  it('rejects invalid options without echoing the token', () => {
    expect(() =>
      createCronfleetClient({
        baseUrl: `https://agent:${TOKEN}@cronfleet.example.com`,
        token: TOKEN,
      }),
    ).toThrow(CronfleetClientOptionsError);
    try {
      createCronfleetClient({ baseUrl: `https://agent:${TOKEN}@cronfleet.example.com` });
    } catch (error) {
      expectNoToken(error);
      expect((error as Error).message).toContain('baseUrl');
    }
    expect(() => createCronfleetClient({ baseUrl: 'ftp://example.com' })).toThrow(/http or https/);
    expect(() => createCronfleetClient({ baseUrl: 'http://x', retries: -1 })).toThrow(/retries/);
  });
});

describe('createCronfleetClient: malformed answers', () => {
  it('rejects a response that does not match the schema with a ProtocolError naming paths', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 200, { heartbeatIntervalSeconds: 'soon', commands: [{ type: 'reboot' }] }),
    );
    const error = await caught(client(server.baseUrl).heartbeat(apiExamples.heartbeatRequest));
    expect(error).toBeInstanceOf(CronfleetProtocolError);
    const protocol = error as CronfleetProtocolError;
    expect(protocol.status).toBe(200);
    expect(protocol.route.name).toBe('heartbeat');
    expect(protocol.issues.map((issue) => issue.path)).toEqual([
      'heartbeatIntervalSeconds',
      'commands[0].type',
    ]);
    expect(protocol.message).toContain('heartbeat (POST /api/v1/agents/heartbeat)');
    expect(protocol.message).toContain('heartbeatIntervalSeconds');
  });

  it('rejects a 200 answer that is not JSON', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end('<html>Welcome to nginx</html>');
    });
    const error = await caught(client(server.baseUrl).listAgents());
    expect(error).toBeInstanceOf(CronfleetProtocolError);
    expect((error as Error).message).toContain('not JSON (text/html: <html>Welcome to nginx');
  });
});

describe('createCronfleetClient: HTTP errors', () => {
  it('turns a validation_failed answer into a CronfleetApiError with code, message and details', async () => {
    const details = [{ path: 'checkIns[0].runId', message: 'must be a UUID' }];
    const server = await startServer((_req, res) =>
      sendJson(res, 400, errorBody('validation_failed', 'The batch is invalid.', details)),
    );
    const error = await caught(
      client(server.baseUrl).sendCheckIns(apiExamples.checkInBatchRequest),
    );
    expect(error).toBeInstanceOf(CronfleetApiError);
    const api = error as CronfleetApiError;
    expect(api.status).toBe(400);
    expect(api.code).toBe('validation_failed');
    expect(api.serverMessage).toBe('The batch is invalid.');
    expect(api.details).toEqual(details);
    expect(api.attempts).toBe(1);
    expect(api.route).toEqual({ name: 'sendCheckIns', method: 'POST', path: '/api/v1/check-ins' });
    expect(api.message).toContain('The batch is invalid.');
    expect(api.message).toContain('400 validation_failed');
    expect(server.requests).toHaveLength(1);
  });

  it('redacts the token when the server echoes it, and hints at the token kind on 401', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 401, errorBody('unauthorized', `token ${TOKEN} is revoked`, { token: TOKEN })),
    );
    const error = await caught(client(server.baseUrl).heartbeat(apiExamples.heartbeatRequest));
    expect(error).toBeInstanceOf(CronfleetApiError);
    expect((error as CronfleetApiError).serverMessage).toBe('token [redacted] is revoked');
    expect((error as CronfleetApiError).details).toEqual({ token: '[redacted]' });
    expect((error as Error).message).toContain('This route takes an agent token (cfa_…)');
    expectNoToken(error);
    expect(server.requests).toHaveLength(1);
  });

  it('describes an error answer without a Cronfleet body (a proxy page)', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(404, { 'Content-Type': 'text/html' });
      res.end('<html><body>404 Not Found</body></html>');
    });
    const error = await caught(client(server.baseUrl).listRuns());
    expect(error).toBeInstanceOf(CronfleetApiError);
    expect((error as CronfleetApiError).code).toBe('not_found');
    expect((error as Error).message).toContain('without a Cronfleet error body');
    expect((error as Error).message).toContain('404 Not Found');
  });

  it('does not follow redirects (the token could go to another host)', async () => {
    const server = await startServer((_req, res) => {
      res.writeHead(301, { Location: 'https://elsewhere.example.com/api/v1/runs' });
      res.end();
    });
    const error = await caught(client(server.baseUrl).listRuns());
    expect(error).toBeInstanceOf(CronfleetApiError);
    expect((error as CronfleetApiError).status).toBe(301);
    expect((error as CronfleetApiError).code).toBe('unexpected_redirect');
    expect((error as Error).message).toContain('https://elsewhere.example.com/api/v1/runs');
    expect(server.requests).toHaveLength(1);
  });
});

describe('createCronfleetClient: retries', () => {
  it('retries an idempotent call after 503 and succeeds, reporting each retry', async () => {
    const server = await startServer((_req, res, index) => {
      if (index < 2) sendJson(res, 503, errorBody('unavailable', 'starting up'));
      else sendJson(res, 200, apiExamples.heartbeatResponse);
    });
    const events: CronfleetRetryEvent[] = [];
    const result = await client(server.baseUrl, {
      onRetry: (event) => events.push(event),
    }).heartbeat(apiExamples.heartbeatRequest);
    expect(result).toEqual(apiExamples.heartbeatResponse);
    expect(server.requests).toHaveLength(3);
    expect(events.map((event) => [event.retryNumber, event.reason])).toEqual([
      [1, '503 Service Unavailable'],
      [2, '503 Service Unavailable'],
    ]);
    expect(events[0]?.route.name).toBe('heartbeat');
    // The body is sent unchanged on each attempt.
    expect(new Set(server.requests.map((r) => r.body)).size).toBe(1);
  });

  it('gives up after the configured retries with the last answer', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 502, errorBody('unavailable', 'upstream down')),
    );
    const error = await caught(client(server.baseUrl, { retries: 2 }).listAgents());
    expect(error).toBeInstanceOf(CronfleetApiError);
    expect((error as CronfleetApiError).attempts).toBe(3);
    expect((error as Error).message).toContain('after 3 attempts');
    expect(server.requests).toHaveLength(3);
  });

  it('honours Retry-After on 429', async () => {
    const server = await startServer((_req, res, index) => {
      if (index === 0) {
        sendJson(res, 429, errorBody('rate_limited', 'slow down'), { 'Retry-After': '1' });
      } else {
        sendJson(res, 200, apiExamples.checkInBatchResponse);
      }
    });
    const result = await client(server.baseUrl).sendCheckIns(apiExamples.checkInBatchRequest);
    expect(result).toEqual(apiExamples.checkInBatchResponse);
    expect(server.requests).toHaveLength(2);
    const gap = (server.requests[1]?.at ?? 0) - (server.requests[0]?.at ?? 0);
    expect(gap).toBeGreaterThanOrEqual(950);
  });

  it('does not wait for a Retry-After beyond the cap; the error carries it', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 429, errorBody('rate_limited', 'slow down'), { 'Retry-After': '120' }),
    );
    const error = await caught(
      client(server.baseUrl).sendCheckIns(apiExamples.checkInBatchRequest),
    );
    expect(error).toBeInstanceOf(CronfleetApiError);
    expect((error as CronfleetApiError).code).toBe('rate_limited');
    expect((error as CronfleetApiError).retryAfterMs).toBe(120_000);
    expect(server.requests).toHaveLength(1);
  });

  it('never retries enroll', async () => {
    const server = await startServer((_req, res) =>
      sendJson(res, 503, errorBody('unavailable', 'try later')),
    );
    const error = await caught(
      client(server.baseUrl, { token: 'cfe_enrollEnrollEnrollEnroll00' }).enroll(
        apiExamples.enrollRequest,
      ),
    );
    expect(error).toBeInstanceOf(CronfleetApiError);
    expect((error as CronfleetApiError).status).toBe(503);
    expect(server.requests).toHaveLength(1);
  });

  it('does not retry 400, 409 or 500', async () => {
    for (const [status, code] of [
      [400, 'validation_failed'],
      [409, 'conflict'],
      [500, 'internal'],
    ] as const) {
      const server = await startServer((_req, res) => sendJson(res, status, errorBody(code, 'no')));
      const error = await caught(client(server.baseUrl).putInventory(apiExamples.inventoryRequest));
      expect((error as CronfleetApiError).code).toBe(code);
      expect(server.requests).toHaveLength(1);
    }
  });

  it('retries an idempotent call after the connection is reset', async () => {
    const server = await startServer((_req, res, index) => {
      if (index === 0) res.socket?.destroy();
      else sendJson(res, 200, apiExamples.inventoryResponse);
    });
    const result = await client(server.baseUrl).putInventory(apiExamples.inventoryRequest);
    expect(result).toEqual(apiExamples.inventoryResponse);
    expect(server.requests).toHaveLength(2);
  });
});

describe('createCronfleetClient: network errors', () => {
  it('reports a closed port as a CronfleetNetworkError after retrying, without the token', async () => {
    const server = await startServer(() => undefined);
    const baseUrl = server.baseUrl;
    await server.close();
    openServers.splice(openServers.indexOf(server), 1);
    const events: CronfleetRetryEvent[] = [];
    const error = await caught(
      client(baseUrl, { retries: 2, onRetry: (event) => events.push(event) }).heartbeat(
        apiExamples.heartbeatRequest,
      ),
    );
    expect(error).toBeInstanceOf(CronfleetNetworkError);
    const network = error as CronfleetNetworkError;
    expect(network.code).toBe('ECONNREFUSED');
    expect(network.attempts).toBe(3);
    expect(events).toHaveLength(2);
    expect(network.timedOut).toBe(false);
    expect(network.message).toContain(`no answer from ${baseUrl}`);
    expect(network.cause).toBeInstanceOf(Error);
    expectNoToken(error);
  });

  it('does not retry enroll after a network error', async () => {
    const server = await startServer(() => undefined);
    const baseUrl = server.baseUrl;
    await server.close();
    openServers.splice(openServers.indexOf(server), 1);
    const events: CronfleetRetryEvent[] = [];
    const error = await caught(
      client(baseUrl, { onRetry: (event) => events.push(event) }).enroll(apiExamples.enrollRequest),
    );
    expect(error).toBeInstanceOf(CronfleetNetworkError);
    expect((error as CronfleetNetworkError).attempts).toBe(1);
    expect(events).toHaveLength(0);
  });

  it('reports a timeout as timedOut', async () => {
    const server = await startServer((_req, res) => {
      setTimeout(() => sendJson(res, 200, apiExamples.heartbeatResponse), 500);
    });
    const error = await caught(
      client(server.baseUrl, { timeoutMs: 50, retries: 1 }).heartbeat(apiExamples.heartbeatRequest),
    );
    expect(error).toBeInstanceOf(CronfleetNetworkError);
    expect((error as CronfleetNetworkError).timedOut).toBe(true);
    expect((error as CronfleetNetworkError).attempts).toBe(2);
    expectNoToken(error);
  });

  it('reports an aborted call as aborted and does not retry it', async () => {
    const server = await startServer(() => undefined);
    const controller = new AbortController();
    const pending = caught(client(server.baseUrl).listRuns({}, { signal: controller.signal }));
    setTimeout(() => controller.abort(), 50);
    const error = await pending;
    expect(error).toBeInstanceOf(CronfleetNetworkError);
    expect((error as CronfleetNetworkError).aborted).toBe(true);
    expect(server.requests).toHaveLength(1);
  });
});

describe('createCronfleetClient: retry observer', () => {
  it('keeps retrying when the onRetry callback throws', async () => {
    const server = await startServer((_req, res, index) => {
      if (index === 0) sendJson(res, 504, errorBody('unavailable', 'gateway timeout'));
      else sendJson(res, 200, apiExamples.listAgentsResponse);
    });
    const api = client(server.baseUrl, {
      onRetry: () => {
        throw new Error('logger broke');
      },
    });
    expect(await api.listAgents()).toEqual(apiExamples.listAgentsResponse);
    expect(server.requests).toHaveLength(2);
  });
});
