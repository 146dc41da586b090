// What became of our chats at the members of a host we dialled, end to end: a host passes them
// on and reports (`reached`) which each member acknowledged, or, as it leaves, never got. Each
// chat waits here for every member that was in the host's conversation when we said it; one the
// host never confirms counts as not delivered to that member once it is gone. Pure: the room
// feeds it what it says and hears.

import type { PeerRef } from '../session/message-fields.js';

/** Our chats whose fate at one member is not known yet, most per member; older ones stop waiting. */
export const MAX_WAITING_PER_MEMBER = 10_000;
/**
 * The same across all members: a host may claim a thousand members and confirm nothing. Past it
 * each member a new chat waits on lets its oldest go (counted as not delivered).
 */
export const MAX_WAITING_TOTAL = 100_000;

/** Chats of ours that did not reach a peer (or have not yet), by peer. */
export interface Undelivered {
  readonly name: string;
  readonly fingerprint: string;
  readonly count: number;
}

interface Waiting {
  name: string;
  readonly ids: Set<string>;
  /** Said to it and reported missed (or forgotten past MAX_WAITING_PER_MEMBER). */
  missed: number;
}

export class MemberReceipts {
  readonly #waiting = new Map<string, Waiting>();
  /** Members gone with chats of ours they never confirmed. */
  readonly #gone = new Map<string, Undelivered>();
  /** Ids waiting, all members together. */
  #waitingCount = 0;

  /** We said chat `id`; the hosts we dialled pass it on to `members`. */
  said(id: string, members: readonly PeerRef[]): void {
    for (const { name, fingerprint } of members) {
      let entry = this.#waiting.get(fingerprint);
      if (!entry) {
        entry = { name, ids: new Set(), missed: 0 };
        this.#waiting.set(fingerprint, entry);
      }
      if (entry.ids.has(id)) continue;
      entry.ids.add(id);
      this.#waitingCount++;
      if (entry.ids.size > MAX_WAITING_PER_MEMBER || this.#waitingCount > MAX_WAITING_TOTAL) this.#letOldestGo(entry);
    }
  }

  #letOldestGo(entry: Waiting): void {
    entry.ids.delete(entry.ids.values().next().value!);
    entry.missed++;
    this.#waitingCount--;
  }

  /** A host says `to` acknowledged these; returns those that were waiting for it (each once). */
  reached(to: PeerRef, ids: readonly string[]): string[] {
    const entry = this.#waiting.get(to.fingerprint);
    if (!entry) return [];
    const confirmed = ids.filter((id) => entry.ids.delete(id));
    this.#waitingCount -= confirmed.length;
    this.#dropIfDone(to.fingerprint, entry);
    return confirmed;
  }

  /** A host says `to` never got these (it is leaving). */
  missed(to: PeerRef, ids: readonly string[]): void {
    const entry = this.#waiting.get(to.fingerprint);
    if (!entry) return;
    for (const id of ids) {
      if (!entry.ids.delete(id)) continue;
      entry.missed++;
      this.#waitingCount--;
    }
  }

  /**
   * `member` left the conversation (or its host did, taking it out of reach): what waited for it
   * never reached it. Returns how many, which the caller reports with the member's going.
   */
  gone(member: PeerRef): number {
    const entry = this.#waiting.get(member.fingerprint);
    if (!entry) return 0;
    this.#waiting.delete(member.fingerprint);
    this.#waitingCount -= entry.ids.size;
    const count = entry.ids.size + entry.missed;
    if (count > 0) {
      const before = this.#gone.get(member.fingerprint)?.count ?? 0;
      this.#gone.set(member.fingerprint, { name: member.name, fingerprint: member.fingerprint, count: before + count });
    }
    return count;
  }

  renamed(fingerprint: string, name: string): void {
    const entry = this.#waiting.get(fingerprint);
    if (entry) entry.name = name;
  }

  /** How many (chat, member) confirmations are still awaited. */
  get waiting(): number {
    return this.#waitingCount;
  }

  /** By member: chats gone unconfirmed, and those still waiting or reported missed. */
  undelivered(): Undelivered[] {
    const rows = new Map(this.#gone);
    for (const [fingerprint, entry] of this.#waiting) {
      const count = entry.ids.size + entry.missed + (rows.get(fingerprint)?.count ?? 0);
      if (count > 0) rows.set(fingerprint, { name: entry.name, fingerprint, count });
    }
    return [...rows.values()];
  }

  #dropIfDone(fingerprint: string, entry: Waiting): void {
    if (entry.ids.size === 0 && entry.missed === 0) this.#waiting.delete(fingerprint);
  }
}
