// One side of the file protocol spoken by hand over a PeerConnection, for tests that play a peer
// that Transfers never would be: it keeps every file message the other side sends, so a test can
// wait for one, and sends whatever the test tells it to.

import { isFileMessageType, type FileMessage, type FileMessageType } from '../../src/session/file-messages.js';
import type { PeerConnection } from '../../src/session/peer-connection.js';

export type Of<T extends FileMessageType> = Extract<FileMessage, { type: T }>;

export class RawFilePeer {
  readonly conn: PeerConnection;
  /** Every file message the other side sent, in order. */
  readonly received: FileMessage[] = [];
  #waiters: { test: (m: FileMessage) => boolean; resolve: (m: FileMessage) => void }[] = [];

  constructor(conn: PeerConnection) {
    this.conn = conn;
    conn.on('message', (message) => {
      if (!isFileMessageType(message.type)) return;
      const m = message as FileMessage;
      this.received.push(m);
      this.onFileMessage(m);
      const ready = this.#waiters.filter((w) => w.test(m));
      this.#waiters = this.#waiters.filter((w) => !ready.includes(w));
      for (const w of ready) w.resolve(m);
    });
  }

  /**
   * The first message of `type` (for transfer `id`, if given) that `match`es, already here or to
   * come.
   */
  next<T extends FileMessageType>(type: T, id?: string, match: (m: Of<T>) => boolean = () => true): Promise<Of<T>> {
    const test = (m: FileMessage) => m.type === type && (id === undefined || m.id === id) && match(m as Of<T>);
    const seen = this.received.find(test);
    if (seen) return Promise.resolve(seen as Of<T>);
    return new Promise((resolve) => this.#waiters.push({ test, resolve: (m) => resolve(m as Of<T>) }));
  }

  send(message: FileMessage): void {
    this.conn.send(message);
  }

  /** Called with each file message as it arrives, before anyone waiting for it is told. */
  protected onFileMessage(_message: FileMessage): void {}
}
