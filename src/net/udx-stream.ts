// A connected udx stream as a ByteStream: TcpStream's behaviour over UDP. Created paused, like a
// TCP one. end() is udx's FIN, sent after everything written, so the goodbye flow (end, the other
// side's end, finish) is TCP's; a reset or a peer that stopped acknowledging becomes the coded
// error the close event carries ("connection to 192.0.2.7:5050 failed: timed out").
//
// udx-native (1.21.3) never tells libudx how much waits unread, so pausing a udx stream does not
// close the receive window and the sender keeps sending. The raw stream therefore always flows into
// a queue of our own, counted, which pause() stops emitting from; past UDX_MAX_BUFFERED_BYTES unread
// the stream is cut off, so a peer cannot fill our memory while we are not reading, and so is the
// stream holding most once all of them together hold more than UDX_TOTAL_UNREAD_BYTES.

import { EventEmitter } from 'node:events';
import type UDX from 'udx-native';
import { DEFAULTS } from '../defaults.js';
import { chatError, P2PChatError } from '../errors.js';
import { formatHostPort, plainHost } from './address.js';
import type { ByteStream, ByteStreamEvents } from './byte-stream.js';
import { UnreadBudget, type BudgetHolder } from './unread-budget.js';

const MiB = 1024 * 1024;
/** A frame's header (2 bytes) and AEAD tag (16): what one message costs on the wire beyond its plaintext. */
const MESSAGE_WIRE_BYTES = 2 + 16;

/**
 * Most bytes a udx stream holds unread (paused) before it is cut off. An honest peer sends no more
 * than our application windows allow before we read and acknowledge: one file transfer's window
 * (SEND_WINDOW_DEFAULTS.maxBytes, 16 MiB, plus the 4 MiB of slack the receiver allows:
 * INCOMING_DEFAULTS.maxBufferedBytes, 20 MiB) and the chat a host passes on before it cuts a peer
 * that fell behind (Delivery.runaway: 4 x maxUnackedBytes of plaintext and 4 x maxUnackedMessages
 * frames of framing, 16 MiB and 72 kB), about 36 MiB in all. Twice that (about 72 MiB) leaves room
 * for a second transfer at its full window. test/integration/udx-unread-cap.test.ts holds it to
 * those values, which net/ cannot import.
 */
export const UDX_MAX_BUFFERED_BYTES =
  2 * (20 * MiB + 4 * (DEFAULTS.maxUnackedBytes + DEFAULTS.maxUnackedMessages * MESSAGE_WIRE_BYTES));

/** What all udx streams of this process may hold unread together: two streams at their cap. */
export const UDX_TOTAL_UNREAD_BYTES = 2 * UDX_MAX_BUFFERED_BYTES;
const PROCESS_BUDGET = new UnreadBudget(UDX_TOTAL_UNREAD_BYTES);

export interface UdxStreamOptions {
  /** Keep our side open after the other end half-closed (else end it then, as TCP does by default). */
  readonly allowHalfOpen?: boolean;
  /** What it shares its unread bytes with (the process's, by default; tests pass their own). */
  readonly budget?: UnreadBudget;
}

export class UdxStream extends EventEmitter<ByteStreamEvents> implements ByteStream, BudgetHolder {
  readonly transport = 'udp' as const;
  readonly remoteAddress: string;
  readonly remoteHost: string;
  readonly localPort: number;
  readonly #raw: UDX.Stream;
  readonly #allowHalfOpen: boolean;
  readonly #budget: UnreadBudget;
  #error: P2PChatError | undefined;
  /** Received (or put back) and not yet emitted, from #head on. */
  #unread: Array<Buffer | undefined> = [];
  #head = 0;
  #unreadBytes = 0;
  #paused = true;
  #emitScheduled = false;
  /** The raw stream's end arrived; ours is emitted once everything before it has been. */
  #rawEnded = false;
  #rawClosed = false;
  #destroyCalled = false;
  #closeEmitted = false;
  #readEnded = false;
  #ended = false;
  #needsDrain = false;

