// A running peer: its identity, its listener, and every live connection. It turns connection
// events into AppEvents, records peers in known-peers, and, when several peers are connected to
// it, passes messages and presence between them so everyone in the conversation sees everyone.

import { EventEmitter } from 'node:events';
import { randomBytes } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import { DEFAULTS, type Settings } from '../defaults.js';
import { chatError, P2PChatError } from '../errors.js';
import { listenTcp } from '../net/tcp-listener.js';
import { dialTcp } from '../net/tcp-dialer.js';
import { FEATURES, PROTOCOL_VERSION } from '../secure/handshake-payload.js';
import type { Identity } from '../secure/identity-store.js';
import { KnownPeers } from '../secure/known-peers.js';
import { PeerConnection, type CloseOutcome } from '../session/peer-connection.js';
import { sanitizeName, sanitizeText } from '../session/sanitize.js';
import type { SessionMessage } from '../session/session-messages.js';
import type { AppEvent, PathKind, PeerSummary } from './app-events.js';

export interface ChatNodeOptions {
  readonly identity: Identity;
  readonly knownPeers: KnownPeers;
  readonly name: string;
  readonly timing?: Partial<Settings>;
}

interface LivePeer {
  readonly connection: PeerConnection;
  readonly fingerprint: string;
  readonly direction: 'incoming' | 'outgoing';
  readonly route: Route;
  name: string;
  /** When the peer last changed nickname (ms), for rate limiting. */
  renamedAt: number;
}

/** How a connection reaches its peer. */
export interface Route {
  readonly path: PathKind;
  /** The relay, for a relayed path. */
  readonly via?: string;
}

/** Decides, when a raced connection completes its handshake, whether it is the one to keep. */
export type Gate = () => boolean;

/** A peer may change nickname at most this often; faster changes are ignored. */
const RENAME_INTERVAL_MS = 2_000;

export class ChatNode extends EventEmitter<{ event: [AppEvent]; drain: [] }> {
  readonly #identity: Identity;
  readonly #known: KnownPeers;
  readonly #timing: Settings;
  readonly #peers = new Set<LivePeer>();
  readonly #pending = new Set<PeerConnection>();
  #name: string;
  #server: Server | undefined;
  #quitting = false;

