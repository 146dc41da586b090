// Time as one object passed down from the top (the CLI, a test): the current time and the timers.
// Nothing in src/ calls the global timers except SYSTEM_CLOCK below, so a test can hand any part
// a manual clock and drive keepalives, deadlines, expiries and backoff without sleeping.

/** A scheduled callback. `unref` lets the process exit while it is pending (as Node's timers). */
export interface Timer {
  unref(): unknown;
}

export interface Clock {
  /** Milliseconds since the epoch, as Date.now(). */
  now(): number;
  setTimeout(callback: () => void, ms: number): Timer;
  /** Cancels a pending timer; undefined or an expired one is ignored. */
  clearTimeout(timer: Timer | undefined): void;
  setInterval(callback: () => void, ms: number): Timer;
  clearInterval(timer: Timer | undefined): void;
}

/** The real clock: Node's global timers and Date.now. */
export const SYSTEM_CLOCK: Clock = Object.freeze({
  now: () => Date.now(),
  setTimeout: (callback: () => void, ms: number): Timer => setTimeout(callback, ms),
  clearTimeout: (timer: Timer | undefined) => clearTimeout(timer as NodeJS.Timeout | undefined),
  setInterval: (callback: () => void, ms: number): Timer => setInterval(callback, ms),
  clearInterval: (timer: Timer | undefined) => clearInterval(timer as NodeJS.Timeout | undefined),
});

/** A promise that resolves after `ms` on `clock` (the timer is unref'd: it keeps nothing alive). */
export function delay(clock: Clock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimeout(resolve, ms).unref());
}

/**
 * `promise`, or a rejection with `timedOut()` if `ms` pass on `clock` first. The timer is unref'd
 * and cleared once the promise settles.
 */
export function withDeadline<T>(promise: Promise<T>, ms: number, clock: Clock, timedOut: () => Error): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => reject(timedOut()), ms);
    timer.unref();
    promise.then(
      (value) => {
        clock.clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clock.clearTimeout(timer);
        reject(err);
      },
    );
  });
}
