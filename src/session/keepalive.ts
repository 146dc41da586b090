// Keepalive as a pure clock-driven state: the driver reports traffic and asks what to do at a
// given time. Pings keep idle NAT mappings open; silence past the timeout means the peer is gone.

export interface KeepaliveOptions {
  /** Ping after this long without sending anything. */
  readonly intervalMs: number;
  /** Declare the peer lost after this long without receiving anything. */
  readonly timeoutMs: number;
}

export type KeepaliveAction = 'none' | 'ping' | 'timeout';

export class Keepalive {
  readonly #options: KeepaliveOptions;
  #lastSent: number;
  #lastReceived: number;

  constructor(options: KeepaliveOptions, now: number) {
    this.#options = options;
    this.#lastSent = now;
    this.#lastReceived = now;
  }

  sent(now: number): void {
    this.#lastSent = now;
  }

  received(now: number): void {
    this.#lastReceived = now;
  }

  /** What is due at `now`. A `ping` answer counts as sending. */
  poll(now: number): KeepaliveAction {
    if (now - this.#lastReceived >= this.#options.timeoutMs) return 'timeout';
    if (now - this.#lastSent >= this.#options.intervalMs) {
      this.#lastSent = now;
      return 'ping';
    }
    return 'none';
  }

  /** Milliseconds until the next poll could return something other than `none`. */
  nextDueIn(now: number): number {
    const untilPing = this.#lastSent + this.#options.intervalMs - now;
    const untilTimeout = this.#lastReceived + this.#options.timeoutMs - now;
    return Math.max(0, Math.min(untilPing, untilTimeout));
  }
}
