// `p2p-chat relay`: run a rendezvous and relay server until SIGINT/SIGTERM, printing what happens
// as one line per event after its time (or NDJSON with --json). The relay has its own identity, kept in
// <home>/relay/identity.json, so a machine can run a relay and a peer with different keys.

import { join } from 'node:path';
import { SYSTEM_CLOCK } from '../clock.js';
import { shortFingerprint } from '../secure/fingerprint.js';
import { loadOrCreateIdentity } from '../secure/identity-store.js';
import { RELAY_DEFAULTS, RELAY_LIMIT_KEYS, RELAY_SHUTDOWN_REASON, type RelayLimits } from '../relay/relay-defaults.js';
import type { RelayEvent } from '../relay/relay-events.js';
import { RELAY_HEAP_TRIM_BLOCK_BYTES, raiseHeapTrimThreshold } from '../heap-trim-threshold.js';
import { RelayServer } from '../relay/relay-server.js';
import type { ClusterOptions, ClusterStats } from '../relay/relay-cluster.js';
import { flagName, wholeNumberFlag } from './numeric-flags.js';

export interface RelayCommandOptions {
  readonly home: string;
  readonly host: string;
  readonly port: number;
  readonly json: boolean;
  readonly limits: Partial<RelayLimits>;
  readonly cluster?: ClusterOptions;
}

