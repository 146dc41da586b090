// Open a udx stream to a listener: the dialler's end of the rendezvous (udx-rendezvous.ts), either
// from a UDP socket of its own that closes with the stream (dialUdx), or from a socket others share
// and that the dial never closes (dialUdxFrom: a listener's, a punch socket). The request, then the
// confirm, is repeated with backoff until answered (the request at once, too, when the listener's
// punch arrives); failures are one coded line, as the TCP dialer's ("cannot reach
// 192.0.2.7:5050: timed out after 10 s").

import type UDX from 'udx-native';
import type { Timer } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';
import { anyAddressFor, formatHostPort, plainHost, resolveHost } from './address.js';
import type { ByteStream, DialOptions } from './byte-stream.js';
import { decodeRendezvous, encodeRendezvous, type RefuseReason } from './udx-rendezvous.js';
import { bindUdxSocket } from './udx-datagrams.js';
import { createRawStream } from './udx-runtime.js';
import { UdxStream } from './udx-stream.js';

/** The first repeat waits this long; each next one twice as long, up to RETRY_MAX_MS. */
export const RETRY_FIRST_MS = 250;
const RETRY_MAX_MS = 2_000;
/**
 * How many punches from the listener may each send the request again at once. A punch says the
 * listener's NAT is open toward us now, so a request that reached it before (and was refused
 * there) need not wait out its repeat: through two NATs under load that wait let a TCP path win
 * the race a UDP one should. A few only, so a forged punch costs the listener no more than that.
 */
export const PUNCH_REPEATS = 3;

const REFUSALS: Readonly<Record<RefuseReason, string>> = Object.freeze({
  full: 'it refused the connection (too many connections)',
  busy: 'it refused the connection (too many unfinished connections)',
});

/** Where a dial runs: a socket for the resolved address, and whether the dial owns (and closes) it. */
interface DialSocket {
  readonly socket: UDX.Socket;
  readonly owned: boolean;
}

/** A udx stream from a socket bound for this dial alone; the socket closes with the stream. */
export function dialUdx(host: string, port: number, options: DialOptions): Promise<ByteStream> {
  return dialOn(host, port, options, (ip) => ({ socket: bindUdxSocket(anyAddressFor(ip), 0), owned: true }));
}

/**
 * A udx stream from `socket`, which stays bound whatever becomes of the dial or the stream. Other
 * users of the socket go on meanwhile: a responder there takes only requests and confirms, and this
 * dial only the answers to its own stream id.
 */
export function dialUdxFrom(socket: UDX.Socket, host: string, port: number, options: DialOptions): Promise<ByteStream> {
  return dialOn(host, port, options, () => ({ socket, owned: false }));
}

function dialOn(host: string, port: number, { timeoutMs, clock }: DialOptions, take: (ip: string) => DialSocket): Promise<ByteStream> {
  const where = formatHostPort(host, port);
  return new Promise((resolve, reject) => {
    let on: DialSocket | undefined;
    let raw: UDX.Stream | undefined;
    let retry: Timer | undefined;
    let settled = false;
    const settle = () => {
      settled = true;
      clock.clearTimeout(deadline);
      clock.clearTimeout(retry);
      on?.socket.off('message', onMessage);
    };
    const fail = (error: P2PChatError) => {
      if (settled) return;
      settle();
      raw?.destroy();
      if (on?.owned) void on.socket.close();
      reject(error);
    };
    const deadline = clock.setTimeout(
      () => fail(chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: timed out after ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    const closedUnderUs = () => fail(chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: the socket was closed`));

    let address = '';
    let accepted: { listenerId: number; cookie: number } | undefined;
    let wait = RETRY_FIRST_MS;
    const send = () => {
      if (settled || !on || !raw) return;
      if (on.socket.closing) return closedUnderUs();
      const step = accepted ? { type: 'confirm' as const, ...accepted } : { type: 'request' as const, listenerId: 0, cookie: 0 };
      on.socket.trySend(encodeRendezvous({ ...step, dialerId: raw.id }), port, address);
      retry = clock.setTimeout(send, wait);
      wait = Math.min(wait * 2, RETRY_MAX_MS);
    };

    let punchRepeats = 0;
    const onMessage = (bytes: Buffer, from: UDX.Address) => {
      if (!raw || !on || from.port !== port || plainHost(from.host) !== plainHost(address)) return;
      const message = decodeRendezvous(bytes);
      if (message?.type === 'punch' && !accepted && punchRepeats < PUNCH_REPEATS) {
        punchRepeats++;
        clock.clearTimeout(retry);
        wait = RETRY_FIRST_MS;
        send();
        return;
      }
      if (!message || message.dialerId !== raw.id) return;
      if (message.type === 'refuse' && !accepted) {
        fail(chatError('ERR_CONNECT_FAILED', `cannot reach ${where}: ${REFUSALS[message.reason!]}`));
      } else if (message.type === 'accept' && !accepted) {
        if (on.socket.closing) return closedUnderUs();
        accepted = { listenerId: message.listenerId, cookie: message.cookie };
        raw.connect(on.socket, message.listenerId, port, address);
        clock.clearTimeout(retry);
        wait = RETRY_FIRST_MS;
        send();
      } else if (message.type === 'confirmed' && message.listenerId === accepted?.listenerId && message.cookie === accepted.cookie) {
        settle();
        if (on.owned) {
          const bound = on.socket;
          raw.once('close', () => void bound.close());
        }
        resolve(new UdxStream(raw));
      }
    };

    resolveHost(host)
      .then((ip) => {
        if (settled) return;
        address = ip;
        on = take(ip);
        on.socket.on('message', onMessage);
        raw = createRawStream();
        send();
      })
      .catch((err: unknown) => fail(P2PChatError.from(err, 'ERR_CONNECT_FAILED', `cannot reach ${where}`)));
  });
}
