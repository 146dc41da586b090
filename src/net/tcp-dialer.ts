// Open a TCP connection with a timeout, turning socket errors into one clear coded line:
// "cannot reach 192.0.2.7:5050: connection refused". With `localPort` our end is bound explicitly
// first (libuv then sets SO_REUSEADDR), so that a later dial may leave from the same port while
// this connection lives: TCP simultaneous open through a NAT reuses the relay connection's mapping.

import { createConnection, type Socket } from 'node:net';
import { chatError, P2PChatError } from '../errors.js';
import { anyAddressFor, formatHostPort, resolveHost } from './address.js';
import type { ByteStream, DialOptions } from './byte-stream.js';
import { TcpStream } from './tcp-stream.js';

export function dialTcp(host: string, port: number, { timeoutMs, clock, localPort }: DialOptions): Promise<ByteStream> {
  const where = formatHostPort(host, port);
  return new Promise((resolve, reject) => {
    let socket: Socket | undefined;
    let settled = false;
    const fail = (error: P2PChatError) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      socket?.destroy();
      reject(error);
    };
    const timer = clock.setTimeout(
      () => fail(chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: timed out after ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const connect = (options: { host: string; port: number; localAddress?: string; localPort?: number }) => {
      if (settled) return;
      socket = createConnection(options);
      socket.once('error', (err) => fail(P2PChatError.from(err, 'ERR_CONNECT_FAILED', `cannot reach ${where}`)));
      socket.once('connect', () => {
        settled = true;
        clock.clearTimeout(timer);
        socket!.removeAllListeners('error');
        resolve(new TcpStream(socket!));
      });
    };
    if (localPort === undefined) return connect({ host, port });
    // The wildcard to bind depends on the family of the address we reach, so a name is resolved first.
    resolveHost(host)
      .then((ip) => connect({ host: ip, port, localAddress: anyAddressFor(ip), localPort }))
      .catch((err: unknown) => fail(P2PChatError.from(err, 'ERR_CONNECT_FAILED', `cannot reach ${where}`)));
  });
}
