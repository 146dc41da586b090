// The relay's control connections: each is a Noise session with the relay's own identity, over
// which a peer registers (under the key it proved, never one it claims), looks peers up and asks
// for relayed sessions, within a rate limit. A connection over the limits still completes its
// handshake, so it can be told "relay full" in words before it is closed.

import type { Clock } from '../clock.js';
import type { ErrorCode } from '../errors.js';
import type { ByteStream } from '../net/byte-stream.js';
import { PROTOCOL_VERSION } from '../secure/handshake-payload.js';
import type { Identity } from '../secure/identity-store.js';
import type { PeerRef } from '../session/message-fields.js';
import { PeerConnection, type CloseOutcome } from '../session/peer-connection.js';
import type { RelayMessage, RelayRecord } from '../session/relay-messages.js';
import { sanitizeName } from '../session/sanitize.js';
import { RELAY_CONTROL_MESSAGES, type SessionMessage } from '../session/session-messages.js';
import { RELAY_PEER_NAME, type RelayLimits } from './relay-defaults.js';
import { ControlRateLimit } from './control-rate-limit.js';
import { LogThrottle } from '../log-throttle.js';
import type { RelayEvent } from './relay-events.js';
import type { Admission } from './relay-limits.js';
import { EARLY_FLIGHT_FEATURE, REPLACED_REASON } from '../session/relay-messages.js';
import type { Dialler } from './session-quota.js';
import { RelayRegistry } from './relay-registry.js';
import type { RelayCluster } from './relay-cluster.js';
import { dialElsewhere, lookupEverywhere, type ClusterDial } from './cluster-requests.js';
import type { RelaySessions } from './relay-sessions.js';

export { REPLACED_REASON };

export interface RelayControlOptions {
  readonly identity: Identity;
  /** Announced in the relay's handshake payload (RELAY_FEATURES, unless a test plays an older relay). */
  readonly features: readonly string[];
  readonly limits: RelayLimits;
  readonly admission: Admission;
  readonly sessions: RelaySessions;
  readonly emit: (event: RelayEvent) => void;
  readonly clock: Clock;
  /** With --cluster: lookups and dials reach the other relays' peers too. */
  readonly cluster?: RelayCluster;
}

/** How the server hands a sniffed control connection over. */
export interface Adoption {
  /** The address it comes from, without port: sessions it dials count against it. */
  readonly ip: string;
  /** Why it is over a limit, if it is: it is told ERR_RELAY_FULL once its handshake is done. */
  readonly refusal: string | undefined;
  /** What is left of the deadline the connection was given on arrival for its handshake. */
  readonly handshakeTimeoutMs: number;
}

/** A control connection and its allowances. */
interface Control {
  readonly connection: PeerConnection;
  readonly ip: string;
  readonly rate: ControlRateLimit;
  /** Made at the first refusal: most connections never need one. */
  refusals?: LogThrottle;
  /** Closed for flooding: whatever else it sent is dropped unanswered. */
  cutOff: boolean;
}

type Request = Extract<SessionMessage, { type: 'register' | 'lookup' | 'dial' }>;

/** The goodbye to a control connection that kept flooding after being refused. */
export const FLOODING_REASON = 'too many requests';

export class RelayControl {
  readonly registry = new RelayRegistry<PeerConnection>();
  readonly #options: RelayControlOptions;
  readonly #connections = new Set<PeerConnection>();
  #stopping: string | undefined;

  constructor(options: RelayControlOptions) {
    this.#options = options;
  }

  /**
   * Run a control connection on `stream`, which is paused with its first bytes put back. With a
   * `refusal`, the peer is told ERR_RELAY_FULL and closed as soon as the handshake is done.
   */
  adopt(stream: ByteStream, { ip, refusal, handshakeTimeoutMs }: Adoption): void {
    const { identity, features, limits, admission, emit, clock } = this.#options;
    const connection = new PeerConnection(stream, {
      initiator: false,
      keyPair: identity.keyPair,
      localInfo: { name: RELAY_PEER_NAME, version: PROTOCOL_VERSION, features },
      codec: RELAY_CONTROL_MESSAGES,
      handshakeTimeoutMs: Math.max(1, handshakeTimeoutMs),
      keepaliveIntervalMs: limits.keepaliveIntervalMs,
      keepaliveTimeoutMs: limits.keepaliveTimeoutMs,
      byeGraceMs: limits.byeGraceMs,
      maxQueuedBytes: limits.controlMaxQueuedBytes,
      clock,
    });
    this.#connections.add(connection);
    const control: Control = {
      connection,
      ip,
      rate: new ControlRateLimit(limits.controlRequestsPerSec, limits.controlRequestBurst, clock.now()),
      cutOff: false,
    };
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
      if (refusal === undefined && this.#stopping === undefined && !control.cutOff) this.#onMessage(control, message);
    });
    connection.once('closed', (outcome) => this.#onClosed(connection, outcome, refusal !== undefined));
    connection.start();
  }

