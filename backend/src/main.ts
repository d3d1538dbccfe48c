import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { createApp } from './createApp.js';
import { ConfigError, loadBackendConfig } from './env.js';

const usage = `Usage: cronfleet-backend serve

Commands:
  serve   start the HTTP server (PORT, HOST, LOG_LEVEL from the environment)`;

async function serve(): Promise<void> {
  const config = loadBackendConfig();
  const logger = pino({ level: config.logLevel });
  const server = createApp({ logger, frontendDir: config.frontendDir }).listen(
    config.port,
    config.host,
  );
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  logger.info({ url: `http://${config.host}:${port}` }, 'cronfleet backend listening');
  process.stdout.write(
    `Cronfleet backend listening on http://${config.host}:${port} (dashboard: /, health: /healthz)\n`,
  );
  const stop = () => {
    logger.info('stopping');
    server.close(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
}

export async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  if (command === 'serve') {
    await serve();
    return 0;
  }
  process.stderr.write(
    `${command === undefined ? 'Missing command' : `Unknown command "${command}"`}\n${usage}\n`,
  );
  return 2;
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== 0) process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`${error instanceof ConfigError ? error.message : String(error)}\n`);
    process.exitCode = 2;
  },
);
