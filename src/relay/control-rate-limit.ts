// One control connection's allowance of requests (register, lookup, dial), spent from a token
// bucket: within it a request is served; past it, refused; a connection that goes on past it by
// as many again is flooding and is to be closed. Pure: the clock is passed in.

import { TokenBucket } from '../session/token-bucket.js';

export type RequestVerdict = 'serve' | 'refuse' | 'close';

export class ControlRateLimit {
  readonly #perSec: number;
  readonly #burst: number;
  readonly #bucket: TokenBucket | undefined;

  /** `perSec` 0 = unlimited; `burst` is how many may come at once after a quiet spell. */
  constructor(perSec: number, burst: number, now: number) {
    this.#perSec = perSec;
    this.#burst = burst;
    this.#bucket = perSec > 0 ? new TokenBucket(perSec, now, burst) : undefined;
  }

  /** A request arrived at `now`: what to do with it. Refused requests count too. */
  admit(now: number): RequestVerdict {
    const bucket = this.#bucket;
    if (!bucket) return 'serve';
    const served = bucket.available(now) >= 1;
    bucket.take(1, now);
    if (served) return 'serve';
    return bucket.available(now) < -this.#burst ? 'close' : 'refuse';
  }

  /** The limit in words, for the refusal a client is told. */
  describe(): string {
    return `more than ${this.#perSec} requests per second (burst ${this.#burst})`;
  }
}
