// Bind a UDP socket for udx streams, under the next-free-port rule of port-fallback.ts, and answer
// dialers on it (udx-responder.ts). The socket is also the listener's `datagrams`: probes, punches
// and dials from the port we listen on share it with the responder. It stays bound after close()
// until the streams through it have closed: they share it, as a TCP server's close waits for its
// sockets.

import type { Clock } from '../clock.js';
import type { ByteStream, ListenOptions, StreamListener } from './byte-stream.js';
import { bindWithFallback } from './port-fallback.js';
import { bindPunchSocket, type UdxPunchSocket } from './udx-punch-socket.js';
import { UdxResponder } from './udx-responder.js';

export async function listenUdx(options: ListenOptions, clock: Clock, onStream: (stream: ByteStream) => void): Promise<StreamListener> {
  const { bound: datagrams, host, busyPort } = await bindWithFallback(options, bindPunchSocket);
  const responder = new UdxResponder(datagrams.socket, clock, options, onStream);
  return new UdxListener(datagrams, responder, host, busyPort);
}

class UdxListener implements StreamListener {
  readonly transport = 'udp' as const;
  readonly datagrams: UdxPunchSocket;
  readonly #responder: UdxResponder;
  readonly host: string;
  readonly port: number;
  readonly busyPort?: number;

  constructor(datagrams: UdxPunchSocket, responder: UdxResponder, host: string, busyPort: number | undefined) {
    this.datagrams = datagrams;
    this.#responder = responder;
    this.host = host;
    this.port = datagrams.port;
    if (busyPort !== undefined) this.busyPort = busyPort;
  }

  close(): Promise<void> {
    this.#responder.close();
    return this.datagrams.close();
  }
}
