// A peer's control connection to a relay: register (the relay learns our key from the Noise
// handshake, our nickname, listening port and local addresses, and tells us the public address it
// sees), look peers up, ask for relayed sessions, and hear invitations. The connection is kept
// up with keepalives and re-opened whenever it drops: to the relays of its list in order, the next
// at once when one cannot be had, and with exponential backoff once all have failed
// (relay-rotation.ts). Given a UDP socket, it also learns from the relay the public endpoint that
// socket is seen at, while connected.

import { EventEmitter } from 'node:events';
import { SYSTEM_CLOCK, type Clock, type Timer } from '../clock.js';
import { DEFAULTS, type Settings } from '../defaults.js';
import { chatError, P2PChatError, type ErrorCode } from '../errors.js';
import type { Transport } from '../net/byte-stream.js';
import type { DatagramPort } from '../net/datagram-port.js';
import { localAddresses } from '../net/local-addresses.js';
import { parseRelayAddress, type RelayAddress } from '../net/relay-address.js';
import { TCP_TRANSPORT } from '../net/tcp-transport.js';
import { FEATURES, PROTOCOL_VERSION } from '../secure/handshake-payload.js';
import type { Identity } from '../secure/identity-store.js';
import { PeerConnection } from '../session/peer-connection.js';
import { CLUSTER_FEATURE, EARLY_FLIGHT_FEATURE, REPLACED_REASON, type RelayRecord } from '../session/relay-messages.js';
import { RELAY_CONTROL_MESSAGES, type PeerRef, type SessionMessage } from '../session/session-messages.js';
import { EndpointObserver, type ObservedEndpoints } from './observed-endpoints.js';
import { RelayBackoff } from './relay-backoff.js';
import { PendingRequests } from './relay-requests.js';
import { RelayRotation, type RotationStep } from './relay-rotation.js';

/** A relay to use: where it is, and its fingerprint (validated) when pinned with host#FP. */
export interface RelayEntry {
  readonly address: RelayAddress;
  readonly pin?: string;
}

export interface RelayClientOptions {
  /** The relays to use, in the order they are tried; at least one. */
  readonly relays: readonly RelayEntry[];
  readonly identity: Identity;
  /** Our nickname, read whenever we introduce ourselves or register: it follows /nick. */
  readonly name: () => string;
  /** Our listening port (0 when we do not listen: we can dial through the relay but not be reached). */
  readonly port: number;
  /** Our UDP listening port, when we listen on UDP too: registered as `udp`. */
  readonly udpPort?: number;
  /** Our own addresses to register; by default this machine's, when we listen. */
  readonly addresses?: readonly string[];
  readonly timing?: Partial<Settings>;
  /** Request deadlines, keepalive and the reconnect backoff run on this clock. */
  readonly clock?: Clock;
  /** What carries the control connection; TCP by default. */
  readonly transport?: Transport;
  /**
   * A UDP socket whose public endpoint to learn: while connected, the relay's UDP port is probed
   * from it (every `endpointRefreshMs`), and what the relay sees is `observedUdp`.
   */
  readonly datagrams?: DatagramPort;
}

/**
 * What happened with `relay` (its label). After a failure the client tries `next` at once when
 * there is one (`retryInMs` 0), or waits `retryInMs` and starts again from the first relay.
 */
export type RelayStatus = { readonly relay: string } & (
  | { readonly state: 'registered'; readonly observed: string }
  /** Connected without registering (a `connect` that only dials through the relay). */
  | { readonly state: 'ready' }
  | { readonly state: 'disconnected'; readonly error: P2PChatError; readonly retryInMs: number; readonly next?: string }
  | { readonly state: 'going-away'; readonly reason: string; readonly retryInMs: number; readonly next?: string }
  /** Given up for good: our key registered elsewhere, or no relay left that passed its pinned key. */
  | { readonly state: 'stopped'; readonly error: P2PChatError }
);

/** A relayed session the relay arranged for us: present `token` on a data connection to `relay`. */
export interface RelaySession {
  readonly token: string;
  readonly peer: RelayRecord;
  /** Where the session waits: the relay asked, or another relay of its cluster (`session.relay`). */
  readonly relay: RelayAddress;
}

