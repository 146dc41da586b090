// A running peer: its identity, its listener, and every live connection from dial or accept to
// close. Connections whose session comes up join the Room (room.ts), which tracks who is in the
// conversation and passes chat and presence between peers; ChatNode reports the rest as AppEvents.

import { EventEmitter } from 'node:events';
import { SYSTEM_CLOCK, type Clock } from '../clock.js';
import { DEFAULTS, type Settings } from '../defaults.js';
import { chatError, type P2PChatError } from '../errors.js';
import type { ByteStream, StreamListener, Transport, TransportKind } from '../net/byte-stream.js';
import type { PunchSocket } from '../net/datagram-port.js';
import { addressGroup } from '../net/address.js';
import { listenPair } from '../net/paired-listen.js';
import { TCP_TRANSPORT } from '../net/tcp-transport.js';
import { offersAesGcm, type CipherOffer } from '../secure/cipher-offer.js';
import { AESGCM_FEATURE, FEATURES, PROTOCOL_VERSION } from '../secure/handshake-payload.js';
import type { Identity } from '../secure/identity-store.js';
import type { KnownPeers } from '../secure/known-peers.js';
import { PeerConnection, type CloseOutcome } from '../session/peer-connection.js';
import { sanitizeName } from '../session/sanitize.js';
import { isPathMessage, UPGRADE_FEATURE, type PathMessage } from '../session/path-messages.js';
import { PEER_MESSAGES } from '../session/session-messages.js';
import { isFileMessageType, type FileMessage } from '../session/file-messages.js';
import type { AppEvent, PeerSummary, SentMessage, WhoEntry } from './app-events.js';
import { FileEventReporter } from './files/file-events.js';
import { peerLink, speaksFiles } from './files/peer-link.js';
import type { LocalFile } from './files/file-list.js';
import type { Transfer } from './files/transfer.js';
import { Transfers, type AcceptPolicy } from './files/transfers.js';
import { KeyedLogThrottle } from '../log-throttle.js';
import { HandshakeAdmission, type RefusalLine } from './handshake-admission.js';
import { Resumption } from './resumption.js';
import { Room, summaryOf, type RoomPeer, type Route, type Undelivered } from './room.js';

export type { Route } from './room.js';

export interface ChatNodeOptions {
  readonly identity: Identity;
  readonly knownPeers: KnownPeers;
  readonly name: string;
  readonly timing?: Partial<Settings>;
  /** Receiving files: where they go, and which offers are accepted without asking. */
  readonly files?: { readonly downloadDir: string; readonly acceptFiles: AcceptPolicy };
  /** Every timer and timestamp of the node and its connections (tests pass a manual one). */
  readonly clock?: Clock;
  /** How peers are dialled and listened for. */
  readonly transport?: Transport;
  /**
   * UDP (udxTransport): also listened on, at the port number `transport` got, and dialled when a
   * connect asks for it. Absent: TCP (`transport`) only.
   */
  readonly udp?: Transport;
  /** List the feature `upgrade`: take part in moving relayed conversations to a direct path. Default false. */
  readonly upgrade?: boolean;
  /**
   * Whether to list the feature `aesgcm` (the transport then uses AES-256-GCM with peers that list
   * it too): `aesgcm` yes, `chachapoly` no. Absent: yes when a probe finds AES-256-GCM faster here.
   */
  readonly cipher?: CipherOffer;
}

/**
 * Asked when an outgoing connection has verified the peer's key (handshake message 2): true lets
 * it finish and join; false abandons it before our key is revealed (connect-strategy.ts races
 * several paths and lets only the first through).
 */
export type Gate = () => boolean;

/** ChatNode's events for the Conversation that drives it (AppEvents go out as `event`). */
interface NodeEvents {
  event: [AppEvent];
  drain: [];
  suspended: [RoomPeer, P2PChatError];
  acknowledged: [];
  /** A conversation came up on a connection: joined, resumed, or moved to another path. */
  joined: [RoomPeer];
  /** A path message (path-messages.ts) from a member of the room. */
  path: [RoomPeer, PathMessage];
}