  /** Goodbye (`reason`) to every established peer; connections still in their handshake are cut. */
  stop(reason: string): void {
    this.#stopping = reason;
    for (const connection of this.#connections) {
      if (connection.established) void connection.close(reason);
      else connection.destroy();
    }
  }

  #onMessage(control: Control, message: SessionMessage): void {
    const { connection } = control;
    const remote = connection.remote;
    if (!remote) return;
    if (message.type === 'answer') {
      // Not a request: each is good once, for an invitation we sent this key, and one that finds
      // none due (expired, ended, not its own) is dropped; so it is not rate-limited either.
      this.#options.sessions.answer(message.token, remote.fingerprint, Buffer.from(message.early, 'hex'));
      return;
    }
    if (!isRequest(message)) return; // chat, answers only the relay sends, newer types
    const verdict = control.rate.admit(this.#options.clock.now());
    if (verdict !== 'serve') {
      this.#throttle(control, message.rid, verdict);
      return;
    }
    switch (message.type) {
      case 'register':
        this.#register(connection, remote.fingerprint, message);
        return;
      case 'lookup': {
        const cluster = this.#options.cluster;
        const answer = (peers: RelayRecord[]) => connection.send({ type: 'lookup-result', rid: message.rid, peers });
        // Alone, at once: answers keep the order of requests, up to a flood's cut-off.
        if (!cluster) answer(this.registry.lookup(message.query));
        else void lookupEverywhere(this.registry, cluster, message.query).then(answer);
        return;
      }
      case 'dial':
        this.#dial(control, { name: this.#nameOf(connection), fingerprint: remote.fingerprint }, message);
        return;
    }
  }

