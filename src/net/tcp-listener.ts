// Bind the listening socket. The default port falls forward to the next free one when busy (and
// says so); an explicitly chosen port is taken as meant and fails loudly instead.

import { createServer, type Server, type Socket } from 'node:net';
import { chatError } from '../errors.js';
import { formatHostPort } from './address.js';

/** Beyond this many open connections, new ones are refused (a handshake flood cannot exhaust fds). */
const MAX_CONNECTIONS = 256;

export interface ListenOptions {
  readonly host: string;
  readonly port: number;
  /** Extra consecutive ports to try when `port` is busy (0 = only `port`). */
  readonly fallbackTries: number;
}

export interface BoundListener {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
  /** Set when the requested port was busy and another was taken. */
  readonly busyPort?: number;
}

export async function listenTcp(options: ListenOptions, onConnection: (socket: Socket) => void): Promise<BoundListener> {
  let host = options.host;
  for (let i = 0; i <= options.fallbackTries; i++) {
    const port = options.port === 0 ? 0 : options.port + i;
    if (port > 65535) break;
    try {
      const server = await bind(host, port, onConnection);
      const bound = (server.address() as { port: number }).port;
      return { server, host, port: bound, ...(i > 0 ? { busyPort: options.port } : {}) };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if ((code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL') && host === '::') {
        host = '0.0.0.0'; // no IPv6 on this machine: fall back to IPv4 only
        i--;
        continue;
      }
      if (code !== 'EADDRINUSE' || options.port === 0) {
        throw chatError('ERR_LISTEN_FAILED', `cannot listen on ${formatHostPort(host, port)}: ${(err as Error).message}`, err);
      }
    }
  }
  const last = Math.min(65535, options.port + options.fallbackTries);
  const range = options.fallbackTries > 0 ? `ports ${options.port}-${last} are` : `port ${options.port} is`;
  throw chatError('ERR_LISTEN_FAILED', `cannot listen: ${range} in use`);
}

function bind(host: string, port: number, onConnection: (socket: Socket) => void): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer({ noDelay: true }, onConnection);
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.removeListener('error', reject);
      // After binding, accept errors (EMFILE and the like) are transient: keep serving.
      server.on('error', () => undefined);
      server.maxConnections = MAX_CONNECTIONS;
      resolve(server);
    });
  });
}