export interface Invite {
  readonly token: string;
  readonly from: PeerRef;
  /** The dialler's first flight (its first bytes on the session), when it came with the invite. */
  readonly early?: Buffer;
}

export class RelayClient extends EventEmitter<{ status: [RelayStatus]; invite: [Invite]; endpoints: [ObservedEndpoints] }> {
  readonly #options: RelayClientOptions;
  readonly #timing: Settings;
  readonly #clock: Clock;
  readonly #requests: PendingRequests<SessionMessage>;
  #connection: PeerConnection | undefined;
  #registered = false;
  /** The nickname our last registration on this connection carried (answered or not). */
  #registeredAs: string | undefined;
  readonly #endpoints = new EndpointObserver((endpoints) => this.emit('endpoints', endpoints));
  /** The relay's IP address as the control connection reached it: where UDP probes and data connections go. */
  #relayIp: string | undefined;
  /** The local port of the control connection, bound explicitly. */
  #controlPort: number | undefined;
  readonly #backoff: RelayBackoff;
  readonly #rotation: RelayRotation<RelayEntry>;
  #retry: Timer | undefined;
  #closed = false;
  /** Why we gave up on the relay for good, when we did (our key registered elsewhere, a wrong key). */
  #stopped: P2PChatError | undefined;
  /** A connection-level refusal (relay-error with rid 0) that explains the close to come. */
  #refusal: P2PChatError | undefined;

  constructor(options: RelayClientOptions) {
    super();
    this.#options = options;
    this.#timing = { ...DEFAULTS, ...options.timing };
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#requests = new PendingRequests(this.#clock);
    this.#backoff = new RelayBackoff(this.#timing.relayBackoffInitialMs, this.#timing.relayBackoffMaxMs);
    this.#rotation = new RelayRotation(options.relays);
  }

  /**
   * The relay in use, or being tried: where relayed data connections go. Once connected, its host
   * is the address the control connection reached, so that a name with several addresses (one
   * per relay of a cluster, say) brings data connections to the same relay.
   */
  get relay(): RelayAddress {
    const { address } = this.#rotation.current;
    return this.#relayIp === undefined ? address : { ...address, host: this.#relayIp };
  }

  get label(): string {
    return this.#rotation.current.address.label;
  }

  get registered(): boolean {
    return this.#registered;
  }

  /** `host:port` the relay sees our control connection come from (`endpoints.tcp`). */
  get observed(): string | undefined {
    return this.#endpoints.tcp;
  }

  /** `host:port` the relay sees our UDP socket at (`endpoints.udp`), once it has answered a probe. */
  get observedUdp(): string | undefined {
    return this.#endpoints.udp;
  }

  /** The control connection's local port, while it is up (a simultaneous open leaves from it). */
  get controlPort(): number | undefined {
    return this.#controlPort;
  }

  get endpoints(): ObservedEndpoints {
    return this.#endpoints.endpoints;
  }

  start(): void {
    void this.#connect();
  }

  /** Resolves once registered (now or later), rejects after `timeoutMs`. */
  whenRegistered(timeoutMs: number): Promise<void> {
    if (this.#registered) return Promise.resolve();
    if (this.#closed) return Promise.reject(this.#stopped ?? chatError('ERR_RELAY_UNREACHABLE', `relay ${this.label} is not in use`));
    return new Promise((resolve, reject) => {
      const onStatus = (status: RelayStatus) => {
        if (status.state === 'stopped') {
          this.#clock.clearTimeout(timer);
          this.off('status', onStatus);
          reject(status.error);
          return;
        }
        if (status.state !== 'registered' && status.state !== 'ready') return;
        this.#clock.clearTimeout(timer);
        this.off('status', onStatus);
        resolve();
      };
      const { relays } = this.#options;
      const which = relays.length === 1 ? `relay ${this.label}` : `any of relays ${relays.map((r) => r.address.label).join(', ')}`;
      const timer = this.#clock.setTimeout(() => {
        this.off('status', onStatus);
        reject(chatError('ERR_RELAY_UNREACHABLE', `cannot register with ${which} within ${timeoutMs / 1000} s`));
      }, timeoutMs);
      this.on('status', onStatus);
    });
  }

