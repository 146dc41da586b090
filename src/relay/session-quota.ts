// Each dialler's share of the relay's sessions: how many relayed sessions one key and one IP
// address have dialled, counting those still waiting for their data connections apart from the
// total. (How the sessions waiting to reach one peer are shared is invite-shares.ts.) Pure
// counting; RelaySessions asks before issuing tokens and reports each session's life.

export interface SessionQuotaLimits {
  readonly maxSessionsPerKey: number;
  readonly maxPendingSessionsPerKey: number;
  readonly maxSessionsPerIp: number;
  readonly maxPendingSessionsPerIp: number;
}

/** Who dialled a session: the key its control connection proved, and the address it came from. */
export interface Dialler {
  readonly key: string;
  readonly ip: string;
}

/** One session's hold on its dialler's quota, from reserve() to release(). */
export interface QuotaTicket {
  readonly dialler: Dialler;
  pending: boolean;
  released: boolean;
}

interface Counts {
  total: number;
  pending: number;
}

export class SessionQuota {
  readonly #limits: SessionQuotaLimits;
  readonly #byKey = new Map<string, Counts>();
  readonly #byIp = new Map<string, Counts>();

  constructor(limits: SessionQuotaLimits) {
    this.#limits = limits;
  }

  /** Why `dialler` may not have another session (one line for the dialler), if it may not. */
  refuse(dialler: Dialler): string | undefined {
    const { maxSessionsPerKey, maxPendingSessionsPerKey, maxSessionsPerIp, maxPendingSessionsPerIp } = this.#limits;
    const key = this.#byKey.get(dialler.key);
    const ip = this.#byIp.get(dialler.ip);
    if ((ip?.pending ?? 0) >= maxPendingSessionsPerIp) {
      return `too many sessions from ${dialler.ip} waiting for their connections (${maxPendingSessionsPerIp}); try later`;
    }
    if ((ip?.total ?? 0) >= maxSessionsPerIp) {
      return `too many relayed sessions from ${dialler.ip} (${maxSessionsPerIp}); try later`;
    }
    if ((key?.pending ?? 0) >= maxPendingSessionsPerKey) {
      return `too many of your sessions waiting for their connections (${maxPendingSessionsPerKey}); try later`;
    }
    if ((key?.total ?? 0) >= maxSessionsPerKey) {
      return `too many relayed sessions for your key (${maxSessionsPerKey}); close one or try later`;
    }
    return undefined;
  }

  /** Count a new pending session for `dialler` (after refuse() said yes). */
  reserve(dialler: Dialler): QuotaTicket {
    for (const counts of this.#both(dialler, true)) {
      counts.total++;
      counts.pending++;
    }
    return { dialler, pending: true, released: false };
  }

  /** Its data connections both came: the session no longer counts as pending. */
  opened(ticket: QuotaTicket): void {
    if (ticket.released || !ticket.pending) return;
    ticket.pending = false;
    for (const counts of this.#both(ticket.dialler, false)) counts.pending--;
  }

  /** The session is over (expired, abandoned or closed); idempotent. */
  release(ticket: QuotaTicket): void {
    if (ticket.released) return;
    ticket.released = true;
    for (const counts of this.#both(ticket.dialler, false)) {
      counts.total--;
      if (ticket.pending) counts.pending--;
    }
    this.#forgetIfEmpty(this.#byKey, ticket.dialler.key);
    this.#forgetIfEmpty(this.#byIp, ticket.dialler.ip);
  }

  /** Sessions (open or pending) dialled by a key and from an address, for tests and stats. */
  usage(dialler: Dialler): { key: Counts; ip: Counts } {
    const none = { total: 0, pending: 0 };
    return { key: { ...(this.#byKey.get(dialler.key) ?? none) }, ip: { ...(this.#byIp.get(dialler.ip) ?? none) } };
  }

  #both(dialler: Dialler, create: boolean): Counts[] {
    const all = [counts(this.#byKey, dialler.key, create), counts(this.#byIp, dialler.ip, create)];
    return all.filter((c): c is Counts => c !== undefined);
  }

  #forgetIfEmpty(map: Map<string, Counts>, id: string): void {
    if (map.get(id)?.total === 0) map.delete(id);
  }
}

function counts(map: Map<string, Counts>, id: string, create: boolean): Counts | undefined {
  let c = map.get(id);
  if (!c && create) map.set(id, (c = { total: 0, pending: 0 }));
  return c;
}
