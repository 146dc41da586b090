// The listener's end of the udx rendezvous (udx-rendezvous.ts has the datagrams and the flow),
// answering requests and confirms on a bound socket. It holds nothing for a request: the accept's
// stream id and cookie are worked out from the request (rendezvous-cookies.ts) and again from the
// confirm, and only then is a stream made and handed to its owner. So forged sources cannot fill
// it, and what it sends them is bounded per address and in all (answer-budget.ts).

import type UDX from 'udx-native';
import type { Clock } from '../clock.js';
import { AnswerBudget, type AnswerLimits } from './answer-budget.js';
import { formatHostPort } from './address.js';
import type { ByteStream, ListenOptions } from './byte-stream.js';
import { RendezvousCookies, type RendezvousAsker, type RendezvousTicket } from './rendezvous-cookies.js';
import { decodeRendezvous, encodeRendezvous, type RendezvousMessage } from './udx-rendezvous.js';
import { createRawStreamWithId } from './udx-runtime.js';
import { UdxStream } from './udx-stream.js';

/**
 * What the responder may send. A victim of forged requests gets at most 32 datagrams of 20 bytes a
 * second from us; a NAT with many peers behind it dialling us at once still fits (a dial takes two
 * answers, four or five when datagrams are lost). In all, 2,000 accepts and refusals a second, the
 * relay's budget for endpoint probes; a confirmed is counted against its address only.
 */
export const RENDEZVOUS_ANSWER_LIMITS: AnswerLimits = Object.freeze({
  perGroupPerSec: 32,
  perGroupBurst: 128,
  totalPerSec: 2_000,
  totalBurst: 4_000,
});

export class UdxResponder {
  readonly #socket: UDX.Socket;
  readonly #clock: Clock;
  readonly #options: ListenOptions;
  readonly #onStream: (stream: ByteStream) => void;
  readonly #cookies: RendezvousCookies;
  readonly #budget = new AnswerBudget(RENDEZVOUS_ANSWER_LIMITS);
  /** The tickets of live streams by (source address, dialler's stream id): a repeat makes no second. */
  readonly #entries = new Map<string, RendezvousTicket>();
  /** The tickets of streams that have closed, by key, until their slot is past: a replay makes none. */
  readonly #spent = new Map<string, number>();
  #closed = false;

  constructor(socket: UDX.Socket, clock: Clock, options: ListenOptions, onStream: (stream: ByteStream) => void) {
    this.#socket = socket;
    this.#clock = clock;
    this.#options = options;
    this.#onStream = onStream;
    this.#cookies = new RendezvousCookies(clock);
    socket.on('message', this.#onMessage);
  }

  /** Stop answering; streams already made are left to their owners. */
  close(): void {
    this.#closed = true;
    this.#socket.off('message', this.#onMessage);
  }

  readonly #onMessage = (bytes: Buffer, from: UDX.Address): void => {
    if (this.#closed) return;
    const message = decodeRendezvous(bytes);
    if (message === undefined) return;
    const asker: RendezvousAsker = { host: from.host, port: from.port, dialerId: message.dialerId };
    const key = `${formatHostPort(from.host, from.port)}/${message.dialerId}`;
    if (message.type === 'request') this.#onRequest(key, asker);
    else if (message.type === 'confirm') this.#onConfirm(key, asker, message);
  };

  #onRequest(key: string, asker: RendezvousAsker): void {
    if (!this.#budget.admit(asker.host, this.#clock.now())) return;
    const known = this.#entries.get(key);
    if (known) return this.#answer('accept', asker, known);
    if (this.#full()) {
      this.#options.onDrop?.(formatHostPort(asker.host, asker.port));
      return this.#send({ type: 'refuse', dialerId: asker.dialerId, listenerId: 0, cookie: 0, reason: 'full' }, asker);
    }
    this.#answer('accept', asker, this.#cookies.issue(asker));
  }

  /**
   * A confirm makes a stream when its ticket is one we issued to that source within the last slot
   * or two, no stream for it lives, none has closed in its slot, we are not full, and its stream id
   * is free. Any other confirm is dropped unanswered: a dialler heeds no refusal once accepted, and
   * one whose id is taken (a live stream's, a 1 in 2^20 chance per live stream) fails at its
   * deadline and dials again under another dialler id, which gets another.
   */
  #onConfirm(key: string, asker: RendezvousAsker, ticket: RendezvousMessage): void {
    const known = this.#entries.get(key);
    if (known) {
      if (known.listenerId === ticket.listenerId && known.cookie === ticket.cookie) this.#confirmed(asker, known);
      return;
    }
    const slot = this.#cookies.check(asker, ticket);
    if (slot === undefined || this.#spent.get(key) === slot || this.#full()) return;
    const raw = createRawStreamWithId(ticket.listenerId);
    if (raw === undefined) return;
    raw.connect(this.#socket, asker.dialerId, asker.port, asker.host);
    this.#entries.set(key, { listenerId: ticket.listenerId, cookie: ticket.cookie });
    raw.once('close', () => this.#spend(key, slot));
    this.#onStream(new UdxStream(raw, { allowHalfOpen: this.#options.allowHalfOpen === true }));
    this.#confirmed(asker, ticket);
  }

  #full(): boolean {
    const max = this.#options.maxConnections;
    return max !== undefined && this.#entries.size >= max;
  }

  /** A stream has closed: its ticket, good until its slot is past, must not make another. */
  #spend(key: string, slot: number): void {
    this.#entries.delete(key);
    const current = this.#cookies.slot();
    for (const [spentKey, spentSlot] of this.#spent) if (spentSlot < current - 1) this.#spent.delete(spentKey);
    this.#spent.set(key, slot);
  }

  /** The asker has shown it receives our answers (it had the cookie), so only its own budget counts. */
  #confirmed(asker: RendezvousAsker, ticket: RendezvousTicket): void {
    if (this.#budget.admitProven(asker.host, this.#clock.now())) this.#answer('confirmed', asker, ticket);
  }

  #answer(type: 'accept' | 'confirmed', asker: RendezvousAsker, ticket: RendezvousTicket): void {
    this.#send({ type, dialerId: asker.dialerId, listenerId: ticket.listenerId, cookie: ticket.cookie }, asker);
  }

  #send(message: RendezvousMessage, to: RendezvousAsker): void {
    this.#socket.trySend(encodeRendezvous(message), to.port, to.host);
  }
}
