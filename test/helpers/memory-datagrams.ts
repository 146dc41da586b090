// DatagramPorts on an in-memory network, for unit tests of code that speaks datagrams (the relay's
// endpoint reflector, a peer's probes of it) on a manual clock: a datagram sent to host:port is
// handed at once to whatever is bound there, from the sender's address as the network shows it
// (its own, or the public one a NAT in front of it would give). Every datagram is logged; a
// filter may drop some, as a lossy or blocking network does.

import type { DatagramPort, DatagramSource } from '../../src/net/datagram-port.js';

export interface SentDatagram {
  readonly bytes: Buffer;
  readonly from: DatagramSource;
  readonly to: DatagramSource;
  readonly dropped: boolean;
}

export class MemoryDatagramNetwork {
  readonly #ports = new Map<string, MemoryDatagramPort>();
  /** Every datagram sent on the network, in order, delivered or not. */
  readonly log: SentDatagram[] = [];
  /** Datagrams this returns true for are lost. */
  drop: (datagram: Omit<SentDatagram, 'dropped'>) => boolean = () => false;

  /**
   * A port bound at host:port; others see its datagrams come from `seenAs` (a NAT's mapping) if
   * given, and what they send there reaches it.
   */
  bind(host: string, port: number, seenAs: DatagramSource = { host, port }): MemoryDatagramPort {
    const bound = new MemoryDatagramPort(this, port, seenAs);
    this.#ports.set(`${host}:${port}`, bound);
    return bound;
  }

  /** What was sent to `to`, in order. */
  sentTo(to: DatagramSource): SentDatagram[] {
    return this.log.filter((d) => d.to.host === to.host && d.to.port === to.port);
  }

  route(from: MemoryDatagramPort, bytes: Uint8Array, port: number, host: string): void {
    const datagram = { bytes: Buffer.from(bytes), from: from.seenAs, to: { host, port } };
    const dropped = this.drop(datagram);
    this.log.push({ ...datagram, dropped });
    if (dropped) return;
    const to = this.#ports.get(`${host}:${port}`) ?? [...this.#ports.values()].find((p) => p.seenAs.host === host && p.seenAs.port === port);
    to?.deliver(datagram.bytes, from.seenAs);
  }
}

export class MemoryDatagramPort implements DatagramPort {
  readonly #network: MemoryDatagramNetwork;
  readonly #listeners = new Set<(bytes: Buffer, from: DatagramSource) => void>();
  readonly port: number;
  /** Where others see its datagrams come from; a test may change it, as a NAT that rebinds does. */
  seenAs: DatagramSource;

  constructor(network: MemoryDatagramNetwork, port: number, seenAs: DatagramSource) {
    this.#network = network;
    this.port = port;
    this.seenAs = seenAs;
  }

  /** How many listeners it has (a closed user must have left). */
  get listeners(): number {
    return this.#listeners.size;
  }

  send(bytes: Uint8Array, port: number, host: string): void {
    this.#network.route(this, bytes, port, host);
  }

  onDatagram(listener: (bytes: Buffer, from: DatagramSource) => void): () => void {
    this.#listeners.add(listener);
    return () => void this.#listeners.delete(listener);
  }

  /** A datagram arriving from `from` (a test may forge any source). */
  deliver(bytes: Buffer, from: DatagramSource): void {
    for (const listener of [...this.#listeners]) listener(bytes, from);
  }
}
