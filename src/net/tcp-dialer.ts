// Open a TCP connection with a timeout, turning socket errors into one clear coded line:
// "cannot reach 192.0.2.7:5050: connection refused". With `localPort` our end is bound explicitly
// first (libuv then sets SO_REUSEADDR), so that a later dial may leave from the same port while
// this connection lives: TCP simultaneous open through a NAT reuses the relay connection's mapping.
// A name with several addresses: without `localPort`, Node tries them in turn (autoSelectFamily,
// on by default in Node 20); with it, Node binds no port of ours, so we try them in turn here.
// Our sockets read into the process's shared read buffer (LentReads, tcp-stream.ts).

import { createConnection, type Socket } from 'node:net';
import { withDeadline, type Clock } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';
import { anyAddressFor, formatHostPort, resolveAll } from './address.js';
import type { ByteStream, DialOptions } from './byte-stream.js';
import { LentReads, TcpStream } from './tcp-stream.js';

export function dialTcp(host: string, port: number, { timeoutMs, clock, localPort }: DialOptions): Promise<ByteStream> {
  const where = formatHostPort(host, port);
  if (localPort === undefined) return connectWithin({ host, port }, where, timeoutMs, clock);
  // The wildcard to bind depends on the family of the address we reach, so a name is resolved first.
  const started = clock.now();
  return withDeadline(resolveAll(host), timeoutMs, clock, () => timedOut(where, timeoutMs)).then(
    (ips) => dialEach(ips, port, { timeoutMs, clock, localPort }, where, started),
    (err: unknown) => Promise.reject(P2PChatError.from(err, 'ERR_CONNECT_FAILED', `cannot reach ${where}`)),
  );
}

/**
 * Dial the addresses of one host (`where`, for messages) in turn from `localPort`, each within an
 * equal share of `timeoutMs` (counted from `started`), the last within what is left, moving on at
 * once when one refuses; the first to connect wins, and when none does, the last one's error is
 * the answer.
 */
export async function dialEach(
  ips: readonly string[],
  port: number,
  { timeoutMs, clock, localPort = 0 }: DialOptions,
  where = formatHostPort(ips[0], port),
  started = clock.now(),
): Promise<ByteStream> {
  let last: unknown;
  for (const [i, ip] of ips.entries()) {
    const left = timeoutMs - (clock.now() - started);
    if (left <= 0) break;
    const waitMs = i === ips.length - 1 ? left : Math.min(left, timeoutMs / ips.length);
    try {
      return await connectWithin({ host: ip, port, localAddress: anyAddressFor(ip), localPort }, where, waitMs, clock, timeoutMs);
    } catch (err) {
      last = err;
    }
  }
  throw last ?? timedOut(where, timeoutMs);
}

interface ConnectTo {
  readonly host: string;
  readonly port: number;
  readonly localAddress?: string;
  readonly localPort?: number;
}

/** One connection attempt, given up after `waitMs`; a timeout says the dial's whole `timeoutMs`. */
function connectWithin(options: ConnectTo, where: string, waitMs: number, clock: Clock, timeoutMs = waitMs): Promise<ByteStream> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const reads = new LentReads();
    const socket: Socket = createConnection({ ...options, onread: reads.onread });
    const fail = (error: P2PChatError) => {
      if (settled) return;
      settled = true;
      clock.clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer = clock.setTimeout(() => fail(timedOut(where, timeoutMs)), waitMs);
    socket.once('error', (err) => fail(P2PChatError.from(err, 'ERR_CONNECT_FAILED', `cannot reach ${where}`)));
    socket.once('connect', () => {
      settled = true;
      clock.clearTimeout(timer);
      socket.removeAllListeners('error');
      resolve(new TcpStream(socket, reads));
    });
  });
}

function timedOut(where: string, timeoutMs: number): P2PChatError {
  return chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: timed out after ${timeoutMs / 1000} s`);
}
