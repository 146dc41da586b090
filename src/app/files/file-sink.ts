// One partial file being written: chunks are hashed as they arrive and written in order, several
// at a time with one writev, while the next ones queue. Reports each write so the transfer can
// acknowledge bytes on disk (which is what opens the sender's window).

import type { Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import type { P2PChatError } from '../../errors.js';
import { writeError } from './download-dir.js';

/**
 * Bytes not yet on disk over every sink of one transfer, kept as running totals (the receiver
 * checks them on every chunk).
 */
export class WriteBacklog {
  /** Received and not yet on disk. */
  queued = 0;
  /** Of those, the bytes not yet being written (they wait for the write under way). */
  waiting = 0;
}

/** One write: the buffers, where in the file they go, and how many bytes they are. */
interface Batch {
  readonly buffers: Uint8Array[];
  readonly position: number;
  readonly length: number;
}

export class FileSink {
  readonly #handle: Promise<FileHandle>;
  readonly #hash: Hash;
  readonly #path: string;
  readonly #onWritten: (bytes: number) => void;
  readonly #onError: (err: P2PChatError) => void;
  readonly #backlog: WriteBacklog;
  #position: number;
  #queue: Uint8Array[] = [];
  /** Bytes in #queue: the next write's length. */
  #waiting = 0;
  #writing: Promise<void> | undefined;
  #error: Error | undefined;
  #received = 0;

  constructor(options: {
    handle: Promise<FileHandle>;
    path: string;
    position: number;
    hash: Hash;
    /** Shared with the transfer's other sinks; this sink's bytes are counted in it too. */
    backlog: WriteBacklog;
    onWritten: (bytes: number) => void;
    onError: (err: P2PChatError) => void;
  }) {
    this.#handle = options.handle;
    this.#path = options.path;
    this.#position = options.position;
    this.#hash = options.hash;
    this.#onWritten = options.onWritten;
    this.#onError = options.onError;
    this.#backlog = options.backlog;
    this.#handle.catch((err: unknown) => this.#failed(err));
  }

  /** Bytes received since the sink was opened (at its starting position). */
  get received(): number {
    return this.#received;
  }

  push(data: Uint8Array): void {
    if (this.#error) return;
    this.#hash.update(data);
    this.#queue.push(data);
    this.#count(data.length, data.length);
    this.#received += data.length;
    this.#writing ??= this.#drain();
  }

  /** Wait for every queued byte to be written, close the file, and return its SHA-256 (hex). */
  async finish(): Promise<string> {
    return (await this.keep()).digest('hex');
  }

  /**
   * Wait for every queued byte to be written and close the file, like finish(), but return the
   * running hash of those bytes itself: a later sink can go on from it (a resume point, without
   * reading the file again).
   */
  async keep(): Promise<Hash> {
    await this.#writing;
    const handle = await this.#handle;
    if (this.#error) {
      await handle.close().catch(() => undefined);
      throw this.#error;
    }
    await handle.close().catch((err: unknown) => {
      throw writeError(err, this.#path);
    });
    return this.#hash;
  }

  /** Stop writing (the transfer ended); what is on disk stays for a later resume. */
  async abort(): Promise<void> {
    this.#error ??= new Error('aborted');
    this.#queue = [];
    // The bytes of a write under way leave the count when it returns.
    this.#count(-this.#waiting, -this.#waiting);
    await this.#writing;
    await (await this.#handle.catch(() => undefined))?.close().catch(() => undefined);
  }

  async #drain(): Promise<void> {
    let batch: Batch | undefined;
    try {
      const handle = await this.#handle;
      for (batch = this.#take(); batch && !this.#error; ) {
        const { bytesWritten } = await handle.writev(batch.buffers, batch.position);
        if (bytesWritten !== batch.length) throw Object.assign(new Error('short write'), { code: 'ENOSPC' });
        const written = batch.length;
        // What came meanwhile is taken for the next write before this one is reported, so that the
        // report sees nothing waiting and reading (if it was paused) resumes while the disk writes.
        batch = this.#take();
        this.#count(-written, 0);
        if (!this.#error) this.#onWritten(written);
      }
      if (batch) this.#count(-batch.length, 0); // taken, but the sink had failed meanwhile
    } catch (err) {
      if (batch) this.#count(-batch.length, 0); // the failed write leaves the backlog too
      this.#failed(err);
    } finally {
      this.#writing = undefined;
    }
  }

  /** Everything waiting, as the next write (its place in the file reserved), or undefined. */
  #take(): Batch | undefined {
    if (this.#queue.length === 0) return undefined;
    const batch = { buffers: this.#queue, position: this.#position, length: this.#waiting };
    this.#queue = [];
    this.#count(0, -batch.length);
    this.#position += batch.length;
    return batch;
  }

  /** Change this sink's waiting bytes, and the transfer's backlog (queued and waiting) with them. */
  #count(queued: number, waiting: number): void {
    this.#waiting += waiting;
    this.#backlog.queued += queued;
    this.#backlog.waiting += waiting;
  }

  #failed(err: unknown): void {
    if (this.#error) return;
    const error = writeError(err, this.#path);
    this.#error = error;
    this.#onError(error);
  }
}
