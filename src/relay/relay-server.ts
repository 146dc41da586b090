// The rendezvous and relay server: one TCP port, two kinds of connection told apart by their
// first bytes. Control connections (Noise sessions with the relay's identity) register peers,
// look them up and arrange sessions; data connections present a one-time token and are spliced
// to their counterpart, carrying the two peers' own end-to-end encrypted stream untouched.

import { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import { chatError, P2PChatError } from '../errors.js';
import { formatHostPort, plainHost } from '../net/address.js';
import type { Identity } from '../secure/identity-store.js';
import { ConnectionSniffer } from './connection-sniffer.js';
import { softFdLimit } from './fd-limit.js';
import { RELAY_DEFAULTS, RELAY_SHUTDOWN_REASON, relayLimits, type RelayLimits } from './relay-defaults.js';
import { RelayControl } from './relay-control.js';
import type { RelayEvent } from './relay-events.js';
import { Admission } from './relay-limits.js';
import { bindRelay } from './relay-listener.js';
import { RelaySessions } from './relay-sessions.js';

export interface RelayServerOptions {
  readonly identity: Identity;
  readonly host?: string;
  readonly port?: number;
  readonly limits?: Partial<RelayLimits>;
  /** The open-file limit to plan for; read from the process (once) when not given. */
  readonly fdLimit?: number;
  /** The clock for handshake deadlines, rate limits and token lifetimes (tests move it). */
  readonly now?: () => number;
}

export class RelayServer extends EventEmitter<{ event: [event: RelayEvent] }> {
  readonly #identity: Identity;
  readonly #host: string;
  readonly #port: number;
  readonly #limits: RelayLimits;
  readonly #now: () => number;
  readonly #admission: Admission;
  readonly #sessions: RelaySessions;
  readonly #control: RelayControl;
  readonly #sockets = new Set<Socket>();
  /** Connections whose first bytes are still awaited. */
  readonly #sniffing = new Set<Socket>();
  #server: Server | undefined;
  #boundPort: number | undefined;
  #statsTimer: NodeJS.Timeout | undefined;
  #stopping: Promise<void> | undefined;
  #onIdle: (() => void) | undefined;

  constructor(options: RelayServerOptions) {
    super();
    this.#identity = options.identity;
    this.#host = options.host ?? RELAY_DEFAULTS.host;
    this.#port = options.port ?? RELAY_DEFAULTS.port;
    this.#limits = relayLimits(options.limits);
    const now = (this.#now = options.now ?? Date.now);
    const emit = (event: RelayEvent) => this.emit('event', event);
    this.#admission = new Admission({ ...this.#limits, fdLimit: options.fdLimit ?? softFdLimit() });
    this.#sessions = new RelaySessions({ ...this.#limits, emit, now });
    this.#control = new RelayControl({ identity: this.#identity, limits: this.#limits, admission: this.#admission, sessions: this.#sessions, emit, now });
  }

  get fingerprint(): string {
    return this.#identity.fingerprint;
  }

  /** The bound port, once started. */
  get port(): number | undefined {
    return this.#boundPort;
  }

  get peerCount(): number {
    return this.#control.registry.size;
  }

  get sessionCount(): number {
    return this.#sessions.count;
  }

  get connectionCount(): number {
    return this.#sockets.size;
  }

  /** Bind exactly host:port (ERR_LISTEN_FAILED otherwise) and serve; resolves with the port. */
  async start(): Promise<number> {
    if (this.#server) throw new Error('RelayServer.start called twice');
    const bound = await bindRelay(this.#host, this.#port, (socket) => this.#accept(socket));
    this.#server = bound.server;
    this.#boundPort = bound.port;
    bound.server.maxConnections = this.#admission.hardCeiling;
    bound.server.on('drop', (data) => {
      const address = formatHostPort(data?.remoteAddress, data?.remotePort);
      const message = `dropped at once: ${this.#sockets.size} connections open, too near the open-file limit to answer`;
      this.emit('event', { type: 'rejected', address, code: 'ERR_RELAY_FULL', message });
    });
    const every = this.#limits.statsIntervalMs;
    if (every > 0) {
      this.#statsTimer = setInterval(() => this.emit('event', this.stats()), every);
      this.#statsTimer.unref();
    }
    this.emit('event', { type: 'started', host: bound.host, port: bound.port, fingerprint: this.fingerprint });
    return bound.port;
  }

  stats(): Extract<RelayEvent, { type: 'stats' }> {
    return { type: 'stats', peers: this.peerCount, sessions: this.#sessions.count, bytes: this.#sessions.bytes, connections: this.#sockets.size };
  }

  /**
   * Stop: every peer gets a goodbye with `reason`, spliced sessions are ended, the port is closed.
   * Resolves when every socket is closed; stragglers are cut after `stopTimeoutMs`.
   */
  stop(reason: string = RELAY_SHUTDOWN_REASON): Promise<void> {
    this.#stopping ??= this.#shutdown(reason);
    return this.#stopping;
  }

  async #shutdown(reason: string): Promise<void> {
    clearInterval(this.#statsTimer);
    const server = this.#server;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    this.#control.stop(reason);
    this.#sessions.stop(reason);
    for (const socket of this.#sniffing) socket.destroy();
    if (!(await this.#idle(this.#limits.stopTimeoutMs))) {
      for (const socket of this.#sockets) socket.destroy();
      await this.#idle(1_000);
    }
    await closed;
    this.emit('event', { type: 'stopped', reason });
  }

  /** Resolves true once no socket is open, false if `ms` pass first. */
  #idle(ms: number): Promise<boolean> {
    if (this.#sockets.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#onIdle = undefined;
        resolve(false);
      }, ms);
      this.#onIdle = () => {
        clearTimeout(timer);
        this.#onIdle = undefined;
        resolve(true);
      };
    });
  }

  #accept(socket: Socket): void {
    if (this.#stopping) {
      socket.destroy();
      return;
    }
    const ip = plainHost(socket.remoteAddress ?? '?');
    const address = formatHostPort(socket.remoteAddress, socket.remotePort);
    this.#sockets.add(socket);
    this.#admission.opened(ip);
    // Every socket always has an error listener: a reset must never reach the process as a crash.
    socket.on('error', () => undefined);
    socket.once('close', () => {
      this.#sockets.delete(socket);
      this.#admission.closed(ip);
      if (this.#sockets.size === 0) this.#onIdle?.();
    });
    this.#sniff(socket, address, ip);
  }

  /**
   * Read just enough to know what the connection is, then hand it on with its bytes put back. One
   * deadline, set now, covers both this and a control connection's handshake after it: a peer
   * that dribbles its preamble must not earn a second full timeout for the handshake.
   */
  #sniff(socket: Socket, address: string, ip: string): void {
    const sniffer = new ConnectionSniffer();
    const timeoutMs = this.#limits.handshakeTimeoutMs;
    const deadline = this.#now() + timeoutMs;
    const reject = (error: P2PChatError) => {
      done();
      if (!this.#stopping) this.emit('event', { type: 'rejected', address, code: error.code, message: error.message });
      socket.destroy();
    };
    const onData = (chunk: Buffer) => {
      let result;
      try {
        result = sniffer.push(chunk);
      } catch (err) {
        reject(err instanceof P2PChatError ? err : chatError('ERR_NOT_P2P_CHAT', String(err)));
        return;
      }
      if (result.kind === 'pending') return;
      done();
      socket.pause();
      if (result.kind === 'control') {
        socket.unshift(result.head);
        const handshakeTimeoutMs = deadline - this.#now();
        this.#control.adopt(socket, { ip, refusal: this.#admission.refuseControl(ip), handshakeTimeoutMs });
      } else {
        if (result.rest.length > 0) socket.unshift(result.rest);
        this.#onDataConnection(socket, address, ip, result.token);
      }
    };
    const onEnd = () =>
      reject(chatError('ERR_NOT_P2P_CHAT', `${address} closed the connection before saying what it is (it sent ${sniffer.describe()})`));
    const timer = setTimeout(
      () => reject(chatError('ERR_HANDSHAKE_TIMEOUT', `${address} did not say what it is within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    timer.unref();
    const done = () => {
      this.#sniffing.delete(socket);
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('end', onEnd);
      socket.removeListener('close', onEnd);
    };
    this.#sniffing.add(socket);
    socket.on('data', onData);
    socket.once('end', onEnd);
    socket.once('close', onEnd);
  }

  #onDataConnection(socket: Socket, address: string, ip: string, token: string): void {
    const refusal = this.#admission.refuseData(ip);
    const why = refusal ?? this.#sessions.attach(token, socket);
    if (why === undefined) return;
    const code = refusal ? 'ERR_RELAY_FULL' : 'ERR_BAD_TOKEN';
    this.emit('event', { type: 'rejected', address, code, message: `data connection from ${address} refused: ${why}` });
    socket.destroy();
  }
}
