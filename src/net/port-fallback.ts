// The next-free-port rule every listener follows, whatever it binds (a TCP server, a UDP socket):
// a peer's default port falls forward to the next free one when busy (and says so); a port given
// explicitly, or a relay's, is taken as meant and fails loudly instead.

import { errnoCode } from '../errno-words.js';
import { chatError, P2PChatError } from '../errors.js';
import { formatHostPort } from './address.js';
import type { ListenOptions } from './byte-stream.js';

export interface Bound<T> {
  readonly bound: T;
  /** The host bound: `options.host`, or 0.0.0.0 where `::` was asked and the machine has no IPv6. */
  readonly host: string;
  /** The port asked for, when it was busy and a later one was taken. */
  readonly busyPort: number | undefined;
}

/**
 * Bind `options.port`, or with `fallbackTries` the first free port after it, by calling `bind`
 * for each; it should reject with the socket's errno error. Fails with ERR_LISTEN_FAILED.
 */
export async function bindWithFallback<T>(options: ListenOptions, bind: (host: string, port: number) => Promise<T>): Promise<Bound<T>> {
  let host = options.host;
  for (let i = 0; i <= options.fallbackTries; i++) {
    const port = options.port === 0 ? 0 : options.port + i;
    if (port > 65535) break;
    try {
      return { bound: await bind(host, port), host, busyPort: i > 0 ? options.port : undefined };
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
