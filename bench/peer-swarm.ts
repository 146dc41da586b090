// Child process of the relay memory benchmarks (`relay-idle-peers-rss`, `relay-cluster`): one
// share of the idle peers, so the client side is spread over processes instead of competing with
// the relay on one event loop.
// `relay`: each peer is a RelayClient with its own X25519 identity (a real Noise control
// connection, registered; its port picked by connect(), see unbound-tcp.ts), then stays idle.
// `raw`: plain TCP connections, for the baseline. At most `concurrency` peers are connecting at
// once, so the server's accept queue never overflows.

import { generateKeyPairSync } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RelayClient } from '../src/app/relay-client.js';
import { fingerprintOf } from '../src/secure/fingerprint.js';
import type { Identity } from '../src/secure/identity-store.js';
import { UNBOUND_TCP } from './unbound-tcp.js';

export interface SwarmStart {
  readonly type: 'start';
  readonly kind: 'relay' | 'raw';
  readonly port: number;
  readonly count: number;
  readonly concurrency: number;
  /** relay: the relay's fingerprint, pinned as a user would with --relay host#FP. */
  readonly relayFingerprint: string;
  /** Prefix of the peers' nicknames. */
  readonly namePrefix: string;
  /** relay: how many of the peers, spread evenly, to name in `ready` (for lookups of them). */
  readonly sample?: number;
}

/** A registered peer, as another peer would look it up. */
export interface SwarmPeer {
  readonly name: string;
  readonly fingerprint: string;
}

export type SwarmReply =
  | { readonly type: 'keys'; readonly ms: number }
  | { readonly type: 'progress'; readonly done: number; readonly retries: number }
  | { readonly type: 'ready'; readonly done: number; readonly retries: number; readonly ms: number; readonly sample: readonly SwarmPeer[] }
  | { readonly type: 'failed'; readonly message: string };

const HOST = '127.0.0.1';
const PROGRESS_EVERY = 500;
/** Raw connections that fail are retried after this long. */
const RAW_RETRY_MS = 100;

if (!process.send) throw new Error('peer-swarm.js runs as a child process with an IPC channel');
const send = (reply: SwarmReply) => process.send!(reply);
process.on('disconnect', () => process.exit(0));
const held: Array<RelayClient | Socket> = []; // kept referenced until the process exits

process.once('message', (start: SwarmStart) => {
  try {
    if (start.kind === 'relay') startRelayPeers(start);
    else startRawPeers(start);
  } catch (err) {
    send({ type: 'failed', message: (err as Error).stack ?? String(err) });
  }
});

/**
 * A fresh identity. Exported as DER rather than the JWK src uses: exporting X25519 keys as JWK
 * can deadlock Node 20 when a GC runs inside the export, and ten thousand in a row make it likely.
 */
function newIdentity(): Identity {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const keyPair = {
    privateKey: Buffer.from(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(-32)),
    publicKey: Buffer.from(publicKey.export({ format: 'der', type: 'spki' }).subarray(-32)),
  };
  return { keyPair, fingerprint: fingerprintOf(keyPair.publicKey), path: '', created: true };
}

/** Run `open(i, done)` for i < count with at most `concurrency` unfinished at once. */
function windowed(count: number, concurrency: number, open: (i: number, done: () => void) => void, retries: () => number, sample: () => SwarmPeer[] = () => []): void {
  const started = performance.now();
  let next = 0;
  let done = 0;
  const finishOne = () => {
    done++;
    if (done % PROGRESS_EVERY === 0) send({ type: 'progress', done, retries: retries() });
    if (done === count) send({ type: 'ready', done, retries: retries(), ms: performance.now() - started, sample: sample() });
    else if (next < count) open(next++, once(finishOne));
  };
  while (next < Math.min(concurrency, count)) open(next++, once(finishOne));
}

function once(fn: () => void): () => void {
  let called = false;
  return () => {
    if (called) return;
    called = true;
    fn();
  };
}

function startRelayPeers(start: SwarmStart): void {
  const keysStarted = performance.now();
  const identities = Array.from({ length: start.count }, newIdentity);
  send({ type: 'keys', ms: performance.now() - keysStarted });
  let retries = 0;
  const relay = { host: HOST, port: start.port, label: `${HOST}:${start.port}` };
  const nameOf = (i: number) => `${start.namePrefix}${i}`;
  const every = Math.max(1, Math.floor(start.count / Math.max(1, start.sample ?? 0)));
  const sample = () =>
    Array.from({ length: Math.min(start.sample ?? 0, start.count) }, (_, k) => k * every).map((i) => ({ name: nameOf(i), fingerprint: identities[i]!.fingerprint }));
  windowed(
    start.count,
    start.concurrency,
    (i, done) => {
      const name = nameOf(i);
      const client = new RelayClient({ relays: [{ address: relay, pin: start.relayFingerprint }], identity: identities[i]!, name: () => name, port: 5050, addresses: ['192.168.1.20'], transport: UNBOUND_TCP });
      held.push(client);
      client.on('status', (status) => {
        if (status.state === 'registered' || status.state === 'ready') done(); // the relay's count checks registration
        else if (status.state === 'disconnected' || status.state === 'going-away') retries++; // it retries, with backoff
        else send({ type: 'failed', message: `${name}: the relay client gave up: ${'error' in status ? status.error.message : 'no reason given'}` });
      });
      client.start();
    },
    () => retries,
    sample,
  );
}

function startRawPeers(start: SwarmStart): void {
  let retries = 0;
  const connect = (done: () => void) => {
    const socket = createConnection({ host: HOST, port: start.port });
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      held.push(socket);
      done();
    });
    socket.on('error', () => {
      socket.destroy();
      if (connected) return; // a lost idle connection shows in the server's count
      retries++;
      setTimeout(() => connect(done), RAW_RETRY_MS);
    });
  };
  windowed(start.count, start.concurrency, (_i, done) => connect(done), () => retries);
}
