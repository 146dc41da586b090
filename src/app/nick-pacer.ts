// Our own nickname changes, held to one per interval: every receiver ignores renames that come
// faster than that (room.ts), so a change made too soon waits until it may go, and a later one
// takes its place. Peers thus always end up with the name we end up with, and the user is told when.

import type { Clock, Timer } from '../clock.js';

export interface NickPacerOptions {
  readonly clock: Clock;
  /** Least time between two changes that go out. */
  readonly intervalMs: number;
  /** Our nickname now. */
  readonly current: () => string;
  /** Make the change: tell the peers and whatever else knows our name. */
  readonly apply: (name: string) => void;
}

export class NickPacer {
  readonly #options: NickPacerOptions;
  #lastAt = -Infinity;
  #pending: string | undefined;
  #timer: Timer | undefined;

  constructor(options: NickPacerOptions) {
    this.#options = options;
  }

  /** The name waiting for its turn, if any. */
  get pending(): string | undefined {
    return this.#pending;
  }

  /**
   * Change to `name` (already sanitised) now if the interval allows, and return 0; else keep it
   * (in place of any name already waiting) and return the ms until it goes out. Asking for the
   * name we already have drops a waiting change and sends nothing.
   */
  request(name: string): number {
    const { clock, intervalMs } = this.#options;
    if (name === this.#options.current()) {
      this.cancel();
      return 0;
    }
    const wait = this.#lastAt + intervalMs - clock.now();
    if (wait <= 0) {
      this.cancel();
      this.#change(name);
      return 0;
    }
    this.#pending = name;
    this.#timer ??= clock.setTimeout(() => this.#due(), wait);
    return wait;
  }

  /** Forget a waiting change (quitting, or it was overtaken). */
  cancel(): void {
    this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#pending = undefined;
  }

  #due(): void {
    this.#timer = undefined;
    const name = this.#pending;
    this.#pending = undefined;
    if (name !== undefined && name !== this.#options.current()) this.#change(name);
  }

  #change(name: string): void {
    this.#lastAt = this.#options.clock.now();
    this.#options.apply(name);
  }
}
