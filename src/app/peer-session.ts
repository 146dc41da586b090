// One peer's side of the conversation, as the room talks to it: messages go out through here and
// come in through here. When both peers acknowledge delivery (the `acks` feature) every reliable
// message is kept until the peer has it, what arrives is acknowledged within ackDelayMs, and the
// conversation outlives its connection: detached, it keeps what we send; attached to the peer's
// next connection, it sends again exactly what the peer is missing.

import type { Clock, Timer } from '../clock.js';
import { chatError } from '../errors.js';
import type { PeerConnection } from '../session/peer-connection.js';
import { Delivery, type DeliveryLimits, type Passed } from '../session/delivery.js';
import { ACKS_FEATURE, RELIABLE_TYPES, type DeliveryMessage } from '../session/delivery-messages.js';
import { PEER_MESSAGES, type SessionMessage } from '../session/session-messages.js';

type Outgoing = Parameters<PeerConnection['send']>[0];

/**
 * We acknowledge at least every this many of the peer's messages, whatever the delay: well inside
 * the 1,000 messages (and, at the 16 KiB text limit, the 4 MiB) a sender keeps before it waits.
 */
export const ACK_EVERY = 128;
type Hello = Extract<DeliveryMessage, { type: 'conversation' }>;

/** A resend is written in writes of about this size, each once the connection has taken the last. */
const RESEND_BATCH_BYTES = 64 * 1024;

export interface PeerSessionOptions {
  readonly clock: Clock;
  /** An acknowledgement waits at most this long after the first message it covers. */
  readonly ackDelayMs: number;
  readonly limits: DeliveryLimits;
  /**
   * The peer acknowledged messages of ours; `ids`: the chat messages among them, which may be none
   * (an acknowledgement of presence, a nick change or what a host passed on frees the keep too).
   */
  readonly onAcknowledged: (ids: readonly string[]) => void;
  /** While detached, more was sent than can be kept for the peer (Delivery.overflowing). */
  readonly onOverflow: () => void;
  /**
   * A connected peer that acknowledges nothing of ours for this long, while it still answers
   * keepalives (which end a frozen one sooner, resumably), is broken or hostile: it is dropped for
   * good, and stops holding input and memory. It starts again when we read again after a hold
   * that excuses the peer (PeerConnection.excusedAt). Omitted: no deadline.
   */
  readonly ackTimeoutMs?: number;
  /** Chats we passed on for others (as a host) that the peer acknowledged. */
  readonly onPassed?: (passed: readonly Passed[]) => void;
}

/** Whether a connection's peer acknowledges delivery (and so opens with `conversation`). */
export function acknowledges(connection: PeerConnection): boolean {
  return connection.speaks(ACKS_FEATURE);
}

/**
 * The first message of a session between peers that acknowledge delivery: the `conversation` it
 * opens or answers with. Anything else, chat or file, breaks the protocol: ERR_BAD_MESSAGE.
 */
export function expectHello(message: SessionMessage): Hello {
  if (message.type !== 'conversation') throw chatError('ERR_BAD_MESSAGE', `expected a conversation message first, got ${message.type}`);
  return message;
}

export class PeerSession {
  readonly #options: PeerSessionOptions;
  /** The conversation's id; undefined with a peer that does not acknowledge (an older build). */
  readonly id: string | undefined;
  /** Undefined when the peer does not acknowledge: nothing is kept or counted. */
  readonly #delivery: Delivery | undefined;
  #connection: PeerConnection;
  #attached = true;
  /** We dialled and sent `conversation` first: the peer's answer is its first message. */
  #awaitingHello: boolean;
  #ackTimer: Timer | undefined;
  /** Runs while we wait for the peer to acknowledge something: see ackTimeoutMs. */
  #deadline: Timer | undefined;
  /** What our last ack said. */
  #ackedUpTo = 0;
  /**
   * Reliable messages written as the connection drains: a resend (a whole keep can be more than a
   * connection may queue, which would drop it as not reading), then what we sent meanwhile.
   */
  #backlog: Buffer[] = [];
  /** Goodbyes waiting for the backlog to go out first. */
  #afterBacklog: Array<() => void> = [];

