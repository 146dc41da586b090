// How a host passes one peer's messages on to the others fairly. Each sender has a rate and a
// burst (a token bucket on the bytes forwarded for it): past them, reading from the sender stops
// until it has paid. And a recipient with a backlog past the hold mark holds up every sender whose
// messages are forwarded to it until its queue has drained. A flooder is slowed to what the room
// can take, while a peer briefly slow to read meets a bounded backlog instead of being dropped;
// one that stays stalled is dropped, which releases the senders it held up.

import type { Clock, Timer } from '../clock.js';
import { TokenBucket } from '../session/token-bucket.js';

/** What the gate needs of a peer's connection (a PeerConnection). */
export interface ForwardPeer {
  /** Bytes written to this peer and not yet taken by the transport. */
  readonly queuedBytes: number;
  holdReading(holder: object): void;
  releaseReading(holder: object): void;
  on(event: 'drain', listener: () => void): unknown;
  off(event: 'drain', listener: () => void): unknown;
}

export interface ForwardGateOptions<P extends ForwardPeer = ForwardPeer> {
  /** Bytes a second forwarded for one sender... */
  readonly rateBytesPerSec: number;
  /** ...after a burst of this many. */
  readonly burstBytes: number;
  /** A recipient with this much queued holds up the senders forwarded to it until it drains. */
  readonly holdAtBytes: number;
  /**
   * A sender held up is read again after this long at the most, even if the recipient has not
   * caught up: a sender not read at all would soon stop hearing our answers to its keepalive.
   */
  readonly maxHoldMs: number;
  /** A recipient holding senders up that takes nothing of its queue in this long is given up. */
  readonly stalledMs: number;
  readonly clock: Clock;
  /** Drop a recipient that stayed stalled (the caller words it and ends its connection). */
  readonly onStalled: (recipient: P, queuedBytes: number) => void;
}

interface Sender {
  readonly bucket: TokenBucket;
  /** While in debt: when reading from it resumes. */
  timer?: Timer;
}

/** A recipient past the hold mark, the senders it holds up, and its deadline to make progress. */
interface Stall {
  readonly held: Set<ForwardPeer>;
  readonly onDrain: () => void;
  timer: Timer;
  /** Its queue when the deadline was set: less by the deadline is progress, and earns another. */
  queued: number;
  /** When the senders held now are read again, whether or not the recipient has caught up. */
  letGo?: Timer;
}

export class ForwardGate<P extends ForwardPeer> {
  readonly #options: ForwardGateOptions<P>;
  readonly #senders = new Map<P, Sender>();
  readonly #stalls = new Map<P, Stall>();

  constructor(options: ForwardGateOptions<P>) {
    this.#options = options;
  }

  /** Recipients holding senders up now. */
  get stalled(): number {
    return this.#stalls.size;
  }

  /**
   * `bytes` of `sender`'s message were just written to each of `recipients`. Nothing passed on,
   * nothing charged: a peer talking only to us is never slowed.
   */
  forwarded(sender: P, bytes: number, recipients: readonly P[]): void {
    if (recipients.length === 0) return;
    this.#charge(sender, bytes);
    for (const recipient of recipients) {
      if (recipient.queuedBytes >= this.#options.holdAtBytes) this.#holdUp(sender, recipient);
    }
  }

  /** A peer left: forget it as a sender, and release whoever it held up as a recipient. */
  left(peer: P): void {
    const sender = this.#senders.get(peer);
    if (sender) this.#options.clock.clearTimeout(sender.timer);
    this.#senders.delete(peer);
    this.#release(peer);
    for (const stall of this.#stalls.values()) stall.held.delete(peer);
  }

  #charge(peer: P, bytes: number): void {
    const { clock, rateBytesPerSec, burstBytes } = this.#options;
    let sender = this.#senders.get(peer);
    if (!sender) this.#senders.set(peer, (sender = { bucket: new TokenBucket(rateBytesPerSec, clock.now(), burstBytes) }));
    const wait = sender.bucket.take(bytes, clock.now());
    if (wait <= 0) return;
    // In debt: stop reading from the sender until the debt is paid (a later message adds to it).
    const paid = sender;
    peer.holdReading(paid);
    clock.clearTimeout(paid.timer);
    paid.timer = clock.setTimeout(() => {
      paid.timer = undefined;
      peer.releaseReading(paid);
    }, wait);
    paid.timer.unref();
  }

  #holdUp(sender: P, recipient: P): void {
    let stall = this.#stalls.get(recipient);
    if (!stall) {
      const onDrain = () => this.#release(recipient);
      stall = { held: new Set(), onDrain, timer: this.#deadline(recipient), queued: recipient.queuedBytes };
      this.#stalls.set(recipient, stall);
      recipient.on('drain', onDrain);
    }
    stall.held.add(sender);
    sender.holdReading(stall);
    const held = stall;
    held.letGo ??= this.#options.clock.setTimeout(() => {
      held.letGo = undefined;
      this.#letGo(held);
    }, this.#options.maxHoldMs);
    held.letGo.unref();
  }

  /** Read the senders `stall` holds again (a later forward to its recipient may hold them anew). */
  #letGo(stall: Stall): void {
    for (const sender of stall.held) sender.releaseReading(stall);
    stall.held.clear();
  }

  /** When `recipient` must have taken some of its queue: a slow link that reads is kept. */
  #deadline(recipient: P): Timer {
    const timer = this.#options.clock.setTimeout(() => {
      const stall = this.#stalls.get(recipient);
      if (!stall) return;
      const queued = recipient.queuedBytes;
      if (queued < stall.queued) {
        stall.queued = queued;
        stall.timer = this.#deadline(recipient);
        return;
      }
      this.#release(recipient);
      this.#options.onStalled(recipient, queued);
    }, this.#options.stalledMs);
    timer.unref();
    return timer;
  }

  /** `recipient` drained (or is gone): every sender it held up may be read again. */
  #release(recipient: P): void {
    const stall = this.#stalls.get(recipient);
    if (!stall) return;
    this.#stalls.delete(recipient);
    recipient.off('drain', stall.onDrain);
    this.#options.clock.clearTimeout(stall.timer);
    this.#options.clock.clearTimeout(stall.letGo);
    this.#letGo(stall);
  }
}
