// The conversation: the peers whose sessions are up, what each is called, and what passes between
// them. As a host (peers dialled us) it tells each peer who else is here and forwards chat between
// them, each sender within its fair share (forward-gate.ts); from the host we dialled it takes
// presence and forwarded chat on the others' behalf, and keeps who is in its conversation
// (hosted-members.ts). What reached whom end to end is delivery-reports.ts's. Opening and closing
// connections is ChatNode's; the room sees only established sessions.

import { randomBytes } from 'node:crypto';
import type { Clock } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';
import type { RemotePeer } from '../secure/secure-channel.js';
import type { KnownPeers } from '../secure/known-peers.js';
import type { CloseOutcome, PeerConnection } from '../session/peer-connection.js';
import { TEXT_LIMITS } from '../session/message-fields.js';
import { sanitizeName, sanitizeText } from '../session/sanitize.js';
import { PEER_MESSAGES, type SessionMessage } from '../session/session-messages.js';
import type { AppEvent, PathKind, PeerSummary, SentMessage, WhoEntry } from './app-events.js';
import type { PeerLink } from './files/transfers.js';
import { ForwardGate, type ForwardGateOptions } from './forward-gate.js';
import { HostedMembers } from './hosted-members.js';
import { NameClaims } from './name-claims.js';
import { DeliveryReports } from './delivery-reports.js';
import type { Undelivered } from './member-receipts.js';
import { PeerSession, type PeerSessionOptions } from './peer-session.js';

/** How a connection reaches its peer. */
export interface Route {
  readonly path: PathKind;
  /** The relay, for a relayed path. */
  readonly via?: string;
  /** The user asked for this path only (`--relay-only`): the conversation is never moved off it. */
  readonly pinned?: boolean;
}

/** A peer in the room, as others may see it. */
export interface RoomPeer {
  readonly connection: PeerConnection;
  readonly fingerprint: string;
  readonly direction: 'incoming' | 'outgoing';
  readonly route: Route;
  /** Sanitised nickname, as of its last accepted /nick. */
  readonly name: string;
  /** The connection as file transfers see it: ChatNode's, kept here so it lives as long as the peer. */
  readonly link: PeerLink;
  /** The conversation with it: what is sent, and what it has acknowledged. */
  readonly session: PeerSession;
}

interface Member extends RoomPeer {
  connection: PeerConnection;
  route: Route;
  link: PeerLink;
  name: string;
  /** When the peer last changed nickname (ms), for rate limiting. */
  renamedAt: number;
}

export interface RoomOptions {
  readonly knownPeers: KnownPeers;
  /** Message times, the nickname rate limit and the forwarding shares. */
  readonly clock: Clock;
  /** How much of each sender's chat a host passes on, and when a recipient's backlog holds it up. */
  readonly forwarding: Omit<ForwardGateOptions<PeerConnection>, 'clock' | 'onStalled'>;
  /** Acknowledged delivery: how soon we acknowledge, and how much of ours we keep unacknowledged. */
  readonly delivery: Pick<PeerSessionOptions, 'ackDelayMs' | 'limits' | 'ackTimeoutMs'>;
  /**
   * What held up our input may be gone: a peer acknowledged messages of ours, or it left, or its
   * connection (and that connection's queue) is gone while the conversation waits to resume.
   */
  readonly onReleased: () => void;
  /** More was said while `peer`'s conversation was suspended than can be kept for it. */
  readonly onOverflow: (peer: RoomPeer) => void;
  readonly emit: (event: AppEvent) => void;
}

type Outgoing = Parameters<PeerConnection['send']>[0];

export type { Undelivered } from './member-receipts.js';

/** We change nickname at most this often: a change made sooner waits for its turn (nick-pacer.ts). */
export const RENAME_INTERVAL_MS = 2_000;
/**
 * A peer's renames closer together than this are ignored, so that one flipping names in a loop
 * cannot flood the screen. Less than the interval a sender keeps: a rename held up on the way
 * (a busy link, a host's queue) still counts.
 */
