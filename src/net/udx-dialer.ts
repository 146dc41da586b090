// Open a udx stream to a listener: the dialler's end of the rendezvous (udx-rendezvous.ts), from a
// UDP socket of its own that closes with the stream. The request, then the confirm, is repeated
// with backoff until answered; failures are one coded line, as the TCP dialer's
// ("cannot reach 192.0.2.7:5050: timed out after 10 s").

import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import type UDX from 'udx-native';
import type { Timer } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';
import { formatHostPort, plainHost } from './address.js';
import type { ByteStream, DialOptions } from './byte-stream.js';
import { decodeRendezvous, encodeRendezvous, type RefuseReason } from './udx-rendezvous.js';
import { createRawStream, createUdxSocket } from './udx-runtime.js';
import { UdxStream } from './udx-stream.js';

/** The first repeat waits this long; each next one twice as long, up to RETRY_MAX_MS. */
export const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 2_000;

const REFUSALS: Readonly<Record<RefuseReason, string>> = Object.freeze({
  full: 'it refused the connection (too many connections)',
  busy: 'it refused the connection (too many unfinished connections)',
});

export function dialUdx(host: string, port: number, { timeoutMs, clock }: DialOptions): Promise<ByteStream> {
  const where = formatHostPort(host, port);
  return new Promise((resolve, reject) => {
    let socket: UDX.Socket | undefined;
    let raw: UDX.Stream | undefined;
    let retry: Timer | undefined;
    let settled = false;
    const settle = () => {
      settled = true;
      clock.clearTimeout(deadline);
      clock.clearTimeout(retry);
      socket?.off('message', onMessage);
    };
    const fail = (error: P2PChatError) => {
      if (settled) return;
      settle();
      raw?.destroy();
      void socket?.close();
      reject(error);
    };
    const deadline = clock.setTimeout(
      () => fail(chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: timed out after ${timeoutMs / 1000} s`)),
      timeoutMs,
    );

    let address = '';
    let accepted: { listenerId: number; cookie: number } | undefined;
    let wait = RETRY_FIRST_MS;
    const send = () => {
      if (settled || !socket || !raw) return;
      const step = accepted ? { type: 'confirm' as const, ...accepted } : { type: 'request' as const, listenerId: 0, cookie: 0 };
      socket.trySend(encodeRendezvous({ ...step, dialerId: raw.id }), port, address);
      retry = clock.setTimeout(send, wait);
      wait = Math.min(wait * 2, RETRY_MAX_MS);
    };

    const onMessage = (bytes: Buffer, from: UDX.Address) => {
      if (!raw || !socket || from.port !== port || plainHost(from.host) !== plainHost(address)) return;
      const message = decodeRendezvous(bytes);
      if (!message || message.dialerId !== raw.id) return;
      if (message.type === 'refuse' && !accepted) {
        fail(chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: ${REFUSALS[message.reason!]}`));
      } else if (message.type === 'accept' && !accepted) {
        accepted = { listenerId: message.listenerId, cookie: message.cookie };
        raw.connect(socket, message.listenerId, port, address);
        clock.clearTimeout(retry);
        wait = RETRY_FIRST_MS;
        send();
      } else if (message.type === 'confirmed' && message.listenerId === accepted?.listenerId && message.cookie === accepted.cookie) {
        settle();
        const bound = socket;
        raw.once('close', () => void bound.close());
        resolve(new UdxStream(raw));
      }
    };

    resolveHost(host)
      .then((ip) => {
        if (settled) return;
        address = ip;
        socket = createUdxSocket();
        socket.on('message', onMessage);
        socket.bind(0, isIP(ip) === 6 ? '::' : '0.0.0.0');
        raw = createRawStream();
        send();
      })
      .catch((err: unknown) => fail(P2PChatError.from(err, 'ERR_CONNECT_FAILED', `cannot reach ${where}`)));
  });
}

async function resolveHost(host: string): Promise<string> {
  if (isIP(host) !== 0) return host;
  return (await lookup(host)).address;
}
