import type { IncomingMessage, ServerResponse } from 'node:http';
import { badRequest } from './apiError.js';

/** Largest JSON body accepted (a full check-in batch with output heads and tails), and its name. */
export const maxJsonBodyBytes = 8 * 1024 * 1024;
export const maxJsonBodySize = '8mb';

/**
 * Largest JSON body of a route that takes no credentials (sign-in, bootstrap), and its name: such
 * a body is read before anyone is authenticated, so it stays small.
 */
export const maxUnauthenticatedJsonBodyBytes = 64 * 1024;
export const maxUnauthenticatedJsonBodySize = '64kb';

/**
 * Serves one request of a lean route. The body is not read yet: `readBody` reads and parses it
 * (the parsed JSON, or an {@link InvalidJsonBody}), so the route authenticates the caller first
 * and never reads the body of a call it refuses. The function answers the request itself, errors
 * included.
 */
export type LeanRouteServer = (
  request: IncomingMessage,
  response: ServerResponse,
  readBody: () => Promise<unknown>,
) => Promise<void>;

/** A JSON body the lane may parse itself: what agents send (axios sets exactly this). */
const plainJsonType = /^application\/json(?:\s*;\s*charset="?utf-8"?)?$/i;

/**
 * The agents' hot routes (check-ins, heartbeats) served without Express. Every agent call of a
 * fleet lands on these two routes; Express's per-request machinery (prototype swap, router,
 * body parser) costs several times what a check-in's own work does, so the server hands a
 * request that is exactly one of these routes, in the form agents send, to its route here:
 *
 * - `POST` on the route's exact path (no query string),
 * - `Content-Type: application/json` (optionally `; charset=utf-8`), no Content-Encoding,
 * - a Content-Length within the body limit, and no Origin header (browsers go through CORS).
 *
 * Anything else (another method, a query string, another content type, a compressed or chunked
 * or oversized body, a browser's call) goes to Express, where the same route is mounted with the
 * same handler: the lane changes how fast a call is served, never what it answers.
 */
export class LeanRoutes {
  private readonly routes = new Map<string, LeanRouteServer>();

  /**
   * What every request gets before its route runs, as Express's first middleware give it:
   * request id and access log, security headers (set by createApp).
   */
  prepare: (request: IncomingMessage, response: ServerResponse) => void = () => {};

  /** Serves `POST path` here, for requests in the plain form described above. */
  post(path: string, serve: LeanRouteServer): void {
    this.routes.set(path, serve);
  }

  /**
   * Takes the request when it is a plain call of a lean route, and answers it; false when the
   * request is Express's to serve.
   */
  take(request: IncomingMessage, response: ServerResponse): boolean {
    if (request.method !== 'POST') return false;
    const serve = this.routes.get(request.url ?? '');
    if (serve === undefined) return false;
    const { headers } = request;
    const type = headers['content-type'];
    const length = Number(headers['content-length']);
    if (
      type === undefined ||
      !plainJsonType.test(type) ||
      headers['content-encoding'] !== undefined ||
      headers['transfer-encoding'] !== undefined ||
      headers.origin !== undefined ||
      !Number.isSafeInteger(length) ||
      length > maxJsonBodyBytes
    ) {
      return false;
    }
    // Express's name for the matched route, which the request histogram labels requests with.
    Object.assign(request, { route: { path: request.url } });
    this.prepare(request, response);
    const readBody = () =>
      new Promise<unknown>((resolve, reject) => {
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.once('error', () =>
          reject(badRequest('the request body was not received completely; send it again')),
        );
        request.once('end', () => resolve(parseJsonBody(Buffer.concat(chunks, length))));
      });
    void serve(request, response, readBody);
    return true;
  }
}

const leanRoutesByApp = new WeakMap<object, LeanRoutes>();

/** The lean routes of an app (see createServer): one set per Express app. */
export function leanRoutesOf(app: object): LeanRoutes {
  let routes = leanRoutesByApp.get(app);
  if (routes === undefined) {
    routes = new LeanRoutes();
    leanRoutesByApp.set(app, routes);
  }
  return routes;
}

/** A body that is not JSON: the route answers 400 with this parse problem. */
export class InvalidJsonBody {
  constructor(readonly message: string) {}
}

/**
 * The body as Express's JSON parser (strict mode) reads it: no bytes is `{}`, the top level must be
 * an object or an array, bytes that are not UTF-8 become U+FFFD.
 */
export function parseJsonBody(bytes: Buffer): unknown {
  const text = bytes.toString('utf8');
  if (text.length === 0) return {};
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') {
    return new InvalidJsonBody(
      `expected a JSON object, found ${first === undefined ? 'only white space' : JSON.stringify(first)}`,
    );
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    return new InvalidJsonBody((error as Error).message);
  }
}
