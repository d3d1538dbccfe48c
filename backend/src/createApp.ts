import { existsSync } from 'node:fs';
import path from 'node:path';
import { apiErrorBody } from '@cronfleet/core/api';
import express, { type ErrorRequestHandler, type Express } from 'express';
import { registerAgentRoutes } from './agents/registerAgentRoutes.js';
import { registerAuthRoutes } from './auth/registerAuthRoutes.js';
import { ApiError } from './http/apiError.js';
import type { AppContext } from './http/appContext.js';
import { registerRunRoutes } from './runs/registerRunRoutes.js';

/** Largest JSON body accepted: a full check-in batch with output heads and tails. */
export const maxJsonBodyBytes = '8mb';

interface BodyParserError {
  type?: string;
  status?: number;
  message?: string;
  limit?: number;
}

/**
 * The HTTP application: the API under /api/v1, the health probe, and the dashboard build at /.
 * Errors: an ApiError is answered verbatim with its 4xx status and logged at warn; a malformed
 * or oversized body is a 400 or 413 that says so; anything else is a generic 500 for the caller
 * and a full stack in the log.
 */
export function createApp(context: AppContext): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', context.config.trustProxy);
  app.use('/api', express.json({ limit: maxJsonBodyBytes }));

  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });

  registerAuthRoutes(app, context);
  registerAgentRoutes(app, context);
  registerRunRoutes(app, context);

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
    if (error instanceof ApiError) {
      context.logger.warn({ path: request.path, code: error.code }, error.message);
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
    context.logger.error({ err: error, path: request.path }, 'unhandled error');
    response.status(500).json(apiErrorBody('internal', 'Internal server error'));
  };
  app.use(handleError);
  return app;
}
