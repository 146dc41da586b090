// Two data connections joined into one byte stream: what one peer sends, the other receives, with
// backpressure both ways (a slow reader slows its sender instead of filling our memory). The
// bytes are Noise ciphertext between the two peers; the relay only counts them, optionally
// throttles them (token bucket per direction) and caps their total. A half-close is passed on;
// when one side closes, the other is ended and, if it lingers, cut after a grace period.
// Reads that arrive in one turn of the event loop leave as one write (see SPLICE_COALESCE_BYTES).

import { EventEmitter } from 'node:events';
import type { Clock, Timer } from '../clock.js';
import { type GarbagePacer, processGarbagePacer } from '../garbage-pacer.js';
import type { ByteStream } from '../net/byte-stream.js';
import { TokenBucket } from '../session/token-bucket.js';

/**
 * Most bytes one direction gathers into a single write. Node reads 64 KiB at a time, and under
 * bulk traffic several times per event-loop turn; sending them as one writev at the end of the
 * turn (or once this many are gathered) takes fewer syscalls and wakes the far peer less often
 * (bench/README.md, relayed-throughput). A larger one would be faster still; this bounds what a
 * direction may hold beyond one read while its receiver is not reading.
 */
export const SPLICE_COALESCE_BYTES = 512 * 1024;

export interface SpliceOptions {
  /** Per direction, bytes per second; 0 = unlimited. */
  readonly rateBytesPerSec: number;
  /** Total bytes (both directions) after which both ends are cut; 0 = unlimited. */
  readonly byteCap: number;
  /** After one side has closed, how long the other has to finish before it is destroyed. */
  readonly closeGraceMs: number;
  /** No bytes either way for this long: the session is dead, cut both; 0 = never. */
  readonly idleTimeoutMs?: number;
  readonly clock: Clock;
  /**
   * Told of every chunk forwarded: each (an accepted socket's read, or a lent chunk's copy) is left
   * for the collector once written. The process's pacer by default.
   */
  readonly garbage?: GarbagePacer;
}

export interface SpliceEnd {
  readonly bytes: number;
  readonly reason: string;
}

export class Splice extends EventEmitter<{ closed: [end: SpliceEnd] }> {
  readonly #a: ByteStream;
  readonly #b: ByteStream;
  readonly #options: SpliceOptions;
  readonly #clock: Clock;
  readonly #garbage: GarbagePacer;
  readonly #timers = new Set<Timer>();
  /** Per destination: send on what was gathered for it this turn. */
  readonly #flushes = new Map<ByteStream, () => void>();
  #bytes = 0;
  #lastActive = 0;
  #reason: string | undefined;
  #open = 2;
  #done = false;

  constructor(a: ByteStream, b: ByteStream, options: SpliceOptions) {
    super();
    this.#a = a;
    this.#b = b;
    this.#options = options;
    this.#clock = options.clock;
    this.#garbage = options.garbage ?? processGarbagePacer();
  }

  /** Bytes forwarded so far, both directions together. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Start forwarding. Both streams may be paused with bytes already put back (unshifted). */
  start(): void {
    for (const stream of [this.#a, this.#b]) {
      if (stream.destroyed) queueMicrotask(() => this.#onClose(stream));
      else stream.once('close', () => this.#onClose(stream));
    }
    this.#lastActive = this.#clock.now();
    this.#watchIdle(this.#options.idleTimeoutMs ?? 0);
    this.#pump(this.#a, this.#b);
    this.#pump(this.#b, this.#a);
  }

  /** End both streams (we cannot speak inside them), cutting them after the grace period. */
  close(reason: string): void {
    this.#reason ??= reason;
    for (const stream of [this.#a, this.#b]) this.#endSoon(stream);
  }

  #pump(src: ByteStream, dst: ByteStream): void {
    const { rateBytesPerSec, byteCap } = this.#options;
    const clock = this.#clock;
    const bucket = rateBytesPerSec > 0 ? new TokenBucket(rateBytesPerSec, clock.now()) : undefined;
    let awaitingDrain = false;
    let throttled = false;
    const resumeIfClear = () => {
      if (!awaitingDrain && !throttled && !this.#done) src.resume();
    };

    // Read this turn and not yet written to dst.
    let gathered: Uint8Array[] = [];
    let gatheredBytes = 0;
    const flush = () => {
      if (gatheredBytes === 0) return;
      const chunks = gathered;
      gathered = [];
      gatheredBytes = 0;
      if (!dst.writable) return;
      dst.writev(chunks);
      // Left queued: dst's transport is full, so 'drain' will come.
      if (dst.needsDrain && dst.queuedBytes > 0) {
        awaitingDrain = true;
        src.pause();
      }
    };
    this.#flushes.set(dst, flush);

    src.on('data', (chunk) => {
      if (byteCap > 0 && this.#bytes + chunk.length > byteCap) {
        this.#reason ??= `byte cap of ${byteCap} bytes reached`;
        this.#a.destroy();
        this.#b.destroy();
        return;
      }
      this.#bytes += chunk.length;
      this.#lastActive = clock.now();
      if (!dst.writable) return;
      // Not a timer: the end of this turn's reads, which can come several to a turn under bulk.
      if (gatheredBytes === 0) setImmediate(flush);
      // It leaves later: a lent chunk (byte-stream.ts) is copied; an accepted socket's is its own.
      gathered.push(src.reusesReadBuffer === true ? Buffer.from(chunk) : chunk);
      gatheredBytes += chunk.length;
      this.#garbage.add(chunk.length);
      if (gatheredBytes >= SPLICE_COALESCE_BYTES) flush();
      const wait = bucket?.take(chunk.length, clock.now()) ?? 0;
      if (wait > 0) {
        throttled = true;
        src.pause();
        const timer = clock.setTimeout(() => {
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
    src.on('end', () => this.#endStream(dst));
    if (src.readEnded) this.#endStream(dst);
    src.resume();
  }

  /** No bytes either way for `idleMs`: cut both. Checked when it could first have passed. */
  #watchIdle(idleMs: number): void {
    if (idleMs <= 0 || this.#done) return;
    const due = this.#lastActive + idleMs - this.#clock.now();
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(timer);
      if (this.#clock.now() - this.#lastActive < idleMs) return this.#watchIdle(idleMs);
      this.#reason ??= `idle for ${idleMs / 1000} s`;
      this.#a.destroy();
      this.#b.destroy();
    }, Math.max(0, due));
    timer.unref();
    this.#timers.add(timer);
  }

  /** Write what was gathered for `stream`, then end it. */
  #endStream(stream: ByteStream): void {
    this.#flushes.get(stream)?.();
    stream.end();
  }

  #onClose(stream: ByteStream): void {
    this.#open--;
    if (this.#open > 0) {
      this.#endSoon(stream === this.#a ? this.#b : this.#a);
      return;
    }
    this.#done = true;
    for (const timer of this.#timers) this.#clock.clearTimeout(timer);
    this.#timers.clear();
    this.emit('closed', { bytes: this.#bytes, reason: this.#reason ?? 'ended' });
  }

  #endSoon(stream: ByteStream): void {
    if (stream.destroyed) return;
    this.#endStream(stream);
    const timer = this.#clock.setTimeout(() => {
      this.#timers.delete(timer);
      stream.destroy();
    }, this.#options.closeGraceMs);
    timer.unref();
    this.#timers.add(timer);
  }
}
