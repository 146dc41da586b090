// Plain UDP sockets on 127.0.0.1 for tests of the udx rendezvous: a probe that sends and reads
// its datagrams by hand (or just listens, as a port where nobody answers), and a forwarder that
// drops or repeats datagrams between a dialler and a listener. closeUdpProbes() closes them all.

import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { decodeRendezvous, encodeRendezvous, type RendezvousMessage } from '../../src/net/udx-rendezvous.js';

const sockets: Socket[] = [];

async function bound(host = '127.0.0.1'): Promise<Socket> {
  const socket = createSocket('udp4');
  sockets.push(socket);
  socket.bind(0, host);
  await once(socket, 'listening');
  return socket;
}

export class RendezvousProbe {
  /** Every datagram received, in order. */
  readonly received: Buffer[] = [];
  /** The port each came from, in the same order. */
  readonly sources: number[] = [];
  readonly #socket: Socket;
  #read = 0;
  #wake: (() => void) | undefined;

  private constructor(socket: Socket) {
    this.#socket = socket;
    socket.on('message', (bytes, from) => {
      this.received.push(bytes);
      this.sources.push(from.port);
      this.#wake?.();
    });
  }

  /** A probe bound to `host` (another loopback address than 127.0.0.1 is another source address). */
  static async open(host = '127.0.0.1'): Promise<RendezvousProbe> {
    return new RendezvousProbe(await bound(host));
  }

  get port(): number {
    return this.#socket.address().port;
  }

  send(message: RendezvousMessage, port: number): void {
    this.#socket.send(encodeRendezvous(message), port, '127.0.0.1');
  }

  /** The next rendezvous datagram not yet read (other datagrams are skipped). */
  async next(): Promise<RendezvousMessage> {
    for (;;) {
      const bytes = this.received[this.#read];
      if (bytes === undefined) {
        await new Promise<void>((resolve) => (this.#wake = resolve));
        continue;
      }
      this.#read++;
      const message = decodeRendezvous(bytes);
      if (message) return message;
    }
  }
}

export type ForwardPolicy = (datagram: Buffer) => 'pass' | 'drop' | 'twice';

/**
 * A UDP forwarder from 127.0.0.1:`port` to a listener's port, for one dialler at a time: the
 * dialler sends to it, the listener sees it as the dialler. `policy` decides each datagram's fate,
 * either way.
 */
export async function udpForwarder(target: number, policy: ForwardPolicy): Promise<{ port: number }> {
  const front = await bound();
  const back = await bound();
  let dialler: { address: string; port: number } | undefined;
  const forward = (socket: Socket, bytes: Buffer, port: number) => {
    const fate = policy(bytes);
    if (fate === 'drop') return;
    socket.send(bytes, port, '127.0.0.1');
    if (fate === 'twice') socket.send(bytes, port, '127.0.0.1');
  };
  front.on('message', (bytes, from) => {
    dialler = from;
    forward(back, bytes, target);
  });
  back.on('message', (bytes) => {
    if (dialler) forward(front, bytes, dialler.port);
  });
  return { port: front.address().port };
}

export async function closeUdpProbes(): Promise<void> {
  await Promise.all(sockets.splice(0).map((socket) => new Promise<void>((resolve) => socket.close(() => resolve()))));
}
