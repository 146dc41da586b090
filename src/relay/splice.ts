// Two data connections joined into one byte stream: what one peer sends, the other receives, with
// backpressure both ways (a slow reader slows its sender instead of filling our memory). The
// bytes are Noise ciphertext between the two peers; the relay only counts them, optionally
// throttles them (token bucket per direction) and caps their total. A half-close is passed on;
// when one side closes, the other is ended and, if it lingers, cut after a grace period.
// Reads that arrive in one turn of the event loop leave as one write (see SPLICE_COALESCE_BYTES).

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { TokenBucket } from './token-bucket.js';

/**
 * Most bytes one direction gathers into a single write. Node reads 64 KiB at a time, and under
 * bulk traffic several times per event-loop turn; sending them as one writev at the end of the
 * turn (or once this many are gathered) takes fewer syscalls and wakes the far peer less often
 * (README, "Benchmarks"). Larger measured faster still; this bounds what a direction may hold
 * beyond one read while its receiver is not reading.
 */
export const SPLICE_COALESCE_BYTES = 512 * 1024;

export interface SpliceOptions {
  /** Per direction, bytes per second; 0 = unlimited. */
  readonly rateBytesPerSec: number;
  /** Total bytes (both directions) after which both ends are cut; 0 = unlimited. */
  readonly byteCap: number;
  /** After one side has closed, how long the other has to finish before it is destroyed. */
  readonly closeGraceMs: number;
  /** No bytes either way on a socket for this long: the session is dead, cut both; 0 = never. */
  readonly idleTimeoutMs?: number;
  readonly now?: () => number;
}

export interface SpliceEnd {
  readonly bytes: number;
  readonly reason: string;
}

export class Splice extends EventEmitter<{ closed: [end: SpliceEnd] }> {
  readonly #a: Socket;
  readonly #b: Socket;
  readonly #options: SpliceOptions;
  readonly #now: () => number;
  readonly #timers = new Set<NodeJS.Timeout>();
  #bytes = 0;
  #reason: string | undefined;
  #open = 2;
  #done = false;

  constructor(a: Socket, b: Socket, options: SpliceOptions) {
    super();
    this.#a = a;
    this.#b = b;
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** Bytes forwarded so far, both directions together. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Start forwarding. Both sockets may be paused with bytes already buffered (unshifted). */
  start(): void {
    for (const socket of [this.#a, this.#b]) {
      socket.setNoDelay(true);
      socket.on('error', () => undefined); // a reset shows up as 'close', handled below
      if (socket.destroyed) queueMicrotask(() => this.#onClose(socket));
      else socket.once('close', () => this.#onClose(socket));
      const idle = this.#options.idleTimeoutMs ?? 0;
      if (idle > 0) {
        socket.setTimeout(idle, () => {
          this.#reason ??= `idle for ${idle / 1000} s`;
          this.#a.destroy();
          this.#b.destroy();
        });
      }
    }
    this.#pump(this.#a, this.#b);
    this.#pump(this.#b, this.#a);
  }

  /** End both streams (we cannot speak inside them), cutting them after the grace period. */
  close(reason: string): void {
    this.#reason ??= reason;
    for (const socket of [this.#a, this.#b]) this.#endSoon(socket);
  }

  #pump(src: Socket, dst: Socket): void {
    const { rateBytesPerSec, byteCap } = this.#options;
    const bucket = rateBytesPerSec > 0 ? new TokenBucket(rateBytesPerSec, this.#now()) : undefined;
    let awaitingDrain = false;
    let throttled = false;
    const resumeIfClear = () => {
      if (!awaitingDrain && !throttled && !this.#done) src.resume();
    };

    // Bytes written to dst since it was corked; 0 when it is not corked.
    let gathered = 0;
    const flush = () => {
      if (gathered === 0) return;
      gathered = 0;
      dst.uncork();
      // Left queued: dst's kernel buffer is full. A write past the high-water mark was refused
      // on the way in (needDrain), so 'drain' will come.
      if (dst.writableNeedDrain && dst.writableLength > 0) {
        awaitingDrain = true;
        src.pause();
      }
    };

    src.on('data', (chunk: Buffer) => {
      if (byteCap > 0 && this.#bytes + chunk.length > byteCap) {
        this.#reason ??= `byte cap of ${byteCap} bytes reached`;
        this.#a.destroy();
        this.#b.destroy();
        return;
      }
      this.#bytes += chunk.length;
      if (dst.destroyed || dst.writableEnded) return;
      if (gathered === 0) {
        dst.cork();
        setImmediate(flush); // after this turn's reads; dst.end() flushes sooner on its own
      }
      dst.write(chunk); // refused past the high-water mark while corked: flush() looks instead
      gathered += chunk.length;
      if (gathered >= SPLICE_COALESCE_BYTES) flush();
      const wait = bucket?.take(chunk.length, this.#now()) ?? 0;
      if (wait > 0) {
        throttled = true;
        src.pause();
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          throttled = false;
          resumeIfClear();
        }, wait);
        this.#timers.add(timer);
      }
    });
    dst.on('drain', () => {
      if (!awaitingDrain) return;
      awaitingDrain = false;
      resumeIfClear();
    });
    // A half-close is part of the conversation (a goodbye, then FIN): pass it on, keep the rest.
    src.on('end', () => dst.end());
    if (src.readableEnded) dst.end();
    src.resume();
  }

  #onClose(socket: Socket): void {
    this.#open--;
    if (this.#open > 0) {
      this.#endSoon(socket === this.#a ? this.#b : this.#a);
      return;
    }
    this.#done = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    this.emit('closed', { bytes: this.#bytes, reason: this.#reason ?? 'ended' });
  }

  #endSoon(socket: Socket): void {
    if (socket.destroyed) return;
    socket.end();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      socket.destroy();
    }, this.#options.closeGraceMs);
    timer.unref();
    this.#timers.add(timer);
  }
}
