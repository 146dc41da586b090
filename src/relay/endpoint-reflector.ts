// The relay's answer to endpoint probes (net/endpoint-probe.ts) on its UDP port: each probe gets a
// `seen` of the same size naming the address and port it came from, within a budget per source
// address and one in all. A source can be forged, so the budgets bound what the relay can be made
// to send toward one victim and in all; past them a probe is dropped without a word.

import type { Clock } from '../clock.js';
import { addressGroup } from '../net/address.js';
import type { DatagramPort, DatagramSource } from '../net/datagram-port.js';
import { decodeEndpointDatagram, encodeEndpointDatagram } from '../net/endpoint-probe.js';
import { TokenBucket } from '../session/token-bucket.js';

export interface ReflectorLimits {
  /**
   * Answers a second to one source address (an IPv6 source by its /64), after a burst. A peer
   * probes once per refresh (20 s) and a few times more when answers are lost, so a NAT with
   * a hundred peers behind it stays within; a victim of forged probes gets at most this.
   */
  readonly perAddressPerSec: number;
  readonly perAddressBurst: number;
  /** Answers a second from the whole relay, after a burst: 20,000 peers refreshing need 1,000. */
  readonly totalPerSec: number;
  readonly totalBurst: number;
  /**
   * Most source addresses whose budgets are held at once. Past it the older half is forgotten (a
   * flood of forged sources must not grow memory); the total budget still holds.
   */
  readonly maxAddresses: number;
}

export const REFLECTOR_LIMITS: ReflectorLimits = Object.freeze({
  perAddressPerSec: 8,
  perAddressBurst: 16,
  totalPerSec: 2_000,
  totalBurst: 4_000,
  maxAddresses: 65_536,
});

export class EndpointReflector {
  readonly #port: DatagramPort;
  readonly #clock: Clock;
  readonly #limits: ReflectorLimits;
  readonly #total: TokenBucket;
  /** Budgets used within the current window, and within the one before it. */
  #current = new Map<string, TokenBucket>();
  #previous = new Map<string, TokenBucket>();
  #windowStart: number;
  /** An emptied budget is full again after this long, so one untouched for it can be forgotten. */
  readonly #windowMs: number;
  readonly #stop: () => void;
  #answered = 0;
  #dropped = 0;

  constructor(port: DatagramPort, clock: Clock, limits: Partial<ReflectorLimits> = {}) {
    this.#port = port;
    this.#clock = clock;
    this.#limits = { ...REFLECTOR_LIMITS, ...limits };
    const now = clock.now();
    this.#total = new TokenBucket(this.#limits.totalPerSec, now, this.#limits.totalBurst);
    this.#windowStart = now;
    this.#windowMs = Math.ceil((1000 * this.#limits.perAddressBurst) / this.#limits.perAddressPerSec);
    this.#stop = port.onDatagram((bytes, from) => this.#onDatagram(bytes, from));
  }

  /** Probes answered so far. */
  get answered(): number {
    return this.#answered;
  }

  /** Probes dropped for a budget (malformed datagrams are not counted: they are not probes). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Stop answering (the socket is its owner's to close). */
  close(): void {
    this.#stop();
  }

  #onDatagram(bytes: Buffer, from: DatagramSource): void {
    const probe = decodeEndpointDatagram(bytes);
    if (probe?.type !== 'probe' || from.port === 0) return;
    const now = this.#clock.now();
    if (!this.#admit(addressGroup(from.host), now)) {
      this.#dropped++;
      return;
    }
    this.#answered++;
    this.#port.send(encodeEndpointDatagram({ type: 'seen', nonce: probe.nonce, host: from.host, port: from.port }), from.port, from.host);
  }

  /** Whether the source's budget and the total both have an answer left; spends it from both if so. */
  #admit(group: string, now: number): boolean {
    const budget = this.#budget(group, now);
    if (budget.available(now) < 1 || this.#total.available(now) < 1) return false;
    budget.take(1, now);
    this.#total.take(1, now);
    return true;
  }

  #budget(group: string, now: number): TokenBucket {
    if (now - this.#windowStart >= this.#windowMs || this.#current.size >= this.#limits.maxAddresses / 2) {
      // Past two windows both generations are stale: their budgets are full again.
      this.#previous = now - this.#windowStart >= 2 * this.#windowMs ? new Map() : this.#current;
      this.#current = new Map();
      this.#windowStart = now;
    }
    let budget = this.#current.get(group);
    if (budget === undefined) {
      budget = this.#previous.get(group) ?? new TokenBucket(this.#limits.perAddressPerSec, now, this.#limits.perAddressBurst);
      this.#previous.delete(group);
      this.#current.set(group, budget);
    }
    return budget;
  }
}
