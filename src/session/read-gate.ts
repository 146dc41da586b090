// When to read from a peer's stream: reading stops while anyone holds it (a file receiver waiting
// for the disk) or while our own writes to that peer cannot drain, and resumes once neither holds.
// What the peer sends meanwhile waits in the transport (for TCP, the kernel's buffers, and flow
// control holds back the rest).

/** The part of a stream the gate drives. */
export interface Pausable {
  pause(): void;
  resume(): void;
}

export class ReadGate {
  readonly #stream: Pausable;
  /** Whoever asked to stop reading (see hold). */
  readonly #holders = new Set<object>();
  #pausedForDrain = false;

  constructor(stream: Pausable) {
    this.#stream = stream;
  }

  /** Someone of ours chose to stop reading (not the peer's failure to read our writes). */
  get held(): boolean {
    return this.#holders.size > 0;
  }

  /** Stop reading until `holder` calls release(); holding twice is holding once. */
  hold(holder: object): void {
    if (this.#holders.has(holder)) return;
    this.#holders.add(holder);
    this.#update();
  }

  release(holder: object): void {
    if (this.#holders.delete(holder)) this.#update();
  }

  /**
   * Our writes to the peer are queued past the high-water mark (it is not reading): stop reading
   * from it too until they drain, so a peer flooding pings cannot make us queue pongs without bound.
   */
  writesBlocked(): void {
    if (this.#pausedForDrain) return;
    this.#pausedForDrain = true;
    this.#update();
  }

  writesDrained(): void {
    if (!this.#pausedForDrain) return;
    this.#pausedForDrain = false;
    this.#update();
  }

  #update(): void {
    if (this.#pausedForDrain || this.#holders.size > 0) this.#stream.pause();
    else this.#stream.resume();
  }
}
