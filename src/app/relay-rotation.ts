// Which relay of a peer's list (`--relay a,b,...`) it uses. A pass tries them in the order given,
// moving on at once past one that cannot be had; only when the whole list has failed does the
// peer wait (RelayBackoff) before the next pass, which starts from the first again, as does the
// pass after a connection in use is lost. A relay that fails its pinned key leaves the list. Pure.

/** What follows a failure: the next relay at once, or the end of the pass (the first is current again). */
export type RotationStep = 'next' | 'pass-over';

export class RelayRotation<T> {
  readonly #entries: T[];
  #index = 0;
  #current: T;

  constructor(entries: readonly T[]) {
    if (entries.length === 0) throw new RangeError('a relay list is never empty');
    this.#entries = [...entries];
    this.#current = this.#entries[0]!;
  }

  /** The relay in use or being tried; once none is left, the last one tried. */
  get current(): T {
    return this.#current;
  }

  /** The current relay is the last of the pass: after it, the peer waits. */
  get isLast(): boolean {
    return this.#index >= this.#entries.length - 1;
  }

  /** Relays still in the list. */
  get size(): number {
    return this.#entries.length;
  }

  /** The current relay could not be had: the next of this pass, or the end of it. */
  failed(): RotationStep {
    this.#index++;
    return this.#settle();
  }

  /** The current relay is never to be tried again: as failed(), or 'none-left' when it was the last. */
  drop(): RotationStep | 'none-left' {
    this.#entries.splice(this.#index, 1);
    if (this.#entries.length === 0) return 'none-left';
    return this.#settle();
  }

  /** The next pass starts from the first relay. */
  restart(): void {
    this.#index = 0;
    this.#current = this.#entries[0] ?? this.#current;
  }

  #settle(): RotationStep {
    if (this.#index < this.#entries.length) {
      this.#current = this.#entries[this.#index]!;
      return 'next';
    }
    this.restart();
    return 'pass-over';
  }
}
