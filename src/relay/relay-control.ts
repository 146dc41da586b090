// The relay's control connections: each is a Noise session with the relay's own identity, over
// which a peer registers (under the key it proved, never one it claims), looks peers up and asks
// for relayed sessions. A connection over the limits still completes its handshake, so it can be
// told "relay full" in words before it is closed.

import type { Socket } from 'node:net';
import type { ErrorCode } from '../errors.js';
import { PROTOCOL_VERSION } from '../secure/handshake-payload.js';
import type { Identity } from '../secure/identity-store.js';
import type { PeerRef } from '../session/message-fields.js';
import { PeerConnection, type CloseOutcome } from '../session/peer-connection.js';
import type { RelayMessage } from '../session/relay-messages.js';
import { sanitizeName } from '../session/sanitize.js';
import type { SessionMessage } from '../session/session-messages.js';
import { RELAY_FEATURES, RELAY_PEER_NAME, type RelayLimits } from './relay-defaults.js';
import type { RelayEvent } from './relay-events.js';
import type { Admission } from './relay-limits.js';
import { REPLACED_REASON } from '../session/relay-messages.js';
import { RelayRegistry } from './relay-registry.js';
import type { RelaySessions } from './relay-sessions.js';

export { REPLACED_REASON };

export interface RelayControlOptions {
  readonly identity: Identity;
  readonly limits: RelayLimits;
  readonly admission: Admission;
  readonly sessions: RelaySessions;
  readonly emit: (event: RelayEvent) => void;
}

export class RelayControl {
  readonly registry = new RelayRegistry<PeerConnection>();
  readonly #options: RelayControlOptions;
  readonly #connections = new Set<PeerConnection>();
  #stopping: string | undefined;

  constructor(options: RelayControlOptions) {
    this.#options = options;
  }

