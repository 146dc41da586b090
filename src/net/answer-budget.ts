// How many datagrams a UDP responder may send in answer: a budget per source address (an IPv6
// source by its /64) and one in all, each a rate with a burst. A source can be forged, so these
// bound what the responder can be made to send toward one victim and in all. Each budget is the one
// number of the generic cell rate algorithm: the time at which it would be full again; a source
// whose budget is full again is forgotten, so a flood of forged sources cannot grow memory. Pure:
// the time is passed in.

import { addressGroup } from './address.js';

export interface AnswerLimits {
  /** Answers a second toward one source address (or /64), after a burst of perGroupBurst. */
  readonly perGroupPerSec: number;
  readonly perGroupBurst: number;
  /** Answers a second in all, after a burst of totalBurst. */
  readonly totalPerSec: number;
  readonly totalBurst: number;
}

/** One budget's shape: what an answer costs, and how far ahead of now its fill time may run. */
interface Shape {
  readonly costMs: number;
  readonly aheadMs: number;
}

function shape(perSec: number, burst: number): Shape {
  if (!(perSec > 0) || !(burst >= 1)) throw new RangeError(`an answer budget needs a positive rate and burst, got ${perSec}/s, ${burst}`);
  return { costMs: 1000 / perSec, aheadMs: (1000 / perSec) * burst };
}

/** When a budget that would be full at `fullAt` would be full after one more answer; undefined past its burst. */
function fillTime(fullAt: number, now: number, { costMs, aheadMs }: Shape): number | undefined {
  const after = Math.max(fullAt, now) + costMs;
  // The margin keeps a rate that is no whole number of ms from losing the burst's last answer to rounding.
  return after - now <= aheadMs + 1e-6 ? after : undefined;
}

export class AnswerBudget {
  readonly #perGroup: Shape;
  readonly #total: Shape;
  /** When each budget would be full again; a time now or past means full. */
  readonly #groupFullAt = new Map<string, number>();
  #totalFullAt = 0;
  #sweepAt = 1024;

  constructor(limits: AnswerLimits) {
    this.#perGroup = shape(limits.perGroupPerSec, limits.perGroupBurst);
    this.#total = shape(limits.totalPerSec, limits.totalBurst);
  }

  /** Whether an answer to `host` fits its address's budget and the total; spends it from both if so. */
  admit(host: string, now: number): boolean {
    const total = fillTime(this.#totalFullAt, now, this.#total);
    if (total === undefined) return false;
    if (!this.admitProven(host, now)) return false;
    this.#totalFullAt = total;
    return true;
  }

  /**
   * The same within the address's budget alone, for an answer to a source that has shown it
   * receives ours (a confirm with a valid cookie): a flood from forged sources, which takes the
   * total, then cannot hold back a dialler that got through once.
   */
  admitProven(host: string, now: number): boolean {
    const group = addressGroup(host);
    const own = fillTime(this.#groupFullAt.get(group) ?? now, now, this.#perGroup);
    if (own === undefined) return false;
    this.#groupFullAt.set(group, own);
    if (this.#groupFullAt.size >= this.#sweepAt) this.#sweep(now);
    return true;
  }

  /** Source addresses whose budgets are held (not full again yet, or not swept). */
  get held(): number {
    return this.#groupFullAt.size;
  }

  /**
   * Forget the budgets that are full again. What is left was spent within one per-group burst's
   * time, which the total bounds; the next sweep waits until twice that many are held.
   */
  #sweep(now: number): void {
    for (const [group, fullAt] of this.#groupFullAt) if (fullAt <= now) this.#groupFullAt.delete(group);
    this.#sweepAt = Math.max(1024, 2 * this.#groupFullAt.size);
  }
}
