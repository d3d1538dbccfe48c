/**
 * Benchmark (a), the Express ceiling: a bare Express 5 app with the backend's JSON body parser
 * (same mount point, same limit as createApp's maxJsonBodyBytes) and one route that answers 202.
 * No auth, no validation, no database: what (b) costs on top of this is the backend's own work.
 *
 * Run as its own process: `node --import tsx bench/bareExpressServer.ts` (PORT, default 0).
 * Prints `listening on http://…` once it accepts connections.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express from 'express';

const app = express();
app.disable('x-powered-by');
app.use('/api', express.json({ limit: '8mb' }));
app.post('/api/v1/check-ins', (request, response) => {
  const body = request.body as { checkIns?: unknown[] } | undefined;
  response.status(202).json({ accepted: body?.checkIns?.length ?? 0, duplicates: 0 });
});

const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1');
await once(server, 'listening');
const { port } = server.address() as AddressInfo;
process.stdout.write(`bare Express listening on http://127.0.0.1:${port}\n`);

const stop = () => server.close(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
