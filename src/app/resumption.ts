// How sessions become conversations, and how a conversation outlives its connection. Between peers
// that acknowledge delivery, the dialler opens every session with `conversation` (a new id, or the
// one it resumes) and the listener answers; until the answer comes the session is not in the room.
// A connection lost without a goodbye leaves its conversation suspended for the resume window: the
// dialler is asked to dial again, the listener waits, and the next session with the same key and
// id picks it up where it stopped. One that does not come back in time is lost. A dialler whose
// peer takes Noise IK names the conversation in handshake message 1, saving a round trip.

import { randomBytes } from 'node:crypto';
import type { Clock, Timer } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';
import { addressGroup } from '../net/address.js';
import { parseTarget } from '../net/target.js';
import type { RemotePeer } from '../secure/secure-channel.js';
import { CONVERSATION_ID_BYTES, type DeliveryMessage } from '../session/delivery-messages.js';
import type { CloseOutcome, PeerConnection } from '../session/peer-connection.js';
import type { SessionMessage } from '../session/session-messages.js';
import type { AppEvent } from './app-events.js';
import type { PeerLink } from './files/transfers.js';
import { acknowledges, expectHello } from './peer-session.js';
import type { Room, RoomPeer, Route } from './room.js';

type Hello = Extract<DeliveryMessage, { type: 'conversation' }>;

/** Losses a new connection can mend; the rest (a protocol violation, a bad tag) end the conversation. */
const RESUMABLE = new Set(['ERR_CONNECTION_LOST', 'ERR_KEEPALIVE_TIMEOUT']);
/** The feature a peer lists when it takes a resumption in Noise IK's message 1. */
export const EARLY_RESUME_FEATURE = 'ik';
/** Message 1s remembered per conversation, to refuse one replayed. */
const MAX_EARLY_KEYS = 16;

/** How to open a session that resumes a conversation in handshake message 1 (Noise IK). */
export interface EarlyResume {
  readonly peer: RoomPeer;
  readonly remoteStaticKey: Buffer;
  readonly message: Hello;
}

export interface ResumptionOptions {
  readonly room: Room;
  readonly clock: Clock;
  /** How long a suspended conversation waits for its peer; 0: never suspend. */
  readonly resumeWindowMs: number;
  /** Strangers' conversations suspended at once from one address (group); the oldest gives way. */
  readonly maxSuspendedStrangersPerIp: number;
  /** How long a session may take to send its `conversation` after the handshake. */
  readonly helloTimeoutMs: number;
  readonly emit: (event: AppEvent) => void;
  /**
   * Whether a session may join as a new peer (a resumed conversation takes no new place); the
   * caller closes one it turns away. Asked once the session is known to start a new conversation.
   */
  readonly mayJoin: (arrival: Arrival) => boolean;
  /**
   * A session joined the room, or resumed a conversation there: then `previousLink` is the file
   * link of the connection it took over from, whose transfers go on over the new one.
   */
  readonly onJoined: (connection: PeerConnection, peer: RoomPeer, previousLink?: PeerLink) => void;
  /** A conversation we dialled was suspended: dial its peer again. */
  readonly onSuspended: (peer: RoomPeer, error: P2PChatError) => void;
  /** A suspended conversation is over (the window closed, or the peer started a new one); the room lets it go next. */
  readonly onLost?: (peer: RoomPeer, error: P2PChatError) => void;
}

/** What the room needs to take a session in: how it came, and its file link. */
export interface Arrival {
  readonly connection: PeerConnection;
  readonly remote: RemotePeer;
  readonly direction: 'incoming' | 'outgoing';
  readonly route: Route;
  readonly link: PeerLink;
  /** The address group it came from: a listener's limits are counted per group. */
  readonly from: string;
  /** Dialler: a direct path to the peer of this live conversation, which the session is to take over. */
  readonly moving?: RoomPeer;
}

