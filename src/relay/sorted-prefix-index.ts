// A sorted set of strings that lists those starting with a prefix by binary search, so a prefix
// lookup among tens of thousands of registered peers examines only the entries it returns (plus
// one), never the whole set: no query can make it a CPU sink. Inserts and deletes move at most
// the array's tail, which for the relay's peer counts is a few microseconds.

export class SortedPrefixIndex {
  readonly #items: string[] = [];

  get size(): number {
    return this.#items.length;
  }

  add(item: string): void {
    const i = this.#lowerBound(item);
    if (this.#items[i] !== item) this.#items.splice(i, 0, item);
  }

  delete(item: string): void {
    const i = this.#lowerBound(item);
    if (this.#items[i] === item) this.#items.splice(i, 1);
  }

  /** The items starting with `prefix`, in order, at most `limit` of them. */
  withPrefix(prefix: string, limit: number): string[] {
    const found: string[] = [];
    for (let i = this.#lowerBound(prefix); i < this.#items.length && found.length < limit; i++) {
      const item = this.#items[i]!;
      if (!item.startsWith(prefix)) break;
      found.push(item);
    }
    return found;
  }

  /** Index of the first item not less than `key`. */
  #lowerBound(key: string): number {
    let lo = 0;
    let hi = this.#items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#items[mid]! < key) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }
}
