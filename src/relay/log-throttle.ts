// Keeps one noisy source from flooding the relay's log: at most one line per interval, and the
// line that does pass says how many were held back since the last. Pure: the clock is passed in.

export class LogThrottle {
  readonly #intervalMs: number;
  #lastAt: number | undefined;
  #held = 0;

  /** `intervalMs` 0 lets every line through. */
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /**
   * A line wants out at `now`. Returns how many lines were held back before it when it may be
   * logged, or undefined when it is held back itself.
   */
  pass(now: number): number | undefined {
    if (this.#lastAt !== undefined && now - this.#lastAt < this.#intervalMs) {
      this.#held++;
      return undefined;
    }
    const held = this.#held;
    this.#lastAt = now;
    this.#held = 0;
    return held;
  }
}
