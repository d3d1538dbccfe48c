import { existsSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { apiErrorBody } from '@cronfleet/core/api';
import express, {
  type ErrorRequestHandler,
  type Express,
  type Request,
  type RequestHandler,
} from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import type { Logger } from 'pino';
import { registerAgentRoutes } from './agents/registerAgentRoutes.js';
import { registerAuthRoutes } from './auth/registerAuthRoutes.js';
import { ApiError } from './http/apiError.js';
import type { AppContext } from './http/appContext.js';
import { buildOpenApiDocument, openApiPath, type OpenApiDocument } from './http/openApiDocument.js';
import { requestLogging } from './http/requestLogging.js';
import { metricsFor, metricsHandler, observeRequestDuration } from './operations/metrics.js';
import { readinessHandler } from './operations/readiness.js';
import { registerRunRoutes } from './runs/registerRunRoutes.js';

/** Largest JSON body accepted: a full check-in batch with output heads and tails. */
export const maxJsonBodyBytes = '8mb';

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
  limit?: number;
}

/** The request's own logger (with its request id) when request logging ran, else the app's. */
function loggerOf(request: Request, context: AppContext): Logger {
  return (request as { log?: Logger }).log ?? context.logger;
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
export function securityHeaders(): RequestHandler {
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
  return (_request, response, next) => {
    for (const [name, value] of headers) response.setHeader(name, value);
    next();
  };
}

/** Methods and headers a configured origin may use, and the response headers it may read. */
const corsAllowedMethods = 'GET, POST, PUT, PATCH, DELETE';
const corsAllowedHeaders = 'Authorization, Content-Type, X-Request-Id';
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
  app.use(requestLogging(context.logger, { onEnd: observeRequestDuration(metrics) }));
  app.use(securityHeaders());
  if (context.config.corsOrigins.length > 0) app.use(corsMiddleware(context.config.corsOrigins));

  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });
  app.get('/readyz', readinessHandler(context));
  app.get('/metrics', metricsHandler(metrics));

  app.use('/api', express.json({ limit: maxJsonBodyBytes }));

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
    const log = loggerOf(request, context);
    if (error instanceof ApiError) {
      log.warn({ path: request.path, code: error.code }, error.message);
      response.status(error.status).json(apiErrorBody(error.code, error.message, error.details));
      return;
    }
    const bodyError = error as BodyParserError;
    if (bodyError.type === 'entity.parse.failed') {
      response
        .status(400)
        .json(
          apiErrorBody(
            'validation_failed',
            `the request body is not valid JSON: ${bodyError.message ?? ''}`,
          ),
        );
      return;
    }
    if (bodyError.type === 'entity.too.large') {
      response
        .status(413)
        .json(
          apiErrorBody(
            'payload_too_large',
            `the request body is larger than the ${maxJsonBodyBytes} limit; send smaller batches`,
          ),
        );
      return;
    }
    if (typeof bodyError.status === 'number' && bodyError.status >= 400 && bodyError.status < 500) {
      response
        .status(bodyError.status)
        .json(apiErrorBody('validation_failed', bodyError.message ?? 'bad request'));
      return;
    }
    log.error({ err: error, path: request.path }, 'unhandled error');
    response.status(500).json(apiErrorBody('internal', 'Internal server error'));
  };
  app.use(handleError);
  return app;
}