  /**
   * Run a control connection on `socket`, which is paused with its first bytes put back. With a
   * `refusal`, the peer is told ERR_RELAY_FULL and closed as soon as the handshake is done.
   */
  adopt(socket: Socket, refusal: string | undefined): void {
    const { identity, limits, admission, emit } = this.#options;
    const connection = new PeerConnection(socket, {
      initiator: false,
      keyPair: identity.keyPair,
      localInfo: { name: RELAY_PEER_NAME, version: PROTOCOL_VERSION, features: RELAY_FEATURES },
      handshakeTimeoutMs: limits.handshakeTimeoutMs,
      keepaliveIntervalMs: limits.keepaliveIntervalMs,
      keepaliveTimeoutMs: limits.keepaliveTimeoutMs,
      byeGraceMs: limits.byeGraceMs,
      maxQueuedBytes: limits.controlMaxQueuedBytes,
    });
    this.#connections.add(connection);
    if (refusal === undefined) admission.peerAdded();
    else emit({ type: 'rejected', address: connection.address, code: 'ERR_RELAY_FULL', message: refusal });

    connection.once('established', () => {
      if (this.#stopping !== undefined) {
        void connection.close(this.#stopping);
      } else if (refusal !== undefined) {
        connection.send({ type: 'relay-error', rid: 0, code: 'ERR_RELAY_FULL', message: refusal });
        void connection.close(refusal);
      }
    });
    connection.on('message', (message) => {
      if (refusal === undefined && this.#stopping === undefined) this.#onMessage(connection, message);
    });
    connection.once('closed', (outcome) => this.#onClosed(connection, outcome, refusal !== undefined));
    connection.start();
    // start() attached the 'data' listener; an explicitly paused stream does not resume by itself.
    socket.resume();
  }

  /** Goodbye (`reason`) to every established peer; connections still in their handshake are cut. */
  stop(reason: string): void {
    this.#stopping = reason;
    for (const connection of this.#connections) {
      if (connection.established) void connection.close(reason);
      else connection.destroy();
    }
  }

  #onMessage(connection: PeerConnection, message: SessionMessage): void {
    const remote = connection.remote;
    if (!remote) return;
    switch (message.type) {
      case 'register':
        this.#register(connection, remote.fingerprint, message);
        return;
      case 'lookup':
        connection.send({ type: 'lookup-result', rid: message.rid, peers: this.registry.lookup(message.query) });
        return;
      case 'dial':
        this.#dial(connection, { name: this.#nameOf(connection), fingerprint: remote.fingerprint }, message);
        return;
      default:
        return; // chat, answers only the relay sends, newer types: nothing for the relay to do
    }
  }

  #register(connection: PeerConnection, fingerprint: string, message: Extract<RelayMessage, { type: 'register' }>): void {
    // The key is the one this connection proved in its handshake: nobody can register another's.
    const record = {
      name: sanitizeName(message.name),
      fingerprint,
      observed: connection.address,
      port: message.port,
      addresses: message.addresses,
    };
    const previous = this.registry.get(fingerprint);
    const replaced = this.registry.register(record, connection);
    if (replaced && previous) {
      this.#options.emit({ type: 'unregistered', ...pick(previous), reason: REPLACED_REASON });
      void replaced.close(REPLACED_REASON);
    }
    connection.send({ type: 'registered', rid: message.rid, observed: record.observed });
    this.#options.emit({ type: 'registered', ...pick(record) });
  }

  #dial(connection: PeerConnection, from: PeerRef, message: Extract<RelayMessage, { type: 'dial' }>): void {
    const { rid, fingerprint } = message;
    const fail = (code: ErrorCode, text: string) => connection.send({ type: 'relay-error', rid, code, message: text });
    if (fingerprint === from.fingerprint) {
      fail('ERR_RELAY_REFUSED', 'cannot open a relayed session to yourself');
      return;
    }
    const record = this.registry.get(fingerprint);
    const target = this.registry.ownerOf(fingerprint);
    if (!record || !target) {
      fail('ERR_PEER_NOT_FOUND', `no peer with fingerprint ${fingerprint} is registered at this relay`);
      return;
    }
    const answer = this.#options.sessions.dial(from, { name: record.name, fingerprint }, connection);
    if (!answer.ok) {
      fail(answer.code, answer.message);
      return;
    }
    target.send({ type: 'invite', token: answer.dialedToken, from });
    connection.send({ type: 'session', rid, token: answer.dialerToken, peer: record });
  }

  /** The name a peer registered under, else the one from its handshake. */
  #nameOf(connection: PeerConnection): string {
    const remote = connection.remote;
    if (!remote) return 'anonymous';
    const record = this.registry.get(remote.fingerprint);
    return record && this.registry.ownerOf(remote.fingerprint) === connection ? record.name : sanitizeName(remote.info.name);
  }

  #onClosed(connection: PeerConnection, outcome: CloseOutcome, refused: boolean): void {
    this.#connections.delete(connection);
    if (refused) return;
    this.#options.admission.peerRemoved();
    const remote = connection.remote;
    const record = remote ? this.registry.unregister(remote.fingerprint, connection) : undefined;
    if (record) {
      this.#options.emit({ type: 'unregistered', ...pick(record), reason: describeOutcome(outcome) });
    } else if (outcome.kind === 'failed' && this.#stopping === undefined) {
      const { code, message } = outcome.error;
      this.#options.emit({ type: 'rejected', address: connection.address, code, message });
    }
  }
}

function pick(record: { name: string; fingerprint: string; observed: string }) {
  return { name: record.name, fingerprint: record.fingerprint, observed: record.observed };
}

function describeOutcome(outcome: CloseOutcome): string {
  switch (outcome.kind) {
    case 'left':
      return outcome.reason ? `left: ${outcome.reason}` : 'left';
    case 'closed':
      return 'closed by the relay';
    case 'lost':
    case 'failed':
      return `lost: ${outcome.error.message} (${outcome.error.code})`;
  }
}
