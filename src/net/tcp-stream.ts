// A TCP socket as a ByteStream. Created paused: the owner attaches its listeners and calls
// resume(), so no byte arrives before someone is there to read it. Socket errors become the one
// coded error the close event carries ("connection to 192.0.2.7:5050 failed: connection reset").

import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { P2PChatError } from '../errors.js';
import { formatHostPort, plainHost } from './address.js';
import type { ByteStream, ByteStreamEvents } from './byte-stream.js';

export class TcpStream extends EventEmitter<ByteStreamEvents> implements ByteStream {
  readonly transport = 'tcp' as const;
  readonly remoteAddress: string;
  readonly remoteHost: string;
  readonly localPort: number | undefined;
  readonly #socket: Socket;
  #error: P2PChatError | undefined;
  #readEnded = false;

  constructor(socket: Socket) {
    super();
    this.#socket = socket;
    this.remoteHost = plainHost(socket.remoteAddress ?? '?');
    this.remoteAddress = formatHostPort(socket.remoteAddress, socket.remotePort);
    this.localPort = socket.localPort;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.emit('data', chunk));
    socket.pause();
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
    this.#socket.pause();
  }

  resume(): void {
    this.#socket.resume();
  }

  unshift(chunk: Uint8Array): void {
    this.#socket.unshift(Buffer.from(chunk));
  }

  end(): void {
    this.#socket.end();
  }

  destroy(): void {
    this.#socket.destroy();
  }
}
