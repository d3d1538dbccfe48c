import { existsSync } from 'node:fs';
import path from 'node:path';
import express, { type ErrorRequestHandler, type Express } from 'express';
import type { Logger } from 'pino';

/**
 * The HTTP application. For now it serves the process health probe and the dashboard build;
 * the API under /api/v1 (agents, check-ins, runs) is built on this in the backend issue.
 */
export function createApp(options: { logger: Logger; frontendDir?: string }): Express {
  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', (_request, response) => {
    response.json({ status: 'ok' });
  });

  const { frontendDir } = options;
  if (frontendDir !== undefined && existsSync(path.join(frontendDir, 'index.html'))) {
    app.use(express.static(frontendDir, { index: 'index.html', maxAge: '1h' }));
    // Client-side routes fall back to the SPA's entry page; /api stays JSON.
    app.get(/^(?!\/api\/).*/, (_request, response) => {
      response.sendFile(path.join(frontendDir, 'index.html'));
    });
  }

  app.use((request, response) => {
    response.status(404).json({
      error: { code: 'not_found', message: `No route for ${request.method} ${request.path}` },
    });
  });

  const handleError: ErrorRequestHandler = (error: unknown, request, response, _next) => {
    options.logger.error({ err: error, path: request.path }, 'unhandled error');
    response.status(500).json({ error: { code: 'internal', message: 'Internal server error' } });
  };
  app.use(handleError);
  return app;
}
