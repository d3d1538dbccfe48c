import { promises as dns } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { AddressPolicy } from './addressPolicy.js';

/**
 * The one way a notification leaves the backend over HTTP. Every HTTP channel kind posts through
 * `OutboundClient.post`, which:
 * - resolves the host once, judges every address it resolves to (AddressPolicy), and connects to
 *   the address it judged, so a DNS answer that changes between the check and the connection
 *   (DNS rebinding) cannot lead it elsewhere; the Host header and TLS name stay the URL's host;
 * - gives up on a connection (TCP and TLS) after `connectTimeoutMs`, and on the whole exchange,
 *   DNS included, after `totalTimeoutMs`;
 * - never follows a redirect: a 3xx is answered as it is, for the caller to report;
 * - reads at most `maxResponseBytes` of the answer and drops the rest.
 */

export interface OutboundSettings {
  /** Networks (CIDR) allowed although not public; see AddressPolicy. */
  readonly allowedNetworks: readonly string[];
  readonly connectTimeoutMs: number;
  readonly totalTimeoutMs: number;
  readonly maxResponseBytes: number;
  /** Resolves a host name to its addresses; default: the system resolver (getaddrinfo). */
  readonly resolve?: (hostname: string) => Promise<string[]>;
}

export const defaultOutboundSettings = {
  allowedNetworks: [],
  connectTimeoutMs: 5_000,
  // The Standard Webhooks spec recommends giving a receiver 15 to 30 s.
  totalTimeoutMs: 20_000,
  maxResponseBytes: 64 * 1024,
} as const satisfies OutboundSettings;

/** Why an outbound call did not get an answer. */
export type OutboundFailureCode =
  | 'invalid_url'
  | 'refused_address'
  | 'dns_failed'
  | 'connect_timeout'
  | 'timeout'
  | 'connection_failed';

/** A call that got no HTTP answer. `message` never holds the URL's path or query (secrets). */
export class OutboundError extends Error {
  override readonly name = 'OutboundError';

