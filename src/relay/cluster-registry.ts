// The registry that relays of one cluster share on Redis: each peer's RelayRecord and the relay it
// is on, kept alive by a TTL its relay refreshes, looked up by the same rules and limits as the
// local RelayRegistry through indexes (cluster-scripts.ts), never a scan of every peer. What comes
// back from Redis is checked like a message from the network: a foreign or corrupt value is skipped.

import { createHash } from 'node:crypto';
import { chatError } from '../errors.js';
import { SYSTEM_CLOCK, type Clock } from '../clock.js';
import { isRelayAddress, MAX_LOOKUP_RESULTS, MAX_RELAY_ADDRESS, readRelayRecord, type RelayRecord } from '../session/relay-messages.js';
import { CLUSTER_SCRIPTS, type ClusterScript } from './cluster-scripts.js';
import { nameKey, parseLookupQuery } from './relay-registry.js';

/** What the registry needs of a Redis client; a connected node-redis client is one. */
export interface ClusterStore {
  eval(script: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
  /** Runs a script Redis has cached, by its SHA-1; fails NOSCRIPT when it has not (then eval caches it). */
  evalSha?(sha1: string, options: { keys: string[]; arguments: string[] }): Promise<unknown>;
}

/** Each script's SHA-1, as Redis names a cached script. */
const SCRIPT_SHAS = Object.fromEntries(
  Object.entries(CLUSTER_SCRIPTS).map(([name, script]) => [name, createHash('sha1').update(script).digest('hex')]),
) as Record<ClusterScript, string>;

export interface ClusterRegistryOptions {
  /** How long a record lives unless refreshed (ms). */
  readonly ttlMs?: number;
  /** Prepended to every key, so clusters (or tests) can share one Redis. */
  readonly keyPrefix?: string;
  /** Entries one sweep() visits at most. */
  readonly sweepBatch?: number;
  readonly clock?: Clock;
  /** A value in Redis that is not a record we wrote: skipped, and said here (for a log line). */
  readonly onBadRecord?: (fingerprint: string, reason: string) => void;
}

export const CLUSTER_REGISTRY_DEFAULTS = Object.freeze({
  ttlMs: 30_000,
  keyPrefix: 'p2p-chat:',
  sweepBatch: 500,
});

/**
 * Index candidates a lookup examines per index, as a multiple of its limit: room for entries of
 * records that expired but have not been swept yet (each is removed when met).
 */
const CANDIDATES_PER_RESULT = 4;

/** A record of the cluster and the relay (its public address) the peer is registered on. */
export interface ClusterRecord {
  readonly record: RelayRecord;
  readonly relay: string;
}

/** A relay of the cluster, as its last heartbeat described it. */
export interface ClusterRelay {
  readonly address: string;
  readonly fingerprint: string;
  /** Peers registered with it. */
  readonly peers: number;
}

export class ClusterRegistry {
  readonly #store: ClusterStore;
  readonly #ttlMs: number;
  readonly #prefix: string;
  readonly #sweepBatch: number;
  readonly #clock: Clock;
  readonly #onBadRecord: (fingerprint: string, reason: string) => void;

  constructor(store: ClusterStore, options: ClusterRegistryOptions = {}) {
    this.#store = store;
    this.#ttlMs = options.ttlMs ?? CLUSTER_REGISTRY_DEFAULTS.ttlMs;
    this.#prefix = options.keyPrefix ?? CLUSTER_REGISTRY_DEFAULTS.keyPrefix;
    this.#sweepBatch = options.sweepBatch ?? CLUSTER_REGISTRY_DEFAULTS.sweepBatch;
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#onBadRecord = options.onBadRecord ?? (() => undefined);
  }

  /**
   * Record `record` as registered on `relay` for the TTL, replacing any record of the same
   * fingerprint; `since` is when the peer registered (ms). Returns the relay it replaced when that
   * was another one (the peer moved: that relay closes its old connection), else undefined.
   */
  async register(record: RelayRecord, relay: string, since = this.#clock.now()): Promise<string | undefined> {
    const { previous } = await this.#register(record, relay, since, false);
    return previous;
  }

