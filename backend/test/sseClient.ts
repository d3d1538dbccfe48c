/** One message of a Server-Sent Events stream, as a browser's EventSource would dispatch it. */
export interface SseMessage {
  id: string;
  event: string;
  data: string;
}

/**
 * A test client of an SSE endpoint: fetch and a line parser (the WHATWG rules: `field: value`
 * lines, a blank line dispatches, `:` comments, `id` kept across messages), with a wait for the
 * next message that matches.
 */
export class SseClient {
  readonly messages: SseMessage[] = [];
  readonly comments: string[] = [];
  retry: number | undefined;
  /** The last id seen, as EventSource keeps it for Last-Event-ID. */
  lastEventId = '';
  status = 0;
  headers = new Headers();
  private readonly controller = new AbortController();
  private waiters: { match: (message: SseMessage) => boolean; resolve: (m: SseMessage) => void }[] =
    [];
  private done: Promise<void> = Promise.resolve();

  static async open(url: string, headers: Record<string, string>): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(url, {
      headers: { accept: 'text/event-stream', ...headers },
      signal: client.controller.signal,
    });
    client.status = response.status;
    client.headers = response.headers;
    if (response.body !== null) client.done = client.read(response.body);
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    let event = '';
    let data: string[] = [];
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).replace(/\r$/, '');
          buffer = buffer.slice(newline + 1);
          if (line === '') {
            if (data.length > 0) {
              this.dispatch({
                id: this.lastEventId,
                event: event || 'message',
                data: data.join('\n'),
              });
            }
            event = '';
            data = [];
            continue;
          }
          if (line.startsWith(':')) {
            this.comments.push(line.slice(1).trim());
            continue;
          }
          const colon = line.indexOf(':');
          const field = colon < 0 ? line : line.slice(0, colon);
          const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
          if (field === 'event') event = value;
          else if (field === 'data') data.push(value);
          else if (field === 'id') this.lastEventId = value;
          else if (field === 'retry') this.retry = Number(value);
        }
      }
    } catch {
      // Aborted by close().
    }
  }

  private dispatch(message: SseMessage): void {
    this.messages.push(message);
    const waiting = this.waiters;
    this.waiters = [];
    for (const waiter of waiting) {
      if (waiter.match(message)) waiter.resolve(message);
      else this.waiters.push(waiter);
    }
  }

  /** The first message (already received or to come) that matches, within `timeoutMs`. */
  next(match: (message: SseMessage) => boolean, timeoutMs = 20_000, from = 0): Promise<SseMessage> {
    const seen = this.messages.slice(from).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          reject(
            new Error(
              `no matching event within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`,
            ),
          ),
        timeoutMs,
      );
      this.waiters.push({
        match,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      });
    });
  }

  /** Waits until the stream has sent its opening lines (retry and first id). */
  async opened(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.lastEventId === '' && this.messages.length === 0) {
      if (Date.now() > deadline) throw new Error('the stream sent no id');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

/** The parsed data of the messages of one event name. */
export function dataOf<T>(messages: readonly SseMessage[], event: string): T[] {
  return messages.filter((message) => message.event === event).map((m) => JSON.parse(m.data) as T);
}
