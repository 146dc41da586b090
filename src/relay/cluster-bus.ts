// Messages between the relays of a cluster, over Redis pub/sub: each relay listens on a channel
// named after its public address, and a request (a dial for a peer registered elsewhere) is
// answered on the asker's channel by id, or fails after a deadline. Pub/sub delivers to whoever
// listens now and keeps nothing, which suits a dial: a relay that is down answers nobody, and the
// asker learns so at once (no listener) or at its deadline, as a peer would from a dead relay.

import { randomInt } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';
import { decodeClusterMessage, encodeClusterMessage, type ClusterMessage } from './cluster-messages.js';

/** What the bus needs of Redis: node-redis's publish, and subscribe on a client of its own. */
export interface PubSub {
  publish(channel: string, message: string): Promise<number>;
  subscribe(channel: string, listener: (message: string) => void): Promise<void>;
  unsubscribe(channel: string): Promise<void>;
}

export type DialAnswer = Extract<ClusterMessage, { type: 'dial-answer' }>;
export type DialRequest = Extract<ClusterMessage, { type: 'dial' }>;

export interface ClusterBusOptions {
  /** This relay's public address: its channel, and `from` on what it sends. */
  readonly self: string;
  readonly keyPrefix: string;
  /** How long a request waits for its answer. */
  readonly timeoutMs: number;
  readonly clock: Clock;
  /** A request or notice for this relay (answers are taken by request()). */
  readonly onMessage: (message: Exclude<ClusterMessage, DialAnswer>) => void;
  /** Something on our channel that is not a message we read: for a log line. */
  readonly onBad: (reason: string) => void;
}

interface Waiting {
  /** The relay asked: only its answer counts. */
  readonly relay: string;
  readonly resolve: (answer: DialAnswer) => void;
  readonly reject: (error: P2PChatError) => void;
  readonly timer: Timer;
}

export class ClusterBus {
  readonly #pubsub: PubSub;
  readonly #options: ClusterBusOptions;
  readonly #waiting = new Map<number, Waiting>();
  /**
   * From a random start: a relay restarted with the same address (the same channel) must not take
   * a late answer to a dial of its previous run for one of its own.
   */
  #nextId = randomInt(2 ** 47);

  constructor(pubsub: PubSub, options: ClusterBusOptions) {
    this.#pubsub = pubsub;
    this.#options = options;
  }

  /** Listen on this relay's channel (node-redis listens again by itself after a reconnect). */
  start(): Promise<void> {
    return this.#pubsub.subscribe(this.#channel(this.#options.self), (text) => this.#receive(text));
  }

  /** Stop listening; requests still waiting fail. */
  async stop(): Promise<void> {
    this.#failAll(chatError('ERR_CLUSTER_UNAVAILABLE', 'this relay is leaving the cluster'));
    await this.#pubsub.unsubscribe(this.#channel(this.#options.self));
  }

  /** Send `message` to `relay`; resolves with whether a relay listens there. */
  async send(relay: string, message: ClusterMessage): Promise<boolean> {
    return (await this.#pubsub.publish(this.#channel(relay), encodeClusterMessage(message))) > 0;
  }

  /**
   * Ask `relay` to invite its peer for our dialler; resolves with its answer. Rejects
   * ERR_CLUSTER_UNAVAILABLE when nothing listens there or no answer comes within the deadline.
   */
  async dial(relay: string, request: Omit<DialRequest, 'type' | 'id' | 'from'>): Promise<DialAnswer> {
    const id = this.#nextId++;
    const { clock, timeoutMs, self } = this.#options;
    const answered = new Promise<DialAnswer>((resolve, reject) => {
      const timer = clock.setTimeout(() => {
        this.#waiting.delete(id);
        reject(chatError('ERR_CLUSTER_UNAVAILABLE', `relay ${relay} of this cluster did not answer within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      timer.unref();
      this.#waiting.set(id, { relay, resolve, reject, timer });
    });
    answered.catch(() => undefined); // a failed send below rejects first
    let heard: boolean;
    try {
      heard = await this.send(relay, { type: 'dial', id, from: self, ...request });
    } catch (err) {
      this.#settle(id)?.reject(P2PChatError.from(err, 'ERR_CLUSTER_UNAVAILABLE'));
      return answered;
    }
    if (!heard) this.#settle(id)?.reject(chatError('ERR_CLUSTER_UNAVAILABLE', `relay ${relay} of this cluster is not listening (stopped, or cut off from Redis)`));
    return answered;
  }

  #receive(text: string): void {
    let message: ClusterMessage;
    try {
      message = decodeClusterMessage(text);
    } catch (err) {
      this.#options.onBad((err as Error).message);
      return;
    }
    if (message.type === 'dial-answer') {
      if (this.#waiting.get(message.id)?.relay === message.from) this.#settle(message.id)?.resolve(message);
    } else this.#options.onMessage(message);
  }

  /** The request `id` waiting, now taken off the list with its deadline cleared; undefined if none. */
  #settle(id: number): Waiting | undefined {
    const waiting = this.#waiting.get(id);
    if (!waiting) return undefined;
    this.#waiting.delete(id);
    this.#options.clock.clearTimeout(waiting.timer);
    return waiting;
  }

  #failAll(error: P2PChatError): void {
    for (const id of [...this.#waiting.keys()]) this.#settle(id)?.reject(error);
  }

  #channel(relay: string): string {
    return `${this.#options.keyPrefix}relay:${relay}`;
  }
}
