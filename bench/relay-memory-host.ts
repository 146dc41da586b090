// Child process of the relay memory benchmarks (`relay-idle-peers-rss`, `relay-cluster`): a server
// whose memory is measured, run with --expose-gc so that the benchmark can ask for a full
// collection before reading its RSS.
// `relay`: a RelayServer exactly as `p2p-chat relay` builds it (identity in <home>/relay, default
// limits but the per-address one: every peer comes from 127.0.0.1), with its events counted
// instead of printed; given a Redis URL and a key prefix, one relay of a cluster, as with
// `--cluster URL --public-address 127.0.0.1 --cluster-prefix PREFIX`. `raw`: the baseline, a
// node net server that only holds the connections it accepts. Everything else is the same
// process and runtime.

import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { softFdLimit } from '../src/relay/fd-limit.js';
import { CLUSTER_DEFAULTS, type ClusterOptions } from '../src/relay/relay-cluster.js';
import { RELAY_DEFAULTS } from '../src/relay/relay-defaults.js';
import { RelayServer } from '../src/relay/relay-server.js';
import { loadOrCreateIdentity } from '../src/secure/identity-store.js';

export type HostKind = 'relay' | 'raw';

export type HostCommand = { readonly type: 'memory'; readonly id: number; readonly gc: boolean } | { readonly type: 'count'; readonly id: number };

export type HostReply =
  | { readonly type: 'listening'; readonly port: number; readonly fingerprint: string; readonly fdLimit: number }
  | {
      readonly type: 'memory';
      readonly id: number;
      readonly usage: NodeJS.MemoryUsage;
      /** Collections V8's memory reducer has made in this process so far: see MemoryHost.settledMemory(). */
      readonly reducerCollections: number;
    }
  | ({ readonly type: 'count'; readonly id: number } & Counts);

/** What a host holds; a relay of a cluster also says where it stands in it. */
export interface Counts {
  readonly connections: number;
  readonly peers: number;
  readonly rejected: number;
  readonly cluster?: {
    readonly state: string;
    /** Times it left the cluster (Redis failed it, or did not answer in time) and why, the last time. */
    readonly left: number;
    readonly lastLeft?: string;
  };
}

const HOST = '127.0.0.1';
// V8's memory reducer gives back the heap a burst of work grew, with a full collection it starts
// after some seconds of quiet; Node reports it as a major one flagged ALL_EXTERNAL_MEMORY.
let reducerCollections = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) {
    const { kind, flags } = (entry as PerformanceEntry & { detail: { kind: number; flags: number } }).detail;
    const byReducer = (flags & constants.NODE_PERFORMANCE_GC_FLAGS_ALL_EXTERNAL_MEMORY) !== 0 && (flags & constants.NODE_PERFORMANCE_GC_FLAGS_FORCED) === 0;
    if (kind === constants.NODE_PERFORMANCE_GC_MAJOR && byReducer) reducerCollections++;
  }
}).observe({ entryTypes: ['gc'] });
const send = (reply: HostReply) => process.send!(reply);
if (!process.send) throw new Error('relay-memory-host.js runs as a child process with an IPC channel');
// The benchmark gone (even killed) means nothing is left to measure.
process.on('disconnect', () => process.exit(0));

const [kind, home, clusterUrl, clusterPrefix] = process.argv.slice(2) as [HostKind, string, string | undefined, string | undefined];
const cluster = clusterUrl !== undefined ? { url: clusterUrl, publicAddress: HOST, keyPrefix: clusterPrefix ?? CLUSTER_DEFAULTS.keyPrefix } : undefined;
const counts = kind === 'relay' ? await serveRelay(home, cluster) : await serveRaw();

process.on('message', (command: HostCommand) => {
  if (command.type === 'count') {
    send({ type: 'count', id: command.id, ...counts() });
    return;
  }
  if (command.gc) collectGarbage();
  send({ type: 'memory', id: command.id, usage: process.memoryUsage(), reducerCollections });
});

async function serveRelay(homeDir: string, cluster: ClusterOptions | undefined): Promise<() => Counts> {
  // All the peers share one address here, which the default per-address cap would refuse.
  const limits = { maxConnectionsPerIp: RELAY_DEFAULTS.maxPeers };
  const relay = new RelayServer({ identity: loadOrCreateIdentity(join(homeDir, 'relay')), host: HOST, port: 0, limits, ...(cluster ? { cluster } : {}) });
  let rejected = 0;
  let left = 0;
  let lastLeft: string | undefined;
  relay.on('event', (event) => {
    if (event.type === 'rejected') rejected++;
    // It serves its own peers meanwhile and joins again by itself: the benchmark waits for that, and says so.
    if (event.type === 'cluster-left') {
      left++;
      lastLeft = `${event.code}: ${event.message}`;
    }
  });
  const port = await relay.start();
  const state = relay.stats().cluster?.state;
  if (cluster && state !== 'joined') throw new Error(`the relay did not join its cluster on ${cluster.url} (${state})`);
  send({ type: 'listening', port, fingerprint: relay.fingerprint, fdLimit: softFdLimit() });
  return () => {
    const state = relay.stats().cluster?.state;
    const where = state === undefined ? {} : { cluster: { state, left, ...(lastLeft !== undefined ? { lastLeft } : {}) } };
    return { connections: relay.connectionCount, peers: relay.peerCount, rejected, ...where };
  };
}

async function serveRaw(): Promise<() => Counts> {
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => socket.destroy());
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: HOST, port: 0, backlog: 511 }, () => resolve());
  });
  send({ type: 'listening', port: (server.address() as { port: number }).port, fingerprint: '', fdLimit: softFdLimit() });
  return () => ({ connections: sockets.size, peers: sockets.size, rejected: 0 });
}

/** Two full collections: the second frees what the first only finalized (native handles). */
function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('relay-memory-host.js needs node --expose-gc');
  gc();
  gc();
}
