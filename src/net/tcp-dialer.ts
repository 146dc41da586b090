// Open a TCP connection with a timeout, turning socket errors into one clear coded line:
// "cannot reach 192.0.2.7:5050: connection refused".

import { createConnection } from 'node:net';
import { chatError, P2PChatError } from '../errors.js';
import { formatHostPort } from './address.js';
import type { ByteStream, DialOptions } from './byte-stream.js';
import { TcpStream } from './tcp-stream.js';

export function dialTcp(host: string, port: number, { timeoutMs, clock }: DialOptions): Promise<ByteStream> {
  const where = formatHostPort(host, port);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const fail = (error: P2PChatError) => {
      clock.clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = clock.setTimeout(
      () => fail(chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: timed out after ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    socket.once('error', (err) => fail(P2PChatError.from(err, 'ERR_CONNECT_FAILED', `cannot reach ${where}`)));
    socket.once('connect', () => {
      clock.clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(new TcpStream(socket));
    });
  });
}
