import { existsSync } from 'node:fs';
import http, { type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { apiErrorBody, apiRoutes, type ApiRouteDefinition } from '@cronfleet/core/api';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import { registerAgentRoutes } from './agents/registerAgentRoutes.js';
import { registerAuthRoutes } from './auth/registerAuthRoutes.js';
import { registerEventStreamRoute, type EventStreams } from './events/eventStreamRoute.js';
import { LiveEventHub } from './events/liveEventHub.js';
import { ApiError, invalidJson, sendError, sendJson } from './http/apiError.js';
import type { AppContext } from './http/appContext.js';
import { crossSiteWriteGuard } from './http/crossSiteWrites.js';
import { buildOpenApiDocument, openApiPath, type OpenApiDocument } from './http/openApiDocument.js';
import {
  leanRoutesOf,
  maxJsonBodySize,
  maxUnauthenticatedJsonBodySize,
} from './http/leanRoutes.js';
import { jsonBodyParserOf } from './http/mountRoute.js';
import { requestTracker } from './http/requestLogging.js';
import { registerIncidentRoutes } from './monitoring/incidentRoutes.js';
import { registerSilenceRoutes } from './monitoring/silenceRoutes.js';
import { registerNotificationChannelRoutes } from './notifications/channelRoutes.js';
import { metricsFor, metricsHandler, observeRequestDuration } from './operations/metrics.js';
import { readinessHandler } from './operations/readiness.js';
import { registerRunRoutes } from './runs/registerRunRoutes.js';

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
  limit?: number;
}

/** helmet's configuration: see {@link securityHeaders}. */
export const helmetOptions: HelmetOptions = {
  contentSecurityPolicy: {
    useDefaults: false,
    directives: {
      defaultSrc: ["'self'"],
      baseUri: ["'self'"],
      scriptSrc: ["'self'"],
      scriptSrcAttr: ["'none'"],
      styleSrc: ["'self'", "'unsafe-inline'"],
      imgSrc: ["'self'", 'data:'],
      fontSrc: ["'self'", 'data:'],
      connectSrc: ["'self'"],
      objectSrc: ["'none'"],
      formAction: ["'self'"],
      frameAncestors: ["'none'"],
    },
  },
  frameguard: { action: 'deny' },
};

/**
 * Security headers. The dashboard is a Vite build: scripts only from this origin, never inline;
 * styles from this origin (inline styles allowed: component libraries inject them); API calls to
 * this origin. No upgrade-insecure-requests: a plain-http installation on a LAN must keep working
 * (put TLS in front for anything else; HSTS is sent and browsers honour it only over https).
 *
 * helmet's headers for this configuration are the same on every response (no per-request nonce):
 * they are taken once, by running helmet against a recording response, and then set by one
 * middleware instead of helmet's chain of twelve on every request (agent calls are the hot path).
 */
export function securityHeaders(): (response: ServerResponse) => void {
  const headers: [string, string][] = [];
  const recorder = {
    setHeader: (name: string, value: unknown) => void headers.push([name, String(value)]),
    removeHeader: () => {},
  };
  let failure: unknown;
  helmet(helmetOptions)({} as IncomingMessage, recorder as unknown as ServerResponse, (error) => {
    failure = error;
  });
  if (failure !== undefined) throw failure as Error;
  return (response) => {
    for (const [name, value] of headers) response.setHeader(name, value);
  };
}

/**
 * Whether answers to this URL carry data (the API, the probes, the metrics): they are sent with
 * `Cache-Control: no-store`, so that no browser or proxy cache keeps a copy (a shared computer,
 * a caching proxy). The dashboard's static files keep their own caching.
 */
function carriesData(url: string): boolean {
  const path = url.split('?')[0] ?? '';
  return (
    path === '/api' ||
    path.startsWith('/api/') ||
    path === '/healthz' ||
    path === '/readyz' ||
    path === '/metrics'
  );
}

/** Methods and headers a configured origin may use, and the response headers it may read. */
const corsAllowedMethods = 'GET, POST, PUT, PATCH, DELETE';
const corsAllowedHeaders =
  'Authorization, Content-Type, X-Request-Id, X-Requested-With, X-Cronfleet-Client';
const corsExposedHeaders = 'X-Request-Id, Retry-After, RateLimit, RateLimit-Policy';

/**
 * CORS for the configured origins only (CRONFLEET_CORS_ORIGINS), with credentials, so that a
 * dashboard served from another origin can call the API with its session cookie. A request from
 * any other origin gets no CORS headers (the browser then blocks it); a preflight from a
 * configured origin is answered 204 here.
 */
export function corsMiddleware(origins: readonly string[]): RequestHandler {
  const allowed = new Set(origins.map((origin) => new URL(origin).origin));
  return (request, response, next) => {
    response.vary('Origin');
    const origin = request.headers.origin;
    if (origin === undefined || !allowed.has(origin)) {
      next();
      return;
    }
    response.setHeader('Access-Control-Allow-Origin', origin);
    response.setHeader('Access-Control-Allow-Credentials', 'true');
    const preflight =
      request.method === 'OPTIONS' &&
      request.headers['access-control-request-method'] !== undefined;
    if (!preflight) {
      response.setHeader('Access-Control-Expose-Headers', corsExposedHeaders);
      next();
      return;
    }
    response.vary('Access-Control-Request-Headers');
    response.setHeader('Access-Control-Allow-Methods', corsAllowedMethods);
    response.setHeader('Access-Control-Allow-Headers', corsAllowedHeaders);
    response.setHeader('Access-Control-Max-Age', '600');
    response.status(204).end();
  };
}

