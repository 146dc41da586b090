// The relay's answer to endpoint probes (net/endpoint-probe.ts) on its UDP port: each probe gets a
// `seen` of the same size naming the address and port it came from, within a budget per source
// address and one in all. A source can be forged, so the budgets bound what the relay can be made
// to send toward one victim and in all; past them a probe is dropped without a word.

import type { Clock } from '../clock.js';
import { AnswerBudget } from '../net/answer-budget.js';
import type { DatagramPort, DatagramSource } from '../net/datagram-port.js';
import { decodeEndpointDatagram, encodeEndpointDatagram } from '../net/endpoint-probe.js';

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
}

export const REFLECTOR_LIMITS: ReflectorLimits = Object.freeze({
  perAddressPerSec: 8,
  perAddressBurst: 16,
  totalPerSec: 2_000,
  totalBurst: 4_000,
});

export class EndpointReflector {
  readonly #port: DatagramPort;
  readonly #clock: Clock;
  /** What it may send, per source and in all (a budget full again is forgotten: forged sources cannot grow it). */
  readonly #budget: AnswerBudget;
  readonly #stop: () => void;
  #answered = 0;
  #dropped = 0;

  constructor(port: DatagramPort, clock: Clock, limits: Partial<ReflectorLimits> = {}) {
    this.#port = port;
    this.#clock = clock;
    const { perAddressPerSec, perAddressBurst, totalPerSec, totalBurst } = { ...REFLECTOR_LIMITS, ...limits };
    this.#budget = new AnswerBudget({ perGroupPerSec: perAddressPerSec, perGroupBurst: perAddressBurst, totalPerSec, totalBurst });
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
    if (!this.#budget.admit(from.host, now)) {
      this.#dropped++;
      return;
    }
    this.#answered++;
    this.#port.send(encodeEndpointDatagram({ type: 'seen', nonce: probe.nonce, host: from.host, port: from.port }), from.port, from.host);
  }

  /** Source addresses whose budgets it holds now. */
  get held(): number {
    return this.#budget.held;
  }
}