  constructor(
    readonly code: OutboundFailureCode,
    message: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface OutboundResponse {
  readonly status: number;
  readonly headers: http.IncomingHttpHeaders;
  /** The answer's first maxResponseBytes, as UTF-8. */
  readonly body: string;
  readonly bodyTruncated: boolean;
}

export interface OutboundRequest {
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body: string;
}

/** `https://hooks.slack.com`: the part of a URL that may be shown; paths and queries hold tokens. */
export function describeTarget(url: URL | string): string {
  try {
    return new URL(url).origin;
  } catch {
    return 'an invalid URL';
  }
}

export class OutboundClient {
  readonly settings: Required<OutboundSettings>;
  private readonly policy: AddressPolicy;

  constructor(settings: Partial<OutboundSettings> = {}) {
    this.settings = {
      ...defaultOutboundSettings,
      resolve: resolveWithSystem,
      ...settings,
    };
    this.policy = new AddressPolicy(this.settings.allowedNetworks);
  }

  /**
   * Resolves `hostname` and answers the address to connect to, after judging every address it
   * resolved to. Used by POSTs and by the SMTP kind, whose transport connects to the answer.
   */
  async checkedAddress(hostname: string): Promise<string> {
    const bare = hostname.startsWith('[') ? hostname.slice(1, -1) : hostname;
    let addresses: string[];
    if (isIP(bare) !== 0) {
      addresses = [bare];
    } else {
      try {
        addresses = await this.settings.resolve(bare);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? 'error';
        throw new OutboundError('dns_failed', `cannot resolve ${bare} (${code})`, true, {
          cause: error,
        });
      }
      if (addresses.length === 0) {
        throw new OutboundError('dns_failed', `${bare} resolves to no address`, true);
      }
    }
    // Every address is judged, not only the one used: a name with one public and one private
    // address is refused, since which one a client picks is not ours to promise.
    for (const address of addresses) {
      const verdict = this.policy.judge(address);
      if (!verdict.allowed) {
        const where = address === bare ? address : `${bare} resolves to ${address}, which`;
        throw new OutboundError(
          'refused_address',
          `${where} is a ${verdict.range} address, which notifications may not reach; add its network to CRONFLEET_NOTIFICATION_ALLOWED_NETWORKS to allow it`,
          false,
        );
      }
    }
    return addresses[0] as string;
  }

  /** POSTs `body`; answers the receiver's answer whatever its status, or throws OutboundError. */
  async post(request: OutboundRequest): Promise<OutboundResponse> {
    let url: URL;
    try {
      url = new URL(request.url);
    } catch {
      throw new OutboundError('invalid_url', 'the URL is not valid', false);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') {
      throw new OutboundError('invalid_url', `${url.protocol} URLs are not supported`, false);
    }
    const { totalTimeoutMs } = this.settings;
    let totalTimer: NodeJS.Timeout | undefined;
    const overall = new Promise<never>((_, reject) => {
      totalTimer = setTimeout(
        () =>
          reject(
            new OutboundError(
              'timeout',
              `${describeTarget(url)} did not answer within ${totalTimeoutMs} ms`,
              true,
            ),
          ),
        totalTimeoutMs,
      );
    });
    let abort: ((error: Error) => void) | undefined;
    try {
      const address = await Promise.race([this.checkedAddress(url.hostname), overall]);
      return await Promise.race([
        this.exchange(url, address, request, (destroy) => (abort = destroy)),
        overall,
      ]);
    } catch (error) {
      // The timer (or anything else) ended the race: make sure the socket goes too.
      abort?.(error as Error);
      throw error;
    } finally {
      clearTimeout(totalTimer);
    }
  }

  private exchange(
    url: URL,
    address: string,
    request: OutboundRequest,
    onAbort: (destroy: (error: Error) => void) => void,
  ): Promise<OutboundResponse> {
    const { connectTimeoutMs, maxResponseBytes } = this.settings;
    const secure = url.protocol === 'https:';
    const body = Buffer.from(request.body, 'utf8');
    const hostIsName = isIP(url.hostname.replace(/^\[|\]$/g, '')) === 0;
    return new Promise<OutboundResponse>((resolve, reject) => {
      const options: https.RequestOptions = {
        host: address,
        port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
        path: `${url.pathname}${url.search}`,
        method: 'POST',
        agent: false,
        headers: {
          ...request.headers,
          host: url.host,
          'content-length': String(body.length),
          'user-agent': 'Cronfleet-Notifications/1',
        },
        // TLS checks the certificate against the URL's name, not the address connected to.
        ...(secure && hostIsName ? { servername: url.hostname } : {}),
      };
      const outgoing = (secure ? https : http).request(options);
      const fail = (error: Error) => {
        outgoing.destroy(error);
      };
      onAbort(fail);
      const connectTimer = setTimeout(
        () =>
          fail(
            new OutboundError(
              'connect_timeout',
              `could not connect to ${describeTarget(url)} within ${connectTimeoutMs} ms`,
              true,
            ),
          ),
        connectTimeoutMs,
      );
      outgoing.on('socket', (socket) => {
        socket.once(secure ? 'secureConnect' : 'connect', () => clearTimeout(connectTimer));
      });
      outgoing.on('error', (error) => {
        clearTimeout(connectTimer);
        if (error instanceof OutboundError) return reject(error);
        const code = (error as NodeJS.ErrnoException).code;
        reject(
          new OutboundError(
            'connection_failed',
            `${describeTarget(url)}: ${code ?? error.message}`,
            true,
            { cause: error },
          ),
        );
      });
      outgoing.on('response', (incoming) => {
        clearTimeout(connectTimer);
        const status = incoming.statusCode ?? 0;
        const chunks: Buffer[] = [];
        let received = 0;
        let truncated = false;
        const finish = () =>
          resolve({
            status,
            headers: incoming.headers,
            body: Buffer.concat(chunks).toString('utf8'),
            bodyTruncated: truncated,
          });
        if (status >= 300 && status < 400) {
          // A redirect is never followed, and its body is of no interest.
          incoming.destroy();
          return finish();
        }
        incoming.on('data', (chunk: Buffer) => {
          const room = maxResponseBytes - received;
          if (chunk.length > room) {
            chunks.push(chunk.subarray(0, room));
            received = maxResponseBytes;
            truncated = true;
            incoming.destroy();
            finish();
            return;
          }
          chunks.push(chunk);
          received += chunk.length;
        });
        incoming.on('end', finish);
        incoming.on('error', (error) => {
          if (truncated) return;
          reject(
            new OutboundError(
              'connection_failed',
              `${describeTarget(url)}: the answer was cut off (${error.message})`,
              true,
              { cause: error },
            ),
          );
        });
      });
      outgoing.end(body);
    });
  }
}

async function resolveWithSystem(hostname: string): Promise<string[]> {
  const answers = await dns.lookup(hostname, { all: true, verbatim: true });
  return answers.map((answer) => answer.address);
}
