// A peer's UDP socket as a PunchSocket: datagrams in and out (asking the relay what endpoint it
// sees), punches toward a peer, and udx streams dialled from it, so that a stream leaves from the
// very NAT mapping the relay saw and the peer was told of. A UDP listener's socket is one (its
// responder answers on it meanwhile); openPunchSocket binds one for a peer that only dials. close()
// unbinds once every stream dialled or accepted through the socket has closed, as udx's does.

import type { ByteStream, DialOptions } from './byte-stream.js';
import type { PunchSocket } from './datagram-port.js';
import { bindWithFallback } from './port-fallback.js';
import { bindUdxSocket, UdxDatagrams } from './udx-datagrams.js';
import { dialUdxFrom } from './udx-dialer.js';
import { encodeRendezvous, PUNCH } from './udx-rendezvous.js';

const PUNCH_BYTES = encodeRendezvous(PUNCH);

export class UdxPunchSocket extends UdxDatagrams implements PunchSocket {
  /** The rendezvous as dialler from this socket; the socket outlives the dial and the stream. */
  dial(host: string, port: number, options: DialOptions): Promise<ByteStream> {
    return dialUdxFrom(this.socket, host, port, options);
  }

  /** `host` must be an IP address (an observed endpoint is one). */
  punch(host: string, port: number): void {
    this.send(PUNCH_BYTES, port, host);
  }
}

/**
 * A punch socket on any free port of `host` (`0.0.0.0`, or `::` where the machine has IPv6), for a
 * peer with no UDP listener; ERR_LISTEN_FAILED when nothing can be bound.
 */
export async function openPunchSocket(host: string): Promise<UdxPunchSocket> {
  return (await bindWithFallback({ host, port: 0, fallbackTries: 0 }, bindPunchSocket)).bound;
}

/** A punch socket bound to `host`:`port`, or the bind's errno error (for bindWithFallback). */
export async function bindPunchSocket(host: string, port: number): Promise<UdxPunchSocket> {
  return new UdxPunchSocket(bindUdxSocket(host, port));
}