  constructor(options: ChatNodeOptions) {
    super();
    this.#identity = options.identity;
    this.#known = options.knownPeers;
    this.#name = sanitizeName(options.name);
    this.#timing = { ...DEFAULTS, ...options.timing };
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

  /** True from quit() or abort() on: the node takes no new connections. */
  get quitting(): boolean {
    return this.#quitting;
  }

  get peerCount(): number {
    return this.#peers.size;
  }

  /** False while some peer's send queue is over its high-water mark; `drain` follows. */
  get canSend(): boolean {
    for (const peer of this.#peers) if (peer.connection.needsDrain) return false;
    return true;
  }

  /** Bind and start accepting peers; resolves with the port actually bound. */
  async listen(host: string, port: number, fallback: boolean): Promise<number> {
    const bound = await listenTcp(
      { host, port, fallbackTries: fallback ? this.#timing.portFallbackTries : 0 },
      (socket) => this.#adopt(socket, 'incoming', { path: 'direct' }),
    );
    this.#server = bound.server;
    this.#emit({
      type: 'listening',
      host: bound.host,
      port: bound.port,
      fingerprint: this.fingerprint,
      name: this.#name,
      ...(bound.busyPort !== undefined ? { busyPort: bound.busyPort } : {}),
    });
    return bound.port;
  }

  /** Dial a peer; resolves once the encrypted session is up, rejects with a coded error. */
  async connect(host: string, port: number, expectedFingerprint?: string, gate?: Gate): Promise<PeerSummary> {
    const socket = await dialTcp(host, port, this.#timing.connectTimeoutMs);
    return this.connectOver(socket, { path: 'direct' }, expectedFingerprint, gate);
  }

  /**
   * Run the handshake as initiator over an open socket: a direct dial, or a relayed data
   * connection. With a `gate`, a connection that completes the handshake joins only if the gate
   * says it won the race (connect-strategy.ts); a loser is closed.
   */
  connectOver(socket: Socket, route: Route, expectedFingerprint?: string, gate?: Gate): Promise<PeerSummary> {
    const connection = this.#adopt(socket, 'outgoing', route, expectedFingerprint, gate);
    return new Promise((resolve, reject) => {
      connection.once('established', () => {
        if (this.#find(connection)) resolve(this.#summary(connection));
      });
      connection.once('closed', (outcome) => {
        const error = 'error' in outcome ? outcome.error : chatError('ERR_HANDSHAKE_FAILED', 'connection closed');
        reject(error);
      });
    });
  }

  /** A relayed data connection a relay invited us to: we are the responder. Closed if quitting. */
  acceptOver(socket: Socket, route: Route): void {
    if (this.#quitting) {
      socket.destroy();
      return;
    }
    this.#adopt(socket, 'incoming', route);
  }

  say(rawText: string, action = false): void {
    // Controls and escapes would be stripped by every receiver anyway; removing them here also
    // bounds JSON's expansion of the text (a control character encodes as six bytes).
    const text = sanitizeText(rawText);
    const bytes = Buffer.byteLength(text, 'utf8');
    if (bytes > this.#timing.maxMessageBytes) {
      throw chatError(
        'ERR_MESSAGE_TOO_LONG',
        `message is ${bytes} bytes; the limit is ${this.#timing.maxMessageBytes} bytes (${this.#timing.maxMessageBytes / 1024} KiB)`,
      );
    }
    const chat = { id: randomBytes(8).toString('hex'), time: Date.now(), text, ...(action ? { action } : {}) };
    for (const peer of this.#peers) peer.connection.send({ type: 'chat', ...chat });
    this.#emit({ type: 'sent', ...chat, recipients: this.#peers.size });
  }

  rename(name: string): void {
    const clean = sanitizeName(name);
    this.#name = clean;
    for (const peer of this.#peers) peer.connection.send({ type: 'nick', name: clean });
  }

  who(): PeerSummary[] {
    return [...this.#peers].map((p) => this.#summary(p.connection));
  }

  /**
   * Goodbye to every peer, stop listening; resolves when all sockets are closed, with whether
   * everything sent was flushed to every peer first.
   */
  async quit(reason: string): Promise<boolean> {
    this.#quitting = true;
    this.#server?.close();
    const closing = [...this.#peers].map((p) => p.connection.close(reason));
    for (const c of this.#pending) c.destroy();
    return (await Promise.all(closing)).every(Boolean);
  }

  /** Immediate stop: no goodbyes (second Ctrl-C). */
  abort(): void {
    this.#quitting = true;
    this.#server?.close();
    for (const p of this.#peers) p.connection.destroy();
    for (const c of this.#pending) c.destroy();
  }

  #adopt(socket: Socket, direction: 'incoming' | 'outgoing', route: Route, expectedFingerprint?: string, gate?: Gate): PeerConnection {
    const t = this.#timing;
    const connection = new PeerConnection(socket, {
      initiator: direction === 'outgoing',
      keyPair: this.#identity.keyPair,
      localInfo: { name: this.#name, version: PROTOCOL_VERSION, features: FEATURES },
      handshakeTimeoutMs: t.handshakeTimeoutMs,
      keepaliveIntervalMs: t.keepaliveIntervalMs,
      keepaliveTimeoutMs: t.keepaliveTimeoutMs,
      byeGraceMs: t.byeGraceMs,
      maxQueuedBytes: t.maxQueuedBytes,
      ...(expectedFingerprint ? { expectedFingerprint } : {}),
    });
    this.#pending.add(connection);
    connection.once('established', (remote) => {
      this.#pending.delete(connection);
      if (this.#quitting) {
        void connection.close('shutting down');
        return;
      }
      if (gate && !gate()) {
        void connection.close('superseded by a faster path');
        return;
      }
      const name = sanitizeName(remote.info.name);
      const peer: LivePeer = { connection, fingerprint: remote.fingerprint, direction, route, name, renamedAt: 0 };
      this.#onEstablished(peer);
    });
    connection.on('drain', () => {
      if (this.canSend) this.emit('drain');
    });
    connection.on('message', (message) => {
      const peer = this.#find(connection);
      if (peer) this.#onMessage(peer, message);
    });
    connection.once('closed', (outcome) => {
      this.#pending.delete(connection);
      this.#onClosed(connection, direction, outcome);
    });
    connection.start();
    return connection;
  }

  /** The loud warning when a nickname we know from another key shows up (on connect or /nick). */
  #warnIfNameClaimed(peer: LivePeer): { known: boolean } {
    const check = this.#known.check(peer.fingerprint, peer.name);
    if (check.nameClaimedBy.length > 0) {
      this.#emit({
        type: 'warning',
        code: 'ERR_PEER_KEY_CHANGED',
        message:
          `"${peer.name}" is using key ${peer.fingerprint}, but that nickname was known with key ` +
          `${check.nameClaimedBy.join(', ')}. It may be someone else: compare fingerprints out of band.`,
      });
    }
    return check;
  }

  #onEstablished(peer: LivePeer): void {
    const check = this.#warnIfNameClaimed(peer);
    this.#recordPeer(peer);
    const others = [...this.#peers];
    this.#peers.add(peer);
    peer.connection.ping();
    this.#emit({ type: 'connected', known: check.known, ...this.#summary(peer.connection) });
    // Presence: the newcomer learns who is here, and those here learn of the newcomer.
    for (const other of others) {
      other.connection.send({ type: 'presence', event: 'joined', peer: ref(peer) });
      peer.connection.send({ type: 'presence', event: 'joined', peer: ref(other) });
    }
  }

  #onMessage(peer: LivePeer, message: SessionMessage): void {
    const via = peer.name;
    switch (message.type) {
      case 'chat': {
        const { type: _type, ...chat } = message;
        this.#emit({ type: 'message', from: peer.name, fingerprint: peer.fingerprint, ...chat });
        this.#broadcast(peer, { type: 'forwarded', from: ref(peer), ...chat });
        return;
      }
      case 'forwarded': {
        // Only the host we dialled speaks for others; a client claiming to is ignored.
        if (peer.direction !== 'outgoing') return;
        const { type: _type, from, ...chat } = message;
        this.#emit({ type: 'message', from: sanitizeName(from.name), fingerprint: from.fingerprint, ...chat, via });
        return;
      }
      case 'nick': {
        // A peer flipping names in a loop must not flood the screen or the other peers.
        const now = Date.now();
        if (now - peer.renamedAt < RENAME_INTERVAL_MS) return;
        peer.renamedAt = now;
        const oldName = peer.name;
        peer.name = sanitizeName(message.name);
        if (peer.name === oldName) return;
        this.#warnIfNameClaimed(peer);
        this.#emit({ type: 'renamed', fingerprint: peer.fingerprint, oldName, name: peer.name });
        this.#broadcast(peer, { type: 'presence', event: 'renamed', peer: ref(peer), reason: oldName });
        return;
      }
      case 'presence': {
        if (peer.direction !== 'outgoing') return;
        const name = sanitizeName(message.peer.name);
        const fingerprint = message.peer.fingerprint;
        const reason = message.reason ?? '';
        if (message.event === 'joined') this.#emit({ type: 'joined', name, fingerprint, via });
        else if (message.event === 'left') this.#emit({ type: 'left', name, fingerprint, reason, via });
        else if (message.event === 'lost') {
          this.#emit({ type: 'lost', name, fingerprint, code: 'ERR_CONNECTION_LOST', message: reason, via });
        } else this.#emit({ type: 'renamed', fingerprint, oldName: sanitizeName(reason), name, via });
        return;
      }
      default:
        return;
    }
  }

  #onClosed(connection: PeerConnection, direction: 'incoming' | 'outgoing', outcome: CloseOutcome): void {
    const peer = this.#find(connection);
    if (!peer) {
      // Never became a peer: a stranger or a failed handshake. A listener logs it and carries on;
      // an outgoing attempt reports through connect()'s rejection instead.
      if (direction === 'incoming' && outcome.kind === 'failed') {
        this.#emit({ type: 'rejected', address: connection.address, code: outcome.error.code, message: outcome.error.message });
      }
      return;
    }
    this.#peers.delete(peer);
    if (outcome.kind === 'left' || outcome.kind === 'closed') {
      const reason = outcome.kind === 'left' ? outcome.reason : '';
      if (outcome.kind === 'left') this.#emit({ type: 'left', name: peer.name, fingerprint: peer.fingerprint, reason });
      this.#broadcast(peer, { type: 'presence', event: 'left', peer: ref(peer), reason });
    } else {
      const error = outcome.error;
      this.#emit({ type: 'lost', name: peer.name, fingerprint: peer.fingerprint, code: error.code, message: error.message });
      this.#broadcast(peer, { type: 'presence', event: 'lost', peer: ref(peer), reason: error.message });
    }
  }

  /** Send to every peer but one; a failure to one recipient never affects the sender or the rest. */
  #broadcast(except: LivePeer, message: Parameters<PeerConnection['send']>[0]): void {
    for (const other of this.#peers) {
      if (other === except) continue;
      try {
        other.connection.send(message);
      } catch (err) {
        if (!(err instanceof P2PChatError)) throw err;
        this.#emit({ type: 'warning', code: err.code, message: `could not pass a message on to ${other.name}: ${err.message}` });
      }
    }
  }

  #find(connection: PeerConnection): LivePeer | undefined {
    for (const peer of this.#peers) if (peer.connection === connection) return peer;
    return undefined;
  }

  #recordPeer(peer: LivePeer): void {
    try {
      this.#known.record(peer.fingerprint, peer.name);
    } catch (err) {
      if (err instanceof P2PChatError) this.#emit({ type: 'warning', code: err.code, message: err.message });
    }
  }

  #summary(connection: PeerConnection): PeerSummary {
    const peer = this.#find(connection);
    const remote = connection.remote;
    const rtt = connection.rttMs;
    return {
      name: peer?.name ?? sanitizeName(remote?.info.name ?? '?'),
      fingerprint: remote?.fingerprint ?? '?',
      address: connection.address,
      path: peer?.route.path ?? 'direct',
      ...(peer?.route.via ? { via: peer.route.via } : {}),
      direction: peer?.direction ?? 'outgoing',
      ...(rtt !== undefined ? { rttMs: rtt } : {}),
    };
  }

  #emit(event: AppEvent): void {
    this.emit('event', event);
  }
}

function ref(peer: LivePeer) {
  return { name: peer.name, fingerprint: peer.fingerprint };
}
