import { afterEach, describe, expect, it } from 'vitest';
import { AddressPolicy } from '../../src/notifications/addressPolicy.js';
import { resultOfAnswer } from '../../src/notifications/httpDeliveryResult.js';
import { OutboundClient, OutboundError } from '../../src/notifications/outboundHttp.js';
import type { Receiver } from './notificationFixtures.js';
import { loopbackOnly, startReceiver, startSilentServer } from './notificationFixtures.js';

/**
 * The outbound guard with real sockets on 127.0.0.1. Refusals happen before any connection, so
 * the refused addresses below are never contacted.
 */

const receivers: Receiver[] = [];
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((receiver) => receiver.close()));
});

async function receiver(...args: Parameters<typeof startReceiver>) {
  const started = await startReceiver(...args);
  receivers.push(started);
  return started;
}

const post = (client: OutboundClient, url: string) =>
  client.post({ url, headers: { 'content-type': 'application/json' }, body: '{}' });

async function refusal(client: OutboundClient, url: string): Promise<OutboundError> {
  const error = await post(client, url).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(OutboundError);
  return error as OutboundError;
}

describe('addresses', () => {
  const strict = new OutboundClient();

  it.each([
    ['http://10.0.0.1/hook', 'private'],
    ['http://127.0.0.1/hook', 'loopback'],
    ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
    ['http://100.64.0.1/hook', 'carrierGradeNat'],
    ['http://0.0.0.0/hook', 'unspecified'],
    ['http://[::1]/hook', 'loopback'],
    ['http://[fd00::1]/hook', 'uniqueLocal'],
    ['http://[fe80::1]/hook', 'linkLocal'],
    ['http://[::]/hook', 'unspecified'],
    ['http://[::ffff:127.0.0.1]/hook', 'loopback'],
    ['http://[::ffff:10.1.2.3]/hook', 'private'],
  ])('refuses %s (%s) before connecting, and says how to allow it', async (url, range) => {
    const error = await refusal(strict, url);
    expect(error.code).toBe('refused_address');
    expect(error.retryable).toBe(false);
    expect(error.message).toContain(`a ${range} address`);
    expect(error.message).toContain('CRONFLEET_NOTIFICATION_ALLOWED_NETWORKS');
  });

  it('refuses a host name that the system resolver maps to loopback (localhost)', async () => {
    const error = await refusal(strict, 'http://localhost:9/hook');
    expect(error.code).toBe('refused_address');
    expect(error.message).toMatch(
      /^localhost resolves to (127\.0\.0\.1|::1), which is a loopback address/,
    );
  });

  it('refuses a host name resolving to a private address', async () => {
    const client = new OutboundClient({ resolve: async () => ['10.0.0.1'] });
    const error = await refusal(client, 'https://hooks.internal.example/hook');
    expect(error.code).toBe('refused_address');
    expect(error.message).toContain('hooks.internal.example resolves to 10.0.0.1');
  });

  it('refuses a name when any one of its addresses is refused, not only the first', async () => {
    let contacted = 0;
    const open = await receiver((_request, response) => {
      contacted += 1;
      response.end('ok');
    });
    const client = new OutboundClient({
      allowedNetworks: ['127.0.0.0/8'],
      resolve: async () => ['127.0.0.1', '10.0.0.1'],
    });
    const error = await refusal(client, `http://two.example:${open.port}/hook`);
    expect(error.message).toContain('10.0.0.1');
    expect(contacted).toBe(0);
  });

  it('allows exactly the configured networks', async () => {
    const client = new OutboundClient({ allowedNetworks: loopbackOnly });
    const open = await receiver((_request, response) => response.end('ok'));
    expect((await post(client, open.url)).status).toBe(200);
    expect((await refusal(client, 'http://10.0.0.1/hook')).code).toBe('refused_address');
    expect((await refusal(client, 'http://[fd00::1]/hook')).code).toBe('refused_address');
  });

  it('classifies through ipaddr.js: public unicast is allowed, special ranges are not', () => {
    const policy = new AddressPolicy();
    expect(policy.judge('8.8.8.8').allowed).toBe(true);
    expect(policy.judge('2606:4700:4700::1111').allowed).toBe(true);
    for (const address of [
      '192.168.1.1',
      '172.16.0.1',
      '198.18.0.1',
      '224.0.0.1',
      '255.255.255.255',
      'fec0::1',
      '2001:db8::1',
      'not-an-address',
    ]) {
      expect(policy.judge(address).allowed, address).toBe(false);
    }
    expect(new AddressPolicy(['192.168.0.0/16']).judge('192.168.1.1').allowed).toBe(true);
    expect(() => new AddressPolicy(['192.168.0.0/33'])).toThrow(/not a network/);
  });

  it('resolves once and connects to the address it checked, keeping the Host header (no DNS rebinding)', async () => {
    const lookups: string[] = [];
    const answers = [['127.0.0.1'], ['10.0.0.1']];
    const client = new OutboundClient({
      allowedNetworks: ['127.0.0.0/8'],
      // A rebinding resolver: the first answer passes the check, later ones point inside.
      resolve: async (hostname) => {
        lookups.push(hostname);
        return answers[Math.min(lookups.length - 1, 1)] as string[];
      },
    });
    const open = await receiver((_request, response) => response.end('ok'));
    const response = await post(client, `http://rebind.example:${open.port}/hook?x=1`);
    expect(response.status).toBe(200);
    expect(lookups).toEqual(['rebind.example']);
    expect(open.requests[0]?.headers.host).toBe(`rebind.example:${open.port}`);
    expect(open.requests[0]?.url).toBe('/hook?x=1');
  });

  it('refuses URLs that are not http or https', async () => {
    const error = await refusal(new OutboundClient(), 'file:///etc/passwd');
    expect(error.code).toBe('invalid_url');
  });
});

