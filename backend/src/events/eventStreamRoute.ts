import { apiRoutes } from '@cronfleet/core/api';
import type { Express, Request, Response } from 'express';
import type { AppContext } from '../http/appContext.js';
import { authenticate, type UserPrincipal } from '../http/authenticate.js';
import { mountRoute } from '../http/mountRoute.js';
import type { LiveEventEntry, LiveEventHub } from './liveEventHub.js';

export interface EventStreamOptions {
  /** Between keep-alive comments (ms), which also re-check the caller's credentials. */
  keepAliveMs?: number;
  /** The reconnection delay suggested to clients (`retry:`), ms. */
  retryMs?: number;
  /** A client this far behind (bytes buffered for it) is dropped; it reconnects and resumes. */
  maxBufferedBytes?: number;
}

/** One SSE message. `data` is one line of JSON (JSON.stringify never writes a raw newline). */
function message(entry: Pick<LiveEventEntry, 'id' | 'event' | 'data'>): string {
  return `id: ${entry.id}\nevent: ${entry.event}\ndata: ${entry.data}\n\n`;
}

/**
 * `GET /api/v1/events`: the live events of the caller's active organization as Server-Sent
 * Events (see LiveEventHub for where they come from and how resuming works).
 *
 * - Authenticated like every read route (session cookie or API token, `read`), before the
 *   stream opens; each keep-alive re-checks the credential (the credential cache makes that a
 *   map lookup), so a revoked token, a signed-out session or a switch of the session's
 *   organization ends the stream: the client reconnects and is answered for what it now is.
 * - Headers for proxies: `Cache-Control: no-store, no-transform` (no caching, no compression),
 *   `X-Accel-Buffering: no` (nginx passes each message on at once). Nothing in the app
 *   compresses or buffers responses.
 * - A keep-alive comment every `keepAliveMs` (15 s) keeps idle proxies from closing it;
 *   `retry:` suggests the reconnection delay.
 * - On disconnect everything is released (subscription, timer). A client too slow to read is
 *   dropped rather than buffered without bound.
 */
export function registerEventStreamRoute(
  app: Express,
  context: AppContext,
  hub: LiveEventHub,
  options: EventStreamOptions = {},
): EventStreams {
  const keepAliveMs = options.keepAliveMs ?? 15_000;
  const retryMs = options.retryMs ?? 5_000;
  const maxBufferedBytes = options.maxBufferedBytes ?? 4 * 1024 * 1024;
  const open = new Set<() => void>();
  mountRoute(app, context, apiRoutes.streamEvents, async ({ principal, request, response }) => {
    await hub.start();
    await stream(context, hub, principal, request, response, open, {
      keepAliveMs,
      retryMs,
      maxBufferedBytes,
    });
    return '';
  });
  return {
    closeAll: () => {
      for (const close of [...open]) close();
    },
    get count() {
      return open.size;
    },
  };
}

/** The open streams of an app. */
export interface EventStreams {
  /**
   * Ends every open stream (their clients reconnect, to another replica). A stream never ends
   * on its own, so a server that stops must end them, or it would wait for them forever.
   */
  closeAll(): void;
  readonly count: number;
}

function stream(
  context: AppContext,
  hub: LiveEventHub,
  principal: UserPrincipal,
  request: Request,
  response: Response,
  open: Set<() => void>,
  options: Required<EventStreamOptions>,
): Promise<void> {
  return new Promise((resolve) => {
    response.status(200);
    response.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    response.setHeader('Cache-Control', 'no-store, no-transform');
    response.setHeader('X-Accel-Buffering', 'no');
    response.setHeader('Connection', 'keep-alive');
    response.flushHeaders();
    request.socket.setNoDelay(true);

    let closed = false;
    // Set once the opening lines are out; finish() may run before (a client gone at once).
    let keepAlive: NodeJS.Timeout | undefined = undefined;
    const write = (text: string) => {
      if (closed) return;
      response.write(text);
      if (response.writableLength > options.maxBufferedBytes) {
        context.logger.warn(
          { organizationId: principal.organizationId },
          'live events: a client reads too slowly; its stream is closed (it reconnects and resumes)',
        );
        end();
      }
    };
    const lastEventId = request.headers['last-event-id'];
    const { resumption, unsubscribe } = hub.subscribe(
      principal.organizationId,
      typeof lastEventId === 'string' ? lastEventId.trim() : undefined,
      (entry) => write(message(entry)),
    );
    let text = `retry: ${options.retryMs}\n\n`;
    if (resumption.kind === 'refetch') {
      text += message({
        id: hub.lastId,
        event: 'refetch',
        data: JSON.stringify({ reason: resumption.reason }),
      });
    } else if (resumption.kind === 'replay') {
      for (const entry of resumption.entries) text += message(entry);
    }
    // An id alone dispatches nothing, but sets the client's Last-Event-ID: a client that got no
    // event before it lost the connection still resumes from here.
    if (resumption.kind !== 'refetch') text += `id: ${hub.lastId}\n\n`;
    open.add(end);
    response.on('close', finish);
    write(text);
    if (closed) return;

    keepAlive = setInterval(() => {
      write(': keep-alive\n\n');
      void stillAllowed(context, principal, request).then((allowed) => {
        if (!allowed && !closed) end();
      });
    }, options.keepAliveMs);
    keepAlive.unref();

    function finish() {
      if (closed) return;
      closed = true;
      open.delete(end);
      clearInterval(keepAlive);
      unsubscribe();
      resolve();
    }
    function end() {
      finish();
      response.end();
    }
  });
}

/** Whether the stream's credential still reads this organization. */
async function stillAllowed(
  context: AppContext,
  principal: UserPrincipal,
  request: Request,
): Promise<boolean> {
  try {
    const now = (await authenticate(context, request, 'user')) as UserPrincipal;
    return now.organizationId === principal.organizationId && now.permissions.has('read');
  } catch {
    return false;
  }
}
