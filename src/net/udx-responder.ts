// The listener's end of the udx rendezvous (udx-rendezvous.ts has the datagrams and the flow):
// answers requests and confirms arriving on a bound socket, keeps one entry per (source address,
// dialler's stream id), and hands a stream to its owner once the dialler has confirmed with the
// cookie. It holds no stream the dialler has not asked for, and few it has not confirmed.

import { randomInt } from 'node:crypto';
import type UDX from 'udx-native';
import type { Clock, Timer } from '../clock.js';
import { addressGroup, formatHostPort } from './address.js';
import type { ByteStream, ListenOptions } from './byte-stream.js';
import { decodeRendezvous, encodeRendezvous, type RefuseReason, type RendezvousMessage } from './udx-rendezvous.js';
import { createRawStream } from './udx-runtime.js';
import { UdxStream } from './udx-stream.js';

/** Bounds on entries not yet confirmed: what a flood of forged requests can make us hold. */
export const HALF_OPEN_LIMITS = Object.freeze({
  /** Forgotten (and its stream destroyed) when not confirmed in this time. */
  ttlMs: 10_000,
  /** Per source address (an IPv6 source by its /64). */
  perAddress: 8,
  /** In all, across every source. */
  total: 256,
});

interface Entry {
  readonly key: string;
  readonly group: string;
  readonly dialerId: number;
  readonly raw: UDX.Stream;
  readonly cookie: number;
  /** Pending while half-open; undefined once confirmed. */
  expiry: Timer | undefined;
}

export class UdxResponder {
  readonly #socket: UDX.Socket;
  readonly #clock: Clock;
  readonly #options: ListenOptions;
  readonly #onStream: (stream: ByteStream) => void;
  readonly #entries = new Map<string, Entry>();
  readonly #halfOpenByGroup = new Map<string, number>();
  #halfOpen = 0;
  #closed = false;

  constructor(socket: UDX.Socket, clock: Clock, options: ListenOptions, onStream: (stream: ByteStream) => void) {
    this.#socket = socket;
    this.#clock = clock;
    this.#options = options;
    this.#onStream = onStream;
    socket.on('message', this.#onMessage);
  }

  /** Stop answering and drop every half-open entry; confirmed streams are left to their owners. */
  close(): void {
    this.#closed = true;
    this.#socket.off('message', this.#onMessage);
    for (const entry of this.#entries.values()) if (entry.expiry) this.#forget(entry);
  }

  readonly #onMessage = (bytes: Buffer, from: UDX.Address): void => {
    if (this.#closed) return;
    const message = decodeRendezvous(bytes);
    if (message === undefined) return;
    const key = `${formatHostPort(from.host, from.port)}/${message.dialerId}`;
    if (message.type === 'request') this.#onRequest(key, message.dialerId, from);
    else if (message.type === 'confirm') this.#onConfirm(key, message, from);
  };

  #onRequest(key: string, dialerId: number, from: UDX.Address): void {
    const known = this.#entries.get(key);
    if (known) return this.#answer('accept', known, from);
    const group = addressGroup(from.host);
    const refusal = this.#refusal(group);
    if (refusal) {
      if (refusal === 'full') this.#options.onDrop?.(formatHostPort(from.host, from.port));
      return this.#send({ type: 'refuse', dialerId, listenerId: 0, cookie: 0, reason: refusal }, from);
    }
    const entry: Entry = { key, group, dialerId, raw: createRawStream(), cookie: randomInt(1, 2 ** 32 - 1), expiry: undefined };
    entry.expiry = this.#clock.setTimeout(() => this.#forget(entry), HALF_OPEN_LIMITS.ttlMs);
    entry.expiry.unref();
    this.#entries.set(key, entry);
    this.#halfOpen++;
    this.#halfOpenByGroup.set(group, (this.#halfOpenByGroup.get(group) ?? 0) + 1);
    this.#answer('accept', entry, from);
  }

  #refusal(group: string): RefuseReason | undefined {
    const max = this.#options.maxConnections;
    if (max !== undefined && this.#entries.size >= max) return 'full';
    if (this.#halfOpen >= HALF_OPEN_LIMITS.total) return 'busy';
    if ((this.#halfOpenByGroup.get(group) ?? 0) >= HALF_OPEN_LIMITS.perAddress) return 'busy';
    return undefined;
  }

  #onConfirm(key: string, message: RendezvousMessage, from: UDX.Address): void {
    const entry = this.#entries.get(key);
    if (!entry || message.listenerId !== entry.raw.id || message.cookie !== entry.cookie) return;
    if (entry.expiry) {
      this.#settle(entry);
      entry.raw.connect(this.#socket, entry.dialerId, from.port, from.host);
      entry.raw.once('close', () => this.#entries.delete(key));
      this.#onStream(new UdxStream(entry.raw, { allowHalfOpen: this.#options.allowHalfOpen === true }));
    }
    this.#answer('confirmed', entry, from);
  }

  /** Out of the half-open count (confirmed, or about to be forgotten). */
  #settle(entry: Entry): void {
    this.#clock.clearTimeout(entry.expiry);
    entry.expiry = undefined;
    this.#halfOpen--;
    const left = (this.#halfOpenByGroup.get(entry.group) ?? 1) - 1;
    if (left > 0) this.#halfOpenByGroup.set(entry.group, left);
    else this.#halfOpenByGroup.delete(entry.group);
  }

  /** A half-open entry goes; its stream was never connected, so destroying it sends nothing. */
  #forget(entry: Entry): void {
    this.#settle(entry);
    this.#entries.delete(entry.key);
    entry.raw.destroy();
  }

  #answer(type: 'accept' | 'confirmed', entry: Entry, to: UDX.Address): void {
    this.#send({ type, dialerId: entry.dialerId, listenerId: entry.raw.id, cookie: entry.cookie }, to);
  }

  #send(message: RendezvousMessage, to: UDX.Address): void {
    this.#socket.trySend(encodeRendezvous(message), to.port, to.host);
  }
}
