// What became of chats end to end. As a host, we tell each chat's writer which of our other peers
// acknowledged it, or as they go never got it (`reached`); as a writer, we believe a host's
// `reached` for our own recent chats only, and count what each of its members confirmed
// (member-receipts.ts). With the peers gone with chats of ours unacknowledged, that is what a
// pipe's exit reports as undelivered. The room feeds it what it says and hears.

import type { PeerRef } from '../session/message-fields.js';
import type { Passed } from '../session/delivery.js';
import { sanitizeName } from '../session/sanitize.js';
import { MAX_REACHED_IDS, type DeliveryMessage } from '../session/delivery-messages.js';
import type { AppEvent } from './app-events.js';
import { MemberReceipts, type Undelivered } from './member-receipts.js';
import type { RoomPeer } from './room.js';

type Reached = Extract<DeliveryMessage, { type: 'reached' }>;

/** How many of our recent chat ids a host's delivery reports are checked against. */
const OWN_IDS_KEPT = 10_000;

export interface DeliveryReportsOptions {
  /** The room's peers as they are now: a chat's writer is looked for among them. */
  readonly peers: () => Iterable<RoomPeer>;
  readonly emit: (event: AppEvent) => void;
}

export class DeliveryReports {
  readonly #options: DeliveryReportsOptions;
  /** Our recent chats' ids: a host's `reached` is believed only for these. */
  readonly #ownIds = new Set<string>();
  /** Our chats at each member of a host we dialled: confirmed by the host's reports, or not. */
  readonly #receipts = new MemberReceipts();
  /** Peers that went with messages of ours unacknowledged, and how many, by fingerprint. */
  readonly #undelivered = new Map<string, Undelivered>();

  constructor(options: DeliveryReportsOptions) {
    this.#options = options;
  }

  /** We said chat `id`: a host's reports on it are believed. */
  said(id: string): void {
    this.#ownIds.add(id);
    if (this.#ownIds.size > OWN_IDS_KEPT) this.#ownIds.delete(this.#ownIds.values().next().value!);
  }

  /** Chat `id` went to a host that reports its members' receipts: wait for each of `members`. */
  awaitReceipts(id: string, members: readonly PeerRef[]): void {
    this.#receipts.said(id, members);
  }

  /**
   * Host: tell the writers of chats we passed on to `to` that it acknowledged them, or (`missed`,
   * as it goes) never got them; a writer no longer here is not told.
   */
  passed(to: RoomPeer, passed: readonly Passed[], missed: boolean): void {
    const byOrigin = new Map<string, string[]>();
    for (const { origin, id } of passed) {
      const ids = byOrigin.get(origin);
      if (ids) ids.push(id);
      else byOrigin.set(origin, [id]);
    }
    const ref = { name: to.name, fingerprint: to.fingerprint };
    for (const [origin, ids] of byOrigin) {
      const writer = this.#writer(origin, to);
      if (!writer) continue;
      for (let at = 0; at < ids.length; at += MAX_REACHED_IDS) {
        const chunk = ids.slice(at, at + MAX_REACHED_IDS);
        writer.session.send(missed ? { type: 'reached', to: ref, ids: [], missed: chunk } : { type: 'reached', to: ref, ids: chunk });
      }
    }
  }

  /** Writer: the host we dialled (named `via`) reports on our chats at one of its members. */
  reached(message: Reached, via: string): void {
    const to = { name: sanitizeName(message.to.name), fingerprint: message.to.fingerprint };
    // Counted first: a `delivered` may be what a pipe waiting for the last confirmation hears.
    const ids = message.ids.filter((id) => this.#ownIds.has(id));
    this.#receipts.reached(to, ids);
    this.#receipts.missed(to, (message.missed ?? []).filter((id) => this.#ownIds.has(id)));
    for (const id of ids) this.#options.emit({ type: 'delivered', id, peer: to.name, fingerprint: to.fingerprint, via });
  }

  /** `unacknowledged`: how many of our chats a member its host says is gone never confirmed. */
  memberGone(member: PeerRef): { unacknowledged?: number } {
    const count = this.#receipts.gone(member);
    return count > 0 ? { unacknowledged: count } : {};
  }

  memberRenamed(fingerprint: string, name: string): void {
    this.#receipts.renamed(fingerprint, name);
  }

  /**
   * `peer` left the room, its conversation closed, taking the members it hosted (`members`) out of
   * our reach. Returns how many of our chats it never acknowledged.
   */
  peerGone(peer: RoomPeer, members: readonly PeerRef[]): number {
    // What waited for its members' confirmation stays unconfirmed.
    for (const member of members) this.#receipts.gone(member);
    // What it never acknowledged it never got: kept for the count a pipe's exit reports.
    const unacknowledged = peer.session.unackedChats;
    if (unacknowledged > 0) {
      const before = this.#undelivered.get(peer.fingerprint)?.count ?? 0;
      this.#undelivered.set(peer.fingerprint, { name: peer.name, fingerprint: peer.fingerprint, count: before + unacknowledged });
    }
    // The writers of what we passed on to it hear what it never got, before they hear it went.
    this.passed(peer, peer.session.unackedPassed(), true);
    return unacknowledged;
  }

  /** Confirmations of our chats still awaited from the members of hosts we dialled. */
  get unconfirmed(): number {
    return this.#receipts.waiting;
  }

  /**
   * Chat messages of ours that never reached a peer: those gone with some unacknowledged, those
   * here still waiting, and those a host never confirmed to one of its members; by peer.
   */
  undelivered(): Undelivered[] {
    const rows = new Map(this.#undelivered);
    const add = ({ name, fingerprint, count }: Undelivered) => rows.set(fingerprint, { name, fingerprint, count: count + (rows.get(fingerprint)?.count ?? 0) });
    for (const m of this.#options.peers()) if (m.session.unackedChats > 0) add({ name: m.name, fingerprint: m.fingerprint, count: m.session.unackedChats });
    for (const row of this.#receipts.undelivered()) add(row);
    return [...rows.values()];
  }

  /** The peer that dialled us with key `fingerprint` (other than `to`): a chat's writer. */
  #writer(fingerprint: string, to: RoomPeer): RoomPeer | undefined {
    for (const m of this.#options.peers()) if (m.fingerprint === fingerprint && m.direction === 'incoming' && m !== to) return m;
    return undefined;
  }
}
