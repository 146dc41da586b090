// Two Transfers (bob sends, alice receives) joined by in-memory links that stand for the
// connections of one resumable conversation, for unit tests of transfers that outlive a
// connection. Messages are encoded and decoded as on the wire and arrive one per event-loop turn,
// in order. `cut()` loses everything in flight and pauses both sides (as ChatNode does when a
// conversation is suspended); `resume()` joins them by new links (linkResumed); `lose()` ends the
// conversation (linkClosed). Each connection keeps what it carried, for assertions.

import { EventEmitter, once } from 'node:events';
import type { Clock } from '../../src/clock.js';
import { Transfers, type AcceptPolicy, type PeerLink, type TransferEvent, type TransfersOptions } from '../../src/app/files/transfers.js';
import { isFileMessageType, type FileMessage } from '../../src/session/file-messages.js';
import { PEER_MESSAGES } from '../../src/session/session-messages.js';

const BOB = { name: 'bob', fingerprint: 'b'.repeat(64) };
const ALICE = { name: 'alice', fingerprint: 'a'.repeat(64) };

/** One connection: the file messages each way, and the file-data bytes bob's side carried. */
export interface Connection {
  readonly toAlice: FileMessage[];
  readonly toBob: FileMessage[];
  dataBytes: number;
  /** Set by cut(): from then on nothing more is delivered either way. */
  lost: boolean;
}

export interface Side {
  readonly transfers: Transfers;
  readonly events: TransferEvent[];
  link: PeerLink;
  /** Resolves with the first event (seen already, or to come) of `type` that matches. */
  next(type: TransferEvent['type'], match?: (e: TransferEvent) => boolean): Promise<TransferEvent>;
}

export interface ResumableLinksOptions {
  readonly downloadDir: string;
  readonly clock: Clock;
  readonly acceptFiles?: AcceptPolicy;
  /** How alice opens her download directory (e.g. held, to order an accept against a resume). */
  readonly openDownloadDir?: TransfersOptions['openDownloadDir'];
}

export class ResumableLinks {
  readonly bob: Side;
  readonly alice: Side;
  readonly connections: Connection[] = [];

  constructor(options: ResumableLinksOptions) {
    const base = { downloadDir: options.downloadDir, offerTimeoutMs: 60_000, progressIntervalMs: 0, clock: options.clock };
    this.bob = side(new Transfers({ ...base, acceptFiles: 'never' }));
    const open = options.openDownloadDir ? { openDownloadDir: options.openDownloadDir } : {};
    this.alice = side(new Transfers({ ...base, acceptFiles: options.acceptFiles ?? 'any', ...open }));
    this.#connect();
  }

  /** The connection now (the last one, once cut). */
  get current(): Connection {
    return this.connections.at(-1)!;
  }

  /** The connection is lost, with whatever it had in flight; the conversation waits to resume. */
  cut(): void {
    this.current.lost = true;
    this.bob.transfers.linkSuspended(this.bob.link);
    this.alice.transfers.linkSuspended(this.alice.link);
  }

  /** The conversation resumes over a new connection. */
  resume(): void {
    const before = { bob: this.bob.link, alice: this.alice.link };
    this.#connect();
    this.alice.transfers.linkResumed(before.alice, this.alice.link);
    this.bob.transfers.linkResumed(before.bob, this.bob.link);
  }

  /** The conversation is over (its resume window closed) after a cut. */
  lose(why = 'reset by peer; not back within 120 s'): void {
    this.bob.transfers.linkClosed(this.bob.link, why);
    this.alice.transfers.linkClosed(this.alice.link, why);
  }

  /** Resolves once nothing is in flight on the current connection. */
  async idle(): Promise<void> {
    while (this.#inFlight > 0) await once(this.#settled, 'idle');
  }

  #inFlight = 0;
  readonly #settled = new EventEmitter();

  #connect(): void {
    const connection: Connection = { toAlice: [], toBob: [], dataBytes: 0, lost: false };
    this.connections.push(connection);
    const deliver = (to: Side, log: FileMessage[]) => (plaintext: Buffer) => {
      if (connection.lost) return;
      const message = PEER_MESSAGES.decode(plaintext);
      if (!isFileMessageType(message.type)) throw new Error(`not a file message: ${message.type}`);
      this.#inFlight++;
      setImmediate(() => {
        this.#inFlight--;
        if (!connection.lost) {
          log.push(message as FileMessage);
          if (message.type === 'file-data') connection.dataBytes += message.data.length;
          to.transfers.handle(to.link, message as FileMessage);
        }
        if (this.#inFlight === 0) this.#settled.emit('idle');
      });
    };
    this.bob.link = link(ALICE, deliver(this.alice, connection.toAlice));
    this.alice.link = link(BOB, deliver(this.bob, connection.toBob));
  }
}

/** A link to `peer` whose messages go to `deliver` (in order), always writable. */
function link(peer: { name: string; fingerprint: string }, deliver: (plaintext: Buffer) => void): PeerLink {
  return {
    peer,
    known: true,
    send: (message) => deliver(PEER_MESSAGES.encode(message)),
    sendEncoded: (plaintexts) => {
      // Encryption copies each message out before its buffer is used again: so must we.
      for (const plaintext of plaintexts) deliver(Buffer.from(plaintext));
    },
    writable: true,
    onDrain: () => () => undefined,
    rttMs: undefined,
    pauseReading: () => undefined,
    resumeReading: () => undefined,
  };
}

function side(transfers: Transfers): Side {
  const events: TransferEvent[] = [];
  const waiters: { type: string; match: (e: TransferEvent) => boolean; resolve: (e: TransferEvent) => void }[] = [];
  transfers.on('event', (event) => {
    events.push(event);
    for (const w of [...waiters]) {
      if (w.type !== event.type || !w.match(event)) continue;
      waiters.splice(waiters.indexOf(w), 1);
      w.resolve(event);
    }
  });
  return {
    transfers,
    events,
    link: undefined as unknown as PeerLink,
    next(type, match = () => true) {
      const seen = events.find((e) => e.type === type && match(e));
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve) => waiters.push({ type, match, resolve }));
    },
  };
}
