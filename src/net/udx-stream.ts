// A connected udx stream as a ByteStream: TcpStream's behaviour over UDP. Created paused, like a
// TCP one. end() is udx's FIN, sent after everything written, so the goodbye flow (end, the other
// side's end, finish) is TCP's; a reset or a peer that stopped acknowledging becomes the coded
// error the close event carries ("connection to 192.0.2.7:5050 failed: timed out").

import { EventEmitter } from 'node:events';
import type UDX from 'udx-native';
import { P2PChatError } from '../errors.js';
import { formatHostPort, plainHost } from './address.js';
import type { ByteStream, ByteStreamEvents } from './byte-stream.js';

export interface UdxStreamOptions {
  /** Keep our side open after the other end half-closed (else end it then, as TCP does by default). */
  readonly allowHalfOpen?: boolean;
}

export class UdxStream extends EventEmitter<ByteStreamEvents> implements ByteStream {
  readonly transport = 'udp' as const;
  readonly remoteAddress: string;
  readonly remoteHost: string;
  readonly #raw: UDX.Stream;
  #error: P2PChatError | undefined;
  #readEnded = false;
  #ended = false;
  #needsDrain = false;

  /** `raw` must be connected; the ByteStream owns it from here on. */
  constructor(raw: UDX.Stream, options: UdxStreamOptions = {}) {
    super();
    this.#raw = raw;
    this.remoteHost = plainHost(raw.remoteHost ?? '?');
    this.remoteAddress = formatHostPort(raw.remoteHost ?? undefined, raw.remotePort);
    raw.on('data', (chunk) => this.emit('data', chunk));
    raw.pause();
    raw.on('end', () => {
      this.#readEnded = true;
      this.emit('end');
      if (options.allowHalfOpen !== true) this.end();
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
    raw.on('close', () => this.emit('close', this.#error));
  }

  get writable(): boolean {
    return !this.#ended && !this.#raw.destroying;
  }

  get readEnded(): boolean {
    return this.#readEnded;
  }

  get destroyed(): boolean {
    return this.#raw.destroying;
  }

  /** What streamx holds; udx's own send window (its kernel-buffer counterpart) is not counted. */
  get queuedBytes(): number {
    return this.#raw._writableState.buffered;
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
    this.#raw.pause();
  }

  resume(): void {
    this.#raw.resume();
  }

  unshift(chunk: Uint8Array): void {
    this.#raw.unshift(chunk);
  }

  end(): void {
    if (!this.writable) return;
    this.#ended = true;
    this.#raw.end();
  }

  destroy(): void {
    this.#raw.destroy();
  }
}
