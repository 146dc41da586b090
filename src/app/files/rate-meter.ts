// Transfer speed and time left, from progress samples: the rate over roughly the last few seconds
// (so a stall shows at once), and the time left at that rate. Pure: the caller passes the clock.

/** Samples older than this no longer count toward the rate. */
const WINDOW_MS = 5_000;

export class RateMeter {
  readonly #samples: { at: number; bytes: number }[] = [];
  readonly startedAt: number;

  constructor(now: number, bytes = 0) {
    this.startedAt = now;
    this.#samples.push({ at: now, bytes });
  }

  /** Record progress (bytes carried so far); returns bytes per second over the window (0 until time has passed). */
  update(now: number, bytes: number): number {
    this.#samples.push({ at: now, bytes });
    while (this.#samples.length > 2 && now - this.#samples[1]!.at >= WINDOW_MS) this.#samples.shift();
    const first = this.#samples[0]!;
    const elapsed = now - first.at;
    return elapsed > 0 ? Math.max(0, ((bytes - first.bytes) * 1000) / elapsed) : 0;
  }
}

/** Whole seconds left at `bytesPerSecond`, or undefined when there is no rate yet. */
export function etaSeconds(remaining: number, bytesPerSecond: number): number | undefined {
  if (bytesPerSecond <= 0) return undefined;
  return Math.ceil(remaining / bytesPerSecond);
}