  /**
   * Our nickname changed: register again under it, on the same control connection (the relay
   * replaces our record). Nothing to do before we first register: that reads the name anyway.
   */
  refreshName(): void {
    const connection = this.#connection;
    if (connection && this.#registeredAs !== undefined && this.#registeredAs !== this.#options.name()) this.#register(connection);
  }

  /**
   * This machine's addresses changed (it moved to another network): the control connection may
   * come from an address that is gone, where only its keepalive would find it dead. Drop it and
   * connect again, registering from where we are now.
   */
  addressesChanged(): void {
    this.#connection?.drop(chatError('ERR_CONNECTION_LOST', `this machine's addresses changed; connecting to relay ${this.label} again`));
  }

  async lookup(query: string): Promise<readonly RelayRecord[]> {
    const answer = await this.#request((rid) => ({ type: 'lookup', rid, query }));
    const self = this.#options.identity.fingerprint;
    return answer.type === 'lookup-result' ? answer.peers.filter((p) => p.fingerprint !== self) : [];
  }

  /** The relay carries first flights (the `early` of dial, invite and answer). */
  get carriesEarly(): boolean {
    return this.#connection?.speaks(EARLY_FLIGHT_FEATURE) ?? false;
  }

  /**
   * Ask the relay for a session to `fingerprint`, with our `early` first flight if it carries
   * them; resolves with our token, the peer's record, and the relay to open the data connection
   * to: the one asked, or the relay of its cluster that holds the session when the answer names one.
   */
  async dial(fingerprint: string, early?: Buffer): Promise<RelaySession> {
    const asked = this.relay;
    const flight = early && early.length > 0 ? { early: early.toString('hex') } : {};
    const answer = await this.#request((rid) => ({ type: 'dial', rid, fingerprint, ...flight }));
    if (answer.type !== 'session') throw chatError('ERR_RELAY_REFUSED', `relay ${this.label} sent an unexpected answer`);
    return { token: answer.token, peer: answer.peer, relay: answer.relay === undefined ? asked : sessionRelay(answer.relay, asked.label) };
  }

  /** Our first flight on the session an invite's `token` is for, in answer to its `early`. */
  answer(token: string, early: Buffer): void {
    this.#connection?.send({ type: 'answer', token, early: early.toString('hex') });
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#retry);
    this.#endpoints.stop();
    this.#requests.failAll(chatError('ERR_RELAY_UNREACHABLE', 'relay client closed'));
    await this.#connection?.close('');
  }

  #request(build: (rid: number) => Extract<SessionMessage, { rid: number }>): Promise<SessionMessage> {
    const connection = this.#connection;
    if (!connection || !this.#registered) {
      return Promise.reject(chatError('ERR_RELAY_UNREACHABLE', `not connected to relay ${this.label}`));
    }
    return this.#requests.open(
      (rid) => connection.send(build(rid) as Parameters<PeerConnection['send']>[0]),
      this.#timing.connectTimeoutMs,
      () => chatError('ERR_RELAY_UNREACHABLE', `relay ${this.label} did not answer in time`),
    );
  }

  async #connect(): Promise<void> {
    if (this.#closed) return;
    const { address: relay, pin } = this.#rotation.current;
    this.#relayIp = undefined;
    let connection: PeerConnection;
    try {
      const transport = this.#options.transport ?? TCP_TRANSPORT;
      // Bound explicitly (to a free port): a direct path may then be opened from the same port,
      // through the NAT mapping the relay saw it at (a TCP simultaneous open, path-tools.ts).
      // A relay with others after it in the list gets less time: a host that is down says nothing.
      const { connectTimeoutMs, relayFailoverMs } = this.#timing;
      const timeoutMs = this.#rotation.isLast ? connectTimeoutMs : Math.min(relayFailoverMs, connectTimeoutMs);
      const stream = await transport.dial(relay.host, relay.port, { timeoutMs, clock: this.#clock, localPort: 0 });
      if (this.#closed) {
        stream.destroy();
        return;
      }
      this.#relayIp = stream.remoteHost;
      this.#controlPort = stream.localPort;
      connection = new PeerConnection(stream, {
        initiator: true,
        keyPair: this.#options.identity.keyPair,
        // `early`: invite us with the dialler's first flight, and we answer it (relay-invites.ts);
        // `cluster`: we open a session's data connection on the relay its `session.relay` names.
        localInfo: { name: this.#options.name(), version: PROTOCOL_VERSION, features: [...FEATURES, EARLY_FLIGHT_FEATURE, CLUSTER_FEATURE] },
        codec: RELAY_CONTROL_MESSAGES,
        handshakeTimeoutMs: this.#timing.handshakeTimeoutMs,
        keepaliveIntervalMs: this.#timing.keepaliveIntervalMs,
        keepaliveTimeoutMs: this.#timing.keepaliveTimeoutMs,
        byeGraceMs: this.#timing.byeGraceMs,
        maxQueuedBytes: this.#timing.maxQueuedBytes,
        clock: this.#clock,
        ...(pin ? { expectedFingerprint: pin } : {}),
      });
    } catch (err) {
      this.#moveOn(relay.label, this.#rotation.failed(), unreachable(err, relay.label));
      return;
    }
    this.#connection = connection;
    connection.once('established', () => {
      if (this.#options.port === 0) {
        // Not listening: nobody can be invited to us, so we do not register (which would also
        // displace a listener of the same identity); the relay takes dials from any handshake.
        this.#registered = true;
        this.#backoff.reset();
        this.emit('status', { state: 'ready', relay: relay.label });
        this.#probeEndpoints();
        return;
      }
      this.#register(connection);
    });
    connection.on('message', (message) => this.#onMessage(message));
    connection.once('closed', (outcome) => {
      const wasUp = this.#registered;
      // A relay lost once we were on it: a new pass from the first, after the backoff. One that
      // failed before that: the next of this pass.
      const step = (): RotationStep => (wasUp ? (this.#rotation.restart(), 'pass-over') : this.#rotation.failed());
      this.#connection = undefined;
      this.#registered = false;
      this.#registeredAs = undefined;
      this.#controlPort = undefined;
      this.#endpoints.lost();
      if (outcome.kind === 'left' && outcome.reason === REPLACED_REASON) {
        // Another process registered our key: retrying would knock it off in turn, forever.
        this.#closed = true;
        const error = chatError('ERR_RELAY_REFUSED', `relay ${this.label}: ${REPLACED_REASON} (is this identity running twice?)`);
        this.#stop(error);
      } else if (this.#refusal) {
        const refusal = this.#refusal;
        this.#refusal = undefined;
        this.#moveOn(relay.label, step(), refusal);
      } else if (outcome.kind === 'left') {
        this.#requests.failAll(chatError('ERR_RELAY_GOING_AWAY', `relay ${this.label} is going away: ${outcome.reason}`));
        this.#moveOn(relay.label, step(), undefined, outcome.reason);
      } else if (outcome.kind !== 'closed' && outcome.error.code === 'ERR_PEER_KEY_MISMATCH') {
        // Not the relay we pinned: talking to it again will not change its key, so it leaves the
        // list. ("peer presented key K, expected P; refusing to talk to it" becomes "relay R
        // presented key K, expected P; not using it".)
        const mismatch = outcome.error.message.replace(/^peer /, '').replace(/; refusing to talk to it$/, '');
        const error = chatError('ERR_PEER_KEY_MISMATCH', `relay ${this.label} ${mismatch}; not using it`);
        const left = this.#rotation.drop();
        if (left === 'none-left') this.#stop(error);
        else this.#moveOn(relay.label, left, error);
      } else {
        const error = outcome.kind === 'closed' ? chatError('ERR_RELAY_UNREACHABLE', 'closed') : outcome.error;
        this.#moveOn(relay.label, step(), error);
      }
    });
    connection.start();
  }

  #register(connection: PeerConnection): void {
    const rid = this.#requests.nextRid();
    const { port } = this.#options;
    const addresses = this.#options.addresses ?? (port > 0 ? localAddresses() : []);
    this.#registeredAs = this.#options.name();
    const udp = this.#options.udpPort !== undefined ? { udp: this.#options.udpPort } : {};
    connection.send({ type: 'register', rid, name: this.#registeredAs, port, ...udp, addresses });
  }

  #onMessage(message: SessionMessage): void {
    switch (message.type) {
      case 'registered': {
        // A new name registered on the same connection changes nothing worth reporting.
        const again = this.#registered && message.observed === this.#endpoints.tcp;
        this.#registered = true;
        this.#endpoints.seenOverTcp(message.observed);
        this.#backoff.reset();
        if (!again) this.emit('status', { state: 'registered', relay: this.label, observed: message.observed });
        this.#probeEndpoints();
        return;
      }
      case 'invite':
        this.emit('invite', { token: message.token, from: message.from, ...(message.early ? { early: Buffer.from(message.early, 'hex') } : {}) });
        return;
      case 'session':
        // A client that does not register learns here where the relay sees it (an older relay does not say).
        if (message.observed !== undefined) this.#endpoints.seenOverTcp(message.observed);
        this.#requests.resolve(message.rid, message);
        return;
      case 'lookup-result':
        this.#requests.resolve(message.rid, message);
        return;
      case 'relay-error': {
        const code = PASSED_ON_CODES.has(message.code) ? (message.code as ErrorCode) : 'ERR_RELAY_REFUSED';
        const error = chatError(code, `relay ${this.label}: ${message.message}`);
        if (message.rid === 0) {
          // Said just before the relay closes on us (e.g. full): the goodbye that follows is this.
          this.#refusal = error;
          this.#requests.failAll(error);
        }
        else this.#requests.reject(message.rid, error);
        return;
      }
      default:
        return;
    }
  }

  /** Probe the relay's UDP port (the TCP port's number) from our socket, if given one, while connected. */
  #probeEndpoints(): void {
    const datagrams = this.#options.datagrams;
    if (!datagrams || this.#relayIp === undefined) return;
    this.#endpoints.probe({
      datagrams,
      relayHost: this.#relayIp,
      relayPort: this.relay.port,
      clock: this.#clock,
      deadlineMs: this.#timing.connectTimeoutMs,
      refreshMs: this.#timing.endpointRefreshMs,
    });
  }

  #stop(error: P2PChatError): void {
    this.#closed = true;
    this.#stopped = error;
    this.#requests.failAll(error);
    this.emit('status', { state: 'stopped', relay: this.label, error });
  }

  /**
   * `relay` (its label) failed or was lost, and the rotation took `step`: try the next relay now,
   * or, the pass over, the first again after the backoff.
   */
  #moveOn(relay: string, step: RotationStep, error: P2PChatError | undefined, goingAwayReason?: string): void {
    if (this.#closed) return;
    this.#requests.failAll(error ?? chatError('ERR_RELAY_UNREACHABLE', `lost relay ${relay}`));
    const next = step === 'next' ? { next: this.label } : {};
    const retryInMs = step === 'next' ? 0 : this.#backoff.next();
    if (goingAwayReason !== undefined) this.emit('status', { state: 'going-away', relay, reason: goingAwayReason, retryInMs, ...next });
    else this.emit('status', { state: 'disconnected', relay, error: error!, retryInMs, ...next });
    if (step === 'next') {
      void this.#connect();
      return;
    }
    this.#retry = this.#clock.setTimeout(() => void this.#connect(), retryInMs);
    this.#retry.unref();
  }
}

/** Codes a relay may give that mean something particular to us; any other is ERR_RELAY_REFUSED. */
const PASSED_ON_CODES: ReadonlySet<string> = new Set<ErrorCode>(['ERR_RELAY_FULL', 'ERR_PEER_NOT_FOUND', 'ERR_RELAY_RATE_LIMITED', 'ERR_CLUSTER_UNAVAILABLE']);

/** The relay a `session` names (already checked as host:port by the codec), as an address to dial. */
function sessionRelay(text: string, asked: string): RelayAddress {
  try {
    return parseRelayAddress(text);
  } catch (err) {
    throw chatError('ERR_RELAY_REFUSED', `relay ${asked} named an unusable relay for the session: ${P2PChatError.from(err, 'ERR_BAD_TARGET').message}`);
  }
}

/** Why the relay could not be reached, in the relay's terms. */
function unreachable(err: unknown, label: string): P2PChatError {
  if (P2PChatError.is(err, 'ERR_CONNECT_FAILED')) {
    return chatError('ERR_RELAY_UNREACHABLE', err.message.replace(/^cannot reach/, 'cannot reach relay'), err);
  }
  return P2PChatError.from(err, 'ERR_RELAY_UNREACHABLE', `cannot reach relay ${label}`);
}
