import type { DeliveryContext, DeliveryResult } from './channelKind.js';
import type { OutboundRequest, OutboundResponse } from './outboundHttp.js';
import { OutboundError } from './outboundHttp.js';

/**
 * How every HTTP kind reads an answer, following the Standard Webhooks spec's advice: 2xx is
 * delivered; a 3xx is a failure (redirects are not followed: the channel's URL should be the
 * final one); 408, 425, 429 and 5xx are worth retrying, honouring Retry-After; 410 Gone means the
 * receiver wants no more; any other 4xx needs a person.
 */
export function resultOfAnswer(
  response: OutboundResponse,
  /** The receiver's own words from its body, when a kind knows where they are. */
  detail: string | undefined,
  /** Now, to read a Retry-After given as a date. */
  now: Date,
): DeliveryResult {
  const { status } = response;
  if (status >= 200 && status < 300) return { outcome: 'delivered', status };
  const said = detail ?? bodyExcerpt(response.body);
  const suffix = said === '' ? '' : `: ${said}`;
  if (status >= 300 && status < 400) {
    const location = response.headers.location;
    const where = location === undefined ? '' : ` to ${locationOrigin(location)}`;
    return {
      outcome: 'failed',
      retryable: false,
      status,
      reason: `the receiver answered ${status}, a redirect${where}; redirects are not followed, so configure the final URL`,
    };
  }
  if (status === 410) {
    return {
      outcome: 'failed',
      retryable: false,
      status,
      reason: `the receiver answered 410 Gone: it accepts no more deliveries${suffix}`,
    };
  }
  const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
  const retryAfterSeconds = retryAfterOf(response.headers['retry-after'], now);
  return {
    outcome: 'failed',
    retryable,
    status,
    reason: `the receiver answered ${status}${suffix}`,
    ...(retryable && retryAfterSeconds !== undefined ? { retryAfterSeconds } : {}),
  };
}

/** A failure before any answer: the guard's refusal, a timeout, a reset. */
export function resultOfError(error: unknown): DeliveryResult {
  if (error instanceof OutboundError) {
    return { outcome: 'failed', retryable: error.retryable, reason: error.message };
  }
  throw error;
}

/** The first line of an answer's body, cleaned and cut to 200 characters. */
export function bodyExcerpt(body: string): string {
  // eslint-disable-next-line no-control-regex -- a receiver's bytes are shown as plain text
  const line = body.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return line.length <= 200 ? line : `${line.slice(0, 199)}…`;
}

function retryAfterOf(header: string | undefined, now: Date): number | undefined {
  if (header === undefined) return undefined;
  if (/^\d{1,9}$/.test(header.trim())) return Number(header.trim());
  const date = Date.parse(header);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now.getTime()) / 1000));
}

function locationOrigin(location: string): string {
  try {
    return new URL(location).origin;
  } catch {
    return 'another path';
  }
}

/** POSTs through the guard and reads the answer: the shape every HTTP kind shares. */
export async function postAndClassify(
  context: DeliveryContext,
  request: OutboundRequest,
  detailOf?: (response: OutboundResponse) => string | undefined,
): Promise<DeliveryResult> {
  let response: OutboundResponse;
  try {
    response = await context.outbound.post(request);
  } catch (error) {
    return resultOfError(error);
  }
  return resultOfAnswer(response, detailOf?.(response), context.now());
}
