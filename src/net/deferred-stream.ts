// A ByteStream whose connection comes later: a relayed session's first flight travels over the
// relay's control sessions while the data connection is still being opened. Until attach(), what
// the session writes is kept (takeEarly() hands the first flight over to go another way, the
// rest is written to the connection once it is here) and what it reads is what push() is given;
// from attach() on it is that connection, and its events are this stream's.

import { EventEmitter } from 'node:events';
import type { P2PChatError } from '../errors.js';
import type { ByteStream, ByteStreamEvents, TransportKind } from './byte-stream.js';

export class DeferredStream extends EventEmitter<ByteStreamEvents> implements ByteStream {
  readonly transport: TransportKind = 'tcp';
  readonly #remoteAddress: string;
  readonly #remoteHost: string;
  #stream: ByteStream | undefined;
  /** Written before attach(): the first flight until taken, then what waits for the connection. */
  #written: Buffer[] = [];
  /** Pushed before attach(), not yet read (the session was paused). */
  #inbox: Buffer[] = [];
  #paused = true;
  #ended = false;
  #destroyed = false;

  /**
   * `remoteHost`/`remoteAddress`: where the connection is expected to go (the relay), until it is
   * attached; then where it went (a relay of a cluster may send the session to another).
   */
  constructor(remoteHost: string, remoteAddress: string) {
    super();
    this.#remoteHost = remoteHost;
    this.#remoteAddress = remoteAddress;
  }

  get remoteHost(): string {
    return this.#stream?.remoteHost ?? this.#remoteHost;
  }

  get remoteAddress(): string {
    return this.#stream?.remoteAddress ?? this.#remoteAddress;
  }

  /**
   * The first `maxBytes` of what was written so far, to be sent another way; the rest, and later
   * writes, wait for the connection.
   */
  takeEarly(maxBytes: number): Buffer {
    const written = Buffer.concat(this.#written);
    this.#written = written.length > maxBytes ? [written.subarray(maxBytes)] : [];
    return written.subarray(0, maxBytes);
  }

  /** Bytes that came another way, read as if the connection had carried them (kept, not copied). */
  push(chunk: Buffer): void {
    if (this.#destroyed) return;
    this.#inbox.push(chunk);
    this.#deliver();
  }

  /** The connection is here: it carries everything from now on. Destroyed at once if we were. */
  attach(stream: ByteStream): void {
    if (this.#destroyed || this.#stream) {
      stream.destroy();
      return;
    }
    this.#stream = stream;
    stream.on('data', (chunk) => this.emit('data', chunk));
    stream.on('end', () => this.emit('end'));
    stream.on('drain', () => this.emit('drain'));
    stream.on('finish', () => this.emit('finish'));
    stream.once('close', (error) => this.#close(error));
    if (this.#written.length > 0) stream.writev(this.#written);
    this.#written = [];
    if (this.#ended) stream.end();
    if (!this.#paused && this.#inbox.length === 0) stream.resume();
  }

  /** The connection could not be had: the session ends with `error`. */
  fail(error: P2PChatError): void {
    if (this.#stream) this.#stream.destroy();
    else this.#close(error);
  }

  get reusesReadBuffer(): boolean {
    return this.#stream?.reusesReadBuffer ?? false;
  }

  get writable(): boolean {
    return this.#stream ? this.#stream.writable : !this.#ended && !this.#destroyed;
  }

  get readEnded(): boolean {
    return this.#stream?.readEnded ?? false;
  }

  get destroyed(): boolean {
    // Attached, it is destroyed when its connection is, before that one's close comes.
    return this.#destroyed || (this.#stream?.destroyed ?? false);
  }

  get queuedBytes(): number {
    return this.#stream?.queuedBytes ?? 0;
  }

  get needsDrain(): boolean {
    return this.#stream?.needsDrain ?? false;
  }

  write(chunk: Uint8Array): void {
    if (this.#stream) this.#stream.write(chunk);
    else if (this.writable) this.#written.push(Buffer.from(chunk));
  }

  writev(chunks: readonly Uint8Array[]): void {
    if (this.#stream) this.#stream.writev(chunks);
    else for (const chunk of chunks) this.write(chunk);
  }

  pause(): void {
    this.#paused = true;
    this.#stream?.pause();
  }

  resume(): void {
    this.#paused = false;
    this.#deliver();
    if (!this.#paused && this.#inbox.length === 0) this.#stream?.resume();
  }

  unshift(chunk: Uint8Array): void {
    if (this.#stream) this.#stream.unshift(chunk);
    else this.#inbox.unshift(Buffer.from(chunk));
  }

  end(): void {
    if (this.#stream) this.#stream.end();
    this.#ended = true;
  }

  destroy(): void {
    if (this.#stream) this.#stream.destroy();
    else this.#close(undefined);
  }

  #deliver(): void {
    while (!this.#paused && !this.#destroyed && this.#inbox.length > 0) this.emit('data', this.#inbox.shift()!);
  }

  #close(error: P2PChatError | undefined): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#inbox = [];
    this.#written = [];
    this.emit('close', error);
  }
}
