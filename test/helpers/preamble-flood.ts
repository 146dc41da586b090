// A stranger holding a listener's connections: plain sockets from one address that send the
// p2p-chat preamble and then say nothing, each replaced by a new one as soon as the listener
// closes it. Bounded in connections at once and in connections made; stop() ends it all.

import { createConnection, type Socket } from 'node:net';
import { PREAMBLE } from '../../src/wire/preamble.js';

export interface PreambleFloodOptions {
  readonly host: string;
  readonly port: number;
  /** Connections kept open (or opening) at once. */
  readonly connections: number;
  /** No more than this many are made in all (a bound, should the test hang). */
  readonly maxMade?: number;
}

export class PreambleFlood {
  readonly #options: PreambleFloodOptions;
  readonly #open = new Set<Socket>();
  #made = 0;
  #closedByListener = 0;
  #stopped = false;
  #onProgress: (() => void) | undefined;

  constructor(options: PreambleFloodOptions) {
    this.#options = options;
    for (let i = 0; i < options.connections; i++) this.#connectOne();
  }

  /** Connections the listener closed (and that were replaced). */
  get closedByListener(): number {
    return this.#closedByListener;
  }

  /**
   * Resolves once the listener has closed `n` of the flood's connections (each was replaced), or
   * the flood stopped or made maxMade.
   */
  untilClosedByListener(n: number): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        if (this.#closedByListener < n && !this.#stopped && this.#made < (this.#options.maxMade ?? Infinity)) return;
        this.#onProgress = undefined;
        resolve();
      };
      this.#onProgress = check;
      check();
    });
  }

  stop(): void {
    this.#stopped = true;
    for (const socket of this.#open) socket.destroy();
    this.#open.clear();
  }

  #connectOne(): void {
    if (this.#stopped || this.#made >= (this.#options.maxMade ?? Infinity)) return;
    this.#made++;
    const socket = createConnection({ host: this.#options.host, port: this.#options.port });
    this.#open.add(socket);
    let connected = false;
    socket.on('error', () => undefined);
    socket.once('connect', () => {
      connected = true;
      socket.write(PREAMBLE);
    });
    socket.resume(); // read (and drop) the listener's preamble, so that its close is seen
    socket.once('close', () => {
      this.#open.delete(socket);
      if (this.#stopped) return;
      if (connected) this.#closedByListener++;
      this.#connectOne();
      this.#onProgress?.();
    });
  }
}