  /** `id`: the conversation's, when the peer acknowledges; `awaitingHello`: we opened it and its answer is due. */
  constructor(connection: PeerConnection, options: PeerSessionOptions, id?: string, awaitingHello = false) {
    this.#connection = connection;
    this.#options = options;
    this.id = id;
    this.#delivery = id !== undefined ? new Delivery(options.limits) : undefined;
    this.#awaitingHello = awaitingHello;
    this.#watch(connection);
  }

  /** The connection it runs on now (the last one, while detached). */
  get connection(): PeerConnection {
    return this.#connection;
  }

  /** Whether this peer acknowledges what it receives, so that the conversation can be resumed. */
  get acknowledges(): boolean {
    return this.#delivery !== undefined;
  }

  /** We opened a new conversation and the peer has not answered yet: nothing else of its may come first. */
  get awaitingHello(): boolean {
    return this.#awaitingHello && this.#delivery !== undefined;
  }

  /** Between a lost connection and the next one. */
  get detached(): boolean {
    return !this.#attached;
  }

  /** Reliable messages of ours it has not acknowledged (0 for a peer that does not acknowledge). */
  get unacked(): number {
    return this.#delivery?.unacked ?? 0;
  }

  /** Of those, our own chat messages: what the user would call "my messages". */
  get unackedChats(): number {
    return this.#delivery?.unackedChats ?? 0;
  }

  /** Chats passed on for others that this peer has not acknowledged. */
  unackedPassed(): Passed[] {
    return this.#delivery?.unackedPassed() ?? [];
  }

  /** Too much is waiting for its acknowledgement: take no more input for it until some comes. */
  get full(): boolean {
    return this.#delivery?.full ?? false;
  }

