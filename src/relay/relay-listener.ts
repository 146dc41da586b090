// Bind the relay's listening socket. Unlike a chat listener, a relay takes its port as given (peers
// are configured with it), keeps half-closed connections open (a spliced stream passes a FIN on
// while the other direction still flows), and has no small connection cap of its own.

import { createServer, type Server, type Socket } from 'node:net';
import { chatError } from '../errors.js';
import { formatHostPort } from '../net/address.js';

export interface BoundRelay {
  readonly server: Server;
  readonly host: string;
  readonly port: number;
}

export async function bindRelay(host: string, port: number, onConnection: (socket: Socket) => void): Promise<BoundRelay> {
  try {
    return await bind(host, port, onConnection);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if ((code === 'EAFNOSUPPORT' || code === 'EADDRNOTAVAIL') && host === '::') {
      return bindRelay('0.0.0.0', port, onConnection); // no IPv6 on this machine: IPv4 only
    }
    const why = code === 'EADDRINUSE' ? `port ${port} is in use` : (err as Error).message;
    throw chatError('ERR_LISTEN_FAILED', `cannot listen on ${formatHostPort(host, port)}: ${why}`, err);
  }
}

function bind(host: string, port: number, onConnection: (socket: Socket) => void): Promise<BoundRelay> {
  return new Promise((resolve, reject) => {
    const server = createServer({ allowHalfOpen: true, noDelay: true }, onConnection);
    server.once('error', reject);
    server.listen({ host, port, exclusive: true }, () => {
      server.removeListener('error', reject);
      // After binding, accept errors (EMFILE and the like) are transient: keep serving.
      server.on('error', () => undefined);
      resolve({ server, host, port: (server.address() as { port: number }).port });
    });
  });
}