const RENAME_MIN_GAP_MS = RENAME_INTERVAL_MS / 2;

export class Room {
  readonly #options: RoomOptions;
  readonly #members = new Map<PeerConnection, Member>();
  /** The members of each host we dialled, as its presence tells us. */
  readonly #hosted = new HostedMembers<PeerConnection>();
  readonly #gate: ForwardGate<PeerConnection>;
  /** Nicknames we knew from other keys. */
  readonly #names: NameClaims;
  /** What became of chats end to end: what we tell writers as a host, and hear of ours. */
  readonly #reports: DeliveryReports;

  constructor(options: RoomOptions) {
    this.#options = options;
    this.#names = new NameClaims(options);
    this.#reports = new DeliveryReports({ peers: () => this.#members.values(), emit: options.emit });
    this.#gate = new ForwardGate({
      ...options.forwarding,
      clock: options.clock,
      onStalled: (connection, queued) => {
        const name = this.#members.get(connection)?.name ?? 'a peer';
        const seconds = options.forwarding.stalledMs / 1000;
        connection.drop(chatError('ERR_CONNECTION_LOST', `${name} is not reading; dropped after ${seconds} s with ${queued} bytes queued`));
      },
    });
  }

  get size(): number {
    return this.#members.size;
  }

  /** The peers in the order they joined. */
  peers(): IterableIterator<RoomPeer> {
    return this.#members.values();
  }

  /** Whether `peer` is still a member (present or suspended). */
  holds(peer: RoomPeer): boolean {
    return this.#members.get(peer.connection) === peer;
  }

  find(connection: PeerConnection): RoomPeer | undefined {
    return this.#members.get(connection);
  }

  /**
   * A session is up: record the peer, tell the user, and introduce it to everyone here. Returns the
   * member as the room keeps it: its `name` follows /nick, and stays once it leaves.
   * `conversation`: its id, when the peer acknowledges delivery, and whether we opened it (its
   * answer is then still to come).
   */
  join(
    connection: PeerConnection,
    remote: RemotePeer,
    direction: 'incoming' | 'outgoing',
    route: Route,
    link: PeerLink,
    conversation?: { readonly id: string; readonly opened: boolean },
  ): RoomPeer {
    const options: PeerSessionOptions = {
      ...this.#options.delivery,
      clock: this.#options.clock,
      onAcknowledged: (ids) => {
        for (const id of ids) this.#options.emit({ type: 'delivered', id, peer: peer.name, fingerprint: peer.fingerprint });
        this.#options.onReleased();
      },
      onOverflow: () => this.#options.onOverflow(peer),
      onPassed: (passed) => this.#reports.passed(peer, passed, false),
    };
    const session = new PeerSession(connection, options, conversation?.id, conversation?.opened);
    const peer: Member = { connection, session, fingerprint: remote.fingerprint, direction, route, name: sanitizeName(remote.info.name), link, renamedAt: 0 };
    const check = this.#names.arrived(peer.name, peer.fingerprint);
    const others = [...this.#members.values()];
    this.#members.set(connection, peer);
    peer.connection.ping(); // at once, so /who can show a round-trip time
    // A member's session is up, so its cipher is known.
    this.#options.emit({ type: 'connected', known: check.known, cipher: connection.transportCipher!, ...summaryOf(peer) });
    // Presence: the newcomer learns who is here already, and those here learn of the newcomer.
    for (const other of others) {
      other.session.send({ type: 'presence', event: 'joined', peer: ref(peer) });
      peer.session.send({ type: 'presence', event: 'joined', peer: ref(other), present: true });
    }
    this.#noteConversations(peer, others);
    return peer;
  }

  /**
   * A host passes messages only among its own peers: a second host we dial, or a peer dialling us
   * while we are some host's guest, makes conversations that cannot see each other. Say so when a
   * join adds one.
   */
  #noteConversations(peer: Member, others: readonly Member[]): void {
    const hosts = [...this.#members.values()].filter((m) => m.direction === 'outgoing').map((m) => m.name);
    const hosting = peer.direction === 'incoming' || others.some((m) => m.direction === 'incoming');
    const added = peer.direction === 'outgoing' || !others.some((m) => m.direction === 'incoming');
    if (added && hosts.length + (hosting ? 1 : 0) >= 2) this.#options.emit({ type: 'conversations', hosts, hosting });
  }

  /**
   * A session message from a connection; ignored unless its peer is in the room. Returns the peer
   * when the message is not the room's to act on (a file message) but its session let it through.
   */
  receive(connection: PeerConnection, message: SessionMessage): RoomPeer | undefined {
    const peer = this.#members.get(connection);
    if (!peer) return undefined;
    try {
      if (!peer.session.receive(message)) return undefined;
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      peer.connection.drop(err); // a lying acknowledgement, or a message out of turn
      return undefined;
    }
    const emit = this.#options.emit;
    const via = peer.name;
    switch (message.type) {
      case 'chat': {
        const { type: _type, ...chat } = message;
        emit({ type: 'message', from: peer.name, fingerprint: peer.fingerprint, ...chat, receivedAt: this.#options.clock.now() });
        // Charged for every copy passed on, envelope and all: an empty text is not free.
        const { reached, bytes } = this.#broadcast(peer, { type: 'forwarded', from: ref(peer), ...chat }, peer.fingerprint);
        this.#gate.forwarded(peer.connection, bytes * reached.length, reached);
        return;
      }
      case 'forwarded': {
        // Only the host we dialled speaks for others; a client claiming to is ignored.
        if (peer.direction !== 'outgoing') return;
        const { type: _type, from, ...chat } = message;
        const receivedAt = this.#options.clock.now();
        emit({ type: 'message', from: sanitizeName(from.name), fingerprint: from.fingerprint, ...chat, receivedAt, via });
        return;
      }
      case 'nick': {
        // A peer flipping names in a loop must not flood the screen or the other peers.
        const now = this.#options.clock.now();
        if (now - peer.renamedAt < RENAME_MIN_GAP_MS) return;
        peer.renamedAt = now;
        const oldName = peer.name;
        peer.name = sanitizeName(message.name);
        if (peer.name === oldName) return;
        this.#names.check(peer.name, peer.fingerprint);
        emit({ type: 'renamed', fingerprint: peer.fingerprint, oldName, name: peer.name });
        this.#broadcast(peer, { type: 'presence', event: 'renamed', peer: ref(peer), reason: oldName });
        return;
      }
      case 'reached': {
        // Only the host we dialled passes our chats on; its word is all this is (`via` says so).
        if (peer.direction === 'outgoing') this.#reports.reached(message, via);
        return;
      }
      case 'presence': {
        if (peer.direction !== 'outgoing') return;
        const name = sanitizeName(message.peer.name);
        const fingerprint = message.peer.fingerprint;
        const reason = message.reason ?? '';
        if (message.event === 'joined') {
          this.#hosted.joined(connection, { name, fingerprint });
          this.#names.check(name, fingerprint, via);
          emit({ type: 'joined', name, fingerprint, via, ...(message.present ? { present: true as const } : {}) });
        } else if (message.event === 'left') {
          this.#hosted.gone(connection, fingerprint);
          emit({ type: 'left', name, fingerprint, reason, via, ...this.#reports.memberGone({ name, fingerprint }) });
        } else if (message.event === 'lost') {
          this.#hosted.gone(connection, fingerprint);
          emit({ type: 'lost', name, fingerprint, code: 'ERR_CONNECTION_LOST', message: reason, via, ...this.#reports.memberGone({ name, fingerprint }) });
        } else {
          this.#hosted.renamed(connection, fingerprint, name);
          this.#reports.memberRenamed(fingerprint, name);
          this.#names.check(name, fingerprint, via);
          emit({ type: 'renamed', fingerprint, oldName: sanitizeName(reason), name, via });
        }
        return;
      }
      default:
        return peer;
    }
  }

  /**
   * The peer's connection was lost, but the conversation may resume: it stays in the room, and
   * what is said meanwhile is kept for it. The others hear nothing unless it never comes back.
   */
  suspend(connection: PeerConnection): RoomPeer | undefined {
    const peer = this.#members.get(connection);
    if (!peer) return undefined;
    this.#gate.left(connection);
    peer.session.detach();
    this.#options.onReleased();
    return peer;
  }

  /** Members present: not suspended (their place at the door is not counted against newcomers). */
  get present(): number {
    let count = 0;
    for (const m of this.#members.values()) if (!m.session.detached) count++;
    return count;
  }

  /**
   * A suspended conversation goes on over `connection`, whose peer has `peerReceived` of our
   * messages. `answer`: we are the listener, and owe the peer our `conversation` first. Returns
   * how many messages were sent again; throws ERR_BAD_MESSAGE when the peer's count cannot be.
   */
  resume(peer: RoomPeer, connection: PeerConnection, peerReceived: number, route: Route, link: PeerLink, answer: boolean): number {
    const member = [...this.#members.entries()].find(([, m]) => m === peer);
    if (!member) throw chatError('ERR_BAD_MESSAGE', 'that conversation is over');
    const [old, m] = member;
    if (answer) connection.send(m.session.hello(true));
    const resent = m.session.attach(connection, peerReceived);
    this.#members.delete(old);
    this.#members.set(connection, m);
    this.#hosted.moved(old, connection);
    m.connection = connection;
    m.route = route;
    m.link = link;
    connection.ping(); // the new path's round-trip time, for /who
    return resent;
  }

  /** A session ended: tell the user and everyone still here. False when it was not in the room. */
  leave(connection: PeerConnection, outcome: CloseOutcome): boolean {
    const peer = this.#members.get(connection);
    if (!peer) return false;
    this.#members.delete(connection);
    const hosted = this.#hosted.of(connection);
    this.#hosted.hostGone(connection);
    this.#gate.left(connection);
    peer.session.close();
    const unacknowledged = this.#reports.peerGone(peer, hosted);
    const missed = unacknowledged > 0 ? { unacknowledged } : {};
    if (outcome.kind === 'left' || outcome.kind === 'closed') {
      const reason = outcome.kind === 'left' ? outcome.reason : '';
      if (outcome.kind === 'left') this.#options.emit({ type: 'left', name: peer.name, fingerprint: peer.fingerprint, reason, ...missed });
      this.#broadcast(peer, { type: 'presence', event: 'left', peer: ref(peer), reason });
    } else {
      const error = outcome.error;
      this.#options.emit({ type: 'lost', name: peer.name, fingerprint: peer.fingerprint, code: error.code, message: error.message, ...missed });
      this.#broadcast(peer, { type: 'presence', event: 'lost', peer: ref(peer), reason: error.message });
    }
    this.#options.onReleased();
    return true;
  }

  /** Our own chat line to everyone in the room; returns it as sent. */
  say(rawText: string, action = false): SentMessage {
    // Controls and escapes would be stripped by every receiver anyway; removing them here also
    // bounds JSON's expansion of the text (a control character encodes as six bytes).
    const text = sanitizeText(rawText);
    const bytes = Buffer.byteLength(text, 'utf8');
    // The protocol's limit, the one every receiver holds us to: not a setting.
    const limit = TEXT_LIMITS.text;
    if (bytes > limit) {
      throw chatError('ERR_MESSAGE_TOO_LONG', `message is ${bytes} bytes; the limit is ${limit} bytes (${limit / 1024} KiB)`);
    }
    const chat = { id: randomBytes(8).toString('hex'), time: this.#options.clock.now(), text, ...(action ? { action } : {}) };
    this.#reports.said(chat.id);
    // Encoded once: every peer's keep holds the same bytes until that peer acknowledges them.
    const plaintext = PEER_MESSAGES.encode({ type: 'chat', ...chat });
    let away = 0;
    for (const peer of this.#members.values()) {
      peer.session.sendEncoded(plaintext, 'chat', chat.id);
      if (peer.session.detached) away++;
      // A host that acknowledges delivery reports its members' receipts: wait for each one's.
      if (peer.direction === 'outgoing' && peer.session.acknowledges) this.#reports.awaitReceipts(chat.id, this.#hosted.of(peer.connection));
    }
    const sent = { ...chat, recipients: this.#members.size, ...(away > 0 ? { pending: away } : {}) };
    this.#options.emit({ type: 'sent', ...sent });
    return sent;
  }

  /** Our new (sanitised) nickname, to everyone in the room. */
  rename(name: string): void {
    for (const peer of this.#members.values()) peer.session.send({ type: 'nick', name });
  }

  /** Reliable messages of ours that peers here have not acknowledged yet. */
  get unacknowledged(): number {
    let sum = 0;
    for (const member of this.#members.values()) sum += member.session.unacked;
    return sum;
  }

  /** Confirmations of our chats still awaited from the members of hosts we dialled. */
  get unconfirmed(): number {
    return this.#reports.unconfirmed;
  }

  /**
   * Chat messages of ours that never reached a peer: those gone with some unacknowledged, those
   * here still waiting, and those a host never confirmed to one of its members; by peer.
   */
  undelivered(): Undelivered[] {
    return this.#reports.undelivered();
  }

  /** Everyone in the conversation: each peer connected to us, and after a host we dialled, its members. */
  who(): WhoEntry[] {
    const rows: WhoEntry[] = [];
    for (const member of this.#members.values()) {
      rows.push({ ...summaryOf(member), ...(member.session.detached ? { away: true as const } : {}) });
      for (const { name, fingerprint } of this.#hosted.of(member.connection)) {
        const { address } = member.connection;
        rows.push({ name, fingerprint, address, path: 'forwarded', via: member.name, hostFingerprint: member.fingerprint, direction: 'outgoing' });
      }
    }
    return rows;
  }

  /**
   * Send to every peer but one, encoded once; a failure to one recipient never affects the sender
   * or the rest. Returns the connections it went to and the size of the message. `origin`: for a
   * chat passed on, its writer's fingerprint (the recipients' acknowledgements are reported to it).
   */
  #broadcast(except: Member, message: Outgoing, origin?: string): { reached: PeerConnection[]; bytes: number } {
    const reached: PeerConnection[] = [];
    if (this.#members.size === 1 && this.#members.has(except.connection)) return { reached, bytes: 0 }; // nobody else: nothing to encode
    let plaintext: Buffer;
    try {
      plaintext = PEER_MESSAGES.encode(message);
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      this.#options.emit({ type: 'warning', code: err.code, message: `could not pass a message on: ${err.message}` });
      return { reached, bytes: 0 };
    }
    const id = origin !== undefined && 'id' in message ? message.id : undefined;
    for (const other of this.#members.values()) {
      if (other === except) continue;
      try {
        other.session.sendEncoded(plaintext, message.type, id, origin);
        // A suspended peer's share is kept by its session, not queued on a connection.
        if (!other.session.detached) reached.push(other.connection);
      } catch (err) {
        if (!(err instanceof P2PChatError)) throw err;
        this.#options.emit({ type: 'warning', code: err.code, message: `could not pass a message on to ${other.name}: ${err.message}` });
      }
    }
    return { reached, bytes: plaintext.length };
  }
}

/** What the user interface shows of a peer in the room. */
export function summaryOf(peer: RoomPeer): PeerSummary {
  const rtt = peer.connection.rttMs;
  return {
    name: peer.name,
    fingerprint: peer.fingerprint,
    address: peer.connection.address,
    path: peer.route.path,
    transport: peer.connection.transport,
    ...(peer.route.via ? { via: peer.route.via } : {}),
    direction: peer.direction,
    ...(rtt !== undefined ? { rttMs: rtt } : {}),
  };
}

function ref(peer: RoomPeer) {
  return { name: peer.name, fingerprint: peer.fingerprint };
}