  /** `raw` must be connected; the ByteStream owns it from here on. */
  constructor(raw: UDX.Stream, options: UdxStreamOptions = {}) {
    super();
    this.#raw = raw;
    this.#allowHalfOpen = options.allowHalfOpen === true;
    this.#budget = options.budget ?? PROCESS_BUDGET;
    this.remoteHost = plainHost(raw.remoteHost ?? '?');
    this.remoteAddress = formatHostPort(raw.remoteHost ?? undefined, raw.remotePort);
    this.localPort = raw.localPort;
    raw.on('data', (chunk) => this.#received(chunk));
    raw.on('end', () => {
      this.#rawEnded = true;
      this.#emitUnread();
    });
    raw.on('drain', () => {
      this.#needsDrain = false;
      this.emit('drain');
    });
    raw.on('finish', () => this.emit('finish'));
    // Always listened to: a reset must never reach the process as an unhandled 'error'.
    raw.on('error', (err) => {
      this.#error ??= P2PChatError.from(err, 'ERR_CONNECTION_LOST', `connection to ${this.remoteAddress} failed`);
    });
    raw.on('close', () => {
      this.#rawClosed = true;
      // A clean close (both ends done) waits until what arrived before the end has been read.
      if (!this.#endHeld) this.#emitClose();
    });
  }

  get writable(): boolean {
    return !this.#ended && !this.#raw.destroying;
  }

  get readEnded(): boolean {
    return this.#readEnded;
  }

  get destroyed(): boolean {
    return this.#closeEmitted || (this.#raw.destroying && !this.#endHeld);
  }

  /** What streamx holds; udx's own send window (its kernel-buffer counterpart) is not counted. */
  get queuedBytes(): number {
    return this.#raw._writableState.buffered;
  }

  /** Bytes received (or put back) and not yet handed to our reader: at most UDX_MAX_BUFFERED_BYTES. */
  get unreadBytes(): number {
    return this.#unreadBytes;
  }

  get needsDrain(): boolean {
    return this.#needsDrain && !this.#raw.destroying;
  }

  write(chunk: Uint8Array): void {
    if (!this.writable) return;
    if (!this.#raw.write(chunk)) this.#needsDrain = true;
  }

  writev(chunks: readonly Uint8Array[]): void {
    if (!this.writable) return;
    const raw = this.#raw;
    raw.cork();
    for (const chunk of chunks) if (!raw.write(chunk)) this.#needsDrain = true;
    raw.uncork();
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    this.#scheduleEmit();
  }

  unshift(chunk: Uint8Array): void {
    if (this.#gone) return;
    const buffer = Buffer.from(chunk); // a copy: the chunk may be a lent one (byte-stream.ts)
    if (this.#head > 0) this.#unread[--this.#head] = buffer;
    else this.#unread.unshift(buffer);
    this.#unreadBytes += buffer.length;
    this.#budget.add(this, buffer.length);
    this.#scheduleEmit();
  }

  end(): void {
    if (!this.writable) return;
    this.#ended = true;
    this.#raw.end();
  }

  destroy(): void {
    this.#destroyCalled = true;
    this.#dropUnread();
    // A close held for unread bytes is due now, but as TCP's, after the caller has returned.
    if (this.#rawClosed) queueMicrotask(() => this.#emitClose());
    else this.#raw.destroy();
  }

  /** The raw stream closed cleanly after its end, and bytes before that end are still to be read. */
  get #endHeld(): boolean {
    return this.#rawEnded && !this.#readEnded && this.#error === undefined && !this.#destroyCalled;
  }

  get #hasUnread(): boolean {
    return this.#head < this.#unread.length;
  }

  get #gone(): boolean {
    return this.#destroyCalled || this.#closeEmitted || this.#error !== undefined;
  }

  #received(chunk: Buffer): void {
    if (this.#gone) return;
    if (!this.#paused && !this.#hasUnread) {
      this.emit('data', chunk);
      return;
    }
    const unread = this.#unreadBytes + chunk.length;
    if (unread > UDX_MAX_BUFFERED_BYTES) {
      this.#cut(`the peer sent ${unread} bytes while we were not reading, more than we asked for`);
      return;
    }
    this.#unread.push(chunk);
    this.#unreadBytes = unread;
    this.#budget.add(this, chunk.length);
  }

  /** BudgetHolder: the udx streams of this process hold too much unread, and this one the most. */
  cutOff(total: number, budget: number): void {
    this.#cut(`udx connections held ${total} bytes unread in all (at most ${budget}), ${this.#unreadBytes} of them this peer's`);
  }

  #cut(why: string): void {
    if (this.#gone) return;
    this.#error = chatError('ERR_CONNECTION_LOST', `connection to ${this.remoteAddress} dropped: ${why}`);
    this.#dropUnread();
    this.#raw.destroy();
  }

  #scheduleEmit(): void {
    if (this.#emitScheduled) return;
    this.#emitScheduled = true;
    // Not within resume() or unshift(): as with TCP, data comes after the caller has returned.
    queueMicrotask(() => {
      this.#emitScheduled = false;
      this.#emitUnread();
    });
  }

  /** Hand over what waits, until a reader pauses; then the end, and a close held for it. */
  #emitUnread(): void {
    while (!this.#paused && this.#hasUnread) {
      const chunk = this.#unread[this.#head]!;
      this.#unread[this.#head++] = undefined;
      this.#unreadBytes -= chunk.length;
      this.#budget.release(this, chunk.length);
      this.emit('data', chunk);
    }
    if (!this.#hasUnread) this.#dropUnread();
    // A reader that keeps pausing before the queue empties must not grow it by its spent slots.
    else if (this.#head > 1024 && this.#head * 2 > this.#unread.length) {
      this.#unread = this.#unread.slice(this.#head);
      this.#head = 0;
    }
    if (this.#hasUnread || !this.#rawEnded || this.#readEnded || this.#gone) return;
    this.#readEnded = true;
    this.emit('end');
    if (!this.#allowHalfOpen) this.end();
    if (this.#rawClosed) this.#emitClose();
  }

  #dropUnread(): void {
    this.#unread = [];
    this.#head = 0;
    this.#unreadBytes = 0;
    this.#budget.forget(this);
  }

  #emitClose(): void {
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.#dropUnread();
    this.emit('close', this.#error);
  }
}
