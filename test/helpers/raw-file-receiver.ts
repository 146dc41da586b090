// The receiver's half of the file protocol spoken by hand (see RawFilePeer), so a test can answer
// a real sender as Transfers never would: confirm a file it does not have, with any SHA-256, ask
// for one again, or accept with made-up resume points. It acknowledges data as it arrives, so the
// sender keeps sending until the test's lie reaches it.

import type { FileMessage } from '../../src/session/file-messages.js';
import { RawFilePeer } from './raw-file-peer.js';

export class RawFileReceiver extends RawFilePeer {
  readonly #bytes = new Map<string, number>();

  /** File-data bytes that have arrived for transfer `id` (and were acknowledged). */
  bytes(id: string): number {
    return this.#bytes.get(id) ?? 0;
  }

  protected override onFileMessage(message: FileMessage): void {
    if (message.type !== 'file-data') return;
    const bytes = this.bytes(message.id) + message.data.length;
    this.#bytes.set(message.id, bytes);
    this.send({ type: 'file-ack', id: message.id, bytes });
  }
}
