// Bind a TCP listening socket, under the next-free-port rule of port-fallback.ts.

import { createServer, type Server, type Socket } from 'node:net';
import { formatHostPort } from './address.js';
import type { ByteStream, ListenOptions, StreamListener } from './byte-stream.js';
import { bindWithFallback } from './port-fallback.js';
import { TcpStream } from './tcp-stream.js';

export async function listenTcp(options: ListenOptions, onStream: (stream: ByteStream) => void): Promise<StreamListener> {
  const onConnection = (socket: Socket) => onStream(new TcpStream(socket));
  const { bound: server, host, busyPort } = await bindWithFallback(options, (host, port) => bind(host, port, options, onConnection));
  return new TcpListener(server, host, (server.address() as { port: number }).port, busyPort);
}

class TcpListener implements StreamListener {
  readonly transport = 'tcp' as const;
  readonly #server: Server;
  readonly host: string;
  readonly port: number;
  readonly busyPort?: number;

  constructor(server: Server, host: string, port: number, busyPort: number | undefined) {
    this.#server = server;
    this.host = host;
    this.port = port;
    if (busyPort !== undefined) this.busyPort = busyPort;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }
}

function bind(host: string, port: number, options: ListenOptions, onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true, allowHalfOpen: options.allowHalfOpen === true }, onConnection);
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.removeListener('error', reject);
      // After binding, accept errors (EMFILE and the like) are transient: keep serving.
      server.on('error', () => undefined);
      if (options.maxConnections !== undefined) server.maxConnections = options.maxConnections;
      const onDrop = options.onDrop;
      if (onDrop) server.on('drop', (data) => onDrop(formatHostPort(data?.remoteAddress, data?.remotePort)));
      resolve(server);
    });
  });
}
