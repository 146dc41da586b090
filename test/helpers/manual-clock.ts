// A Clock that only moves when a test says so: advance(ms) runs every timer that falls due, in
// order of due time (then of scheduling), including timers those callbacks schedule, with now()
// reading each timer's due time while it runs. Unit tests of keepalive, deadlines, expiry and
// backoff use it instead of sleeping.

import type { Clock, Timer } from '../../src/clock.js';

interface Entry {
  readonly id: number;
  due: number;
  readonly callback: () => void;
  /** Repeat period for an interval; undefined for a one-shot timer. */
  readonly every: number | undefined;
}

class ManualTimer implements Timer {
  constructor(readonly id: number) {}
  unref(): this {
    return this;
  }
}

export class ManualClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, Entry>();

  constructor(start = 1_700_000_000_000) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(callback: () => void, ms: number): Timer {
    return this.#add(callback, ms, undefined);
  }

  setInterval(callback: () => void, ms: number): Timer {
    return this.#add(callback, ms, Math.max(1, ms));
  }

  clearTimeout(timer: Timer | undefined): void {
    if (timer instanceof ManualTimer) this.#timers.delete(timer.id);
  }

  clearInterval(timer: Timer | undefined): void {
    this.clearTimeout(timer);
  }

  /** Timers still pending. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Milliseconds until the next timer is due, or undefined when none is pending. */
  nextDueIn(): number | undefined {
    let first: number | undefined;
    for (const entry of this.#timers.values()) if (first === undefined || entry.due < first) first = entry.due;
    return first === undefined ? undefined : first - this.#now;
  }

  /** Move time forward by `ms`, running what falls due on the way. */
  advance(ms: number): void {
    const end = this.#now + ms;
    for (let guard = 0; guard < 100_000; guard++) {
      const next = this.#earliest();
      if (!next || next.due > end) break;
      this.#now = Math.max(this.#now, next.due);
      if (next.every === undefined) this.#timers.delete(next.id);
      else next.due += next.every;
      next.callback();
    }
    this.#now = end;
  }

  /**
   * Advance in steps of `stepMs`, letting promises and I/O callbacks run between steps, until
   * `done()` holds or `maxMs` of clock time has passed. For code that awaits between timers.
   */
  async advanceUntil(done: () => boolean, stepMs: number, maxMs: number): Promise<boolean> {
    for (let passed = 0; passed <= maxMs; passed += stepMs) {
      await new Promise((resolve) => setImmediate(resolve));
      if (done()) return true;
      this.advance(stepMs);
    }
    await new Promise((resolve) => setImmediate(resolve));
    return done();
  }

  #add(callback: () => void, ms: number, every: number | undefined): Timer {
    const id = this.#nextId++;
    this.#timers.set(id, { id, due: this.#now + Math.max(0, ms), callback, every });
    return new ManualTimer(id);
  }

  #earliest(): Entry | undefined {
    let first: Entry | undefined;
    for (const entry of this.#timers.values()) {
      if (!first || entry.due < first.due || (entry.due === first.due && entry.id < first.id)) first = entry;
    }
    return first;
  }
}
