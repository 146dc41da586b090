// A UDP socket seen as datagrams in and out, shared by everything that runs on it: the udx
// rendezvous, probes of the relay for our public endpoint, and hole punching. A punch socket is
// one that can also open udx streams as a dialler, so that a stream leaves from the very mapping
// the relay saw (and the peer was told of).

import type { ByteStream, DialOptions } from './byte-stream.js';

/** Where a datagram came from. */
export interface DatagramSource {
  readonly host: string;
  readonly port: number;
}

export interface DatagramPort {
  /** The local port datagrams leave from. */
  readonly port: number;
  /** Send one datagram (dropped silently when the socket cannot take it, as UDP does). */
  send(bytes: Uint8Array, port: number, host: string): void;
  /** Hear every datagram that arrives; returns the function that stops listening. */
  onDatagram(listener: (bytes: Buffer, from: DatagramSource) => void): () => void;
}

export interface PunchSocket extends DatagramPort {
  /** Open a udx stream to a listener at host:port from this socket (the rendezvous as dialler). */
  dial(host: string, port: number, options: DialOptions): Promise<ByteStream>;
  /** Send a punch datagram toward host:port: it opens our NAT's mapping; the other end ignores it. */
  punch(host: string, port: number): void;
}
