import { once } from 'node:events';
import net from 'node:net';

/**
 * A server that goes down and comes back on the same port, for tests of outages. It listens on
 * port 0 once, for the whole test, so no other process can ever take its port: probing for a free
 * port and binding it later (or closing and listening again) leaves a window in which another
 * test may get it. While down, every connection is reset at once (the client sees ECONNRESET,
 * or git's "Connection reset by peer"), as a crashed or restarting server's would be; while up,
 * each connection goes to the handler.
 */
export class OutageListener {
  readonly #server: net.Server;
  readonly #sockets = new Set<net.Socket>();
  #handler: ((socket: net.Socket) => void) | undefined;

  private constructor() {
    this.#server = net.createServer((socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      if (this.#handler === undefined) socket.resetAndDestroy();
      else this.#handler(socket);
    });
  }

  /** Listens on 127.0.0.1, port 0; down until `up`, unless given a handler now. */
  static async listen(handler?: (socket: net.Socket) => void): Promise<OutageListener> {
    const listener = new OutageListener();
    listener.#handler = handler;
    listener.#server.listen(0, '127.0.0.1');
    await once(listener.#server, 'listening');
    return listener;
  }

  get port(): number {
    return (this.#server.address() as net.AddressInfo).port;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** From now on, connections go to `handler`. */
  up(handler: (socket: net.Socket) => void): void {
    this.#handler = handler;
  }

  /** From now on, connections are reset; the open ones are cut. */
  down(): void {
    this.#handler = undefined;
    for (const socket of this.#sockets) socket.destroy();
  }

  async close(): Promise<void> {
    this.down();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
