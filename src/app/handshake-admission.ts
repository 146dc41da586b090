// Which unauthenticated connections a listener keeps while strangers flood it. Handshakes have a
// budget of their own, and each address may hold only a few of them; a newcomer past either
// limit evicts the handshake that has waited longest rather than being refused, so a flood mostly
// churns its own connections. Established peers are never in here. Pure: the caller destroys
// what it is told to and logs the lines it is given, at most one per address per interval.

import type { Clock } from '../clock.js';
import { KeyedLogThrottle } from '../log-throttle.js';

export interface AdmissionLimits {
  /** Most connections in their handshake at once, from every address together. */
  readonly maxHandshakes: number;
  /** Most connections in their handshake at once from one address. */
  readonly maxHandshakesPerIp: number;
  /** Most peers connected at once (checked by the caller; named here in its lines). */
  readonly maxPeers: number;
  /** At most one line per address per this many ms about what was cut off or refused. */
  readonly refusalLogIntervalMs: number;
}

/** Which limit turned a connection away. */
export type AdmissionLimit = 'handshakes-per-ip' | 'handshakes' | 'peers';

/** A line to log about an address: what it met, and how many more were held back. */
export interface RefusalLine {
  readonly ip: string;
  /** The limit met now; undefined for a line that only counts the ones held back. */
  readonly limit: AdmissionLimit | undefined;
  /** Lines held back for this address since its last one. */
  readonly held: number;
  /** The words, naming the limit. */
  readonly message: string;
}

export interface Admitted<T> {
  /** Handshakes to destroy now to make room for the newcomer (their slots are already free). */
  readonly evicted: readonly T[];
  readonly lines: readonly RefusalLine[];
}

export class HandshakeAdmission<T> {
  readonly #limits: AdmissionLimits;
  readonly #clock: Clock;
  /** Handshakes in order of admission (the oldest first), with their address. */
  readonly #handshakes = new Map<T, string>();
  /** The same per address, each in order of admission. */
  readonly #byIp = new Map<string, Set<T>>();
  readonly #log: KeyedLogThrottle<string>;

  constructor(limits: AdmissionLimits, clock: Clock) {
    this.#limits = limits;
    this.#clock = clock;
    this.#log = new KeyedLogThrottle(limits.refusalLogIntervalMs);
  }

  /** Connections in their handshake. */
  get size(): number {
    return this.#handshakes.size;
  }

  /** How many handshakes `ip` holds. */
  heldBy(ip: string): number {
    return this.#byIp.get(ip)?.size ?? 0;
  }

  /**
   * A new connection from `ip` starts its handshake. At the per-address cap, the oldest handshake
   * of that address makes way for it; at the total budget, the oldest of the address holding the
   * most (a stranger from an address of its own is cut off only when every address holds one).
   */
  admit(item: T, ip: string): Admitted<T> {
    let limit: AdmissionLimit | undefined;
    if (this.heldBy(ip) >= this.#limits.maxHandshakesPerIp) limit = 'handshakes-per-ip';
    else if (this.#handshakes.size >= this.#limits.maxHandshakes) limit = 'handshakes';
    const evicted: T[] = [];
    const lines: RefusalLine[] = [];
    if (limit !== undefined) {
      const victimIp = limit === 'handshakes-per-ip' ? ip : this.#busiestIp();
      const victim = this.#byIp.get(victimIp)!.values().next().value as T;
      this.done(victim);
      evicted.push(victim);
      lines.push(...this.#line(victimIp, limit));
    }
    this.#handshakes.set(item, ip);
    let own = this.#byIp.get(ip);
    if (!own) this.#byIp.set(ip, (own = new Set()));
    own.add(item);
    return { evicted, lines: [...lines, ...this.#sweep()] };
  }

  /** A connection from `ip` was refused outright, for `limit`: the lines to log now. */
  refused(ip: string, limit: AdmissionLimit): RefusalLine[] {
    return [...this.#line(ip, limit), ...this.#sweep()];
  }

  /** The handshake ended (the peer is in, or the connection closed); unknown items are ignored. */
  done(item: T): void {
    const ip = this.#handshakes.get(item);
    if (ip === undefined) return;
    this.#handshakes.delete(item);
    const own = this.#byIp.get(ip)!;
    own.delete(item);
    if (own.size === 0) this.#byIp.delete(ip);
  }

  /** The address holding the most handshakes; of several, the one whose oldest is oldest. */
  #busiestIp(): string {
    let busiest = '';
    let most = 0;
    // Oldest first: of addresses holding as many, the first seen keeps the place.
    for (const ip of this.#handshakes.values()) {
      const n = this.#byIp.get(ip)!.size;
      if (n > most) [busiest, most] = [ip, n];
    }
    return busiest;
  }

  #line(ip: string, limit: AdmissionLimit): RefusalLine[] {
    const held = this.#log.pass(ip, this.#clock.now());
    if (held === undefined) return [];
    const more = held > 0 ? ` (and ${held} more since the last line)` : '';
    const message = `${this.#describe(ip, limit)}${more}; more from ${ip} are logged at most once in ${this.#interval()}`;
    return [{ ip, limit, held, message }];
  }

  /** Lines counting what was held back for addresses whose interval is over. */
  #sweep(): RefusalLine[] {
    return this.#log.sweep(this.#clock.now()).map(({ key: ip, held }) => ({
      ip,
      limit: undefined,
      held,
      message: `${held} more connections from ${ip} were cut off or refused in the ${this.#interval()} after the last line`,
    }));
  }

  #describe(ip: string, limit: AdmissionLimit): string {
    const { maxHandshakesPerIp, maxHandshakes, maxPeers } = this.#limits;
    switch (limit) {
      case 'handshakes-per-ip':
        return `handshake cut off: ${ip} had ${handshakes(maxHandshakesPerIp)} in progress, the most one address may hold`;
      case 'handshakes':
        return `handshake cut off: ${handshakes(maxHandshakes)} were in progress, the most the listener holds, and ${ip} held the most`;
      case 'peers':
        return `connection refused: ${maxPeers} peers are connected, the most the listener takes`;
    }
  }

  #interval(): string {
    return `${this.#limits.refusalLogIntervalMs / 1000} s`;
  }
}

function handshakes(n: number): string {
  return n === 1 ? '1 handshake' : `${n} handshakes`;
}