interface Suspension {
  readonly serial: number;
  readonly since: number;
  readonly error: P2PChatError;
  readonly timer: Timer;
}

export class Resumption {
  readonly #options: ResumptionOptions;
  /** Sessions whose peer's `conversation` is due, and what to do with it. */
  readonly #awaiting = new Map<PeerConnection, { readonly timer: Timer; readonly take: (hello: Hello) => void }>();
  readonly #suspended = new Map<RoomPeer, Suspension>();
  /** Dialler: suspensions whose IK try failed; their later tries run XX. */
  readonly #noEarly = new WeakSet<Suspension>();
  /** Listener: the ephemeral keys of the IK message 1s that named each conversation. */
  readonly #earlyKeys = new WeakMap<RoomPeer, string[]>();
  #serial = 0;

  constructor(options: ResumptionOptions) {
    this.#options = options;
  }

  /** A session is up: join it to the room, at once or once the conversation is settled. */
  established(arrival: Arrival): void {
    const { connection, remote, direction } = arrival;
    if (!acknowledges(connection)) {
      if (this.#options.mayJoin(arrival)) this.#join(arrival);
      return;
    }
    if (direction === 'incoming') {
      this.#await(connection, (hello) => (remote.pattern === 'IK' ? this.#answerEarly(arrival, hello) : this.#answer(arrival, hello)));
      return;
    }
    if (arrival.moving) {
      this.#move(arrival, arrival.moving);
      return;
    }
    const resumed = this.#suspendedWith(remote.fingerprint, 'outgoing');
    if (remote.pattern === 'IK' && !resumed) {
      // Message 1 resumed a conversation that ran out while we dialled: nothing to go on with.
      void connection.close('the conversation ended before it resumed');
      return;
    }
    if (resumed) {
      if (remote.pattern !== 'IK') connection.send(resumed.session.hello(false));
      const suspension = this.#suspended.get(resumed)!.serial;
      this.#await(connection, (answer) => this.#resumeDialled(arrival, resumed, suspension, answer));
      return;
    }
    const id = randomBytes(CONVERSATION_ID_BYTES).toString('hex');
    connection.send({ type: 'conversation', id, received: 0 });
    this.#join(arrival, { id, opened: true });
  }

  /** A message on a session not yet in the room. False when it is not one of ours to take. */
  message(connection: PeerConnection, message: SessionMessage): boolean {
    const waiting = this.#awaiting.get(connection);
    if (!waiting) return false;
    this.#awaiting.delete(connection);
    this.#options.clock.clearTimeout(waiting.timer);
    try {
      waiting.take(expectHello(message));
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      connection.drop(err);
    }
    return true;
  }

  /**
   * A connection closed. True when its conversation is suspended rather than over (the room keeps
   * it); false for the room to let the peer go.
   */
  closed(connection: PeerConnection, outcome: CloseOutcome, quitting: boolean): boolean {
    const waiting = this.#awaiting.get(connection);
    if (waiting) {
      this.#awaiting.delete(connection);
      this.#options.clock.clearTimeout(waiting.timer);
    }
    const room = this.#options.room;
    const peer = room.find(connection);
    if (!peer || quitting || this.#options.resumeWindowMs <= 0 || !peer.session.acknowledges) return false;
    if (outcome.kind !== 'lost' || !RESUMABLE.has(outcome.error.code)) return false;
    // Its key already has a newer conversation with us (the process behind it started again while
    // this link looked alive): nobody is going to resume this one.
    if (peer.direction === 'incoming' && this.#newer(peer)) {
      const error = outcome.error;
      const lost = chatError(error.code, `${error.message}; it came back with a new conversation`);
      this.#options.onLost?.(peer, lost);
      room.leave(connection, { kind: 'lost', error: lost });
      return true;
    }
    room.suspend(connection);
    this.#suspend(peer, outcome.error);
    return true;
  }

  /**
   * Stop every timer (the node is quitting). Returns the sessions still waiting for their
   * `conversation`: in no room, so only the caller can close them.
   */
  stop(): PeerConnection[] {
    const waiting = [...this.#awaiting.keys()];
    for (const { timer } of this.#awaiting.values()) this.#options.clock.clearTimeout(timer);
    this.#awaiting.clear();
    for (const { timer } of this.#suspended.values()) this.#options.clock.clearTimeout(timer);
    this.#suspended.clear();
    return waiting;
  }

  /** More was said while `peer` was away than can be kept for it: its conversation is lost now. */
  overflowed(peer: RoomPeer): void {
    const suspension = this.#suspended.get(peer);
    if (suspension) this.#expire(peer, suspension.error, `more was said meanwhile than can be kept for ${peer.name}`);
  }

  /**
   * Dialler: how to resume a conversation with `fingerprint` in handshake message 1, when one is
   * suspended, its peer takes IK and no IK try of this suspension has failed.
   */
  earlyResume(fingerprint: string): EarlyResume | undefined {
    const peer = this.#suspendedWith(fingerprint, 'outgoing');
    const suspension = peer && this.#suspended.get(peer);
    const remoteStaticKey = peer?.connection.remote?.publicKey;
    if (!peer || !suspension || !remoteStaticKey || this.#noEarly.has(suspension) || !peer.connection.speaks(EARLY_RESUME_FEATURE)) return undefined;
    return { peer, remoteStaticKey, message: peer.session.hello(false) };
  }

  /**
   * Dialler: an IK try ended without resuming (the peer's key or build changed, or it no longer
   * has the conversation): the rest of this suspension's tries run XX, which settles either way.
   */
  earlyFailed(peer: RoomPeer): void {
    const suspension = this.#suspended.get(peer);
    if (suspension) this.#noEarly.add(suspension);
  }

  /** Whether `peer`'s conversation is waiting to resume. */
  isSuspended(peer: RoomPeer): boolean {
    return this.#suspended.has(peer);
  }

  /** Which suspension of `peer` this is (a number no other has had), or undefined when it is not suspended. */
  suspension(peer: RoomPeer): number | undefined {
    return this.#suspended.get(peer)?.serial;
  }

  #suspend(peer: RoomPeer, error: P2PChatError): void {
    const { clock, resumeWindowMs } = this.#options;
    this.#makeRoomFor(peer);
    const timer = clock.setTimeout(() => this.#expire(peer, error), resumeWindowMs);
    timer.unref();
    this.#suspended.set(peer, { serial: ++this.#serial, since: clock.now(), error, timer });
    if (peer.direction === 'outgoing') {
      this.#options.onSuspended(peer, error);
      return;
    }
    this.#options.emit(reconnecting(peer, error, 0, 0));
  }

  /**
   * A stranger's suspended conversation holds a place in the room without a socket: from one
   * address, at most maxSuspendedStrangersPerIp wait at once, and the oldest gives way (lost).
   * Peers whose key we knew before this run are not counted: strangers go first.
   */
  #makeRoomFor(peer: RoomPeer): void {
    if (peer.direction !== 'incoming' || peer.link.known) return;
    const group = groupOf(peer);
    const waiting = [...this.#suspended.keys()].filter((p) => p.direction === 'incoming' && !p.link.known && groupOf(p) === group);
    for (const old of waiting.slice(0, Math.max(0, waiting.length - this.#options.maxSuspendedStrangersPerIp + 1))) {
      this.#expire(old, this.#suspended.get(old)!.error, `too many strangers from ${group} waiting to come back`);
    }
  }

  /** The resume window is over (or the peer came back with a new conversation): it is lost. */
  #expire(peer: RoomPeer, error: P2PChatError, why?: string): void {
    const suspension = this.#suspended.get(peer);
    if (!suspension) return;
    this.#options.clock.clearTimeout(suspension.timer);
    this.#suspended.delete(peer);
    const seconds = Math.round(this.#options.resumeWindowMs / 1000);
    const message = `${error.message}; ${why ?? `not back within ${seconds} s`}`;
    const lost = chatError(error.code, message);
    this.#options.onLost?.(peer, lost);
    this.#options.room.leave(peer.connection, { kind: 'lost', error: lost });
  }

  #await(connection: PeerConnection, take: (hello: Hello) => void): void {
    const timer = this.#options.clock.setTimeout(() => {
      this.#awaiting.delete(connection);
      connection.drop(chatError('ERR_HANDSHAKE_TIMEOUT', `${connection.address} sent no conversation message after the handshake`));
    }, this.#options.helloTimeoutMs);
    timer.unref();
    this.#awaiting.set(connection, { timer, take });
  }

  /** Listener: the dialler named its conversation. Resume ours with that key and id, or start it. */
  #answer(arrival: Arrival, hello: Hello): void {
    const { connection, remote } = arrival;
    const room = this.#options.room;
    const same = this.#held(remote.fingerprint, hello.id);
    if (same) {
      // The claim first: a count it cannot have leaves the conversation as it was.
      same.session.checkResume(hello.received);
      // The old connection may not know yet that it is dead (a silent path): this one replaces it,
      // and the old one is closed once the room no longer holds it. Or the dialler moves the
      // conversation to a path it found better (a direct one, while relayed), and says so.
      const old = same.session.detached ? undefined : same.connection;
      if (old && hello.move) {
        this.#moved(arrival, same, hello.received, true);
        old.destroy();
        return;
      }
      if (old) {
        room.suspend(old);
        this.#suspend(same, chatError('ERR_CONNECTION_LOST', `${same.name} came back on a new connection`));
      }
      this.#resumed(arrival, same, hello.received, true);
      old?.destroy();
      return;
    }
    // The same key with a new conversation: the process behind it started again.
    for (const old of this.#suspendedAll(remote.fingerprint, 'incoming')) {
      this.#expire(old, this.#suspended.get(old)!.error, 'it came back with a new conversation');
    }
    if (!this.#options.mayJoin(arrival)) return;
    connection.send({ type: 'conversation', id: hello.id, received: 0 });
    this.#join(arrival, { id: hello.id, opened: false });
  }

  /**
   * Listener: a conversation named in IK message 1, which anyone who saw it go by could replay.
   * It may only resume one this key holds whose connection is gone (suspended, or detached), never
   * start one, take one from a live connection, nor end the key's other conversations (an old
   * message 1 must not make a ghost join or leave, nor cut a chat off), and each message 1 (its
   * ephemeral key) resumes at most once. Anything else is closed without a word: the dialler tries
   * XX next.
   */
  #answerEarly(arrival: Arrival, hello: Hello): void {
    const { connection, remote } = arrival;
    if (!acknowledges(connection)) throw chatError('ERR_BAD_MESSAGE', 'a resumption from a peer that does not acknowledge delivery');
    const same = this.#held(remote.fingerprint, hello.id);
    const key = remote.ephemeralKey?.toString('hex') ?? '';
    const seen = same ? (this.#earlyKeys.get(same) ?? []) : [];
    // A conversation still on a live connection is not taken from it on the word of a message 1,
    // which a replay could give as well: the dialler's next try, over XX, proves itself first.
    if (!same || !same.session.detached || seen.includes(key)) {
      connection.destroy();
      return;
    }
    this.#earlyKeys.set(same, [...seen.slice(1 - MAX_EARLY_KEYS), key]);
    this.#answer(arrival, hello);
  }

  /** Dialler: the listener answered our resumption of `peer`'s suspension number `serial`. */
  #resumeDialled(arrival: Arrival, peer: RoomPeer, serial: number, answer: Hello): void {
    if (this.#suspended.has(peer) ? this.#suspended.get(peer)!.serial !== serial : this.#options.room.holds(peer)) {
      // It resumed over another session meanwhile (a move's answer), and may even be suspended
      // again: our count is stale. No goodbye: the peer may have just resumed onto this session,
      // and losing it makes it wait for our next one instead of ending the conversation.
      arrival.connection.destroy();
      return;
    }
    if (!this.#suspended.has(peer)) {
      // Lost while we dialled: the peer has just resumed it, so say goodbye (it would otherwise
      // wait out its own window for us); what is left is a new conversation, which this session cannot be.
      void arrival.connection.close(`the conversation with ${peer.name} ended before it resumed`);
      return;
    }
    if (answer.id !== peer.session.id) throw chatError('ERR_BAD_MESSAGE', 'the peer answered for another conversation');
    if (answer.resumed) {
      this.#resumed(arrival, peer, answer.received, false);
      return;
    }
    // It does not have our conversation any more (it started again): that one is lost, this one is new.
    if (answer.received !== 0) throw chatError('ERR_BAD_MESSAGE', 'a new conversation cannot have received messages');
    this.#expire(peer, this.#suspended.get(peer)!.error, 'it came back with a new conversation');
    this.#join(arrival, { id: answer.id, opened: false });
  }

  /**
   * Dialler: move the live conversation with `peer` to this session, a direct path that has shown
   * the same key. The old connection is no longer read from the moment our count goes out, so
   * nothing that arrives there after it is taken twice (the listener sends it again here); until
   * the answer it still carries what we send (kept until acknowledged, and sent again here if it
   * was not). A session that ends before the answer lets the old connection be read again: if
   * the listener had moved meanwhile, it finds that connection closed and the conversation resumes.
   */
  #move(arrival: Arrival, peer: RoomPeer): void {
    const { connection } = arrival;
    const old = peer.connection;
    if (!acknowledges(connection) || peer.session.detached || !this.#options.room.holds(peer)) {
      void connection.close('nothing to move to this path');
      return;
    }
    const held = {};
    old.holdReading(held, { excusesPeer: true });
    let settled = false;
    connection.once('closed', () => {
      if (!settled) old.releaseReading(held);
    });
    connection.send({ ...peer.session.hello(false), move: true });
    this.#await(connection, (answer) => {
      settled = true;
      try {
        this.#moveAnswered(arrival, peer, old, answer);
      } catch (err) {
        settled = false;
        throw err;
      }
    });
  }

  /** Dialler: the listener answered our move away from `old`. */
  #moveAnswered(arrival: Arrival, peer: RoomPeer, old: PeerConnection, answer: Hello): void {
    const { connection } = arrival;
    if (answer.id !== peer.session.id) throw chatError('ERR_BAD_MESSAGE', 'the peer answered for another conversation');
    if (!answer.resumed) throw chatError('ERR_BAD_MESSAGE', 'the peer did not take the conversation to the new path');
    if (peer.connection !== old && this.#options.room.holds(peer)) {
      // The conversation went on over another session since our count went out (a reconnect
      // resumed it), so the count is stale: taking this one would have the peer send again what we
      // have. Dropped without a goodbye: a listener that moved to it suspends and waits for us.
      connection.destroy();
      return;
    }
    if (this.#suspended.has(peer)) {
      // The old connection broke meanwhile: this is a resumption now.
      this.#resumed(arrival, peer, answer.received, false);
      return;
    }
    if (peer.session.detached || !this.#options.room.holds(peer)) {
      void connection.close(`the conversation with ${peer.name} ended before it moved`);
      return;
    }
    // The claim first: #moved detaches the old connection, and a count that cannot be must leave
    // the conversation on it, not between the two.
    peer.session.checkResume(answer.received);
    this.#moved(arrival, peer, answer.received, false);
    old.destroy();
  }

  /**
   * A live conversation moves to `arrival`'s session (either side): the old connection is let go
   * by the room, what the peer has not got is sent again, and a `path` event says where it went.
   */
  #moved(arrival: Arrival, peer: RoomPeer, peerReceived: number, answer: boolean): void {
    const room = this.#options.room;
    const { connection, route, link } = arrival;
    const previous = { path: peer.route.path, ...(peer.route.via ? { via: peer.route.via } : {}), transport: peer.connection.transport, address: peer.connection.address };
    const previousLink = peer.link;
    room.suspend(peer.connection);
    const resent = room.resume(peer, connection, peerReceived, route, link, answer);
    this.#options.emit({
      type: 'path',
      peer: peer.name,
      fingerprint: peer.fingerprint,
      path: route.path,
      ...(route.via ? { via: route.via } : {}),
      transport: connection.transport,
      address: connection.address,
      cipher: connection.transportCipher!,
      ...(connection.rttMs !== undefined ? { rttMs: connection.rttMs } : {}),
      resent,
      previous,
    });
    this.#options.onJoined(connection, peer, previousLink);
  }

  /**
   * The session joins the room as a new peer. `conversation`: its id, and whether we opened it;
   * none with a peer that does not acknowledge delivery.
   */
  #join(arrival: Arrival, conversation?: { readonly id: string; readonly opened: boolean }): void {
    const { connection, remote, direction, route, link } = arrival;
    this.#options.onJoined(connection, this.#options.room.join(connection, remote, direction, route, link, conversation));
  }

  #resumed(arrival: Arrival, peer: RoomPeer, peerReceived: number, answer: boolean): void {
    const suspension = this.#suspended.get(peer);
    const { connection, route, link } = arrival;
    const previousLink = peer.link;
    const resent = this.#options.room.resume(peer, connection, peerReceived, route, link, answer);
    if (suspension) {
      this.#options.clock.clearTimeout(suspension.timer);
      this.#suspended.delete(peer);
    }
    const downtimeMs = suspension ? this.#options.clock.now() - suspension.since : 0;
    this.#options.emit({ type: 'reconnected', peer: peer.name, fingerprint: peer.fingerprint, path: route.path, address: connection.address, cipher: connection.transportCipher!, resent, downtimeMs });
    this.#options.onJoined(connection, peer, previousLink);
  }

  /** Listener: the conversation `fingerprint` dialled to us under `id`, suspended or not. */
  #held(fingerprint: string, id: string): RoomPeer | undefined {
    return [...this.#options.room.peers()].find((p) => p.direction === 'incoming' && p.fingerprint === fingerprint && p.session.id === id);
  }

  /** Another live conversation from `peer`'s key, dialled to us after this one. */
  #newer(peer: RoomPeer): boolean {
    const peers = [...this.#options.room.peers()];
    const at = peers.indexOf(peer);
    return peers.slice(at + 1).some((p) => p.direction === 'incoming' && p.fingerprint === peer.fingerprint && !p.session.detached && p.session.id !== peer.session.id);
  }

  #suspendedWith(fingerprint: string, direction: 'incoming' | 'outgoing'): RoomPeer | undefined {
    return this.#suspendedAll(fingerprint, direction)[0];
  }

  #suspendedAll(fingerprint: string, direction: 'incoming' | 'outgoing'): RoomPeer[] {
    return [...this.#suspended.keys()].filter((p) => p.fingerprint === fingerprint && p.direction === direction);
  }
}

/**
 * The `reconnecting` event for `peer`'s suspended conversation, lost with `error`: the dialler's
 * try `attempt` (from 1) is `retryInMs` away; a listener waits (`attempt` 0).
 */
export function reconnecting(peer: RoomPeer, error: P2PChatError, attempt: number, retryInMs: number): AppEvent {
  return { type: 'reconnecting', peer: peer.name, fingerprint: peer.fingerprint, code: error.code, message: error.message, attempt, retryInMs };
}

/** The address (group, as the listener's budgets count them) a peer's connection came from. */
function groupOf(peer: RoomPeer): string {
  return addressGroup(parseTarget(peer.connection.address, 0).host);
}
