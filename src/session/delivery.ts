// What one side of a conversation has sent that the other has not yet acknowledged, and how many
// of the other's messages it has received, as pure bookkeeping. Only messages of RELIABLE_TYPES
// count; they are numbered implicitly in the order sent (see delivery-messages.ts), and a resumed
// conversation numbers on from what each side said it had: the sender sends again exactly what
// the peer is missing, and the receiver takes the next one as the next in line.

import { chatError } from '../errors.js';

export interface DeliveryLimits {
  /** Most messages kept unacknowledged; past it the sender should wait (full). */
  readonly maxUnackedMessages: number;
  /** Most bytes of them. */
  readonly maxUnackedBytes: number;
}

interface Kept {
  readonly plaintext: Buffer;
  /** A chat message's id, for `delivered`; undefined for the rest (nick, presence). */
  readonly id: string | undefined;
  /** For a chat a host passes on: the fingerprint of the peer who wrote it (whose id `id` is). */
  readonly origin: string | undefined;
}

/** A chat we passed on for `origin`, acknowledged (or never) by the peer it went to. */
export interface Passed {
  readonly origin: string;
  readonly id: string;
}

export class Delivery {
  readonly #limits: DeliveryLimits;
  /** Sent and not yet acknowledged, oldest first; the first is message number #acked + 1. */
  #kept: Kept[] = [];
  #keptBytes = 0;
  /** Of the kept, our own chat messages (those with an id). */
  #keptChats = 0;
  #acked = 0;
  #received = 0;
  /** Chats passed on for others that the peer acknowledged since takePassed(). */
  #passed: Passed[] = [];

  constructor(limits: DeliveryLimits) {
    this.#limits = limits;
  }

  /** Messages of ours the peer has not acknowledged. */
  get unacked(): number {
    return this.#kept.length;
  }

  /** Of those, our own chat messages (the rest: nick changes, what a host passes on). */
  get unackedChats(): number {
    return this.#keptChats;
  }

  get unackedBytes(): number {
    return this.#keptBytes;
  }

  /** At a limit: the sender should take no more input until acknowledgements come. */
  get full(): boolean {
    return this.#kept.length >= this.#limits.maxUnackedMessages || this.#keptBytes >= this.#limits.maxUnackedBytes;
  }

  /**
   * Past twice a limit: more than can be kept for the peer. Our own input stops at the limits
   * (full); what others say through us, while the peer is away, does not.
   */
  get overflowing(): boolean {
    return this.#kept.length > 2 * this.#limits.maxUnackedMessages || this.#keptBytes > 2 * this.#limits.maxUnackedBytes;
  }

  /** Past four times a limit: a connected peer this far behind is not keeping up. */
  get runaway(): boolean {
    return this.#kept.length > 4 * this.#limits.maxUnackedMessages || this.#keptBytes > 4 * this.#limits.maxUnackedBytes;
  }

  /** How many of the peer's reliable messages have arrived (what an `ack` says). */
  get received(): number {
    return this.#received;
  }

  /** A reliable message of ours went out (or is kept to go out once the peer is back). */
  sent(plaintext: Buffer, id?: string, origin?: string): void {
    this.#kept.push({ plaintext, id, origin });
    this.#keptBytes += plaintext.length;
    if (id !== undefined && origin === undefined) this.#keptChats++;
  }

  /** A reliable message of the peer's arrived: the next in line. */
  receivedOne(): void {
    this.#received++;
  }

  /**
   * The peer has `n` of ours. Returns the ids of the chat messages that this acknowledges for the
   * first time. An ack for more than was sent is a lie: ERR_BAD_MESSAGE. One for fewer than already
   * acknowledged says nothing new.
   */
  acknowledged(n: number): string[] {
    const sent = this.#acked + this.#kept.length;
    if (n > sent) throw chatError('ERR_BAD_MESSAGE', `peer acknowledged ${n} messages; ${sent} were sent`);
    if (n <= this.#acked) return [];
    const done = this.#kept.splice(0, n - this.#acked);
    this.#acked = n;
    const ids: string[] = [];
    for (const kept of done) {
      this.#keptBytes -= kept.plaintext.length;
      if (kept.id === undefined) continue;
      if (kept.origin === undefined) ids.push(kept.id);
      else this.#passed.push({ origin: kept.origin, id: kept.id });
    }
    this.#keptChats -= ids.length;
    return ids;
  }

  /** The chats passed on for others that the peer has acknowledged since the last call. */
  takePassed(): Passed[] {
    return this.#passed.splice(0);
  }

  /** The chats passed on for others that the peer has not acknowledged (it never got them, if it is gone). */
  unackedPassed(): Passed[] {
    return this.#kept.flatMap((k) => (k.id !== undefined && k.origin !== undefined ? [{ origin: k.origin, id: k.id }] : []));
  }

  /**
   * The conversation resumes on a new connection and the peer says it has `n` of ours: what that
   * acknowledges, and the rest, to send again in order. A peer that has fewer than it already
   * acknowledged has lost what it had (ERR_BAD_MESSAGE), as has one claiming more than was sent.
   */
  resume(n: number): { delivered: string[]; resend: Buffer[] } {
    this.checkResume(n);
    const delivered = this.acknowledged(n);
    return { delivered, resend: this.#kept.map((kept) => kept.plaintext) };
  }

  /** Throws what resume(n) would, changing nothing: a claim is checked before it is acted on. */
  checkResume(n: number): void {
    const sent = this.#acked + this.#kept.length;
    if (n < this.#acked) throw chatError('ERR_BAD_MESSAGE', `peer resumed with ${n} of our messages; it had acknowledged ${this.#acked}`);
    if (n > sent) throw chatError('ERR_BAD_MESSAGE', `peer resumed with ${n} of our messages; ${sent} were sent`);
  }
}
