// The tickets a udx listener answers rendezvous requests with, held nowhere: the stream id L and
// the cookie c of an accept are an HMAC, under a secret of the listener's, of who asked (source
// address and port, the dialler's stream id) and the time slot, so a confirm is checked by working
// them out again, as TCP's SYN cookies are. Pure: the clock and the secret are given. Why forged
// sources then make the listener hold nothing: docs/protocol.md, section 15.

import { createHmac, randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { plainHost } from './address.js';
import { streamIdFor } from './udx-runtime.js';

/** A ticket is good in the slot it was issued in and the next one: for 10 to 20 s. */
export const COOKIE_SLOT_MS = 10_000;

/** Who asked: where the datagram came from, and the dialler's stream id in it. */
export interface RendezvousAsker {
  readonly host: string;
  readonly port: number;
  readonly dialerId: number;
}

/** What an accept names and a confirm repeats. */
export interface RendezvousTicket {
  readonly listenerId: number;
  readonly cookie: number;
}

export class RendezvousCookies {
  readonly #clock: Pick<Clock, 'now'>;
  readonly #secret: Uint8Array;

  /** `secret` (random by default, 32 bytes) is the listener's alone and never sent. */
  constructor(clock: Pick<Clock, 'now'>, secret: Uint8Array = randomBytes(32)) {
    this.#clock = clock;
    this.#secret = secret;
  }

  /** The slot now: the ticket issued now belongs to it. */
  slot(): number {
    return Math.floor(this.#clock.now() / COOKIE_SLOT_MS);
  }

  /** The ticket for `asker` in the current slot: the same one however often it asks in the slot. */
  issue(asker: RendezvousAsker): RendezvousTicket {
    return this.ticket(asker, this.slot());
  }

  /**
   * The slot `ticket` was issued to `asker` in, when that is the current slot or the one before
   * (so a confirm just after a boundary counts); undefined for any other ticket.
   */
  check(asker: RendezvousAsker, ticket: RendezvousTicket): number | undefined {
    const now = this.slot();
    for (const slot of [now, now - 1]) {
      const expected = this.ticket(asker, slot);
      if (expected.cookie === ticket.cookie && expected.listenerId === ticket.listenerId) return slot;
    }
    return undefined;
  }

  /** The ticket of `asker` in `slot`: the HMAC's first 32 bits are the cookie, the next name L. */
  ticket(asker: RendezvousAsker, slot: number): RendezvousTicket {
    const fixed = Buffer.alloc(10);
    fixed.writeUInt32BE(slot >>> 0, 0);
    fixed.writeUInt16BE(asker.port, 4);
    fixed.writeUInt32BE(asker.dialerId, 6);
    const mac = createHmac('sha256', this.#secret).update(fixed).update(plainHost(asker.host)).digest();
    return { cookie: mac.readUInt32BE(0), listenerId: streamIdFor(mac.readUInt32BE(4)) };
  }
}
