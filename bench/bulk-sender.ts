// The sending peer of the `bulk-messages` benchmarks: a PeerConnection on a raw socket (so that
// ours and the raw baseline go through the same socket calls) with a PeerSession on it, as the room
// sends through one. With `acks` it lists the feature, opens the conversation as a dialler does,
// keeps every chat message until the receiver acknowledges it, and waits, as piped input does,
// while the session is full (DEFAULTS' unacked limits); without, nothing is kept or acknowledged.

import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { SYSTEM_CLOCK } from '../src/clock.js';
import { DEFAULTS } from '../src/defaults.js';
import { acknowledges, PeerSession } from '../src/app/peer-session.js';
import { TcpStream } from '../src/net/tcp-stream.js';
import { FEATURES, PROTOCOL_VERSION } from '../src/secure/handshake-payload.js';
import type { Identity } from '../src/secure/identity-store.js';
import { ACKS_FEATURE, CONVERSATION_ID_BYTES } from '../src/session/delivery-messages.js';
import { PeerConnection } from '../src/session/peer-connection.js';
import { PEER_MESSAGES } from '../src/session/session-messages.js';
import { withTimeout } from './deadline.js';

export class BulkSender {
  readonly connection: PeerConnection;
  #session: PeerSession | undefined;
  /** Resolves the sender's wait for room once an acknowledgement arrives. */
  #wake: (() => void) | undefined;
  /** How often the sender found the session full, and how long it waited for acknowledgements. */
  ackWaits = 0;
  ackWaitMs = 0;

  constructor(
    readonly socket: Socket,
    identity: Identity,
    readonly acks: boolean,
  ) {
    this.connection = new PeerConnection(new TcpStream(socket), {
      initiator: true,
      keyPair: identity.keyPair,
      localInfo: { name: 'sender', version: PROTOCOL_VERSION, features: acks ? FEATURES : FEATURES.filter((f) => f !== ACKS_FEATURE) },
      codec: PEER_MESSAGES,
      handshakeTimeoutMs: DEFAULTS.handshakeTimeoutMs,
      keepaliveIntervalMs: DEFAULTS.keepaliveIntervalMs,
      maxQueuedBytes: DEFAULTS.maxQueuedBytes,
      keepaliveTimeoutMs: DEFAULTS.keepaliveTimeoutMs,
      byeGraceMs: DEFAULTS.byeGraceMs,
      clock: SYSTEM_CLOCK,
    });
  }

  /** Run the handshake and open the session (with acks: send `conversation` as a dialler does). */
  async start(timeoutMs: number): Promise<void> {
    const peer = this.connection;
    const established = once(peer, 'established');
    peer.start();
    await withTimeout(established, timeoutMs, 'the Noise handshake');
    // Acknowledgements flow when both list the feature: the receiver always does.
    if (this.acks && !acknowledges(peer)) throw new Error('the receiver does not acknowledge delivery');
    const options = {
      clock: SYSTEM_CLOCK,
      ackDelayMs: DEFAULTS.ackDelayMs,
      limits: { maxUnackedMessages: DEFAULTS.maxUnackedMessages, maxUnackedBytes: DEFAULTS.maxUnackedBytes },
      // As ChatNode sets it: the deadline's timer is restarted on every acknowledgement, as in a peer.
      ackTimeoutMs: 2 * DEFAULTS.keepaliveTimeoutMs,
      onAcknowledged: () => {},
      onOverflow: () => {},
    };
    let session: PeerSession;
    if (this.acks) {
      const id = randomBytes(CONVERSATION_ID_BYTES).toString('hex');
      peer.send({ type: 'conversation', id, received: 0 });
      session = new PeerSession(peer, options, id, true);
    } else {
      session = new PeerSession(peer, options);
    }
    this.#session = session;
    peer.on('message', (message) => {
      session.receive(message);
      this.#wake?.();
    });
  }

  /** One chat message, as ChatNode.say() builds it: a random id, a timestamp, the text. */
  send(text: string): void {
    const id = randomBytes(8).toString('hex');
    this.#session!.send({ type: 'chat', id, time: Date.now(), text }, id);
  }

  /** Undefined while the session may take more; else resolves once acknowledgements make room. */
  room(timeoutMs: number): Promise<void> | undefined {
    const session = this.#session!;
    if (!session.full) return undefined;
    this.ackWaits++;
    const start = performance.now();
    return withTimeout(this.#until(() => !session.full), timeoutMs, 'acknowledgements making room').then(() => {
      this.ackWaitMs += performance.now() - start;
    });
  }

  /** Resolves once the receiver has acknowledged everything sent. */
  async allAcknowledged(timeoutMs: number): Promise<void> {
    const session = this.#session!;
    await withTimeout(this.#until(() => session.unacked === 0), timeoutMs, 'the last acknowledgement');
  }

  async #until(done: () => boolean): Promise<void> {
    while (!done()) await new Promise<void>((resolve) => (this.#wake = resolve));
    this.#wake = undefined;
  }
}