  /**
   * Write `record`, registered on `relay` at `since`, back (after Redis was away, or it expired),
   * unless another relay holds a later registration of the key: then that relay is returned as
   * `newer` (the peer moved there meanwhile, and the connection on `relay` is stale).
   */
  async registerAgain(record: RelayRecord, relay: string, since: number): Promise<{ previous?: string; newer?: string }> {
    return this.#register(record, relay, since, true);
  }

  async #register(record: RelayRecord, relay: string, since: number, keepNewer: boolean): Promise<{ previous?: string; newer?: string }> {
    checkRelay(relay);
    const args = [JSON.stringify(record), nameKey(record.name), String(this.#ttlMs), this.#expiresAt(), String(since), keepNewer ? '1' : '0'];
    const reply = await this.#run('register', record.fingerprint, relay, ...args);
    const [holder, kept] = Array.isArray(reply) ? reply : [];
    const other = typeof holder === 'string' && holder !== relay && isRelayAddress(holder) ? holder : undefined;
    if (other === undefined) return {};
    return kept === 1 ? { newer: other } : { previous: other };
  }

  /** Extend the TTL of `fingerprint`'s record if it is still on `relay`; false means re-register. */
  async refresh(fingerprint: string, relay: string): Promise<boolean> {
    return (await this.#run('refresh', fingerprint, relay, String(this.#ttlMs), this.#expiresAt())) === 1;
  }

  /** Remove `fingerprint`'s record if it is still on `relay` (a peer that moved on keeps its newer one). */
  async unregister(fingerprint: string, relay: string): Promise<boolean> {
    return (await this.#run('unregister', fingerprint, relay)) === 1;
  }

  /**
   * Extend the TTL of each of `fingerprints` still on `relay` (one round trip per sweepBatch of
   * them). Returns those to register again (gone: expired while Redis was away) and those now on
   * another relay (the peer moved: the connection here is stale).
   */
  async refreshAll(fingerprints: readonly string[], relay: string): Promise<{ gone: string[]; moved: string[] }> {
    const gone: string[] = [];
    const moved: string[] = [];
    for (let i = 0; i < fingerprints.length; i += this.#sweepBatch) {
      const batch = fingerprints.slice(i, i + this.#sweepBatch);
      const statuses = await this.#run('refreshMany', relay, String(this.#ttlMs), this.#expiresAt(), ...batch);
      batch.forEach((fp, j) => {
        const status: unknown = Array.isArray(statuses) ? statuses[j] : 0;
        if (status === 1) return;
        if (typeof status === 'string' && isRelayAddress(status)) {
          moved.push(fp);
          return;
        }
        // A value we did not write where the record should be is overwritten, not taken for a move.
        if (status !== 0) this.#onBadRecord(fp, 'its relay address is missing or malformed');
        gone.push(fp);
      });
    }
    return { gone, moved };
  }

  /** Remove every one of `fingerprints` still on `relay` (a relay that stops); returns how many. */
  async unregisterAll(fingerprints: readonly string[], relay: string): Promise<number> {
    let removed = 0;
    for (let i = 0; i < fingerprints.length; i += this.#sweepBatch) {
      const count = await this.#run('unregisterMany', relay, ...fingerprints.slice(i, i + this.#sweepBatch));
      removed += typeof count === 'number' ? count : 0;
    }
    return removed;
  }

  /**
   * `relay` (with key `fingerprint` and `peers` registered) is alive: returns every relay of the
   * cluster heard from within the TTL, this one included. Entries that are not ours are skipped.
   */
  async heartbeat(relay: string, fingerprint: string, peers: number): Promise<ClusterRelay[]> {
    checkRelay(relay);
    const reply = await this.#run('heartbeat', relay, fingerprint, String(peers), String(this.#ttlMs));
    const relays: ClusterRelay[] = [];
    const pairs = Array.isArray(reply) ? reply : [];
    for (let i = 0; i + 1 < pairs.length; i += 2) {
      const match = /^\d+ ([A-Z2-7-]{1,80}) (\d{1,9})$/.exec(String(pairs[i + 1]));
      const address = String(pairs[i]);
      if (match && isRelayAddress(address)) relays.push({ address, fingerprint: match[1]!, peers: Number(match[2]) });
      else this.#onBadRecord(address.slice(0, 80), 'its entry in the list of relays is malformed');
    }
    return relays;
  }

  /** `relay` leaves the cluster's list of relays (a graceful stop). */
  async leave(relay: string): Promise<void> {
    await this.#run('leave', relay);
  }

  async find(fingerprint: string): Promise<ClusterRecord | undefined> {
    const reply = await this.#run('find', fingerprint);
    if (!Array.isArray(reply) || (reply[0] == null && reply[1] == null)) return undefined;
    return this.#read(fingerprint, reply[0], reply[1]);
  }

  /** The same rules as RelayRegistry.lookup(), across the cluster: at most `limit` records. */
  async lookup(query: string, limit: number = MAX_LOOKUP_RESULTS): Promise<ClusterRecord[]> {
    const asked = parseLookupQuery(query);
    if ('fingerprint' in asked) {
      const found = await this.find(asked.fingerprint);
      return found ? [found] : [];
    }
    const reply = await this.#run('lookup', asked.name, asked.prefix ?? '', String(limit * CANDIDATES_PER_RESULT), String(limit));
    const found: ClusterRecord[] = [];
    const triples = Array.isArray(reply) ? reply : [];
    for (let i = 0; i + 2 < triples.length && found.length < limit; i += 3) {
      const fingerprint = String(triples[i]);
      const entry = this.#read(fingerprint, triples[i + 1], triples[i + 2]);
      // A record must really match: a stale or foreign index entry must not answer for it.
      const matches = entry && (nameKey(entry.record.name) === asked.name || (asked.prefix !== undefined && entry.record.fingerprint.startsWith(asked.prefix)));
      if (entry && matches) found.push(entry);
    }
    return found;
  }

  /** Remove the index entries of records that have expired (at most sweepBatch); returns how many. */
  async sweep(): Promise<number> {
    const removed = await this.#run('sweep', String(this.#clock.now()), String(this.#sweepBatch), String(this.#ttlMs));
    return typeof removed === 'number' ? removed : 0;
  }

  #expiresAt(): string {
    return String(this.#clock.now() + this.#ttlMs);
  }

  /**
   * Run `script`: by its SHA-1 (a refresh of thousands of peers need not send the script text each
   * time), and in full when Redis does not have it cached (restarted, flushed), which caches it.
   */
  async #run(script: ClusterScript, ...args: string[]): Promise<unknown> {
    const keys = [`${this.#prefix}fingerprints`, `${this.#prefix}names`, `${this.#prefix}expiries`];
    const options = { keys, arguments: [this.#prefix, ...args] };
    if (this.#store.evalSha) {
      try {
        return await this.#store.evalSha(SCRIPT_SHAS[script], options);
      } catch (err) {
        if (!/NOSCRIPT/.test((err as Error).message)) throw err;
      }
    }
    return this.#store.eval(CLUSTER_SCRIPTS[script], options);
  }

  #read(fingerprint: string, relay: unknown, json: unknown): ClusterRecord | undefined {
    try {
      if (typeof relay !== 'string' || !isRelayAddress(relay)) throw new Error('its relay address is missing or malformed');
      if (typeof json !== 'string') throw new Error('its record is missing');
      const record = readRelayRecord(JSON.parse(json) as unknown);
      if (record.fingerprint !== fingerprint) throw new Error(`it holds the record of ${record.fingerprint}`);
      return { record, relay };
    } catch (error) {
      this.#onBadRecord(fingerprint, (error as Error).message);
      return undefined;
    }
  }
}

function checkRelay(relay: string): void {
  if (!isRelayAddress(relay)) throw chatError('ERR_USAGE', `relay address ${JSON.stringify(relay.slice(0, 80))} is not host:port of at most ${MAX_RELAY_ADDRESS} characters`);
}
