// Bind a TCP listening socket. A peer's default port falls forward to the next free one when busy
// (and says so); a port given explicitly, or a relay's, is taken as meant and fails loudly instead.

import { createServer, type Server, type Socket } from 'node:net';
import { errnoCode } from '../errno-words.js';
import { chatError, P2PChatError } from '../errors.js';
import { formatHostPort } from './address.js';
import type { ByteStream, ListenOptions, StreamListener } from './byte-stream.js';
import { TcpStream } from './tcp-stream.js';

export async function listenTcp(options: ListenOptions, onStream: (stream: ByteStream) => void): Promise<StreamListener> {
  let host = options.host;
  const onConnection = (socket: Socket) => onStream(new TcpStream(socket));
  for (let i = 0; i <= options.fallbackTries; i++) {
    const port = options.port === 0 ? 0 : options.port + i;
    if (port > 65535) break;
    try {
      const server = await bind(host, port, options, onConnection);
      const bound = (server.address() as { port: number }).port;
      return new TcpListener(server, host, bound, i > 0 ? options.port : undefined);
    } catch (err) {
      const code = errnoCode(err);
      if ((code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL') && host === '::') {
        host = '0.0.0.0'; // no IPv6 on this machine: fall back to IPv4 only
        i--;
        continue;
      }
      if (code !== 'EADDRINUSE' || options.port === 0) {
        throw P2PChatError.from(err, 'ERR_LISTEN_FAILED', `cannot listen on ${formatHostPort(host, port)}`);
      }
      if (options.fallbackTries === 0) {
        throw chatError('ERR_LISTEN_FAILED', `cannot listen on ${formatHostPort(host, port)}: port ${port} is in use`, err);
      }
    }
  }
  const last = Math.min(65535, options.port + options.fallbackTries);
  throw chatError('ERR_LISTEN_FAILED', `cannot listen: ports ${options.port}-${last} are in use`);
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
