// How long a peer waits before trying its relay again: a window that starts at the initial
// backoff and doubles up to the maximum, the wait drawn at random from its upper half ("equal
// jitter"), so many peers losing one relay do not all come back in the same millisecond, yet
// none comes back sooner than half the window. Pure: the random source is injectable.

export class RelayBackoff {
  readonly #initialMs: number;
  readonly #maxMs: number;
  readonly #random: () => number;
  #windowMs: number;

  constructor(initialMs: number, maxMs: number, random: () => number = Math.random) {
    this.#initialMs = initialMs;
    this.#maxMs = maxMs;
    this.#random = random;
    this.#windowMs = initialMs;
  }

  /** The wait before the next try (ms), from half the window to all of it; the window doubles. */
  next(): number {
    const window = this.#windowMs;
    this.#windowMs = Math.min(window * 2, this.#maxMs);
    return Math.round(window / 2 + this.#random() * (window / 2));
  }

  /** Connected: the next loss starts from the initial window again. */
  reset(): void {
    this.#windowMs = this.#initialMs;
  }
}
