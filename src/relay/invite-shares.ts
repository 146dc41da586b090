// How one peer's invitation slots (sessions waiting to reach its key) are shared among those who
// dial it: a few per dialling key and per dialling address; when every slot is taken, a dialler
// holding fewer takes the oldest slot of the address holding the most; and an invitation its
// dialler never completed counts against the dialler's address, at that peer, for a while. Pure
// counting, with the time passed in: RelaySessions asks before issuing tokens and reports outcomes.

export interface InviteShareLimits {
  /** Slots per dialled key, whoever dials it. */
  readonly maxPendingInvitesPerKey: number;
  /** Of one dialled key's slots, how many one dialling key may hold. */
  readonly maxInvitesFromOneKey: number;
  /** ...and one dialling address, counting its unanswered invitations of the last penalty period. */
  readonly maxInvitesFromOneIp: number;
  /** How long an invitation its dialler never completed counts against the dialler's address; 0 = not at all. */
  readonly unansweredInvitePenaltyMs: number;
}

/** One slot held, from hold() to settle(). */
export interface Invitation {
  /** The caller's name for it (RelaySessions: the session id), handed back when it is evicted. */
  readonly id: number;
  readonly target: string;
  readonly key: string;
  readonly ip: string;
  settled: boolean;
}

/** How an invitation ended: only one its dialler left unanswered is held against the address. */
export type InviteOutcome = 'opened' | 'unanswered' | 'cancelled';

export type ShareVerdict =
  | { readonly ok: true; readonly evict?: Invitation }
  | { readonly ok: false; readonly why: string };

interface Slots {
  /** In the order they were issued, oldest first. */
  readonly held: Set<Invitation>;
  readonly byKey: Map<string, number>;
  readonly byIp: Map<string, number>;
}

interface Strike {
  readonly id: string;
  readonly until: number;
}

export class InviteShares {
  readonly #limits: InviteShareLimits;
  readonly #targets = new Map<string, Slots>();
  /** Unanswered invitations still held against an address at a target, by strikeId(). */
  readonly #strikes = new Map<string, number>();
  /** The same strikes in the order they lapse (one penalty period for all: the order they came). */
  #lapses: Strike[] = [];
  #lapsed = 0;

  constructor(limits: InviteShareLimits) {
    this.#limits = limits;
  }

  /**
   * May `dialler` have another slot at `target`? If so, `evict` (when given) is an invitation the
   * caller must cancel first, to make room. If not, why, in one line for the dialler.
   */
  admit(dialler: { key: string; ip: string }, target: string, now: number): ShareVerdict {
    const { maxPendingInvitesPerKey, maxInvitesFromOneKey, maxInvitesFromOneIp, unansweredInvitePenaltyMs } = this.#limits;
    this.#lapse(now);
    const slots = this.#targets.get(target);
    if ((slots?.byKey.get(dialler.key) ?? 0) >= maxInvitesFromOneKey) {
      return { ok: false, why: `too many of your sessions waiting to reach that peer (${maxInvitesFromOneKey}); try later` };
    }
    const pending = slots?.byIp.get(dialler.ip) ?? 0;
    const strikes = this.#strikes.get(strikeId(dialler.ip, target)) ?? 0;
    if (pending + strikes >= maxInvitesFromOneIp) {
      const unanswered = strikes > 0 ? `, ${strikes} of them unanswered in the last ${unansweredInvitePenaltyMs / 1000} s` : '';
      return { ok: false, why: `too many sessions from ${dialler.ip} waiting to reach that peer (${maxInvitesFromOneIp}${unanswered}); try later` };
    }
    if (!slots || slots.held.size < maxPendingInvitesPerKey) return { ok: true };
    const evict = this.#biggestHoldersOldest(slots, pending);
    if (evict) return { ok: true, evict };
    return { ok: false, why: `too many sessions waiting to reach that peer (${maxPendingInvitesPerKey}); try later` };
  }

  /** Take a slot for `dialler` at `target` (after admit() said yes, and any eviction is done). */
  hold(dialler: { key: string; ip: string }, target: string, id: number): Invitation {
    let slots = this.#targets.get(target);
    if (!slots) this.#targets.set(target, (slots = { held: new Set(), byKey: new Map(), byIp: new Map() }));
    const invitation: Invitation = { id, target, key: dialler.key, ip: dialler.ip, settled: false };
    slots.held.add(invitation);
    bump(slots.byKey, invitation.key, 1);
    bump(slots.byIp, invitation.ip, 1);
    return invitation;
  }

  /** The invitation is over: its slot is free, and if unanswered it counts against its address for a while. Idempotent. */
  settle(invitation: Invitation, outcome: InviteOutcome, now: number): void {
    if (invitation.settled) return;
    invitation.settled = true;
    const slots = this.#targets.get(invitation.target);
    if (slots?.held.delete(invitation)) {
      bump(slots.byKey, invitation.key, -1);
      bump(slots.byIp, invitation.ip, -1);
      if (slots.held.size === 0) this.#targets.delete(invitation.target);
    }
    const penaltyMs = this.#limits.unansweredInvitePenaltyMs;
    if (outcome !== 'unanswered' || penaltyMs <= 0) return;
    const id = strikeId(invitation.ip, invitation.target);
    bump(this.#strikes, id, 1);
    this.#lapses.push({ id, until: now + penaltyMs });
  }

  /** What one address holds at one target, for tests and stats. */
  usage(ip: string, target: string, now: number): { pending: number; unanswered: number } {
    this.#lapse(now);
    return { pending: this.#targets.get(target)?.byIp.get(ip) ?? 0, unanswered: this.#strikes.get(strikeId(ip, target)) ?? 0 };
  }

  /**
   * The oldest invitation of the address holding the most slots, if that address holds at least
   * two more than the newcomer's (`pending`): taking one then narrows the gap, never swaps it.
   */
  #biggestHoldersOldest(slots: Slots, pending: number): Invitation | undefined {
    let most = 0;
    for (const n of slots.byIp.values()) most = Math.max(most, n);
    if (most < pending + 2) return undefined;
    for (const invitation of slots.held) if (slots.byIp.get(invitation.ip) === most) return invitation;
    return undefined;
  }

  /** Forget the strikes whose time is up. */
  #lapse(now: number): void {
    const lapses = this.#lapses;
    while (this.#lapsed < lapses.length && lapses[this.#lapsed]!.until <= now) {
      bump(this.#strikes, lapses[this.#lapsed]!.id, -1);
      this.#lapsed++;
    }
    if (this.#lapsed > 1024 && this.#lapsed * 2 > lapses.length) {
      this.#lapses = lapses.slice(this.#lapsed);
      this.#lapsed = 0;
    }
  }
}

function strikeId(ip: string, target: string): string {
  return `${ip} ${target}`;
}

/** Add `by` to a count, forgetting it at zero. */
function bump(map: Map<string, number>, id: string, by: number): void {
  const n = (map.get(id) ?? 0) + by;
  if (n > 0) map.set(id, n);
  else map.delete(id);
}