export class ChatNode extends EventEmitter<NodeEvents> {
  readonly #identity: Identity;
  readonly #timing: Settings;
  readonly #room: Room;
  readonly #knownPeers: KnownPeers;
  readonly #clock: Clock;
  readonly #transport: Transport;
  readonly #udp: Transport | undefined;
  readonly #startedAt: number;
  /** The features our handshakes list, but `aesgcm`. */
  readonly #features: readonly string[];
  readonly #cipher: CipherOffer | undefined;
  readonly #files: Transfers;
  /** Sessions becoming conversations, and conversations waiting for a new connection. */
  readonly #resumption: Resumption;
  /** The member each connection joined as (its name follows /nick, and stays once it leaves). */
  readonly #joinedAs = new WeakMap<PeerConnection, RoomPeer>();
  /** Outgoing connections whose caller waits for them to join (connectOver). */
  readonly #joining = new Map<PeerConnection, (peer: RoomPeer) => void>();
  /** Connections still in the handshake. */
  readonly #pending = new Set<PeerConnection>();
  /** The listener's share of those: how many each address and all together may hold. */
  readonly #admission: HandshakeAdmission<PeerConnection>;
  /** Failed handshakes (strangers, garbage, timeouts): one `rejected` line per address per interval. */
  readonly #strangers: KeyedLogThrottle<string>;
  #name: string;
  #listeners: StreamListener[] = [];
  #quitting = false;

