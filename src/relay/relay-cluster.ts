// A relay's membership of a cluster (--cluster): its registrations written to the shared registry
// on Redis and kept alive there, lookups and dials that reach peers on the other relays, and what
// happens when Redis goes away (the relay serves its own peers alone, says so once, and joins again
// when Redis is back, registering them anew). Every Redis call has a deadline on the relay's clock.
// Only the heartbeat's failing (or the connection's) takes the relay out of the cluster: one slow
// lookup just answers from this relay's peers, rather than make every peer be written again.

import { withDeadline, type Clock, type Timer } from '../clock.js';
import { chatError, P2PChatError } from '../errors.js';
import { LogThrottle } from '../log-throttle.js';
import type { RelayRecord } from '../session/relay-messages.js';
import type { DialAnswer, DialRequest } from './cluster-bus.js';
import { connectCluster, redact, withPort, type Redis } from './cluster-connection.js';
import type { ClusterMessage } from './cluster-messages.js';
import type { ClusterRecord, ClusterRelay } from './cluster-registry.js';
import type { RelayEvent } from './relay-events.js';

export interface ClusterOptions {
  /** redis:// or rediss:// URL of the cluster's Redis. */
  readonly url: string;
  /**
   * host:port peers reach this relay at: its name in the cluster, where other relays send
   * diallers. Without a port, the port the relay listens on.
   */
  readonly publicAddress: string;
  /** Prefix of every key and channel, so clusters can share one Redis. */
  readonly keyPrefix?: string;
  /** How long a registration lives in Redis unless refreshed; refreshed every third of it. */
  readonly ttlMs?: number;
  /** Deadline of each Redis call and of a dial passed to another relay. */
  readonly timeoutMs?: number;
}

export const CLUSTER_DEFAULTS = Object.freeze({
  keyPrefix: 'p2p-chat:',
  ttlMs: 30_000,
  timeoutMs: 3_000,
  /** At most one log line per interval about bad values met in Redis. */
  badRecordLogIntervalMs: 60_000,
});

/** What the relay's control side gives the cluster. */
export interface ClusterHost {
  /** The peers registered here now. */
  records(): Iterable<RelayRecord>;
  /** Another relay asks us to invite one of our peers for its dialler. */
  dial(request: DialRequest): Omit<DialAnswer, 'type' | 'id' | 'from'>;
  /** The record of `fingerprint` registered here now, if any. */
  record(fingerprint: string): RelayRecord | undefined;
  /**
   * The key of `record` is registered on another relay now: our connection of it is stale, unless
   * it registered here again since (`record` is not the one here any more).
   */
  moved(record: RelayRecord): void;
}

export type ClusterState = 'joining' | 'joined' | 'unavailable' | 'refused' | 'left';

export interface ClusterStats {
  readonly state: ClusterState;
  /** Relays heard from within the TTL, this one included (at the last heartbeat). */
  readonly relays: number;
  /** Peers registered on all of them together. */
  readonly peers: number;
}

export interface RelayClusterOptions {
  readonly cluster: ClusterOptions;
  /** This relay's key: every relay of a cluster has the same one (README, "Relays on Redis"). */
  readonly fingerprint: string;
  readonly clock: Clock;
  readonly emit: (event: RelayEvent) => void;
}

export class RelayCluster {
  readonly #options: RelayClusterOptions;
  #self = '';
  readonly #ttlMs: number;
  readonly #timeoutMs: number;
  /** The deadline of a heartbeat's bulk work (all peers refreshed or written): a third of the TTL, so records outlive a slow one. */
  readonly #bulkMs: number;
  /** Made by start(). */
  #redis: Redis | undefined;
  readonly #keyPrefix: string;
  readonly #badRecords = new LogThrottle(CLUSTER_DEFAULTS.badRecordLogIntervalMs);
  #host: ClusterHost | undefined;
  #state: ClusterState = 'joining';
  #relays: readonly ClusterRelay[] = [];
  #timer: Timer | undefined;
  #ticking: Promise<void> | undefined;
  #tickAgain = false;
  #stopping: Promise<void> | undefined;
  /**
   * When each of our peers registered here (our clock): written with its record, so that writing
   * it back after Redis was away does not displace a later registration on another relay.
   */
  readonly #since = new WeakMap<RelayRecord, number>();

