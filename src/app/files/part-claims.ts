// Which partial files the transfers of this process are writing. Two transfers never write one at
// once: a live transfer holds its parts, and one that has ended holds them until the writes it had
// under way have landed, so that the next transfer of the same file reads the partial as it will
// stay (its size is where it resumes) and no late write lands in a file begun again.

export class PartClaims {
  readonly #live = new Set<string>();
  readonly #draining = new Map<string, Promise<void>>();

  /** Claim `parts` for a live transfer; false (nothing claimed) when a live transfer holds one. */
  claim(parts: readonly string[]): boolean {
    if (parts.some((p) => this.#live.has(p))) return false;
    for (const p of parts) this.#live.add(p);
    return true;
  }

  /**
   * The live transfer holding `parts` has ended; they are free for the next one at once, but
   * `settled` waits for `writes` (its last writes, however they end).
   */
  release(parts: readonly string[], writes: Promise<unknown>): void {
    for (const p of parts) {
      this.#live.delete(p);
      // After an earlier ended transfer's writes too: the one between may have written nothing.
      const done = Promise.allSettled([this.#draining.get(p), writes]).then(() => undefined);
      this.#draining.set(p, done);
      void done.then(() => {
        if (this.#draining.get(p) === done) this.#draining.delete(p);
      });
    }
  }

  /** Resolves once no ended transfer still writes any of `parts` (all parts, when omitted). */
  async settled(parts?: readonly string[]): Promise<void> {
    const pending = parts ? parts.map((p) => this.#draining.get(p)) : [...this.#draining.values()];
    await Promise.all(pending);
  }
}

/** The process's claims: every transfer of it writes into the same partial folders. */
export const PART_CLAIMS = new PartClaims();
