// Open a TCP connection with a timeout, turning socket errors into one clear coded line:
// "cannot reach 192.0.2.7:5050: connection refused".

import { createConnection, type Socket } from 'node:net';
import { chatError, type P2PChatError } from '../errors.js';
import { formatHostPort } from './address.js';
import { describeSocketError } from './socket-errors.js';

export function dialTcp(host: string, port: number, timeoutMs: number): Promise<Socket> {
  const where = formatHostPort(host, port);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host, port });
    const fail = (error: P2PChatError) => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = setTimeout(
      () => fail(chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: timed out after ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    socket.once('error', (err: NodeJS.ErrnoException) =>
      fail(chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: ${describeSocketError(err)}`, err)),
    );
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(socket);
    });
  });
}