  constructor(options: RelayClusterOptions) {
    this.#options = options;
    const { cluster } = options;
    const keyPrefix = cluster.keyPrefix ?? CLUSTER_DEFAULTS.keyPrefix;
    this.#ttlMs = cluster.ttlMs ?? CLUSTER_DEFAULTS.ttlMs;
    this.#timeoutMs = cluster.timeoutMs ?? CLUSTER_DEFAULTS.timeoutMs;
    this.#bulkMs = Math.max(this.#timeoutMs, Math.floor(this.#ttlMs / 3));
    this.#keyPrefix = keyPrefix;
  }

  get state(): ClusterState {
    return this.#state;
  }

  get publicAddress(): string {
    return this.#self;
  }

  stats(): ClusterStats {
    const relays = this.#state === 'joined' ? this.#relays : [];
    return { state: this.#state, relays: relays.length, peers: relays.reduce((sum, relay) => sum + relay.peers, 0) };
  }

  /**
   * Connect to Redis and join: resolves once joined, or once the first try found Redis away (the
   * relay serves its own peers meanwhile and joins later). Rejects ERR_CLUSTER_KEY_MISMATCH when
   * the cluster's relays hold another key than ours.
   */
  async start(host: ClusterHost, port: number): Promise<void> {
    this.#host = host;
    const { publicAddress } = this.#options.cluster;
    this.#self = withPort(publicAddress, port);
    const redis = await connectCluster(
      { url: this.#options.cluster.url, self: this.#self, keyPrefix: this.#keyPrefix, ttlMs: this.#ttlMs, timeoutMs: this.#timeoutMs, clock: this.#options.clock },
      {
        lost: (err) => this.#lost(P2PChatError.from(err, 'ERR_CLUSTER_UNAVAILABLE', `Redis at ${redact(this.#options.cluster.url)}`)),
        ready: () => this.#tick(),
        message: (message) => void this.#onMessage(message),
        bad: (what) => this.#badRecord(what),
      },
    );
    if (this.#stopping) return; // stopped while the client loaded: nothing was connected
    this.#redis = redis;
    const { client, subscriber, bus } = redis;
    client.connect().catch(() => undefined); // retried by node-redis until destroyed
    subscriber.connect().catch(() => undefined);
    void bus.start().catch(() => undefined);
    const every = Math.max(1, Math.floor(this.#ttlMs / 3));
    this.#timer = this.#options.clock.setInterval(() => this.#tick(), every);
    this.#timer.unref();
    await this.#deadline(new Promise<void>((resolve) => client.once('ready', resolve)), 'connect').catch(() => this.#lost(chatError('ERR_CLUSTER_UNAVAILABLE', `cannot reach Redis at ${redact(this.#options.cluster.url)}`)));
    await this.#ticking;
    if (this.#state === 'refused') throw chatError('ERR_CLUSTER_KEY_MISMATCH', this.#mismatch());
  }

  /** A peer registered here: in the cluster too, and a relay that held it before lets its connection go. */
  registered(record: RelayRecord): void {
    const since = this.#options.clock.now();
    this.#since.set(record, since);
    if (this.#state !== 'joined') return; // registered with the others when the cluster is back
    void this.#call(this.#redis!.registry.register(record, this.#self, since), 'register').then(
      (previous) => {
        if (previous) this.#tellMoved(previous, record.fingerprint);
      },
      () => undefined, // the next refresh finds it missing and writes it
    );
  }

  /** Tell `relay`, which held `fingerprint` before, that the key registered here now. */
  #tellMoved(relay: string, fingerprint: string): void {
    void this.#redis?.bus.send(relay, { type: 'moved', from: this.#self, fingerprint }).catch(() => undefined);
  }

  /** A peer's control connection here ended. */
  unregistered(fingerprint: string): void {
    if (this.#state !== 'joined') return; // its record expires by itself
    this.#call(this.#redis!.registry.unregister(fingerprint, this.#self), 'unregister').catch(() => undefined); // it expires
  }

  /** Peers matching `query` on every relay; undefined while Redis is away (answer from ours alone). */
  async lookup(query: string, limit: number): Promise<ClusterRecord[] | undefined> {
    if (this.#state !== 'joined') return undefined;
    return this.#call(this.#redis!.registry.lookup(query, limit), 'lookup').catch(() => undefined);
  }

  /** The relay `fingerprint` is registered on, when another one of the cluster; undefined otherwise. */
  async locate(fingerprint: string): Promise<ClusterRecord | undefined> {
    if (this.#state !== 'joined') return undefined;
    const found = await this.#call(this.#redis!.registry.find(fingerprint), 'find').catch(() => undefined);
    return found && found.relay !== this.#self ? found : undefined;
  }

  /** Ask `relay` for a session with its peer on behalf of our dialler. */
  dial(relay: string, request: Omit<DialRequest, 'type' | 'id' | 'from'>): Promise<DialAnswer> {
    if (!this.#redis) return Promise.reject(chatError('ERR_CLUSTER_UNAVAILABLE', 'this relay has not joined its cluster'));
    return this.#redis.bus.dial(relay, request);
  }

  /** Leave: our registrations and our entry are removed at once (if Redis is there), clients closed. */
  stop(): Promise<void> {
    this.#stopping ??= this.#leave();
    return this.#stopping;
  }

  async #leave(): Promise<void> {
    this.#options.clock.clearInterval(this.#timer);
    const wasJoined = this.#state === 'joined';
    this.#state = 'left';
    await this.#ticking;
    if (wasJoined) {
      const fingerprints = [...(this.#host?.records() ?? [])].map((record) => record.fingerprint);
      await this.#call(
        this.#redis!.registry.unregisterAll(fingerprints, this.#self).then(() => this.#redis!.registry.leave(this.#self)),
        'leave',
      ).catch(() => undefined);
      this.#options.emit({ type: 'cluster-left', address: this.#self, code: 'ERR_CLUSTER_UNAVAILABLE', message: 'this relay is stopping' });
    }
    if (this.#redis) await this.#call(this.#redis.bus.stop(), 'unsubscribe').catch(() => undefined);
    this.#redis?.destroy();
  }

  /** Heartbeat, then register everything (just joined) or refresh it, then sweep; one at a time. */
  #tick(): void {
    if (this.#state === 'left') return;
    if (this.#ticking) {
      this.#tickAgain = true;
      return;
    }
    this.#ticking = this.#beat().finally(() => {
      this.#ticking = undefined;
      if (this.#tickAgain) {
        this.#tickAgain = false;
        this.#tick();
      }
    });
  }

  async #beat(): Promise<void> {
    const host = this.#host;
    if (!host || !this.#redis?.client.isReady) return;
    const records = [...host.records()];
    try {
      const relays = await this.#call(this.#redis!.registry.heartbeat(this.#self, this.#options.fingerprint, records.length), 'heartbeat');
      if (this.#state === 'left') return;
      this.#relays = relays;
      if (!relays.some((relay) => relay.address === this.#self)) {
        this.#refuse();
        return;
      }
      if (this.#state !== 'joined') {
        // Joining, or back after Redis was away: what expired meanwhile is written anew.
        await this.#registerAgain(host, records);
        this.#state = 'joined';
        this.#options.emit({ type: 'cluster-joined', address: this.#self, url: redact(this.#options.cluster.url), relays: relays.length, peers: records.length });
        await this.#catchUp(host, records);
      } else {
        const { gone, moved } = await this.#call(this.#redis!.registry.refreshAll(records.map((record) => record.fingerprint), this.#self), 'refresh', this.#bulkMs);
        // As registered now: a peer that left meanwhile is not written back, nor an older record.
        const lost = gone.flatMap((fingerprint) => host.record(fingerprint) ?? []);
        await this.#registerAgain(host, lost);
        // Each as it was when the refresh went out: one that registered here again since stays.
        const stale = new Set(moved);
        for (const record of records) if (stale.has(record.fingerprint)) host.moved(record);
      }
      await this.#call(this.#redis!.registry.sweep(), 'sweep', this.#bulkMs);
    } catch (err) {
      this.#lost(err);
    }
  }

  /**
   * Just joined, having written `written`, the peers registered here when the heartbeat went out:
   * those that registered or left here since (not written, since we had not joined) are now.
   */
  async #catchUp(host: ClusterHost, written: readonly RelayRecord[]): Promise<void> {
    const before = new Set(written);
    const now = [...host.records()];
    const here = new Set(now.map((record) => record.fingerprint));
    for (const record of written) if (!here.has(record.fingerprint)) this.unregistered(record.fingerprint);
    await this.#registerAgain(host, now.filter((record) => !before.has(record)));
  }

  /**
   * Write `records` back to Redis (it lost them, or never had them). A key that registered on
   * another relay since is stale here; a relay we take a key back from is told.
   */
  async #registerAgain(host: ClusterHost, records: readonly RelayRecord[]): Promise<void> {
    const registry = this.#redis!.registry;
    const written = await this.#call(Promise.all(records.map((record) => registry.registerAgain(record, this.#self, this.#since.get(record) ?? 0))), 'register', this.#bulkMs);
    written.forEach(({ previous, newer }, i) => {
      const record = records[i]!;
      if (newer) host.moved(record);
      else if (previous) this.#tellMoved(previous, record.fingerprint);
    });
  }

  #refuse(): void {
    if (this.#state === 'refused') return;
    this.#state = 'refused';
    this.#options.emit({ type: 'warning', code: 'ERR_CLUSTER_KEY_MISMATCH', message: this.#mismatch() });
  }

  #mismatch(): string {
    const other = this.#relays.find((relay) => relay.fingerprint !== this.#options.fingerprint);
    const them = other ? `relay ${other.address} has key ${other.fingerprint}` : 'the cluster\'s relays have another key';
    return `not joining the cluster: ${them}, this relay ${this.#options.fingerprint}; every relay of a cluster needs the same key (copy relay/identity.json)`;
  }

  /** Redis failed us: serve our own peers alone, said once per outage. */
  #lost(err: unknown): void {
    if (this.#state === 'left' || this.#state === 'unavailable') return;
    const error = P2PChatError.from(err, 'ERR_CLUSTER_UNAVAILABLE');
    const wasJoined = this.#state === 'joined';
    this.#state = 'unavailable';
    const message = `${error.message}; serving this relay's own peers until Redis is back`;
    if (wasJoined) this.#options.emit({ type: 'cluster-left', address: this.#self, code: 'ERR_CLUSTER_UNAVAILABLE', message });
    else this.#options.emit({ type: 'warning', code: 'ERR_CLUSTER_UNAVAILABLE', message });
  }

  async #onMessage(message: Exclude<ClusterMessage, DialAnswer>): Promise<void> {
    const host = this.#host;
    if (!host || this.#state === 'left') return;
    if (message.type === 'moved') {
      // Only if the registry agrees: a notice overtaken by the peer coming back here must not cut
      // it, nor a registration here made while Redis was being asked.
      const mine = host.record(message.fingerprint);
      if (!mine) return;
      const found = await this.#call(this.#redis!.registry.find(message.fingerprint), 'find').catch(() => undefined);
      if (found && found.relay !== this.#self) host.moved(mine);
      return;
    }
    const answer = host.dial(message);
    void this.#redis?.bus.send(message.from, { ...answer, type: 'dial-answer', id: message.id, from: this.#self } as DialAnswer).catch(() => undefined);
  }

  #badRecord(what: string): void {
    const held = this.#badRecords.pass(this.#options.clock.now());
    if (held === undefined) return;
    const more = held > 0 ? ` (and ${held} more since the last line)` : '';
    this.#options.emit({ type: 'warning', code: 'ERR_CLUSTER_BAD_RECORD', message: `ignored a value in Redis that is not ours: ${what}${more}` });
  }

  /** `promise`, failing ERR_CLUSTER_UNAVAILABLE when Redis fails it or does not answer in time. */
  #call<T>(promise: Promise<T>, what: string, ms = this.#timeoutMs): Promise<T> {
    return this.#deadline(promise, what, ms).catch((err: unknown) => {
      throw err instanceof P2PChatError ? err : chatError('ERR_CLUSTER_UNAVAILABLE', `Redis at ${redact(this.#options.cluster.url)} failed a ${what}: ${(err as Error).message}`);
    });
  }

  #deadline<T>(promise: Promise<T>, what: string, ms = this.#timeoutMs): Promise<T> {
    const timedOut = () => chatError('ERR_CLUSTER_UNAVAILABLE', `Redis at ${redact(this.#options.cluster.url)} did not answer a ${what} within ${ms / 1000} s`);
    return withDeadline(promise, ms, this.#options.clock, timedOut);
  }
}
