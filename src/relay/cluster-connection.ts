// A relay's connections to its cluster's Redis: one client for commands (failing at once while
// Redis is away) and one for pub/sub, with the registry and the bus on them. The only place that
// makes Redis clients, and it loads the client only when a relay joins a cluster: a peer, or a
// relay alone, never pays the ~90 ms of loading it.

import type { Clock } from '../clock.js';
import { ClusterBus, type DialAnswer } from './cluster-bus.js';
import type { ClusterMessage } from './cluster-messages.js';
import { ClusterRegistry } from './cluster-registry.js';

/** What the cluster asks of a client once made. */
interface Connection {
  readonly isReady: boolean;
  connect(): Promise<unknown>;
  once(event: 'ready', listener: () => void): unknown;
}

export interface Redis {
  readonly client: Connection;
  readonly subscriber: Connection;
  readonly registry: ClusterRegistry;
  readonly bus: ClusterBus;
  destroy(): void;
}

export interface ClusterConnectionOptions {
  readonly url: string;
  /** This relay's public address: its channel. */
  readonly self: string;
  readonly keyPrefix: string;
  readonly ttlMs: number;
  readonly timeoutMs: number;
  readonly clock: Clock;
}

/** What the clients report. */
export interface ClusterConnectionHandlers {
  /** The command connection failed (Redis went away, or never answered). */
  lost(err: Error): void;
  /** The command connection is (again) ready. */
  ready(): void;
  /** A request or notice from another relay. */
  message(message: Exclude<ClusterMessage, DialAnswer>): void;
  /** A value in Redis, or a message on our channel, that is not one we wrote. */
  bad(what: string): void;
}

/** The clients, not yet connected (connect() them), with the registry and the bus on them. */
export async function connectCluster(options: ClusterConnectionOptions, on: ClusterConnectionHandlers): Promise<Redis> {
  const { createClient } = await import('redis');
  const { url, clock, timeoutMs, keyPrefix } = options;
  const socket = { connectTimeout: timeoutMs, reconnectStrategy: (retries: number) => Math.min(100 * 2 ** retries, 2_000) };
  // Commands fail at once while Redis is away (the relay then answers from its own peers); the
  // subscriber's one command, SUBSCRIBE, may wait for it, and is made again after a reconnect.
  const client = createClient({ url, disableOfflineQueue: true, socket });
  const subscriber = createClient({ url, socket });
  // Losing the connection is how Redis going away is noticed first; the subscriber's errors are
  // the same outage seen twice.
  client.on('error', (err: Error) => on.lost(err));
  subscriber.on('error', () => undefined);
  client.on('ready', () => on.ready());
  const registry = new ClusterRegistry(client, {
    ttlMs: options.ttlMs,
    keyPrefix,
    clock,
    onBadRecord: (fingerprint, reason) => on.bad(`the record of ${fingerprint}: ${reason}`),
  });
  const bus = new ClusterBus(
    {
      publish: (channel, message) => client.publish(channel, message),
      subscribe: (channel, listener) => subscriber.subscribe(channel, listener),
      unsubscribe: (channel) => subscriber.unsubscribe(channel),
    },
    { self: options.self, keyPrefix, timeoutMs, clock, onMessage: (message) => on.message(message), onBad: (reason) => on.bad(reason) },
  );
  return { client, subscriber, registry, bus, destroy: () => [client, subscriber].forEach((c) => c.destroy()) };
}

/**
 * `address` as host:port: as given when it has a port, else with `port`. A bare IPv6 literal (more
 * than one colon, no brackets) has no port, and is put in brackets.
 */
export function withPort(address: string, port: number): string {
  const colons = address.split(':').length - 1;
  if (colons > 1 && !address.startsWith('[')) return `[${address}]:${port}`;
  return /:\d+$/.test(address) ? address : `${address}:${port}`;
}

/** The URL without its password, for logs. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return 'the configured URL';
  }
}
