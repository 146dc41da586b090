// Flow control for file data: how many bytes may be sent and not yet acknowledged as written by
// the receiver. The window grows while acknowledgements come back as fast as the path's base
// delay allows, and shrinks when they queue up (a delay-based controller in the spirit of LEDBAT),
// so a file never fills the path's buffers and a chat message sent meanwhile is never stuck
// behind seconds of file data. Pure: the caller supplies the clock readings.

export interface SendWindowOptions {
  /** Window before the first acknowledgement. */
  readonly initialBytes: number;
  readonly minBytes: number;
  /** Also bounds the receiver's memory for data not yet on disk. */
  readonly maxBytes: number;
  /** Queueing delay above the base delay that counts as congestion. */
  readonly targetDelayMs: number;
  /** The path's round-trip time when idle, if measured (a keepalive ping). */
  readonly baseDelayMs?: number;
}

export const SEND_WINDOW_DEFAULTS: SendWindowOptions = Object.freeze({
  initialBytes: 256 * 1024,
  minBytes: 128 * 1024,
  maxBytes: 16 * 1024 * 1024,
  targetDelayMs: 100,
});

interface Sample {
  readonly end: number;
  readonly at: number;
}

export class SendWindow {
  readonly #options: SendWindowOptions;
  #window: number;
  #sent = 0;
  #acked = 0;
  #baseDelay: number;
  #samples: Sample[] = [];
  #head = 0;
  /** No second decrease before the data sent after the first one is acknowledged. */
  #holdUntil = 0;

  constructor(options: Partial<SendWindowOptions> = {}) {
    this.#options = { ...SEND_WINDOW_DEFAULTS, ...options };
    this.#window = this.#options.initialBytes;
    this.#baseDelay = this.#options.baseDelayMs ?? Infinity;
  }

  get windowBytes(): number {
    return this.#window;
  }

  get inFlight(): number {
    return this.#sent - this.#acked;
  }

  /** How many more bytes may be sent now. */
  get available(): number {
    return Math.max(0, this.#window - this.inFlight);
  }

  sent(bytes: number, now: number): void {
    this.#sent += bytes;
    this.#samples.push({ end: this.#sent, at: now });
  }

  /** The receiver has `ackedTotal` bytes (cumulative). Returns false for an impossible ack. */
  acked(ackedTotal: number, now: number): boolean {
    if (ackedTotal > this.#sent || ackedTotal < this.#acked) return false;
    const newly = ackedTotal - this.#acked;
    this.#acked = ackedTotal;
    let last: Sample | undefined;
    while (this.#head < this.#samples.length && this.#samples[this.#head]!.end <= ackedTotal) {
      last = this.#samples[this.#head++];
    }
    if (this.#head > 1024) {
      this.#samples = this.#samples.slice(this.#head);
      this.#head = 0;
    }
    if (last === undefined) return true;
    const delay = now - last.at;
    this.#baseDelay = Math.min(this.#baseDelay, delay);
    const o = this.#options;
    if (delay <= this.#baseDelay + o.targetDelayMs) {
      this.#window = Math.min(o.maxBytes, this.#window + newly);
    } else if (last.end > this.#holdUntil) {
      this.#window = Math.max(o.minBytes, Math.floor(this.#window * 0.7));
      this.#holdUntil = this.#sent;
    }
    return true;
  }
}
