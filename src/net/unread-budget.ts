// What all udx streams together may hold unread. Each stream is capped on its own
// (UDX_MAX_BUFFERED_BYTES), but a listener takes hundreds of peers, and a stream's unread bytes
// are in our memory, not in a kernel buffer with a window the sender must respect: past the
// budget, the stream holding the most is cut off, whichever chunk tipped it over. Pure
// bookkeeping: the holder decides how to cut.

export interface BudgetHolder {
  /** Told it holds the most of an exceeded budget: it drops what it holds and ends. */
  cutOff(total: number, budget: number): void;
}

export class UnreadBudget {
  readonly #budget: number;
  readonly #held = new Map<BudgetHolder, number>();
  #total = 0;

  constructor(budget: number) {
    this.#budget = budget;
  }

  get total(): number {
    return this.#total;
  }

  /** `holder` now holds `bytes` more; past the budget, the largest holder is cut off. */
  add(holder: BudgetHolder, bytes: number): void {
    this.#held.set(holder, (this.#held.get(holder) ?? 0) + bytes);
    this.#total += bytes;
    if (this.#total <= this.#budget) return;
    let largest = holder;
    for (const [h, n] of this.#held) if (n > this.#held.get(largest)!) largest = h;
    const total = this.#total;
    this.forget(largest);
    largest.cutOff(total, this.#budget);
  }

  /** `holder` handed `bytes` to its reader. */
  release(holder: BudgetHolder, bytes: number): void {
    const held = this.#held.get(holder);
    if (held === undefined) return;
    this.#total -= Math.min(bytes, held);
    if (held <= bytes) this.#held.delete(holder);
    else this.#held.set(holder, held - bytes);
  }

  /** `holder` dropped all it held. */
  forget(holder: BudgetHolder): void {
    this.#total -= this.#held.get(holder) ?? 0;
    this.#held.delete(holder);
  }
}
