// The sender's half of the file protocol spoken by hand over a transfer pair's raw side (see
// PairOptions.rawSender and RawFilePeer), so a test can send what OutgoingTransfer never would:
// hostile names, data that does not match the SHA-256 it is sent with.

import { createHash, randomBytes } from 'node:crypto';
import { CHUNK_BYTES } from '../../src/app/files/outgoing-transfer.js';
import type { OfferedFile } from '../../src/session/file-messages.js';
import { RawFilePeer } from './raw-file-peer.js';
import type { Side } from './transfer-pair.js';

export class RawFileSender extends RawFilePeer {
  constructor(side: Side) {
    super(side.conn);
  }

  /** Offer `files` in one page; returns the new transfer id. */
  offer(files: readonly OfferedFile[]): string {
    const id = randomBytes(8).toString('hex');
    this.send({ type: 'file-offer', id, files, more: false });
    return id;
  }

  /** Send file `index` whole: file-start, its data in chunks, file-end with `sha256` (by default the right one). */
  sendFile(id: string, index: number, data: Uint8Array, sha256 = createHash('sha256').update(data).digest('hex')): void {
    this.send({ type: 'file-start', id, index, offset: 0 });
    for (let at = 0; at < data.length; at += CHUNK_BYTES) {
      this.send({ type: 'file-data', id, data: data.subarray(at, at + CHUNK_BYTES) });
    }
    this.send({ type: 'file-end', id, index, sha256 });
  }
}
