// One partial file being written: chunks are hashed as they arrive and written in order, several
// at a time with one writev, while the next ones queue. Reports each write so the transfer can
// acknowledge bytes on disk (which is what opens the sender's window).

import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { writeError } from './download-dir.js';

export class FileSink {
  readonly #handle: Promise<FileHandle>;
  readonly #hash: Hash;
  readonly #path: string;
  readonly #onWritten: (bytes: number) => void;
  readonly #onError: (err: Error) => void;
  #position: number;
  #queue: Uint8Array[] = [];
  #queued = 0;
  #writing: Promise<void> | undefined;
  #error: Error | undefined;
  #received = 0;

  constructor(options: {
    handle: Promise<FileHandle>;
    path: string;
    position: number;
    hash: Hash;
    onWritten: (bytes: number) => void;
    onError: (err: Error) => void;
  }) {
    this.#handle = options.handle;
    this.#path = options.path;
    this.#position = options.position;
    this.#hash = options.hash;
    this.#onWritten = options.onWritten;
    this.#onError = options.onError;
    this.#handle.catch((err: unknown) => this.#failed(err));
  }

  /** Bytes received but not yet on disk. */
  get queuedBytes(): number {
    return this.#queued;
  }

  /** Bytes received since the sink was opened (at its starting position). */
  get received(): number {
    return this.#received;
  }

  push(data: Uint8Array): void {
    if (this.#error) return;
    this.#hash.update(data);
    this.#queue.push(data);
    this.#queued += data.length;
    this.#received += data.length;
    this.#writing ??= this.#drain();
  }

  /** Wait for every queued byte to be written, close the file, and return its SHA-256 (hex). */
  async finish(): Promise<string> {
    await this.#writing;
    const handle = await this.#handle;
    if (this.#error) {
      await handle.close().catch(() => undefined);
      throw this.#error;
    }
    await handle.close().catch((err: unknown) => {
      throw writeError(err, this.#path);
    });
    return this.#hash.digest('hex');
  }

  /** Stop writing (the transfer ended); what is on disk stays for a later resume. */
  async abort(): Promise<void> {
    this.#error ??= new Error('aborted');
    this.#queue = [];
    this.#queued = 0;
    await this.#writing;
    await (await this.#handle.catch(() => undefined))?.close().catch(() => undefined);
  }

  async #drain(): Promise<void> {
    try {
      const handle = await this.#handle;
      while (this.#queue.length > 0 && !this.#error) {
        const buffers = this.#queue;
        this.#queue = [];
        const { bytesWritten } = await handle.writev(buffers, this.#position);
        const length = buffers.reduce((sum, b) => sum + b.length, 0);
        if (bytesWritten !== length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
        this.#position += length;
        this.#queued -= length;
        if (!this.#error) this.#onWritten(length);
      }
    } catch (err) {
      this.#failed(err);
    } finally {
      this.#writing = undefined;
    }
  }

  #failed(err: unknown): void {
    if (this.#error) return;
    this.#error = writeError(err, this.#path);
    this.#onError(this.#error);
  }
}