describe('answers', () => {
  const client = new OutboundClient({ allowedNetworks: loopbackOnly, maxResponseBytes: 1024 });

  it('does not follow a redirect; the result says so and the target is never contacted', async () => {
    const target = await receiver((_request, response) => response.end('ok'));
    const redirecting = await receiver((_request, response) => {
      response.writeHead(301, { location: `${target.url}?moved` }).end();
    });
    const response = await post(client, redirecting.url);
    expect(response.status).toBe(301);
    const result = resultOfAnswer(response, undefined, new Date());
    expect(result).toMatchObject({ outcome: 'failed', retryable: false, status: 301 });
    expect(result.outcome === 'failed' && result.reason).toContain('redirects are not followed');
    expect(target.requests).toHaveLength(0);
  });

  it('reads Retry-After in seconds or as a date, by the clock it is given', () => {
    const now = new Date('2026-12-02T07:00:00.000Z');
    const busy = (retryAfter: string) =>
      resultOfAnswer(
        { status: 503, headers: { 'retry-after': retryAfter }, body: '', bodyTruncated: false },
        undefined,
        now,
      );
    expect(busy('30')).toMatchObject({ retryable: true, retryAfterSeconds: 30 });
    expect(busy('Wed, 02 Dec 2026 07:05:00 GMT')).toMatchObject({ retryAfterSeconds: 300 });
    expect(busy('soon')).not.toHaveProperty('retryAfterSeconds');
  });

  it('reads at most maxResponseBytes of an answer', async () => {
    const chatty = await receiver((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/plain' });
      response.end('x'.repeat(1_000_000));
    });
    const response = await post(client, chatty.url);
    expect(response.status).toBe(200);
    expect(response.body.length).toBe(1024);
    expect(response.bodyTruncated).toBe(true);
  });
});

describe('timeouts', () => {
  it('gives up on a receiver that accepts and never answers (total timeout), retryably', async () => {
    const silent = await startSilentServer();
    receivers.push(silent);
    const client = new OutboundClient({
      allowedNetworks: loopbackOnly,
      connectTimeoutMs: 60_000,
      totalTimeoutMs: 300,
    });
    const error = await refusal(client, silent.url);
    expect(error.code).toBe('timeout');
    expect(error.retryable).toBe(true);
    expect(error.message).toBe(`http://127.0.0.1:${silent.port} did not answer within 300 ms`);
    expect(silent.connections()).toBe(1);
  });

  it('gives up on a TLS handshake that never completes (connect timeout)', async () => {
    const silent = await startSilentServer();
    receivers.push(silent);
    const client = new OutboundClient({
      allowedNetworks: loopbackOnly,
      connectTimeoutMs: 300,
      totalTimeoutMs: 60_000,
    });
    const error = await refusal(client, `https://127.0.0.1:${silent.port}/hook`);
    expect(error.code).toBe('connect_timeout');
    expect(error.retryable).toBe(true);
  });

  it('counts DNS in the total timeout', async () => {
    const client = new OutboundClient({
      resolve: () => new Promise<string[]>(() => {}),
      totalTimeoutMs: 300,
    });
    const error = await refusal(client, 'https://hooks.hangs.example/hook');
    expect(error.code).toBe('timeout');
    expect(error.message).toBe('https://hooks.hangs.example did not answer within 300 ms');
  });

  it('answers a closed port as a retryable connection failure', async () => {
    const silent = await startSilentServer();
    const port = silent.port;
    await silent.close();
    const client = new OutboundClient({ allowedNetworks: loopbackOnly });
    const error = await refusal(client, `http://127.0.0.1:${port}/hook`);
    expect(error.code).toBe('connection_failed');
    expect(error.retryable).toBe(true);
    expect(error.message).toContain('ECONNREFUSED');
  });
});
