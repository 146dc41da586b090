// A peer's probes of its relay's UDP port, to learn the public endpoint its socket is seen at
// (net/endpoint-probe.ts): a round of probes, repeated with backoff until the relay answers or the
// round's deadline passes, then a new round every refresh while it runs. The refresh also keeps
// the NAT's mapping for the socket open, which punching needs. A relay that never answers (an
// older one, UDP blocked) only leaves the endpoint unknown.

import { randomBytes } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import { formatHostPort } from '../net/address.js';
import type { DatagramPort, DatagramSource } from '../net/datagram-port.js';
import { decodeEndpointDatagram, encodeEndpointDatagram, PROBE_NONCE_BYTES } from '../net/endpoint-probe.js';

/** The first repeat of an unanswered probe comes after this; each later one waits twice as long. */
export const PROBE_REPEAT_INITIAL_MS = 250;

export interface EndpointProbeClientOptions {
  /** The socket whose public endpoint we want: probes leave from it and answers come to it. */
  readonly datagrams: DatagramPort;
  /** The relay's IP address (where our control connection goes) and its port: UDP is at the same number. */
  readonly relayHost: string;
  readonly relayPort: number;
  readonly clock: Clock;
  /** A round unanswered after this ends... */
  readonly deadlineMs: number;
  /** ...and the next round begins this long after one ends, answered or not. */
  readonly refreshMs: number;
  /** The endpoint (`host:port`) the relay saw, each time it is another than the last. */
  readonly onObserved: (endpoint: string) => void;
}

export class EndpointProbeClient {
  readonly #options: EndpointProbeClientOptions;
  #observed: string | undefined;
  /** The current round's nonce; undefined between rounds. */
  #nonce: Buffer | undefined;
  /** The next repeat within a round, or the next round. */
  #next: Timer | undefined;
  #deadline: Timer | undefined;
  #unlisten: (() => void) | undefined;

  constructor(options: EndpointProbeClientOptions) {
    this.#options = options;
  }

  /** `host:port` the relay last said it saw, once it has. */
  get observed(): string | undefined {
    return this.#observed;
  }

  /** Probe now, and every refresh after. */
  start(): void {
    if (this.#unlisten) return;
    this.#unlisten = this.#options.datagrams.onDatagram((bytes, from) => this.#onDatagram(bytes, from));
    this.#round();
  }

  /** Probe no more; what was learned stays readable. */
  stop(): void {
    this.#unlisten?.();
    this.#unlisten = undefined;
    this.#endRound();
  }

  #round(): void {
    const { clock, datagrams, relayHost, relayPort, deadlineMs } = this.#options;
    const nonce = (this.#nonce = randomBytes(PROBE_NONCE_BYTES));
    const probe = encodeEndpointDatagram({ type: 'probe', nonce });
    // The repeat is armed before the probe goes, so that an answer handled at once cancels it.
    const send = (wait: number) => {
      this.#next = clock.setTimeout(() => send(2 * wait), wait);
      this.#next.unref();
      datagrams.send(probe, relayPort, relayHost);
    };
    this.#deadline = clock.setTimeout(() => this.#roundOver(), deadlineMs);
    this.#deadline.unref();
    send(PROBE_REPEAT_INITIAL_MS);
  }

  #onDatagram(bytes: Buffer, from: DatagramSource): void {
    const nonce = this.#nonce;
    if (!nonce || from.host !== this.#options.relayHost || from.port !== this.#options.relayPort) return;
    const answer = decodeEndpointDatagram(bytes);
    if (answer?.type !== 'seen' || !answer.nonce.equals(nonce)) return;
    this.#roundOver();
    const endpoint = formatHostPort(answer.host, answer.port);
    if (endpoint === this.#observed) return;
    this.#observed = endpoint;
    this.#options.onObserved(endpoint);
  }

  /** Answered or out of time: the next round comes after the refresh interval. */
  #roundOver(): void {
    this.#endRound();
    this.#next = this.#options.clock.setTimeout(() => this.#round(), this.#options.refreshMs);
    this.#next.unref();
  }

  /** No probe out: the round's repeats and deadline (or the wait for the next round) are cancelled. */
  #endRound(): void {
    this.#nonce = undefined;
    this.#options.clock.clearTimeout(this.#next);
    this.#options.clock.clearTimeout(this.#deadline);
  }
}
