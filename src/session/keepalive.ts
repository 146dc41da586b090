// Keepalive as a pure clock-driven state: the driver reports what arrives and asks what to do at a
// given time. Liveness is judged on inbound traffic alone: when nothing has arrived for a while we
// ping, and the peer is lost only if nothing (the pong or anything else) arrives in answer.

export interface KeepaliveOptions {
  /** Ping after this long with nothing received from the peer (at most half of timeoutMs). */
  readonly intervalMs: number;
  /** Declare the peer lost after this long with nothing received, a ping having gone unanswered. */
  readonly timeoutMs: number;
}

export type KeepaliveAction = 'none' | 'ping' | 'timeout';

export class Keepalive {
  /** Silence before we ping: the interval, or half the timeout if sooner, so a ping has time to be answered. */
  readonly #pingAfterMs: number;
  /** How long a ping waits for anything to arrive. */
  readonly #answerMs: number;
  #lastReceived: number;
  /** When we pinged, if nothing has arrived since. */
  #pinged: number | undefined;

  constructor(options: KeepaliveOptions, now: number) {
    this.#pingAfterMs = Math.min(options.intervalMs, Math.floor(options.timeoutMs / 2));
    this.#answerMs = options.timeoutMs - this.#pingAfterMs;
    this.#lastReceived = now;
  }

  /** Anything arrived from the peer: it is alive, and any ping counts as answered. */
  received(now: number): void {
    this.#lastReceived = now;
    this.#pinged = undefined;
  }

  /** What is due at `now`. A `ping` returned here counts as sent. */
  poll(now: number): KeepaliveAction {
    if (now >= this.#dueAt()) {
      if (this.#pinged !== undefined) return 'timeout';
      this.#pinged = now;
      return 'ping';
    }
    return 'none';
  }

  /** Milliseconds until the next poll could return something other than `none`. */
  nextDueIn(now: number): number {
    return Math.max(0, this.#dueAt() - now);
  }

  /** The ping's time, or once it is out, the end of its wait for an answer. */
  #dueAt(): number {
    return this.#pinged === undefined ? this.#lastReceived + this.#pingAfterMs : this.#pinged + this.#answerMs;
  }
}
