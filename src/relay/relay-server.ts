// The rendezvous and relay server: one TCP port, two kinds of connection told apart by their
// first bytes. Control connections (Noise sessions with the relay's identity) register peers,
// look them up and arrange sessions; data connections present a one-time token and are spliced
// to their counterpart, carrying the two peers' own end-to-end encrypted stream untouched.

import { EventEmitter } from 'node:events';
import { SYSTEM_CLOCK, type Clock, type Timer } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';
import type { ByteStream, StreamListener, Transport } from '../net/byte-stream.js';
import { addressGroup } from '../net/address.js';
import { TCP_TRANSPORT } from '../net/tcp-transport.js';
import { bindDatagrams, type UdxDatagrams } from '../net/udx-datagrams.js';
import type { Identity } from '../secure/identity-store.js';
import { ConnectionSniffer } from './connection-sniffer.js';
import { EndpointReflector } from './endpoint-reflector.js';
import { softFdLimit } from './fd-limit.js';
import { RELAY_DEFAULTS, RELAY_FEATURES, RELAY_SHUTDOWN_REASON, relayLimits, type RelayLimits } from './relay-defaults.js';
import { RelayControl } from './relay-control.js';
import type { RelayEvent } from './relay-events.js';
import { Admission } from './relay-limits.js';
import { RelaySessions } from './relay-sessions.js';
import { RelayCluster, type ClusterOptions } from './relay-cluster.js';

export interface RelayServerOptions {
  readonly identity: Identity;
  readonly host?: string;
  readonly port?: number;
  readonly limits?: Partial<RelayLimits>;
  /** The open-file limit to plan for; read from the process (once) when not given. */
  readonly fdLimit?: number;
  /** The clock for handshake deadlines, rate limits, token lifetimes and every timer (tests move it). */
  readonly clock?: Clock;
  /** Where peers' control and data connections come in. */
  readonly transport?: Transport;
  /**
   * What the relay announces in its handshake payload; RELAY_FEATURES by default. Fewer make it
   * one of an older build (without `early`, say), to test clients against.
   */
  readonly features?: readonly string[];
  /** Join a cluster of relays on Redis (--cluster): peers registered on any of them reach each other. */
  readonly cluster?: ClusterOptions;
}

export class RelayServer extends EventEmitter<{ event: [event: RelayEvent] }> {
  readonly #identity: Identity;
  readonly #host: string;
  readonly #port: number;
  readonly #limits: RelayLimits;
  readonly #clock: Clock;
  readonly #transport: Transport;
  readonly #admission: Admission;
  readonly #sessions: RelaySessions;
  readonly #control: RelayControl;
  readonly #cluster: RelayCluster | undefined;
  readonly #streams = new Set<ByteStream>();
  /** Connections whose first bytes are still awaited. */
  readonly #sniffing = new Set<ByteStream>();
  #listener: StreamListener | undefined;
  /** UDP at the same port, where peers learn their public UDP endpoints; undefined if it could not be bound. */
  #datagrams: UdxDatagrams | undefined;
  #reflector: EndpointReflector | undefined;
  #statsTimer: Timer | undefined;
  #stopping: Promise<void> | undefined;
  #onIdle: (() => void) | undefined;

