// A Transport in memory: ChatNodes dial and listen on it as on TCP, over MemoryStream pairs, so
// that tests of whole nodes (acknowledgements, suspended conversations, reconnection) run on a
// manual clock. Each node gets its own host address; links() are every pair made, so a test can
// sever or destroy one to play a dead path.

import { chatError } from '../../src/errors.js';
import type { ByteStream, StreamListener, Transport } from '../../src/net/byte-stream.js';
import { MemoryStream } from './memory-stream.js';

/** One connection made: the dialler's end and the listener's. */
export interface MemoryLink {
  readonly dialler: MemoryStream;
  readonly listener: MemoryStream;
  readonly to: string;
}

export class MemoryNetwork {
  readonly #listeners = new Map<string, (stream: ByteStream) => void>();
  readonly links: MemoryLink[] = [];
  #nextClientPort = 40_000;

  /** The transport a node at `host` uses: it dials from there and listens there. */
  transport(host: string): Transport {
    return {
      kind: 'tcp',
      dial: (toHost, port) => this.#dial(host, `${toHost}:${port}`),
      listen: async (options, onStream): Promise<StreamListener> => {
        const port = options.port === 0 ? 5050 : options.port;
        const key = `${host}:${port}`;
        this.#listeners.set(key, onStream);
        return {
          transport: 'tcp',
          host,
          port,
          close: async () => {
            this.#listeners.delete(key);
          },
        };
      },
    };
  }

  /**
   * The path dies silently and for good: nothing written arrives, and an end that gives up and
   * closes is not seen closing at the other (a NAT that forgot the mapping).
   */
  silence(link: MemoryLink): void {
    link.dialler.sever();
    link.dialler.peer = new MemoryStream('0.0.0.0', 0, 0);
    link.listener.peer = new MemoryStream('0.0.0.0', 0, 0);
  }

  /** Links to `to` (host:port), oldest first. */
  linksTo(to: string): MemoryLink[] {
    return this.links.filter((link) => link.to === to);
  }

  async #dial(from: string, to: string): Promise<ByteStream> {
    const onStream = this.#listeners.get(to);
    if (!onStream) throw chatError('ERR_CONNECT_FAILED', `cannot reach ${to}: connection refused`);
    const [toHost, toPort] = splitHostPort(to);
    const dialler = new MemoryStream(toHost, toPort, 64 * 1024);
    const listener = new MemoryStream(from, this.#nextClientPort++, 64 * 1024);
    dialler.peer = listener;
    listener.peer = dialler;
    this.links.push({ dialler, listener, to });
    onStream(listener);
    // Refused on arrival (a listener at its limit): as TCP would report a reset right after connecting.
    if (dialler.destroyed) throw chatError('ERR_CONNECT_FAILED', `cannot reach ${to}: connection reset`);
    return dialler;
  }
}

function splitHostPort(address: string): [string, number] {
  const at = address.lastIndexOf(':');
  return [address.slice(0, at), Number(address.slice(at + 1))];
}
