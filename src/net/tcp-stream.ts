// A TCP socket as a ByteStream. Created paused: the owner attaches its listeners and calls
// resume(), so no byte arrives before someone is there to read it. Socket errors become the one
// coded error the close event carries ("connection to 192.0.2.7:5050 failed: connection reset").
// A socket we dial reads through LentReads into the process's one read buffer: 1 MiB reads and no
// garbage per read, so a receiver spends less CPU per byte. Node offers that (onread) only to
// sockets it connects, so accepted sockets read as Node reads them, a new buffer each time.

import { EventEmitter } from 'node:events';
import type { OnReadOpts, Socket } from 'node:net';
import { P2PChatError } from '../errors.js';
import { formatHostPort, plainHost } from './address.js';
import type { ByteStream, ByteStreamEvents } from './byte-stream.js';

/**
 * The read buffer every dialled socket shares. A read's bytes are handed to its stream's listeners
 * and consumed before Node's callback returns (byte-stream.ts: chunks are lent), so one serves all
 * of a process's connections, and it is all the memory their reads take. Over loopback a receiver
 * of 64 KiB records spent 2.4 s CPU per GiB reading 1 MiB at a time, 2.8-3.3 s with a 64 KiB
 * buffer, and 3.3-3.6 s as Node reads by default (64 KiB, a new buffer each).
 */
export const READ_BUFFER_BYTES = 1024 * 1024;

let readBuffer: Buffer | undefined;

/**
 * Where a socket's reads go (net.connect's `onread`) until a TcpStream takes them; the socket
 * reads nothing before then (it is not connected yet, and the TcpStream pauses it at once).
 */
export class LentReads {
  #take: (chunk: Buffer) => boolean = () => false;
  readonly onread: OnReadOpts = {
    buffer: (readBuffer ??= Buffer.allocUnsafeSlow(READ_BUFFER_BYTES)),
    callback: (bytes, buffer) => this.#take(Buffer.from(buffer.buffer, buffer.byteOffset, bytes)),
  };

  /** From now on each read goes to `take`, which says whether to go on reading. */
  takeWith(take: (chunk: Buffer) => boolean): void {
    this.#take = take;
  }
}

export class TcpStream extends EventEmitter<ByteStreamEvents> implements ByteStream {
  readonly transport = 'tcp' as const;
  readonly remoteAddress: string;
  readonly remoteHost: string;
  readonly localPort: number | undefined;
  readonly reusesReadBuffer: boolean;
  readonly #socket: Socket;
  #error: P2PChatError | undefined;
  #readEnded = false;
  #paused = true;
  /**
   * Lent reads only: bytes put back, read before the socket reads again. Node's stream side gets
   * none of a lent socket's bytes, so its own unshift would hand them to no one.
   */
  #unread: Buffer[] = [];
  #unreadScheduled = false;

  /** `reads`: the LentReads the socket was connected with, if any. */
  constructor(socket: Socket, reads?: LentReads) {
    super();
    this.#socket = socket;
    this.remoteHost = plainHost(socket.remoteAddress ?? '?');
    this.remoteAddress = formatHostPort(socket.remoteAddress, socket.remotePort);
    this.localPort = socket.localPort;
    this.reusesReadBuffer = reads !== undefined;
    socket.setNoDelay(true);
    if (reads) {
      reads.takeWith((chunk) => {
        this.emit('data', chunk);
        return !this.#paused;
      });
    } else {
      socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
    }
    socket.pause();
    // Its end cannot overtake bytes put back: the socket reads nothing (so sees no end) until
    // they are read.
    socket.on('end', () => {
      this.#readEnded = true;
      this.emit('end');
    });
    socket.on('drain', () => this.emit('drain'));
    socket.on('finish', () => this.emit('finish'));
    // Always listened to: a reset must never reach the process as an unhandled 'error'.
    socket.on('error', (err) => {
      this.#error ??= P2PChatError.from(err, 'ERR_CONNECTION_LOST', `connection to ${this.remoteAddress} failed`);
    });
    socket.on('close', () => this.emit('close', this.#error));
  }

  get writable(): boolean {
    return this.#socket.writable;
  }

  get readEnded(): boolean {
    return this.#readEnded;
  }

  get destroyed(): boolean {
    return this.#socket.destroyed;
  }

  get queuedBytes(): number {
    return this.#socket.writableLength;
  }

  get needsDrain(): boolean {
    return this.#socket.writableNeedDrain;
  }

  write(chunk: Uint8Array): void {
    this.#socket.write(chunk);
  }

  writev(chunks: readonly Uint8Array[]): void {
    const socket = this.#socket;
    socket.cork();
    for (const chunk of chunks) socket.write(chunk);
    socket.uncork();
  }

  pause(): void {
    this.#paused = true;
    this.#socket.pause();
  }

  resume(): void {
    this.#paused = false;
    if (this.#unread.length > 0) this.#scheduleUnread();
    else this.#socket.resume();
  }

  unshift(chunk: Uint8Array): void {
    if (!this.reusesReadBuffer) {
      this.#socket.unshift(Buffer.from(chunk));
      return;
    }
    this.#unread.unshift(Buffer.from(chunk));
    this.#socket.pause();
    if (!this.#paused) this.#scheduleUnread();
  }

  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#unread = [];
    this.#socket.destroy();
  }

  /** Not within resume() or unshift(): as with Node's streams, data comes after the caller has returned. */
  #scheduleUnread(): void {
    if (this.#unreadScheduled) return;
    this.#unreadScheduled = true;
    process.nextTick(() => {
      this.#unreadScheduled = false;
      this.#readUnread();
    });
  }

  /** Lent reads: what was put back, then the socket again. */
  #readUnread(): void {
    while (!this.#paused && this.#unread.length > 0) this.emit('data', this.#unread.shift()!);
    if (!this.#paused) this.#socket.resume();
  }
}