  constructor(options: RelayServerOptions) {
    super();
    this.#identity = options.identity;
    this.#host = options.host ?? RELAY_DEFAULTS.host;
    this.#port = options.port ?? RELAY_DEFAULTS.port;
    this.#limits = relayLimits(options.limits);
    const clock = (this.#clock = options.clock ?? SYSTEM_CLOCK);
    this.#transport = options.transport ?? TCP_TRANSPORT;
    const emit = (event: RelayEvent) => this.emit('event', event);
    this.#admission = new Admission({ ...this.#limits, fdLimit: options.fdLimit ?? softFdLimit() });
    this.#sessions = new RelaySessions({ ...this.#limits, emit, clock });
    const features = options.features ?? RELAY_FEATURES;
    const cluster = options.cluster ? new RelayCluster({ cluster: options.cluster, fingerprint: this.#identity.fingerprint, clock, emit }) : undefined;
    this.#cluster = cluster;
    this.#control = new RelayControl({
      identity: this.#identity,
      features,
      limits: this.#limits,
      admission: this.#admission,
      sessions: this.#sessions,
      emit,
      clock,
      ...(cluster ? { cluster } : {}),
    });
  }

  get fingerprint(): string {
    return this.#identity.fingerprint;
  }

  /** The bound port, once started. */
  get port(): number | undefined {
    return this.#listener?.port;
  }

  /** The UDP port endpoint probes are answered on (the TCP port's number), once started, if it could be bound. */
  get udpPort(): number | undefined {
    return this.#datagrams?.port;
  }

  get peerCount(): number {
    return this.#control.registry.size;
  }

  get sessionCount(): number {
    return this.#sessions.count;
  }

  get connectionCount(): number {
    return this.#streams.size;
  }

  /** Bind exactly host:port (ERR_LISTEN_FAILED otherwise) and serve; resolves with the port. */
  async start(): Promise<number> {
    if (this.#listener) throw new Error('RelayServer.start called twice');
    const onDrop = (address: string) => {
      const message = `dropped at once: ${this.#streams.size} connections open, too near the open-file limit to answer`;
      this.emit('event', { type: 'rejected', address, code: 'ERR_RELAY_FULL', message });
    };
    // Half-open streams stay readable: a spliced stream passes a FIN on while the other direction
    // still flows. The port is taken as given (peers are configured with it).
    const bound = await this.#transport.listen(
      { host: this.#host, port: this.#port, fallbackTries: 0, allowHalfOpen: true, maxConnections: this.#admission.hardCeiling, onDrop },
      (stream) => this.#accept(stream),
    );
    this.#listener = bound;
    await this.#reflectEndpoints(bound.host, bound.port);
    if (this.#cluster) await this.#joinCluster(this.#cluster, bound.port);
    const every = this.#limits.statsIntervalMs;
    if (every > 0) {
      this.#statsTimer = this.#clock.setInterval(() => this.emit('event', this.stats()), every);
      this.#statsTimer.unref();
    }
    this.emit('event', { type: 'started', host: bound.host, port: bound.port, fingerprint: this.fingerprint, udp: this.#datagrams !== undefined });
    return bound.port;
  }

  /**
   * Listen on UDP at the TCP port's number and answer endpoint probes there. Without it the relay
   * still does everything else, so a port busy on UDP (or UDP not available) is only reported.
   */
  async #reflectEndpoints(host: string, port: number): Promise<void> {
    try {
      this.#datagrams = await bindDatagrams({ host, port, fallbackTries: 0 });
    } catch (err) {
      const error = P2PChatError.from(err, 'ERR_LISTEN_FAILED', `cannot listen on UDP port ${port}`);
      const message = `no UDP on port ${port} (${error.message}): peers cannot learn their public UDP endpoints here; TCP is served as usual`;
      this.emit('event', { type: 'warning', code: error.code, message });
      return;
    }
    this.#reflector = new EndpointReflector(this.#datagrams, this.#clock);
  }

  /**
   * Join the cluster; a relay whose key differs from the cluster's does not start (closing what it
   * opened), since pinned clients of the cluster would refuse it.
   */
  async #joinCluster(cluster: RelayCluster, port: number): Promise<void> {
    const control = this.#control;
    try {
      await cluster.start({
        records: () => control.registry.records(),
        dial: (request) => control.invite(request.a, { key: request.a.fingerprint, ip: request.ip }, request.b, request.early),
        record: (fingerprint) => control.registry.get(fingerprint),
        moved: (record) => control.moved(record),
      }, port);
    } catch (err) {
      await cluster.stop();
      this.#reflector?.close();
      await Promise.all([this.#listener?.close(), this.#datagrams?.close()]);
      throw err;
    }
  }

  stats(): Extract<RelayEvent, { type: 'stats' }> {
    const cluster = this.#cluster ? { cluster: this.#cluster.stats() } : {};
    return { type: 'stats', peers: this.peerCount, sessions: this.#sessions.count, bytes: this.#sessions.bytes, connections: this.#streams.size, ...cluster };
  }

  /**
   * Stop: every peer gets a goodbye with `reason`, spliced sessions are ended, the port is closed.
   * Resolves when every connection is closed; stragglers are cut after `stopTimeoutMs`.
   */
  stop(reason: string = RELAY_SHUTDOWN_REASON): Promise<void> {
    this.#stopping ??= this.#shutdown(reason);
    return this.#stopping;
  }

  async #shutdown(reason: string): Promise<void> {
    this.#clock.clearInterval(this.#statsTimer);
    // First, so that the cluster forgets our peers at once rather than one by one as they close.
    await this.#cluster?.stop();
    const closed = this.#listener?.close();
    this.#reflector?.close();
    const udpClosed = this.#datagrams?.close();
    this.#control.stop(reason);
    this.#sessions.stop(reason);
    for (const stream of this.#sniffing) stream.destroy();
    if (!(await this.#idle(this.#limits.stopTimeoutMs))) {
      for (const stream of this.#streams) stream.destroy();
      await this.#idle(1_000);
    }
    await Promise.all([closed, udpClosed]);
    this.emit('event', { type: 'stopped', reason });
  }

  /** Resolves true once no stream is open, false if `ms` pass first. */
  #idle(ms: number): Promise<boolean> {
    if (this.#streams.size === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const timer = this.#clock.setTimeout(() => {
        this.#onIdle = undefined;
        resolve(false);
      }, ms);
      this.#onIdle = () => {
        this.#clock.clearTimeout(timer);
        this.#onIdle = undefined;
        resolve(true);
      };
    });
  }

  #accept(stream: ByteStream): void {
    if (this.#stopping) {
      stream.destroy();
      return;
    }
    const ip = addressGroup(stream.remoteHost);
    this.#streams.add(stream);
    this.#admission.opened(ip);
    stream.once('close', () => {
      this.#streams.delete(stream);
      this.#admission.closed(ip);
      if (this.#streams.size === 0) this.#onIdle?.();
    });
    this.#sniff(stream, stream.remoteAddress, ip);
  }

  /**
   * Read just enough to know what the connection is, then hand it on with its bytes put back. One
   * deadline, set now, covers both this and a control connection's handshake after it: a peer
   * that dribbles its preamble must not earn a second full timeout for the handshake.
   */
  #sniff(stream: ByteStream, address: string, ip: string): void {
    const sniffer = new ConnectionSniffer();
    const timeoutMs = this.#limits.handshakeTimeoutMs;
    const clock = this.#clock;
    const deadline = clock.now() + timeoutMs;
    const reject = (error: P2PChatError) => {
      done();
      if (!this.#stopping) this.emit('event', { type: 'rejected', address, code: error.code, message: error.message });
      stream.destroy();
    };
    const onData = (chunk: Buffer) => {
      let result;
      try {
        result = sniffer.push(chunk);
      } catch (err) {
        reject(P2PChatError.from(err, 'ERR_NOT_P2P_CHAT'));
        return;
      }
      if (result.kind === 'pending') return;
      done();
      stream.pause();
      if (result.kind === 'control') {
        stream.unshift(result.head);
        const handshakeTimeoutMs = deadline - clock.now();
        this.#control.adopt(stream, { ip, refusal: this.#admission.refuseControl(ip), handshakeTimeoutMs });
      } else {
        if (result.rest.length > 0) stream.unshift(result.rest);
        this.#onDataConnection(stream, address, ip, result.token);
      }
    };
    const onEnd = () =>
      reject(chatError('ERR_NOT_P2P_CHAT', `${address} closed the connection before saying what it is (it sent ${sniffer.describe()})`));
    const timer = clock.setTimeout(
      () => reject(chatError('ERR_HANDSHAKE_TIMEOUT', `${address} did not say what it is within ${timeoutMs / 1000} s`)),
      timeoutMs,
    );
    timer.unref();
    const done = () => {
      this.#sniffing.delete(stream);
      clock.clearTimeout(timer);
      stream.off('data', onData);
      stream.off('end', onEnd);
      stream.off('close', onEnd);
    };
    this.#sniffing.add(stream);
    stream.on('data', onData);
    stream.once('end', onEnd);
    stream.once('close', onEnd);
    stream.resume();
  }

  #onDataConnection(stream: ByteStream, address: string, ip: string, token: string): void {
    const refusal = this.#admission.refuseData(ip);
    const why = refusal ?? this.#sessions.attach(token, stream);
    if (why === undefined) return;
    const code = refusal ? 'ERR_RELAY_FULL' : 'ERR_BAD_TOKEN';
    this.emit('event', { type: 'rejected', address, code, message: `data connection from ${address} refused: ${why}` });
    stream.destroy();
  }
}
