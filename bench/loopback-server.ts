// A raw TCP server on 127.0.0.1, any port, for the baselines' echo servers and sinks: it tracks
// every accepted socket so close() ends them all, and a reset on one never ends a benchmark.

import { createServer, type Server, type Socket } from 'node:net';
import { listenOnLoopback } from './deadline.js';

export class LoopbackServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  port = 0;

  private constructor(onSocket: (socket: Socket) => void) {
    this.#server = createServer({ noDelay: true }, (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
      socket.on('error', () => socket.destroy());
      onSocket(socket);
    });
  }

  /** Bound within `timeoutMs` (`what` names it if not); `onSocket` takes each connection. */
  static async start(onSocket: (socket: Socket) => void, timeoutMs: number, what: string): Promise<LoopbackServer> {
    const server = new LoopbackServer(onSocket);
    server.port = await listenOnLoopback(server.#server, timeoutMs, what);
    return server;
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}
