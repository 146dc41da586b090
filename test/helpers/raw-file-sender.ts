// The sender's half of the file protocol spoken by hand over a transfer pair's raw side (see
// PairOptions.rawSender), so a test can send what OutgoingTransfer never would: hostile names,
// data that does not match the SHA-256 it is sent with.

import { createHash, randomBytes } from 'node:crypto';
import { CHUNK_BYTES } from '../../src/app/files/outgoing-transfer.js';
import { isFileMessageType, type FileMessage, type FileMessageType, type OfferedFile } from '../../src/session/file-messages.js';
import type { Side } from './transfer-pair.js';

type Of<T extends FileMessageType> = Extract<FileMessage, { type: T }>;

export class RawFileSender {
  readonly #side: Side;
  /** Every file message the receiver sent, in order. */
  readonly received: FileMessage[] = [];
  #waiters: { test: (m: FileMessage) => boolean; resolve: (m: FileMessage) => void }[] = [];

  constructor(side: Side) {
    this.#side = side;
    side.conn.on('message', (message) => {
      if (!isFileMessageType(message.type)) return;
      const m = message as FileMessage;
      this.received.push(m);
      const ready = this.#waiters.filter((w) => w.test(m));
      this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve(m);
    });
  }

  /** The first message of `type` for transfer `id` from the receiver (that `match`es), already here or to come. */
  next<T extends FileMessageType>(type: T, id: string, match: (m: Of<T>) => boolean = () => true): Promise<Of<T>> {
    const test = (m: FileMessage) => m.type === type && m.id === id && match(m as Of<T>);
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen as Of<T>);
    return new Promise((resolve) => this.#waiters.push({ test, resolve: (m) => resolve(m as Of<T>) }));
  }

  /** Offer `files` in one page; returns the new transfer id. */
  offer(files: readonly OfferedFile[]): string {
    const id = randomBytes(8).toString('hex');
    this.#side.conn.send({ type: 'file-offer', id, files, more: false });
    return id;
  }

  /** Send file `index` whole: file-start, its data in chunks, file-end with `sha256` (by default the right one). */
  sendFile(id: string, index: number, data: Uint8Array, sha256 = createHash('sha256').update(data).digest('hex')): void {
    const conn = this.#side.conn;
    conn.send({ type: 'file-start', id, index, offset: 0 });
    for (let at = 0; at < data.length; at += CHUNK_BYTES) {
      conn.send({ type: 'file-data', id, data: data.subarray(at, at + CHUNK_BYTES) });
    }
    conn.send({ type: 'file-end', id, index, sha256 });
  }
}
