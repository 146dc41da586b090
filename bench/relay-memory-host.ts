// Child process of the `relay-idle-peers-rss` benchmark: a server whose memory is measured, run
// with --expose-gc so that the benchmark can ask for a full collection before reading its RSS.
// `relay`: a RelayServer exactly as `p2p-chat relay` builds it (identity in <home>/relay, default
// limits but the per-address one: every peer comes from 127.0.0.1), with its events counted
// instead of printed. `raw`: the baseline, a node net server
// that only holds the connections it accepts. Everything else is the same process and runtime.

import { createServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { softFdLimit } from '../src/relay/fd-limit.js';
import { RELAY_DEFAULTS } from '../src/relay/relay-defaults.js';
import { RelayServer } from '../src/relay/relay-server.js';
import { loadOrCreateIdentity } from '../src/secure/identity-store.js';

export type HostKind = 'relay' | 'raw';

export type HostCommand = { readonly type: 'memory'; readonly id: number; readonly gc: boolean } | { readonly type: 'count'; readonly id: number };

export type HostReply =
  | { readonly type: 'listening'; readonly port: number; readonly fingerprint: string; readonly fdLimit: number }
  | { readonly type: 'memory'; readonly id: number; readonly usage: NodeJS.MemoryUsage }
  | { readonly type: 'count'; readonly id: number; readonly connections: number; readonly peers: number; readonly rejected: number };

const HOST = '127.0.0.1';
const send = (reply: HostReply) => process.send!(reply);
if (!process.send) throw new Error('relay-memory-host.js runs as a child process with an IPC channel');
// The benchmark gone (even killed) means nothing is left to measure.
process.on('disconnect', () => process.exit(0));

const [kind, home] = process.argv.slice(2) as [HostKind, string];
const counts = kind === 'relay' ? await serveRelay(home) : await serveRaw();

process.on('message', (command: HostCommand) => {
  if (command.type === 'count') {
    send({ type: 'count', id: command.id, ...counts() });
    return;
  }
  if (command.gc) collectGarbage();
  send({ type: 'memory', id: command.id, usage: process.memoryUsage() });
});

async function serveRelay(homeDir: string): Promise<() => { connections: number; peers: number; rejected: number }> {
  // All the peers share one address here, which the default per-address cap would refuse.
  const limits = { maxConnectionsPerIp: RELAY_DEFAULTS.maxPeers };
  const relay = new RelayServer({ identity: loadOrCreateIdentity(join(homeDir, 'relay')), host: HOST, port: 0, limits });
  let rejected = 0;
  relay.on('event', (event) => {
    if (event.type === 'rejected') rejected++;
  });
  const port = await relay.start();
  send({ type: 'listening', port, fingerprint: relay.fingerprint, fdLimit: softFdLimit() });
  return () => ({ connections: relay.connectionCount, peers: relay.peerCount, rejected });
}

async function serveRaw(): Promise<() => { connections: number; peers: number; rejected: number }> {
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
