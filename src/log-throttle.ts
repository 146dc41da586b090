// Keeps one noisy source from flooding a log: at most one line per interval, and the line that
// does pass says how many were held back since the last. Per source (the relay's control
// connections) or per key (a listener's addresses). Pure: the time is passed in.

export class LogThrottle {
  readonly #intervalMs: number;
  #lastAt: number | undefined;
  #held = 0;

  /** `intervalMs` 0 lets every line through. */
  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Lines held back since the last one that passed. */
  get held(): number {
    return this.#held;
  }

  /** A line wanting out at `now` would pass. */
  isOpen(now: number): boolean {
    return this.#lastAt === undefined || now - this.#lastAt >= this.#intervalMs;
  }

  /**
   * A line wants out at `now`. Returns how many lines were held back before it when it may be
   * logged, or undefined when it is held back itself.
   */
  pass(now: number): number | undefined {
    if (!this.isOpen(now)) {
      this.#held++;
      return undefined;
    }
    const held = this.#held;
    this.#lastAt = now;
    this.#held = 0;
    return held;
  }
}

/**
 * A LogThrottle per key, for sources that come and go in any number (a flood from many
 * addresses). Keys whose interval is over are forgotten at each call, so the map holds only the
 * keys heard from within the last interval.
 */
export class KeyedLogThrottle<K> {
  readonly #intervalMs: number;
  /** In order of each key's last line, so the keys whose interval is over come first. */
  readonly #throttles = new Map<K, LogThrottle>();

  constructor(intervalMs: number) {
    this.#intervalMs = intervalMs;
  }

  /** Keys remembered (heard from within the last interval). */
  get size(): number {
    return this.#throttles.size;
  }

  /** As LogThrottle.pass, for the line of one key. */
  pass(key: K, now: number): number | undefined {
    const throttle = this.#throttles.get(key) ?? new LogThrottle(this.#intervalMs);
    const held = throttle.pass(now);
    if (held !== undefined) {
      this.#throttles.delete(key); // set again last: the map stays in order of lines
      this.#throttles.set(key, throttle);
    }
    return held;
  }

  /**
   * Forget the keys whose interval is over. Those that had lines held back are returned with how
   * many, for one last line that counts them; that line counts as the key's line for its interval.
   */
  sweep(now: number): Array<{ readonly key: K; readonly held: number }> {
    const counted: Array<{ key: K; held: number }> = [];
    for (const [key, throttle] of this.#throttles) {
      if (!throttle.isOpen(now)) break;
      this.#throttles.delete(key);
      if (throttle.held === 0) continue;
      counted.push({ key, held: throttle.held });
      const fresh = new LogThrottle(this.#intervalMs);
      fresh.pass(now);
      this.#throttles.set(key, fresh);
    }
    return counted;
  }
}