  /** Our `conversation` message for the peer's next connection: how many of its messages we have. */
  hello(resumed: boolean): Hello {
    this.#ackedUpTo = this.#delivery?.received ?? 0; // the count it carries acknowledges as much
    return { type: 'conversation', id: this.id ?? '', received: this.#delivery?.received ?? 0, ...(resumed ? { resumed: true as const } : {}) };
  }

  /**
   * Send `message`; a reliable one is kept until acknowledged (`id`: a chat message's, for
   * `delivered`). While detached, a reliable message is only kept, and the rest is dropped.
   */
  send(message: Outgoing, id?: string): void {
    if (!this.#delivery || !RELIABLE_TYPES.has(message.type)) {
      if (this.#attached) this.#connection.send(message);
      return;
    }
    this.sendEncoded(PEER_MESSAGES.encode(message), message.type, id);
  }

  /**
   * A message already encoded (once, for several peers), of type `type`; `origin`: for a chat we
   * pass on, the fingerprint of its writer (told when this peer acknowledges it).
   */
  sendEncoded(plaintext: Buffer, type: string, id?: string, origin?: string): void {
    const reliable = this.#delivery !== undefined && RELIABLE_TYPES.has(type);
    if (this.#attached && reliable && this.#backlog.length > 0) this.#backlog.push(plaintext);
    else if (this.#attached) this.#connection.sendEncoded([plaintext]);
    if (!reliable) return;
    const delivery = this.#delivery!;
    delivery.sent(plaintext, id, origin);
    if (!this.#attached) {
      if (delivery.overflowing) this.#options.onOverflow();
      return;
    }
    this.#expectAck();
    // Our own input waits at the limits; what others say through us does not. A connected peer
    // four times over them (kernel buffers and all) is not keeping up: cut, resumably, so that
    // what it lacks is counted again on its next connection.
    if ((type === 'forwarded' || type === 'presence') && delivery.runaway) {
      this.#connection.drop(chatError('ERR_CONNECTION_LOST', `${this.#connection.remote?.info.name ?? 'the peer'} fell ${delivery.unacked} messages behind`));
    }
  }

  /**
   * A message from the peer, before the room acts on it: a reliable one is counted (and will be
   * acknowledged); `ack` and `conversation` are taken here. Returns false for what the room need
   * not see. A lying ack (more than we sent) or a `conversation` out of turn throws ERR_BAD_MESSAGE.
   */
  receive(message: SessionMessage): boolean {
    const delivery = this.#delivery;
    if (this.awaitingHello) {
      const answer = expectHello(message);
      // Only the answer to the `conversation` we opened a new one with: same id, not resumed.
      if (answer.id !== this.id || answer.resumed || answer.received !== 0) throw chatError('ERR_BAD_MESSAGE', 'unexpected conversation message');
      this.#awaitingHello = false;
      return false;
    }
    if (message.type === 'conversation') throw chatError('ERR_BAD_MESSAGE', 'unexpected conversation message');
    if (message.type === 'ack') {
      if (delivery) {
        const before = delivery.unacked;
        this.#acknowledged(before, delivery.acknowledged(message.n));
        if (delivery.unacked < before) this.#restartDeadline();
      }
      return false;
    }
    if (delivery && RELIABLE_TYPES.has(message.type)) {
      delivery.receivedOne();
      // A sender at its limit waits for us: past ACK_EVERY messages it hears at once, not 100 ms on.
      if (delivery.received - this.#ackedUpTo >= ACK_EVERY) {
        this.#stopAcking();
        this.#sendAck();
      } else this.#scheduleAck();
    }
    return true;
  }

  /** The connection is gone but the conversation may resume: keep what we send from now on. */
  detach(): void {
    this.#attached = false;
    this.#stopAcking();
    this.#restartDeadline(); // stops it: a suspended peer is waited for by the resume window instead
    this.#pump();
  }

  /**
   * The conversation goes on over `connection`, whose peer has `peerReceived` of ours (from its
   * `conversation`): send again what it is missing, in order. Returns how many were sent again.
   * A count the peer cannot have (fewer than it acknowledged, more than we sent) throws ERR_BAD_MESSAGE.
   */
  attach(connection: PeerConnection, peerReceived: number): number {
    const delivery = this.#resumable(peerReceived);
    const before = delivery.unacked;
    const { delivered, resend } = delivery.resume(peerReceived);
    this.#connection = connection;
    this.#attached = true;
    this.#awaitingHello = false;
    this.#watch(connection);
    const resent = resend.length; // before #pump takes them from the backlog
    this.#backlog = resend;
    this.#restartDeadline();
    this.#pump();
    this.#acknowledged(before, delivered);
    // What we received before the cut may not have been acknowledged yet: the peer learnt it from our `conversation`.
    return resent;
  }

  /** Throws what attach() would for `peerReceived`, changing nothing. */
  checkResume(peerReceived: number): void {
    this.#resumable(peerReceived);
  }

  #resumable(peerReceived: number): Delivery {
    const delivery = this.#delivery;
    if (!delivery) throw chatError('ERR_BAD_MESSAGE', 'this conversation cannot be resumed');
    delivery.checkResume(peerReceived);
    return delivery;
  }

  /** Say goodbye: the peer first hears what of its messages arrived, so that it need not wonder. */
  goodbye(reason: string): Promise<boolean> {
    if (this.#backlog.length > 0) return new Promise((resolve) => this.#afterBacklog.push(() => resolve(this.goodbye(reason))));
    if (this.#ackTimer !== undefined) {
      this.#stopAcking();
      this.#sendAck();
    }
    return this.#connection.close(reason);
  }

  /** The conversation is over: no acknowledgement is owed any more. */
  close(): void {
    this.#attached = false;
    this.#stopAcking();
    this.#restartDeadline();
    this.#pump();
  }

  /** A peer that says goodbye hears at once what of its messages arrived: it may be waiting to know. */
  #watch(connection: PeerConnection): void {
    connection.once('goodbye', () => {
      if (this.#ackTimer === undefined || connection !== this.#connection) return;
      this.#stopAcking();
      this.#sendAck();
    });
  }

  /**
   * Write the backlog while the connection takes it, then again on its `drain`; once it is out (or
   * the connection is gone: the keep has it all), let waiting goodbyes go.
   */
  #pump(): void {
    const connection = this.#connection;
    while (this.#attached && this.#backlog.length > 0 && !connection.needsDrain) {
      let count = 0;
      for (let bytes = 0; count < this.#backlog.length && bytes < RESEND_BATCH_BYTES; count++) bytes += this.#backlog[count]!.length;
      connection.sendEncoded(this.#backlog.splice(0, count));
    }
    if (this.#attached && this.#backlog.length > 0) {
      connection.once('drain', () => {
        if (connection === this.#connection) this.#pump();
      });
      return;
    }
    this.#backlog = [];
    for (const go of this.#afterBacklog.splice(0)) go();
  }

  /** `before`: how many were unacknowledged before; `ids`: the chat messages now acknowledged. */
  #acknowledged(before: number, ids: readonly string[]): void {
    if (this.unacked >= before) return;
    this.#options.onAcknowledged(ids);
    const passed = this.#delivery?.takePassed() ?? [];
    if (passed.length > 0) this.#options.onPassed?.(passed);
  }

  /** Something of ours awaits acknowledgement: the deadline runs, unless it already does. */
  #expectAck(): void {
    if (this.#deadline === undefined && this.#attached) this.#restartDeadline();
  }

  /**
   * Progress (or a new connection): the peer has ackTimeoutMs again, if anything is still
   * unacknowledged (`inMs`: the deadline is that far off instead).
   */
  #restartDeadline(inMs?: number): void {
    const { clock, ackTimeoutMs } = this.#options;
    clock.clearTimeout(this.#deadline);
    this.#deadline = undefined;
    if (ackTimeoutMs === undefined || !this.#attached || this.unacked === 0) return;
    const connection = this.#connection;
    this.#deadline = clock.setTimeout(() => {
      this.#deadline = undefined;
      if (connection !== this.#connection || !this.#attached || this.unacked === 0) return;
      // While we did not read it for a reason of ours (a move to another path awaiting its
      // answer, a file waiting for our disk), its acks may have waited unread: the peer gets its
      // whole time from when we read again, and the keepalive then finds a dead path first.
      const heldAt = connection.excusedAt;
      const left = heldAt === undefined ? 0 : heldAt + ackTimeoutMs - clock.now();
      if (left > 0) {
        this.#restartDeadline(left);
        return;
      }
      const seconds = Math.round(ackTimeoutMs / 1000);
      connection.drop(chatError('ERR_NOT_ACKNOWLEDGED', `${connection.remote?.info.name ?? 'the peer'} acknowledged none of ${this.unacked} messages in ${seconds} s`));
    }, inMs ?? ackTimeoutMs);
    this.#deadline.unref();
  }

  #stopAcking(): void {
    this.#options.clock.clearTimeout(this.#ackTimer);
    this.#ackTimer = undefined;
  }

  #sendAck(): void {
    if (!this.#delivery || !this.#attached) return;
    this.#ackedUpTo = this.#delivery.received;
    this.#connection.send({ type: 'ack', n: this.#ackedUpTo });
  }

  #scheduleAck(): void {
    if (this.#ackTimer !== undefined) return;
    this.#ackTimer = this.#options.clock.setTimeout(() => {
      this.#ackTimer = undefined;
      this.#sendAck();
    }, this.#options.ackDelayMs);
    this.#ackTimer.unref();
  }
}
