import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import net from 'node:net';
import { pino } from 'pino';
import type { DeliveryContext } from '../../src/notifications/channelKind.js';
import type { Notification } from '../../src/notifications/notification.js';
import type { OutboundSettings } from '../../src/notifications/outboundHttp.js';
import { OutboundClient } from '../../src/notifications/outboundHttp.js';

/** Local receivers on 127.0.0.1 (port 0), and the notifications and contexts tests deliver. */

export const failingNotification: Notification = {
  idempotencyKey: 'ntf_01HZX3K6Q9RMW2B7D8E5F4A1C0',
  event: 'incident.opened',
  incident: {
    id: 'inc_8f14e45fceea167a',
    kind: 'failing',
    openedAt: '2026-12-02T02:00:07.000Z',
  },
  job: { namespace: 'production', name: 'nightly-db-backup' },
  agent: { id: 'agt_3c59dc048e88', name: 'db-1' },
  expected: 'exit code 0 (alertAfter: 2 consecutive failures)',
  happened: '2 runs in a row exited 3 <the last at 02:00 America/New_York>',
  outputTail:
    'pg_dump: error: connection to server failed\n\u001b[31mFATAL\u001b[0m: password authentication failed for user "backup" & <script>alert(1)</script>\n```done```',
  dashboardUrl: 'https://cron.example.com/incidents/inc_8f14e45fceea167a',
  occurredAt: '2026-12-02T07:00:07.000Z',
};

export const resolvedNotification: Notification = {
  ...failingNotification,
  idempotencyKey: 'ntf_01HZX3M0000000000000000000',
  event: 'incident.resolved',
  incident: { ...failingNotification.incident, resolvedAt: '2026-12-03T07:00:04.000Z' },
  happened: 'the run at 02:00 succeeded',
  outputTail: undefined,
  occurredAt: '2026-12-03T07:00:04.000Z',
};

/** Tests allow loopback, where their receivers listen; nothing else. */
export const loopbackOnly = ['127.0.0.0/8', '::1/128'];

export function testContext(
  settings: Partial<OutboundSettings> = {},
  now: () => Date = () => new Date('2026-12-02T07:00:09.000Z'),
): DeliveryContext {
  return {
    outbound: new OutboundClient({ allowedNetworks: loopbackOnly, ...settings }),
    now,
    logger: pino({ level: 'silent' }),
  };
}

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  close(): Promise<void>;
}

type Answer = (request: ReceivedRequest, response: http.ServerResponse) => void;

/** An HTTP server on 127.0.0.1 that records each request whole, then answers with `answer`. */
export async function startReceiver(answer: Answer, path = '/hook'): Promise<Receiver> {
  const requests: ReceivedRequest[] = [];
  const server = http.createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const request = {
        method: incoming.method ?? '',
        url: incoming.url ?? '',
        headers: incoming.headers,
        body: Buffer.concat(chunks).toString('utf8'),
      };
      requests.push(request);
      answer(request, response);
    });
  });
  return listen(server, requests, path);
}

async function listen(
  server: http.Server | net.Server,
  requests: ReceivedRequest[],
  path: string,
): Promise<Receiver> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${path}`,
    port,
    requests,
    async close() {
      for (const socket of sockets) socket.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A TCP server that accepts connections and never says a word: no HTTP answer, no TLS hello. */
export async function startSilentServer(): Promise<Receiver & { connections: () => number }> {
  let connections = 0;
  const server = net.createServer(() => {
    connections += 1;
  });
  const receiver = await listen(server, [], '/hook');
  return { ...receiver, connections: () => connections };
}
