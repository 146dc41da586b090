// A token bucket for one direction of a relayed session: bytes are let through at once and paid
// for afterwards, so a chunk larger than the bucket never stalls forever; the debt tells the
// caller how long to stop reading. Pure: the clock is passed in.

export class TokenBucket {
  readonly #rate: number;
  readonly #capacity: number;
  #tokens: number;
  #updatedAt: number;

  /**
   * `bytesPerSec` > 0. `burstBytes` (default: one second's worth) is how much may pass at once
   * after a quiet spell.
   */
  constructor(bytesPerSec: number, now: number, burstBytes = bytesPerSec) {
    if (!(bytesPerSec > 0)) throw new RangeError(`a token bucket needs a positive rate, got ${bytesPerSec}`);
    this.#rate = bytesPerSec;
    this.#capacity = Math.max(1, burstBytes);
    this.#tokens = this.#capacity;
    this.#updatedAt = now;
  }

  /** Spend `bytes`; returns how many ms to wait before sending more (0 = carry on). */
  take(bytes: number, now: number): number {
    this.#refill(now);
    this.#tokens -= bytes;
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