  constructor(options: ChatNodeOptions) {
    super();
    this.#identity = options.identity;
    this.#name = sanitizeName(options.name);
    this.#timing = { ...DEFAULTS, ...options.timing };
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#transport = options.transport ?? TCP_TRANSPORT;
    this.#udp = options.udp;
    this.#features = options.upgrade ? [...FEATURES, UPGRADE_FEATURE] : FEATURES;
    this.#cipher = options.cipher;
    this.#startedAt = this.#clock.now();
    this.#room = new Room({
      knownPeers: options.knownPeers,
      clock: this.#clock,
      forwarding: {
        rateBytesPerSec: this.#timing.forwardRateBytesPerSec,
        burstBytes: this.#timing.forwardBurstBytes,
        holdAtBytes: this.#timing.forwardHoldBytes,
        // A peer that takes nothing for as long as a silent one is given is as good as gone.
        stalledMs: this.#timing.keepaliveTimeoutMs,
        // Held senders are read again well within their keepalive, so they hear our answers.
        maxHoldMs: this.#timing.keepaliveIntervalMs / 2,
      },
      delivery: {
        ackDelayMs: this.#timing.ackDelayMs,
        limits: { maxUnackedMessages: this.#timing.maxUnackedMessages, maxUnackedBytes: this.#timing.maxUnackedBytes },
        // Past the keepalive's own deadline, so that a frozen peer is found by it (and resumed) first.
        ackTimeoutMs: 2 * this.#timing.keepaliveTimeoutMs,
      },
      onReleased: () => {
        this.emit('acknowledged');
        if (this.canSend) this.emit('drain');
      },
      onOverflow: (peer) => this.#resumption.overflowed(peer),
      emit: (event) => this.#emit(event),
    });
    this.#resumption = new Resumption({
      room: this.#room,
      clock: this.#clock,
      resumeWindowMs: this.#timing.resumeWindowMs,
      maxSuspendedStrangersPerIp: this.#timing.maxHandshakesPerIp,
      helloTimeoutMs: this.#timing.handshakeTimeoutMs,
      emit: (event) => this.#emit(event),
      mayJoin: (arrival) => arrival.direction === 'outgoing' || this.#hasRoomFor(arrival.connection, arrival.from),
      onJoined: (connection, peer, previousLink) => {
        this.#admission.done(connection);
        this.#joinedAs.set(connection, peer);
        this.#joining.get(connection)?.(peer);
        this.#joining.delete(connection);
        if (previousLink) this.#files.linkResumed(previousLink, peer.link);
        this.emit('joined', peer);
      },
      onSuspended: (peer, error) => this.emit('suspended', peer, error),
      onLost: (peer, error) => this.#files.linkClosed(peer.link, error.message),
    });
    this.#knownPeers = options.knownPeers;
    this.#admission = new HandshakeAdmission(this.#timing, this.#clock);
    this.#strangers = new KeyedLogThrottle(this.#timing.refusalLogIntervalMs);
    this.#files = new Transfers({
      downloadDir: options.files?.downloadDir ?? '.',
      acceptFiles: options.files?.acceptFiles ?? 'ask',
      offerTimeoutMs: this.#timing.fileOfferTimeoutMs,
      progressIntervalMs: this.#timing.fileProgressIntervalMs,
      clock: this.#clock,
    });
    const reporter = new FileEventReporter(this.#clock);
    this.#files.on('event', (event) => this.#emit(reporter.toAppEvent(event)));
  }

  /** File transfers in both directions: /accept, /decline, /cancel and /transfers act on these. */
  get files(): Transfers {
    return this.#files;
  }

  /**
   * Offer files (from listFiles) to every peer connected directly (a host's other peers are not
   * reachable for files). Throws ERR_PEER_NOT_FOUND when there is nobody to send to.
   */
  sendFiles(files: readonly LocalFile[]): Transfer[] {
    const links = [...this.#room.peers()].filter((peer) => speaksFiles(peer.connection)).map((peer) => peer.link);
    if (links.length === 0) {
      const why = this.#room.size > 0 ? 'the connected peers cannot receive files (an older version)' : 'nobody is connected';
      throw chatError('ERR_PEER_NOT_FOUND', `cannot send files: ${why}`);
    }
    return links.map((link) => this.#files.send(link, files));
  }

  get name(): string {
    return this.#name;
  }

  get fingerprint(): string {
    return this.#identity.fingerprint;
  }

  /** The timing this node was configured with (DEFAULTS with its overrides). */
  get timing(): Settings {
    return this.#timing;
  }

  /** The clock the node runs on, for what works on its behalf (relay link, connect strategy). */
  get clock(): Clock {
    return this.#clock;
  }

  /** How the node dials and listens, for what reaches peers on its behalf (the relay link). */
  get transport(): Transport {
    return this.#transport;
  }

  /** True from quit() or abort() on: the node takes no new connections. */
  get quitting(): boolean {
    return this.#quitting;
  }

  get peerCount(): number {
    return this.#room.size;
  }

  /** Which suspension of `peer` is under way (undefined: none): a dialler's tries belong to one. */
  suspension(peer: RoomPeer): number | undefined {
    return this.#quitting ? undefined : this.#resumption.suspension(peer);
  }

  /** Reliable messages of ours that peers here have not acknowledged yet. */
  get unacknowledged(): number {
    return this.#room.unacknowledged;
  }

  /** Confirmations of our chats still awaited from the members of hosts we dialled (Room.unconfirmed). */
  get unconfirmed(): number {
    return this.#room.unconfirmed;
  }

  /** Our messages that never reached a peer, by peer. */
  undelivered(): Undelivered[] {
    return this.#room.undelivered();
  }

  /**
   * False while some peer's send queue is over its high-water mark, or it has too much of ours
   * unacknowledged; `drain` follows. A suspended conversation's last connection queues nothing more.
   */
  get canSend(): boolean {
    for (const peer of this.#room.peers()) if ((!peer.session.detached && peer.connection.needsDrain) || peer.session.full) return false;
    return true;
  }

  /** The UDP port it listens on, once listening over UDP too. */
  get udpPort(): number | undefined {
    return this.#listeners.find((listener) => listener.transport === 'udp')?.port;
  }

  /** The UDP listener's socket, for probes and punching from the port we listen on. */
  get datagrams(): PunchSocket | undefined {
    return this.#listeners.find((listener) => listener.transport === 'udp')?.datagrams;
  }

  /** The TCP port it listens on (0 before it listens, or when it does not). */
  get port(): number {
    return this.#listeners.find((listener) => listener.transport === 'tcp')?.port ?? 0;
  }

  /** Whether this node can dial and listen over UDP (it was given a UDP transport). */
  get speaksUdp(): boolean {
    return this.#udp !== undefined;
  }

  /**
   * Bind and start accepting peers, over UDP too at the same port number when the node has a UDP
   * transport (paired-listen.ts); resolves with the port actually bound.
   */
  async listen(host: string, port: number, fallback: boolean): Promise<number> {
    const pair = await listenPair(
      this.#transport,
      this.#udp,
      { host, port, fallbackTries: fallback ? this.#timing.portFallbackTries : 0 },
      (stream) => this.#accept(stream),
    );
    const bound = [pair.tcp, ...(pair.udp ? [pair.udp] : [])];
    // Quit while binding: the port must not stay open behind a node that has stopped.
    if (this.#quitting) {
      await Promise.all(bound.map((listener) => listener.close()));
      return pair.tcp.port;
    }
    this.#listeners = bound;
    this.#emit({
      type: 'listening',
      host: pair.tcp.host,
      port: pair.tcp.port,
      ...(pair.udp ? { udpPort: pair.udp.port } : {}),
      fingerprint: this.fingerprint,
      name: this.#name,
      ...(pair.busyPort !== undefined ? { busyPort: pair.busyPort } : {}),
    });
    return pair.tcp.port;
  }

  /**
   * Dial a peer over TCP (or `transport`'s kind, when the node has it); resolves once the
   * encrypted session is up, rejects with a coded error.
   */
  async connect(host: string, port: number, expectedFingerprint?: string, gate?: Gate, transport: TransportKind = 'tcp'): Promise<PeerSummary> {
    const stream = await this.#dialer(transport).dial(host, port, { timeoutMs: this.#timing.connectTimeoutMs, clock: this.#clock });
    return this.connectOver(stream, { path: 'direct' }, expectedFingerprint, gate);
  }

  #dialer(kind: TransportKind): Transport {
    if (kind === this.#transport.kind) return this.#transport;
    if (kind === 'udp' && this.#udp) return this.#udp;
    throw chatError('ERR_CONNECT_FAILED', `cannot dial over ${kind.toUpperCase()}: it is turned off here`);
  }

  /**
   * Run the handshake as initiator over an open stream: a direct dial, or a relayed data
   * connection. With a `gate`, the handshake finishes only if the gate says this connection won
   * the race (connect-strategy.ts); a loser is closed before message 3 and rejects with
   * ERR_HANDSHAKE_ABANDONED, and the peer never sees it join.
   */
  connectOver(stream: ByteStream, route: Route, expectedFingerprint?: string, gate?: Gate): Promise<PeerSummary> {
    return this.#joinOver(this.#adopt(stream, 'outgoing', route, expectedFingerprint, gate));
  }

  /**
   * Move the live conversation with `peer` (one we dialled) to a new path: the handshake over
   * `stream` must show the peer's key and pass the `gate`; resolves once the conversation runs
   * over it (Resumption's move), rejects with a coded error otherwise (the old path carries on).
   */
  moveOver(stream: ByteStream, route: Route, peer: RoomPeer, gate: Gate): Promise<PeerSummary> {
    if (this.#quitting) {
      stream.destroy();
      return Promise.reject(chatError('ERR_HANDSHAKE_ABANDONED', 'shutting down'));
    }
    return this.#joinOver(this.#adopt(stream, 'outgoing', route, peer.fingerprint, gate, peer));
  }

  #joinOver(connection: PeerConnection): Promise<PeerSummary> {
    return new Promise((resolve, reject) => {
      this.#joining.set(connection, (peer) => resolve(summaryOf(peer)));
      connection.once('closed', (outcome) => {
        this.#joining.delete(connection);
        const error = 'error' in outcome ? outcome.error : chatError('ERR_HANDSHAKE_FAILED', 'connection closed');
        reject(error);
      });
    });
  }

  /** A relayed data connection a relay invited us to: we are the responder. Closed if quitting. */
  acceptOver(stream: ByteStream, route: Route): void {
    if (this.#quitting) {
      stream.destroy();
      return;
    }
    this.#adopt(stream, 'incoming', route);
  }

  /** Send a chat line (or a /me action) to everyone; returns it as sent; throws ERR_MESSAGE_TOO_LONG. */
  say(rawText: string, action = false): SentMessage {
    return this.#room.say(rawText, action);
  }

  rename(name: string): void {
    this.#name = sanitizeName(name);
    this.#room.rename(this.#name);
  }

  who(): WhoEntry[] {
    return this.#room.who();
  }

  /**
   * Goodbye to every peer, stop listening; resolves when all connections are closed, with whether
   * everything sent was flushed to every peer first.
   */
  async quit(reason: string): Promise<boolean> {
    this.#quitting = true;
    for (const listener of this.#listeners) void listener.close();
    this.#files.cancelAll('leaving the chat');
    const waiting = this.#resumption.stop();
    const closing = [...this.#room.peers()].filter((p) => !p.session.detached).map((p) => p.session.goodbye(reason));
    closing.push(...waiting.map((c) => c.close(reason)));
    for (const c of this.#pending) c.destroy();
    return (await Promise.all(closing)).every(Boolean);
  }

  /** Immediate stop: no goodbyes (second Ctrl-C). */
  abort(): void {
    this.#quitting = true;
    for (const listener of this.#listeners) void listener.close();
    for (const c of this.#resumption.stop()) c.destroy();
    for (const p of this.#room.peers()) p.connection.destroy();
    for (const c of this.#pending) c.destroy();
  }

  /**
   * A connection to our listener. Our own budget, not the kernel's, bounds what strangers hold:
   * past the peer limit a newcomer is closed at once; past a handshake limit it evicts the
   * handshake that has waited longest (destroyed now, so a flood cannot pile up open sockets).
   */
  #accept(stream: ByteStream): void {
    // A suspended peer's place is its own: it may be the one coming back (checked once its
    // session says which conversation it brings). So may a present member that moves its
    // conversation to a direct path: a new conversation is refused when it joins (mayJoin).
    const max = this.#timing.maxPeers;
    if (this.#room.present >= max && this.#room.present - this.#movable() >= max) {
      stream.destroy();
      this.#reportRefusals(this.#admission.refused(addressGroup(stream.remoteHost), 'peers'));
      return;
    }
    const connection = this.#adopt(stream, 'incoming', { path: 'direct' });
    const { evicted, lines } = this.#admission.admit(connection, addressGroup(stream.remoteHost));
    for (const victim of evicted) victim.destroy();
    this.#reportRefusals(lines);
  }

  /** Present members that dialled us and may move their conversation to a new path (they list `upgrade`). */
  #movable(): number {
    let count = 0;
    for (const peer of this.#room.peers()) {
      if (peer.direction === 'incoming' && !peer.session.detached && peer.connection.speaks(UPGRADE_FEATURE)) count++;
    }
    return count;
  }

  /**
   * Whether an incoming session may join as a new peer (handshakes that were under way when the
   * room filled up may not); one turned away is closed with the reason.
   */
  #hasRoomFor(connection: PeerConnection, from: string): boolean {
    const max = this.#timing.maxPeers;
    if (this.#room.size < max) return true;
    void connection.close(`the chat is full (${max} peers)`);
    this.#reportRefusals(this.#admission.refused(from, 'peers'));
    return false;
  }

  #reportRefusals(lines: readonly RefusalLine[]): void {
    for (const { ip, message } of lines) this.#emit({ type: 'rejected', address: ip, code: 'ERR_LISTENER_FULL', message });
  }

  /** The probe behind `aesgcm` runs here, at the first handshake, not at start-up. */
  #localFeatures(): readonly string[] {
    return offersAesGcm(this.#cipher) ? [...this.#features, AESGCM_FEATURE] : this.#features;
  }

  #adopt(stream: ByteStream, direction: 'incoming' | 'outgoing', route: Route, expectedFingerprint?: string, gate?: Gate, moving?: RoomPeer): PeerConnection {
    const t = this.#timing;
    // A dialler coming back to a suspended conversation names it in message 1 when the peer takes IK.
    const early = direction === 'outgoing' && expectedFingerprint !== undefined && !moving ? this.#resumption.earlyResume(expectedFingerprint) : undefined;
    const connection = new PeerConnection(stream, {
      initiator: direction === 'outgoing',
      keyPair: this.#identity.keyPair,
      localInfo: { name: this.#name, version: PROTOCOL_VERSION, features: this.#localFeatures() },
      codec: PEER_MESSAGES,
      handshakeTimeoutMs: t.handshakeTimeoutMs,
      keepaliveIntervalMs: t.keepaliveIntervalMs,
      keepaliveTimeoutMs: t.keepaliveTimeoutMs,
      byeGraceMs: t.byeGraceMs,
      maxQueuedBytes: t.maxQueuedBytes,
      clock: this.#clock,
      ...(expectedFingerprint ? { expectedFingerprint } : {}),
      ...(gate ? { mayFinish: gate } : {}),
      ...(early ? { early: { remoteStaticKey: early.remoteStaticKey, message: early.message } } : {}),
      ...(direction === 'incoming' ? { acceptEarly: true } : {}),
    });
    this.#pending.add(connection);
    // An incoming session stays in the handshake budget until it has joined: one that never
    // names its conversation must not hold a place that nothing else counts.
    connection.once('established', (remote) => {
      this.#pending.delete(connection);
      if (this.#quitting) {
        void connection.close('shutting down');
        return;
      }
      // For --accept-files, "known" means known before this node started: a stranger cannot
      // become trusted by connecting once (and being declined) and coming back.
      const firstSeen = Date.parse(this.#knownPeers.get(remote.fingerprint)?.firstSeen ?? '');
      const known = firstSeen < this.#startedAt;
      // The peer's name as the room has it: it follows /nick, and a transfer that reports after
      // the peer left (still placing its files) shows the name it left with.
      const link = peerLink(connection, () => this.#joinedAs.get(connection)?.name ?? sanitizeName(remote.info.name), known);
      this.#resumption.established({ connection, remote, direction, route, link, from: addressGroup(stream.remoteHost), ...(moving ? { moving } : {}) });
    });
    connection.on('drain', () => {
      if (this.canSend) this.emit('drain');
    });
    connection.on('message', (message) => {
      if (this.#resumption.message(connection, message)) return;
      // File and path messages too pass the peer's session first: it holds them to the
      // conversation's rules (none before the listener's answer to our `conversation`).
      const peer = this.#room.receive(connection, message);
      if (peer && isFileMessageType(message.type)) this.#files.handle(peer.link, message as FileMessage);
      else if (peer && isPathMessage(message) && !peer.session.detached) this.emit('path', peer, message);
    });
    connection.once('closed', (outcome) => {
      this.#pending.delete(connection);
      const abandoned = outcome.kind === 'failed' && outcome.error.code === 'ERR_HANDSHAKE_ABANDONED';
      if (early && !abandoned && !this.#joinedAs.has(connection)) this.#resumption.earlyFailed(early.peer);
      this.#admission.done(connection);
      // Before the room lets the peer go: its link is found there.
      const peer = this.#room.find(connection);
      const link = peer?.link;
      // A conversation that may resume keeps its transfers, paused; they end only if it is lost
      // (the resumption ends them itself when it closes the conversation at once).
      if (this.#resumption.closed(connection, outcome, this.#quitting)) {
        if (link && peer && this.#resumption.isSuspended(peer)) this.#files.linkSuspended(link);
        return;
      }
      if (link) this.#files.linkClosed(link, outcome.kind === 'lost' || outcome.kind === 'failed' ? outcome.error.message : undefined);
      this.#onClosed(connection, addressGroup(stream.remoteHost), direction, outcome);
    });
    connection.start();
    return connection;
  }

  #onClosed(connection: PeerConnection, host: string, direction: 'incoming' | 'outgoing', outcome: CloseOutcome): void {
    if (this.#room.leave(connection, outcome)) return;
    // Never became a peer: a stranger or a failed handshake. A listener logs it and carries on;
    // an outgoing attempt reports through connect()'s rejection instead.
    if (direction !== 'incoming' || outcome.kind !== 'failed') return;
    const { code, message } = outcome.error;
    // A dialler that left once it saw our key kept another path to us (or wanted another key):
    // routine, not worth a line.
    if (code === 'ERR_HANDSHAKE_ABANDONED') {
      this.#emit({ type: 'debug', code, message });
      return;
    }
    // A stranger that keeps connecting must not flood the log: its first failure is told in full,
    // the next line from that address a minute on counts the ones held back, and an address whose
    // minute is over is forgotten (with a line for what it had held back).
    const now = this.#clock.now();
    for (const { key, held } of this.#strangers.sweep(now)) {
      const interval = this.#timing.refusalLogIntervalMs / 1000;
      this.#emit({ type: 'rejected', address: key, code: 'ERR_HANDSHAKE_FAILED', message: `${held} more failed handshakes from ${key} in the ${interval} s after the last line` });
    }
    const held = this.#strangers.pass(host, now);
    if (held === undefined) return;
    const more = held > 0 ? ` (and ${held} more failed handshakes from ${host} since the last line)` : '';
    this.#emit({ type: 'rejected', address: connection.address, code, message: message + more });
  }

  #emit(event: AppEvent): void {
    this.emit('event', event);
  }
}
