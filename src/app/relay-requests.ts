// The requests a peer has sent on its relay control connection and not yet had answered, by
// request id (rid, numbered from 1): each is settled by the answer that carries its rid, rejected
// at its deadline on the clock, or rejected with the rest when the connection goes.

import type { Clock, Timer } from '../clock.js';
import type { P2PChatError } from '../errors.js';

interface Pending<A> {
  resolve(answer: A): void;
  reject(error: P2PChatError): void;
  timer: Timer;
}

export class PendingRequests<A> {
  readonly #clock: Clock;
  readonly #pending = new Map<number, Pending<A>>();
  #nextRid = 1;

  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** A new request id, for a message whose answer nobody waits for (a registration). */
  nextRid(): number {
    return this.#nextRid++;
  }

  /** Send with `send(rid)`; the answer to that rid, or `late()` once `timeoutMs` has passed. */
  open(send: (rid: number) => void, timeoutMs: number, late: () => P2PChatError): Promise<A> {
    const rid = this.nextRid();
    return new Promise((resolve, reject) => {
      const timer = this.#clock.setTimeout(() => {
        this.#pending.delete(rid);
        reject(late());
      }, timeoutMs);
      this.#pending.set(rid, { resolve, reject, timer });
      send(rid);
    });
  }

  /** The answer to `rid` came; nothing happens when none waits for it (late, or never asked). */
  resolve(rid: number, answer: A): void {
    this.#take(rid)?.resolve(answer);
  }

  reject(rid: number, error: P2PChatError): void {
    this.#take(rid)?.reject(error);
  }

  /** Every request still waiting fails with `error` (the connection went). */
  failAll(error: P2PChatError): void {
    for (const rid of [...this.#pending.keys()]) this.reject(rid, error);
  }

  #take(rid: number): Pending<A> | undefined {
    const pending = this.#pending.get(rid);
    if (!pending) return undefined;
    this.#pending.delete(rid);
    this.#clock.clearTimeout(pending.timer);
    return pending;
  }
}