/** Serve until SIGINT or SIGTERM, then stop gracefully; resolves 0. Rejects with ERR_LISTEN_FAILED. */
export async function relayCommand(options: RelayCommandOptions): Promise<number> {
  const identity = loadOrCreateIdentity(join(options.home, 'relay'));
  // Process-wide, so here rather than in RelayServer (tests run many servers in one process).
  raiseHeapTrimThreshold(RELAY_HEAP_TRIM_BLOCK_BYTES);
  const server = new RelayServer({ identity, host: options.host, port: options.port, limits: options.limits, ...(options.cluster ? { cluster: options.cluster } : {}) });
  server.on('event', (event) => {
    process.stdout.write(options.json ? JSON.stringify(event) + '\n' : relayLogLine(event, SYSTEM_CLOCK.now()) + '\n');
  });
  await server.start();
  await new Promise<void>((resolve) => {
    const onSignal = () => {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
      resolve();
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  await server.stop(RELAY_SHUTDOWN_REASON);
  return 0;
}

/**
 * The text log's line for an event: its time (`2030-01-02T09:05:07Z`: UTC to the second, as a
 * server that runs for days and is read beside other logs wants it) and what happened.
 */
export function relayLogLine(event: RelayEvent, now: number): string {
  return `${new Date(now).toISOString().replace(/\.\d+Z$/, 'Z')} ${formatRelayEvent(event)}`;
}

/** One human-readable line per relay event. */
export function formatRelayEvent(event: RelayEvent): string {
  const who = (p: { name: string; fingerprint: string }) => `${p.name} ${shortFingerprint(p.fingerprint)}`;
  switch (event.type) {
    case 'started':
      return `relay listening on port ${event.port} (${event.udp ? 'TCP and UDP' : 'TCP only'}), fingerprint ${event.fingerprint}`;
    case 'warning':
      return `warning: ${event.code}: ${event.message}`;
    case 'registered':
      return `registered ${who(event)} from ${event.observed}`;
    case 'unregistered':
      return `unregistered ${who(event)}: ${event.reason}`;
    case 'session-open':
      return `session ${event.id} open: ${who(event.a)} -> ${who(event.b)}`;
    case 'session-closed':
      return `session ${event.id} closed: ${who(event.a)} -> ${who(event.b)}, ${event.bytes} bytes (${event.reason})`;
    case 'rejected':
      return `rejected ${event.address}: ${event.code}: ${event.message}`;
    case 'stats':
      return `stats: ${event.peers} peers, ${event.sessions} sessions, ${event.bytes} bytes relayed, ${event.connections} connections${clusterStats(event.cluster)}`;
    case 'cluster-joined':
      return `joined the cluster on ${event.url} as ${event.address}: ${event.relays} relays, ${event.peers} peers of this one registered there`;
    case 'cluster-left':
      return `left the cluster: ${event.code}: ${event.message}`;
    case 'stopped':
      return `relay stopped: ${event.reason}`;
  }
}

function clusterStats(cluster: ClusterStats | undefined): string {
  if (!cluster) return '';
  if (cluster.state !== 'joined') return `; cluster ${cluster.state}${cluster.state === 'unavailable' ? ' (ERR_CLUSTER_UNAVAILABLE)' : ''}`;
  return `; cluster: ${cluster.peers} peers on ${cluster.relays} relays`;
}

export interface RelayOption {
  /** cac flag spec, e.g. "--max-peers <n>". */
  readonly flag: string;
  /** The option's key as cac hands it back (camelCase), and as RelayLimits names it. */
  readonly key: keyof RelayLimits | 'host' | 'port';
  readonly description: string;
  readonly default: string | number;
}

const LIMIT_DESCRIPTIONS: Readonly<Record<keyof RelayLimits, string>> = Object.freeze({
  maxPeers: 'most control connections (peers) at once',
  maxSessions: 'most relayed sessions at once',
  maxConnectionsPerIp: 'most connections (control and data) from one IP address',
  maxSessionsPerIp: 'most relayed sessions dialled from one IP address, open or waiting',
  maxPendingSessionsPerIp: 'most sessions from one IP address waiting for their connections',
  maxSessionsPerKey: 'most relayed sessions dialled by one key, open or waiting',
  maxPendingSessionsPerKey: 'most sessions of one key waiting for their connections',
  maxPendingInvitesPerKey: 'most sessions waiting to reach one key, from any diallers',
  maxInvitesFromOneKey: 'of those, most that one dialling key may hold',
  maxInvitesFromOneIp: 'of those, most that one dialling address may hold, its unanswered ones included',
  unansweredInvitePenaltyMs: 'ms an invitation its dialler never completed counts against the dialler\'s address (0 = not at all)',
  controlRequestsPerSec: 'register/lookup/dial requests per second per control connection (0 = unlimited)',
  controlRequestBurst: 'requests a control connection may send at once; as many more past it and it is closed',
  refusalLogIntervalMs: 'ms between log lines about one connection\'s refused requests',
  handshakeTimeoutMs: 'ms a connection has to identify itself and finish its handshake, together',
  tokenTtlMs: 'ms a session token stays valid',
  keepaliveIntervalMs: 'ms of silence before a control peer is pinged',
  keepaliveTimeoutMs: 'ms of silence after which a control peer is dropped',
  byeGraceMs: 'ms a peer has to close after a goodbye or the end of its session',
  controlMaxQueuedBytes: 'bytes queued for a control peer that does not read before it is dropped',
  sessionRateBytesPerSec: 'bytes per second per session and direction (0 = unlimited)',
  sessionByteCap: 'bytes a session may carry before it is closed (0 = unlimited)',
  sessionIdleTimeoutMs: 'ms without a byte either way after which a session is closed (0 = never)',
  statsIntervalMs: 'ms between stats lines (0 = none)',
  fdHeadroom: 'open files kept in reserve below the process limit',
  stopTimeoutMs: 'ms shutdown waits for peers to close before cutting them',
});

/** Every `relay` option with its default, for the CLI help; read from RELAY_DEFAULTS. */
export const RELAY_OPTIONS: readonly RelayOption[] = Object.freeze([
  { flag: '--port <port>', key: 'port', description: 'TCP port to listen on, and UDP at the same number for endpoint probes (taken as given: no fallback)', default: RELAY_DEFAULTS.port },
  { flag: '--host <addr>', key: 'host', description: 'address to listen on (every IPv6 and IPv4 address)', default: RELAY_DEFAULTS.host },
  ...RELAY_LIMIT_KEYS.map((key) => ({
    flag: `${flagName(key)} <n>`,
    key,
    description: LIMIT_DESCRIPTIONS[key],
    default: RELAY_DEFAULTS[key],
  })),
]);

/**
 * The limits given on the command line (cac's camelCase keys), checked: each must be a whole
 * number, at least 0 (at least 1 for the maxima). Throws ERR_USAGE naming the flag.
 */
export function parseRelayLimits(flags: Readonly<Record<string, unknown>>): Partial<RelayLimits> {
  const limits: Partial<RelayLimits> = {};
  for (const key of RELAY_LIMIT_KEYS) {
    const value = wholeNumberFlag(flags, key, key.startsWith('max') ? 1 : 0);
    if (value !== undefined) limits[key] = value;
  }
  return limits;
}
