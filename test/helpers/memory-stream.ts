// Two ByteStreams joined in memory, for unit tests of what runs above the transport seam
// (PeerConnection, the relay's splice and sessions) on a manual clock. What one end writes
// arrives at the other on a later microtask, in order; pause() holds it back; end() is a
// half-close; destroy() closes both ends, optionally with a coded error; sever() makes the link
// silently drop everything from then on, both ways (a dead Wi-Fi, a NAT that forgot): data, and a
// half-close or a close, which then reach only the end that made them. Backpressure is
// modelled by `highWaterMark`: past it, needsDrain holds until the reader has taken the bytes.
// Chunks are lent as byte-stream.ts says: each is scrubbed once its 'data' event returns.
// Network behaviour itself is tested over real sockets; this stands in for none of that.

import { EventEmitter } from 'node:events';
import type { P2PChatError } from '../../src/errors.js';
import type { ByteStream, ByteStreamEvents, TransportKind } from '../../src/net/byte-stream.js';

/** What a delivered chunk is overwritten with once its 'data' event has returned. */
export const LENT_CHUNK_SCRUB = 0xee;

export class MemoryStream extends EventEmitter<ByteStreamEvents> implements ByteStream {
  readonly transport: TransportKind;
  /** Each chunk is scrubbed once its 'data' event returns, as a reused read buffer would be. */
  readonly reusesReadBuffer = true;
  readonly remoteHost: string;
  readonly remotePort: number;
  peer!: MemoryStream;
  /** Bytes written by the other end, not yet emitted to us. */
  readonly #inbox: Buffer[] = [];
  #inboxBytes = 0;
  #paused = true;
  #flushing = false;
  #readEnded = false;
  #endPending = false;
  #writeEnded = false;
  #destroyed = false;
  #severed = false;
  readonly highWaterMark: number;
  /** Everything ever written by this end (for assertions). */
  written = 0;
  /** The first chunk this end wrote: a dialler's preamble and handshake message 1, in one write. */
  firstWrite: Buffer | undefined;

  constructor(remoteHost: string, remotePort: number, highWaterMark: number, transport: TransportKind = 'tcp') {
    super();
    this.transport = transport;
    this.remoteHost = remoteHost;
    this.remotePort = remotePort;
    this.highWaterMark = highWaterMark;
  }

  get remoteAddress(): string {
    return `${this.remoteHost}:${this.remotePort}`;
  }

  get writable(): boolean {
    return !this.#writeEnded && !this.#destroyed;
  }

  get readEnded(): boolean {
    return this.#readEnded;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** What the other end has not yet read of ours: our queue. */
  get queuedBytes(): number {
    return this.peer.#inboxBytes;
  }

  get needsDrain(): boolean {
    return this.queuedBytes > this.highWaterMark;
  }

  write(chunk: Uint8Array): void {
    if (!this.writable) return;
    this.firstWrite ??= Buffer.from(chunk);
    this.written += chunk.length;
    if (!this.#severed) this.peer.#deliver(Buffer.from(chunk));
  }

  /** From now on nothing written at either end arrives, and neither end is told. */
  sever(): void {
    this.#severed = true;
    this.peer.#severed = true;
  }

  writev(chunks: readonly Uint8Array[]): void {
    for (const chunk of chunks) this.write(chunk);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#scheduleFlush();
  }

  unshift(chunk: Uint8Array): void {
    this.#inbox.unshift(Buffer.from(chunk));
    this.#inboxBytes += chunk.length;
  }

  end(): void {
    if (this.#writeEnded || this.#destroyed) return;
    this.#writeEnded = true;
    if (!this.#severed) {
      this.peer.#endPending = true;
      this.peer.#scheduleFlush();
    }
    queueMicrotask(() => {
      this.emit('finish');
      this.#closeIfDone();
    });
  }

  destroy(error?: P2PChatError): void {
    this.#close(error);
    if (!this.#severed) this.peer.#close(undefined);
  }

  #deliver(chunk: Buffer): void {
    if (this.#destroyed) return;
    this.#inbox.push(chunk);
    this.#inboxBytes += chunk.length;
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushing) return;
    this.#flushing = true;
    queueMicrotask(() => {
      this.#flushing = false;
      this.#flush();
    });
  }

  #flush(): void {
    const wasBlocked = this.peer.needsDrain;
    while (!this.#paused && !this.#destroyed && this.#inbox.length > 0) {
      const chunk = this.#inbox.shift()!;
      this.#inboxBytes -= chunk.length;
      this.emit('data', chunk);
      // The chunk was lent for the event only (byte-stream.ts): a listener that kept it without
      // copying now holds garbage, and its test fails, as it would over a dialled TCP socket.
      chunk.fill(LENT_CHUNK_SCRUB);
    }
    if (wasBlocked && !this.peer.needsDrain) this.peer.emit('drain');
    if (!this.#paused && this.#inbox.length === 0 && this.#endPending && !this.#readEnded) {
      this.#readEnded = true;
      this.emit('end');
      this.#closeIfDone();
    }
  }

  #closeIfDone(): void {
    if (this.#readEnded && this.#writeEnded) this.#close(undefined);
  }

  #close(error: P2PChatError | undefined): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#writeEnded = true;
    queueMicrotask(() => this.emit('close', error));
  }
}

/** Two joined ends: [the dialler's, the listener's]. */
export function memoryStreamPair(highWaterMark = 64 * 1024): [MemoryStream, MemoryStream] {
  const a = new MemoryStream('192.0.2.2', 5050, highWaterMark);
  const b = new MemoryStream('192.0.2.1', 40_000, highWaterMark);
  a.peer = b;
  b.peer = a;
  return [a, b];
}
