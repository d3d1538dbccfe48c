import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import express, { type RequestHandler } from 'express';
import helmet from 'helmet';
import { describe, expect, it } from 'vitest';
import { helmetOptions, securityHeaders } from './createApp.js';

/** The headers of a response from an app with only `middleware`, minus those every answer has. */
async function headersWith(middleware: RequestHandler): Promise<Record<string, string>> {
  const app = express();
  app.disable('x-powered-by');
  app.use(middleware);
  app.get('/', (_request, response) => void response.status(200).end('ok'));
  const server = app.listen(0, '127.0.0.1');
  await once(server, 'listening');
  try {
    const { port } = server.address() as AddressInfo;
    const response = await fetch(`http://127.0.0.1:${port}/`);
    await response.text();
    const headers = Object.fromEntries(response.headers);
    for (const common of ['date', 'connection', 'keep-alive', 'content-length']) {
      delete headers[common];
    }
    return headers;
  } finally {
    server.close();
  }
}

describe('securityHeaders', () => {
  it('sends exactly the headers helmet sends with the same configuration', async () => {
    const expected = await headersWith(helmet(helmetOptions));
    expect(Object.keys(expected).length).toBeGreaterThan(8);
    const setSecurityHeaders = securityHeaders();
    expect(
      await headersWith((_request, response, next) => {
        setSecurityHeaders(response);
        next();
      }),
    ).toEqual(expected);
  });
});
