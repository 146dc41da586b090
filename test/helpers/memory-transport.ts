// A Transport whose connections are in-memory stream pairs (memory-stream.ts), for unit tests that
// run whole ChatNodes on a manual clock: each node gets the transport of its own made-up address,
// a dial reaches whatever that network listens on at host:port, and every link made is kept so a
// test can cut it (destroy: a reset both sides see) or sever it (silence neither side is told of).

import { chatError } from '../../src/errors.js';
import type { ByteStream, StreamListener, Transport, TransportKind } from '../../src/net/byte-stream.js';
import { MemoryStream } from './memory-stream.js';

/** One connection made over the network: the dialler's end and the listener's. */
export interface MemoryLink {
  readonly from: string;
  readonly to: string;
  readonly dialler: MemoryStream;
  readonly listener: MemoryStream;
}

export class MemoryNetwork {
  readonly #listeners = new Map<string, (stream: ByteStream) => void>();
  readonly links: MemoryLink[] = [];
  /** Dials refused because nothing listened there (or the network was down). */
  refused = 0;
  /** While true every dial is refused, as by a network that is down. */
  down = false;
  #nextPort = 40_000;
  /** What its transports and streams say they are: a second network of kind 'udp' plays a node's UDP. */
  readonly kind: TransportKind;

  constructor(kind: TransportKind = 'tcp') {
    this.kind = kind;
  }

  /** The transport of a node at `host`: it listens there (on the port asked, 5050 for 0) and dials from there. */
  transport(host: string): Transport {
    return {
      kind: this.kind,
      dial: async (toHost, port) => {
        await Promise.resolve(); // a dial never completes within the call, as a socket's does not
        const to = `${toHost}:${port}`;
        const accept = this.#listeners.get(to);
        if (!accept || this.down) {
          this.refused++;
          throw chatError('ERR_CONNECT_FAILED', `cannot reach ${to}: connection refused`);
        }
        const dialler = new MemoryStream(toHost, port, 64 * 1024, this.kind);
        const listener = new MemoryStream(host, this.#nextPort++, 64 * 1024, this.kind);
        dialler.peer = listener;
        listener.peer = dialler;
        this.links.push({ from: host, to, dialler, listener });
        accept(listener);
        return dialler;
      },
      listen: async (options, onStream): Promise<StreamListener> => {
        const port = options.port === 0 ? 5050 : options.port;
        const key = `${host}:${port}`;
        if (this.#listeners.has(key)) throw chatError('ERR_LISTEN_FAILED', `cannot listen on ${key}: port ${port} is in use`);
        this.#listeners.set(key, onStream);
        return {
          transport: this.kind,
          host,
          port,
          close: async () => {
            if (this.#listeners.get(key) === onStream) this.#listeners.delete(key);
          },
        };
      },
    };
  }

  /** The last link made. */
  get last(): MemoryLink {
    const link = this.links.at(-1);
    if (!link) throw new Error('no link was made');
    return link;
  }
}