/**
 * The HTTP application: the API under /api/v1, its OpenAPI document, the probes and metrics, and
 * the dashboard build at /. Every request is logged (request id, organization, agent; secrets
 * redacted) and timed; responses carry security headers; CORS only for configured origins.
 * Errors: an ApiError is answered verbatim with its 4xx status and logged at warn; a malformed
 * or oversized body is a 400 or 413 that says so; anything else is a generic 500 for the caller
 * and a full stack in the log.
 */
export function createApp(context: AppContext): Express {
  const app = express();
  const metrics = metricsFor(context);
  app.disable('x-powered-by');
  app.set('trust proxy', context.config.trustProxy);
  const track = requestTracker(context.logger, { onEnd: observeRequestDuration(metrics) });
  const setSecurityHeaders = securityHeaders();
  // What every request gets first, whether Express or the lean lane serves it.
  const prepare = (request: IncomingMessage, response: ServerResponse) => {
    track(request, response);
    setSecurityHeaders(response);
    if (carriesData(request.url ?? '')) response.setHeader('Cache-Control', 'no-store');
  };
  leanRoutesOf(app).prepare = prepare;
  app.use((request, response, next) => {
    prepare(request, response);
    next();
  });
  if (context.config.corsOrigins.length > 0) app.use(corsMiddleware(context.config.corsOrigins));

  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  app.get('/readyz', readinessHandler(context));
  app.get('/metrics', metricsHandler(metrics, context));

  // Before any body is read: a write made with the session cookie must come from the dashboard.
  app.use('/api', crossSiteWriteGuard(context));
  // Bodies are read by each route once its caller is authenticated (mountRoute). The routes that
  // take no credentials (sign-in, bootstrap) read theirs here, small, so that the rate limits
  // mounted before them can count attempts per e-mail address.
  for (const route of Object.values(apiRoutes) as ApiRouteDefinition[]) {
    if (route.auth === 'none' && route.method !== 'GET') {
      app[route.method.toLowerCase() as 'post' | 'put' | 'patch' | 'delete'](
        route.path,
        jsonBodyParserOf(route),
      );
    }
  }

  let openApiDocument: OpenApiDocument | undefined;
  app.get(openApiPath, (_request, response) => {
    openApiDocument ??= buildOpenApiDocument();
    response.json(openApiDocument);
  });

  // Express tries routes in order: the agents' calls (check-ins, heartbeats), the bulk of the
  // traffic, are matched first.
  registerRunRoutes(app, context);
  registerAgentRoutes(app, context);
  registerAuthRoutes(app, context);
  registerNotificationChannelRoutes(app, context);
  registerIncidentRoutes(app, context);
  registerSilenceRoutes(app, context);
  // The dashboard's live events (Server-Sent Events). This replica starts listening for them
  // when its first stream opens.
  app.locals.eventStreams = registerEventStreamRoute(
    app,
    context,
    new LiveEventHub(context.database, context.logger, context.now),
  );

  app.use('/api', (request, response) => {
    response
      .status(404)
      .json(
        apiErrorBody(
          'not_found',
          `No route for ${request.method} ${request.originalUrl.split('?')[0]}`,
        ),
      );
  });

  const { frontendDir } = context.config;
  if (existsSync(path.join(frontendDir, 'index.html'))) {
    app.use(express.static(frontendDir, { index: 'index.html', maxAge: '1h' }));
    // Client-side routes fall back to the SPA's entry page.
    app.get(/.*/, (_request, response) => {
      response.sendFile(path.join(frontendDir, 'index.html'));
    });
  }
  app.use((request, response) => {
    response
      .status(404)
      .json(apiErrorBody('not_found', `No route for ${request.method} ${request.path}`));
  });

  const handleError: ErrorRequestHandler = (error: unknown, request, response, _next) => {
    const bodyError = error as BodyParserError;
    if (bodyError.type === 'entity.parse.failed') {
      sendError(invalidJson(bodyError.message ?? ''), request, response, context.logger);
    } else if (bodyError.type === 'entity.too.large') {
      const unauthenticated = bodyError.limit !== undefined && bodyError.limit < 1024 * 1024;
      sendError(
        new ApiError(
          'payload_too_large',
          unauthenticated
            ? `the request body is larger than the ${maxUnauthenticatedJsonBodySize} limit of a request that carries no credentials`
            : `the request body is larger than the ${maxJsonBodySize} limit; send smaller batches`,
        ),
        request,
        response,
        context.logger,
      );
    } else if (
      !(error instanceof ApiError) &&
      typeof bodyError.status === 'number' &&
      bodyError.status >= 400 &&
      bodyError.status < 500
    ) {
      // The body parser's other refusals (an unsupported charset or encoding: 415).
      sendJson(
        response,
        bodyError.status,
        apiErrorBody('validation_failed', bodyError.message ?? 'bad request'),
      );
    } else {
      sendError(error, request, response, context.logger);
    }
  };
  app.use(handleError);
  return app;
}

/**
 * The backend's HTTP server: the lean lane first (the agents' plain calls of their hot routes,
 * see LeanRoutes), the Express app (by default a new one for `context`) for everything else.
 */
export function createServer(context: AppContext, app: Express = createApp(context)): Server {
  const lean = leanRoutesOf(app);
  const server = http.createServer((request, response) => {
    if (!lean.take(request, response)) void app(request, response);
  });
  // server.close() waits for every request to end, and a live events stream never does: closing
  // the server ends the streams first (their clients reconnect, to another replica).
  const streams = app.locals.eventStreams as EventStreams | undefined;
  const close = server.close.bind(server);
  server.close = ((callback?: (error?: Error) => void) => {
    streams?.closeAll();
    return close(callback);
  }) as Server['close'];
  return server;
}