  /** A request past the rate limit: refused, or, for a connection that kept on, the end of it. */
  #throttle(control: Control, rid: number, verdict: 'refuse' | 'close'): void {
    const { connection } = control;
    const why = control.rate.describe();
    if (verdict === 'refuse') {
      connection.send({ type: 'relay-error', rid, code: 'ERR_RELAY_RATE_LIMITED', message: `${why}; slow down` });
      this.#logRefusal(control, 'ERR_RELAY_RATE_LIMITED', `requests refused: ${why}`);
      return;
    }
    control.cutOff = true;
    connection.send({ type: 'relay-error', rid: 0, code: 'ERR_RELAY_RATE_LIMITED', message: `kept sending ${why}; disconnected` });
    this.#logRefusal(control, 'ERR_RELAY_RATE_LIMITED', `disconnected: kept sending ${why}`);
    void connection.close(FLOODING_REASON);
  }

  /** One line per connection per refusalLogIntervalMs at most: a flood must not flood the log. */
  #logRefusal(control: Control, code: ErrorCode, message: string): void {
    control.refusals ??= new LogThrottle(this.#options.limits.refusalLogIntervalMs);
    const held = control.refusals.pass(this.#options.clock.now());
    if (held === undefined) return;
    const more = held > 0 ? ` (and ${held} more since the last line)` : '';
    this.#options.emit({ type: 'rejected', address: control.connection.address, code, message: message + more });
  }

  #register(connection: PeerConnection, fingerprint: string, message: Extract<RelayMessage, { type: 'register' }>): void {
    // The key is the one this connection proved in its handshake: nobody can register another's.
    const record = {
      name: sanitizeName(message.name),
      fingerprint,
      observed: connection.address,
      port: message.port,
      ...(message.udp !== undefined ? { udp: message.udp } : {}),
      addresses: message.addresses,
    };
    const previous = this.registry.get(fingerprint);
    const fresh = this.registry.ownerOf(fingerprint) !== connection;
    const replaced = this.registry.register(record, connection);
    if (replaced && previous) {
      this.#options.emit({ type: 'unregistered', ...pick(previous), reason: REPLACED_REASON });
      void replaced.close(REPLACED_REASON);
    }
    connection.send({ type: 'registered', rid: message.rid, observed: record.observed });
    this.#options.emit({ type: 'registered', ...pick(record) });
    this.#options.cluster?.registered(record);
    // A key registering on a new connection may have moved: what we invited it to on the old
    // one (perhaps already dead) is sent again here. The peer takes each token once.
    if (fresh) {
      const early = connection.speaks(EARLY_FLIGHT_FEATURE);
      for (const invite of this.#options.sessions.invitesFor(fingerprint)) {
        if (invite.early && !early) this.#options.sessions.flightRefused(invite.token);
        connection.send({ type: 'invite', token: invite.token, from: invite.from, ...(early && invite.early ? { early: invite.early.toString('hex') } : {}) });
      }
    }
  }

  #dial(control: Control, from: PeerRef, message: Extract<RelayMessage, { type: 'dial' }>): void {
    const { connection } = control;
    const { rid, fingerprint } = message;
    const fail = (code: string, text: string) => connection.send({ type: 'relay-error', rid, code, message: text });
    if (fingerprint === from.fingerprint) {
      fail('ERR_RELAY_REFUSED', 'cannot open a relayed session to yourself');
      return;
    }
    if (!this.registry.ownerOf(fingerprint) && this.#options.cluster) {
      void dialElsewhere(this.#options.cluster, connection, control.ip, from, message);
      return;
    }
    const invited = this.invite(from, { key: from.fingerprint, ip: control.ip }, fingerprint, message.early);
    if (!invited.ok) {
      fail(invited.code, invited.message);
      if (invited.code === 'ERR_RELAY_FULL') this.#logRefusal(control, invited.code, `dial refused: ${invited.message}`);
      return;
    }
    // `observed`: a dialler that does not register learns its public TCP endpoint only here.
    connection.send({ type: 'session', rid, token: invited.token, peer: invited.peer, observed: connection.address });
  }

  /**
   * Invite our peer `fingerprint` to a session with `from` (dialling as `dialler`), carrying its
   * first flight `early` (hex) if any: the dialler's token and the peer's record, or why not. A
   * dial from this relay's own peers and one passed on by another relay of the cluster both come here.
   */
  invite(from: PeerRef, dialler: Dialler, fingerprint: string, early: string | undefined): ClusterDial {
    const record = this.registry.get(fingerprint);
    const target = this.registry.ownerOf(fingerprint);
    if (!record || !target) return { ok: false, code: 'ERR_PEER_NOT_FOUND', message: `no peer with fingerprint ${fingerprint} is registered at this relay` };
    // The dialler's first flight goes in the invite to a peer that takes it, else in front of its data connection.
    const invited = early !== undefined && target.speaks(EARLY_FLIGHT_FEATURE);
    const flight = early !== undefined ? { bytes: Buffer.from(early, 'hex'), invited } : undefined;
    const answer = this.#options.sessions.dial(from, { name: record.name, fingerprint }, dialler, flight);
    if (!answer.ok) return answer;
    target.send({ type: 'invite', token: answer.dialedToken, from, ...(invited ? { early } : {}) });
    return { ok: true, token: answer.dialerToken, peer: record };
  }

  /**
   * The registration `record` is stale: its key registered on another relay of the cluster since.
   * Its connection is let go, unless the key registered here again meanwhile.
   */
  moved(record: RelayRecord): void {
    const { fingerprint } = record;
    const connection = this.registry.ownerOf(fingerprint);
    if (!connection || this.registry.get(fingerprint) !== record) return;
    this.registry.unregister(fingerprint, connection);
    this.#options.emit({ type: 'unregistered', ...pick(record), reason: `${REPLACED_REASON} on another relay of the cluster` });
    void connection.close(REPLACED_REASON);
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
      this.#options.cluster?.unregistered(record.fingerprint);
    } else if (this.#stopping === undefined && (outcome.kind === 'failed' || (outcome.kind === 'lost' && !WENT_AWAY.has(outcome.error.code)))) {
      // A handshake that failed, or a session broken by what the client sent (a forged or garbled
      // frame, a protocol error); not a client that simply went away or fell silent unregistered.
      const { code, message } = outcome.error;
      this.#options.emit({ type: 'rejected', address: connection.address, code, message });
    }
  }
}

/** How a session ends when the client just leaves: not worth a `rejected` line. */
const WENT_AWAY: ReadonlySet<string> = new Set(['ERR_CONNECTION_LOST', 'ERR_KEEPALIVE_TIMEOUT']);

function isRequest(message: SessionMessage): message is Request {
  return message.type === 'register' || message.type === 'lookup' || message.type === 'dial';
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
