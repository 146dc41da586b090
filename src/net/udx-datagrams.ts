// A bound udx socket as a DatagramPort: what the relay's endpoint reflector answers on, and the
// base of a peer's punch socket. Sources are given as plain hosts (an IPv4-mapped IPv6 address as
// IPv4), as the rest of the code compares them.

import type UDX from 'udx-native';
import type { ListenOptions } from './byte-stream.js';
import type { DatagramPort, DatagramSource } from './datagram-port.js';
import { plainHost } from './address.js';
import { bindWithFallback } from './port-fallback.js';
import { createUdxSocket } from './udx-runtime.js';

export class UdxDatagrams implements DatagramPort {
  readonly socket: UDX.Socket;
  readonly port: number;

  constructor(socket: UDX.Socket) {
    this.socket = socket;
    this.port = socket.address()?.port ?? 0;
  }

  send(bytes: Uint8Array, port: number, host: string): void {
    if (!this.socket.closing) this.socket.trySend(bytes, port, host);
  }

  onDatagram(listener: (bytes: Buffer, from: DatagramSource) => void): () => void {
    const onMessage = (bytes: Buffer, from: UDX.Address) => listener(bytes, { host: plainHost(from.host), port: from.port });
    this.socket.on('message', onMessage);
    return () => void this.socket.off('message', onMessage);
  }

  close(): Promise<void> {
    return this.socket.close();
  }
}

/** A udx socket bound under the next-free-port rule (port-fallback.ts); ERR_LISTEN_FAILED otherwise. */
export async function bindDatagrams(options: ListenOptions): Promise<UdxDatagrams> {
  const { bound } = await bindWithFallback(options, async (host, port) => new UdxDatagrams(bindUdxSocket(host, port)));
  return bound;
}

/** A udx socket bound to `host`:`port`, or the bind's errno error (the socket is let go). */
export function bindUdxSocket(host: string, port: number): UDX.Socket {
  const socket = createUdxSocket();
  try {
    socket.bind(port, host);
    return socket;
  } catch (err) {
    void socket.close();
    throw err;
  }
}
