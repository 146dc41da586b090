// A token bucket, for bytes or requests over time (a relayed session's direction, a relay control
// connection's requests, what a host forwards for one peer): units are let through at once and
// paid for afterwards, so a chunk larger than the bucket never stalls forever; the debt tells the
// caller how long to wait. Pure: the time is passed in.

export class TokenBucket {
  readonly #rate: number;
  readonly #capacity: number;
  #tokens: number;
  #updatedAt: number;

  /**
   * `perSec` > 0. `burst` (default: one second's worth) is how much may pass at once after a
   * quiet spell.
   */
  constructor(perSec: number, now: number, burst = perSec) {
    if (!(perSec > 0)) throw new RangeError(`a token bucket needs a positive rate, got ${perSec}`);
    this.#rate = perSec;
    this.#capacity = Math.max(1, burst);
    this.#tokens = this.#capacity;
    this.#updatedAt = now;
  }

  /** Spend `units`; returns how many ms to wait before sending more (0 = carry on). */
  take(units: number, now: number): number {
    this.#refill(now);
    this.#tokens -= units;
    return this.#tokens >= 0 ? 0 : Math.ceil((-this.#tokens / this.#rate) * 1000);
  }

  /** Tokens available now (negative while in debt). */
  available(now: number): number {
    this.#refill(now);
    return this.#tokens;
  }

  #refill(now: number): void {
    const elapsed = Math.max(0, now - this.#updatedAt);
    this.#updatedAt = now;
    this.#tokens = Math.min(this.#capacity, this.#tokens + (elapsed * this.#rate) / 1000);
  }
}
