import { spawn } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A smart-HTTP git server for tests: node:http (or node:https) in front of the real
 * `git http-backend` CGI, with optional basic authentication, as Flux tests against a local git
 * server. `uploadPack` replaces the handler of the fetch request, to simulate a server that
 * trickles or hangs.
 */
export const HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitHttpServerOptions {
  /** Directory that holds the served bare repositories. */
  projectRoot: string;
  auth?: { username: string; password: string };
  tls?: { key: string; cert: string };
  /** Called for each request that passed authentication, before it is served. */
  onAuthorized?: (request: IncomingMessage) => void | Promise<void>;
  /** Handles `POST …/git-upload-pack` instead of http-backend. */
  uploadPack?: (request: IncomingMessage, response: ServerResponse) => void;
  /**
   * Pass the client's Git-Protocol header on (protocol v2). Without it http-backend speaks
   * protocol v0, which refuses a want for a commit that no ref points at.
   */
  protocolV2?: boolean;
}

export interface RecordedRequest {
  method: string;
  path: string;
  status: number;
  authorization: string | undefined;
}

export interface GitHttpServer {
  /** `http(s)://127.0.0.1:PORT` */
  baseUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startGitHttpServer(options: GitHttpServerOptions): Promise<GitHttpServer> {
  const requests: RecordedRequest[] = [];
  const expected =
    options.auth === undefined
      ? undefined
      : `Basic ${Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64')}`;

  const handler = (request: IncomingMessage, response: ServerResponse): void => {
    const url = new URL(request.url ?? '/', 'http://test');
    const record: RecordedRequest = {
      method: request.method ?? 'GET',
      path: url.pathname + url.search,
      status: 0,
      authorization: request.headers.authorization,
    };
    requests.push(record);
    response.on('finish', () => (record.status = response.statusCode));
    if (expected !== undefined && request.headers.authorization !== expected) {
      response.writeHead(401, { 'WWW-Authenticate': 'Basic realm="cronfleet-test"' });
      response.end('authentication required\n');
      return;
    }
    void Promise.resolve(options.onAuthorized?.(request)).then(() => {
      if (
        options.uploadPack !== undefined &&
        request.method === 'POST' &&
        url.pathname.endsWith('/git-upload-pack')
      ) {
        options.uploadPack(request, response);
        return;
      }
      void runHttpBackend(request, response, options).catch(() => response.destroy());
    });
  };

  const server: Server =
    options.tls === undefined
      ? createHttpServer(handler)
      : createHttpsServer({ key: options.tls.key, cert: options.tls.cert }, handler);
  const sockets = new Set<Socket>();
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `${options.tls === undefined ? 'http' : 'https'}://127.0.0.1:${port}`,
    requests,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface BackendResponse {
  status: number;
  headers: Array<[string, string]>;
  body: Buffer;
}

/** Runs http-backend for one request and buffers its whole response. */
export function callHttpBackend(
  request: IncomingMessage,
  options: GitHttpServerOptions,
): Promise<BackendResponse> {
  const url = new URL(request.url ?? '/', 'http://test');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_PROJECT_ROOT: options.projectRoot,
    GIT_HTTP_EXPORT_ALL: '1',
    REQUEST_METHOD: request.method ?? 'GET',
    PATH_INFO: decodeURIComponent(url.pathname),
    QUERY_STRING: url.search.slice(1),
    CONTENT_TYPE: request.headers['content-type'] ?? '',
    REMOTE_ADDR: '127.0.0.1',
    REMOTE_USER: options.auth?.username ?? '',
    HTTP_CONTENT_ENCODING: request.headers['content-encoding'] ?? '',
  };
  if (request.headers['content-length'] !== undefined) {
    env.CONTENT_LENGTH = request.headers['content-length'];
  }
  const protocol = request.headers['git-protocol'];
  if (options.protocolV2 === true && typeof protocol === 'string') env.GIT_PROTOCOL = protocol;

  return new Promise((resolve, reject) => {
    const child = spawn(HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'inherit'] });
    request.pipe(child.stdin);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    child.on('error', reject);
    child.on('close', () => {
      const output = Buffer.concat(chunks);
      const end = output.indexOf('\r\n\r\n');
      if (end === -1) {
        reject(new Error(`http-backend answered without headers: ${output.toString()}`));
        return;
      }
      let status = 200;
      const headers: Array<[string, string]> = [];
      for (const line of output.subarray(0, end).toString('latin1').split('\r\n')) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10);
        else headers.push([name, value]);
      }
      resolve({ status, headers, body: output.subarray(end + 4) });
    });
  });
}

async function runHttpBackend(
  request: IncomingMessage,
  response: ServerResponse,
  options: GitHttpServerOptions,
): Promise<void> {
  const answer = await callHttpBackend(request, options);
  response.statusCode = answer.status;
  for (const [name, value] of answer.headers) response.setHeader(name, value);
  response.end(answer.body);
}

/** A pkt-line (git's framing): four hex digits of length, then the payload. */
export function pktLine(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

/**
 * The part of an upload-pack response before the first side-band packet (acknowledgements and
 * the shallow list), so a test server can answer a real negotiation and then stall or trickle.
 */
export function beforeSideBand(body: Buffer): Buffer {
  let offset = 0;
  while (offset + 4 <= body.length) {
    const length = Number.parseInt(body.subarray(offset, offset + 4).toString(), 16);
    if (length === 0 || length === 1) {
      offset += 4;
      continue;
    }
    const band = body[offset + 4];
    if (band === 1 || band === 2 || band === 3) return body.subarray(0, offset);
    offset += length;
  }
  return body;
}
