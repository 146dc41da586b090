// Bind a UDP socket for udx streams, under the next-free-port rule of port-fallback.ts, and answer
// dialers on it (udx-responder.ts). The socket stays bound after close() until the streams
// accepted through it have closed: they share it, as a TCP server's close waits for its sockets.

import type UDX from 'udx-native';
import type { Clock } from '../clock.js';
import type { ByteStream, ListenOptions, StreamListener } from './byte-stream.js';
import { bindWithFallback } from './port-fallback.js';
import { UdxResponder } from './udx-responder.js';
import { bindUdxSocket } from './udx-datagrams.js';

export async function listenUdx(options: ListenOptions, clock: Clock, onStream: (stream: ByteStream) => void): Promise<StreamListener> {
  const { bound: socket, host, busyPort } = await bindWithFallback(options, async (host, port) => bindUdxSocket(host, port));
  const responder = new UdxResponder(socket, clock, options, onStream);
  return new UdxListener(socket, responder, host, socket.address()!.port, busyPort);
}

class UdxListener implements StreamListener {
  readonly transport = 'udp' as const;
  readonly #socket: UDX.Socket;
  readonly #responder: UdxResponder;
  readonly host: string;
  readonly port: number;
  readonly busyPort?: number;

  constructor(socket: UDX.Socket, responder: UdxResponder, host: string, port: number, busyPort: number | undefined) {
    this.#socket = socket;
    this.#responder = responder;
    this.host = host;
    this.port = port;
    if (busyPort !== undefined) this.busyPort = busyPort;
  }

  close(): Promise<void> {
    this.#responder.close();
    return this.#socket.close();
  }
}
