// Benchmark `relay-connect-round-trips`: how many round trips a relayed connection costs before
// the first message comes back. Every connection to the relay goes through a delay proxy adding
// ONE_WAY_MS each way, so a round trip between a peer and the relay is RTT_MS and time ÷ RTT_MS
// counts round trips (CPU time adds a few hundredths). Ours: two peers already talking to the
// relay (ChatNode + RelayClient: B as `listen --relay` runs, A as `connect --relay-only`), A
// connects to B by key through `p2p-chat relay` and B echoes A's first chat message. Baseline:
// raw TCP connect + one line echoed through the same kind of proxy. Runs alternate.

import { performance } from 'node:perf_hooks';
import { ChatNode } from '../src/app/chat-node.js';
import { connectWithStrategy } from '../src/app/connect-strategy.js';
import { RelayClient } from '../src/app/relay-client.js';
import { acceptRelayInvites } from '../src/app/relay-invites.js';
import type { RelayAddress } from '../src/net/relay-address.js';
import { KnownPeers } from '../src/secure/known-peers.js';
import type { BenchResult, Log } from './bench-result.js';
import { withTimeout } from './deadline.js';
import { DelayProxy } from './delay-proxy.js';
import { RelayProcess } from './relay-process.js';
import { DELAY_MODEL, EchoBehindProxy, HOST, medianTrips, ONE_WAY_MS, RAW_ECHO_SETUP, roundTripResult, RTT_MS, STEP_TIMEOUT_MS } from './round-trips.js';
import { round, summarize } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 5;
const WARMUP_RUNS = 1;
const TEXT = 'hello through the relay';

interface Sample {
  /** Start to the echo received: the benchmark's figure. */
  readonly totalMs: number;
  /** Ours: start to the first data connection reaching the relay (the dial answered). */
  readonly dataConnectionMs?: number;
  /** Ours: start to the end-to-end handshake done (connect resolved); raw: TCP connected. */
  readonly connectedMs: number;
  /** Ours: A connected and B registered at the relay (before the timed region; once per start). */
  readonly registerMs?: number;
}

export async function runRelayConnectRoundTrips(homeA: BenchHome, homeB: BenchHome, log: Log): Promise<BenchResult> {
  const relay = await RelayProcess.start(log);
  const relayProxy = new DelayProxy(relay.port, ONE_WAY_MS);
  // The peer's stand-in for the baseline.
  const echo = await EchoBehindProxy.start();
  try {
    await relayProxy.start();
    const ours: Sample[] = [];
    const baseline: Sample[] = [];
    for (let i = 0; i < WARMUP_RUNS + RUNS; i++) {
      const o = await oursOnce(relay, relayProxy, homeA, homeB);
      const b = await echo.connectAndEcho(TEXT);
      if (i < WARMUP_RUNS) continue;
      ours.push(o);
      baseline.push(b);
      log(`  relay-connect-round-trips: run ${i - WARMUP_RUNS + 1}/${RUNS}: ours ${o.totalMs.toFixed(0)} ms, raw TCP ${b.totalMs.toFixed(0)} ms (RTT ${RTT_MS} ms)`);
    }
    const trips = (samples: Sample[], pick: (s: Sample) => number | undefined) => medianTrips(samples.map((s) => pick(s) ?? Number.NaN));
    const o = trips(ours, (s) => s.totalMs);
    const b = trips(baseline, (s) => s.totalMs);
    return {
      ...roundTripResult('relay-connect-round-trips', o, b, { runs: RUNS, warmupRuns: WARMUP_RUNS }),
      oursMs: round(summarize(ours.map((s) => s.totalMs)).median, 1),
      baselineMs: round(summarize(baseline.map((s) => s.totalMs)).median, 1),
      oursToDataConnectionRoundTrips: trips(ours, (s) => s.dataConnectionMs),
      oursToConnectedRoundTrips: trips(ours, (s) => s.connectedMs),
      oursRegisterRoundTrips: trips(ours, (s) => s.registerMs),
      baselineToConnectedRoundTrips: trips(baseline, (s) => s.connectedMs),
      oursSetup:
        'ChatNode + RelayClient peers already up (B listening and registered, A connected to the relay); A connects to B by key, relay-only, through p2p-chat relay; B echoes the first chat message',
      baselineSetup: RAW_ECHO_SETUP,
      delayModel: DELAY_MODEL,
    };
  } finally {
    await relayProxy.close();
    await echo.close();
    await relay.stop();
  }
}

async function oursOnce(relay: RelayProcess, proxy: DelayProxy, homeA: BenchHome, homeB: BenchHome): Promise<Sample> {
  const address: RelayAddress = { host: HOST, port: proxy.port, label: `${HOST}:${proxy.port}` };
  const nodes = [homeA, homeB].map((home, i) => new ChatNode({ identity: home.identity, knownPeers: KnownPeers.load(home.dir), name: `rtt-${i}` }));
  const [nodeA, nodeB] = nodes as [ChatNode, ChatNode];
  // B listens and registers, as `p2p-chat listen --relay` does; A only dials (a connect registers nothing).
  const portB = await nodeB.listen(HOST, 0, false);
  const clients = [homeA, homeB].map(
    (home, i) =>
      new RelayClient({ relays: [{ address, pin: relay.fingerprint }], identity: home.identity, name: () => `rtt-${i}`, port: i === 0 ? 0 : portB, addresses: [] }),
  );
  const [clientA, clientB] = clients as [RelayClient, RelayClient];
  let inviteError: Error | undefined;
  acceptRelayInvites(nodeB, clientB, (err) => (inviteError ??= err));
  nodeB.on('event', (event) => {
    if (event.type === 'message') nodeB.say(event.text);
  });
  const echoed = new Promise<void>((resolve) =>
    nodeA.on('event', (event) => {
      if (event.type === 'message' && event.text === TEXT) resolve();
    }),
  );
  try {
    const registerStart = performance.now();
    for (const client of clients) client.start();
    await Promise.all(clients.map((c) => c.whenRegistered(STEP_TIMEOUT_MS)));
    const registerMs = performance.now() - registerStart;

    const acceptedBefore = proxy.acceptedAt.length;
    const start = performance.now();
    const connecting = connectWithStrategy(nodeA, {
      label: 'rtt-1',
      candidates: [],
      expect: homeB.identity.fingerprint,
      relay: { client: clientA, host: address.host, port: address.port },
      mode: 'relay-only',
    });
    await withTimeout(connecting, STEP_TIMEOUT_MS, 'the relayed connect');
    const connected = performance.now();
    nodeA.say(TEXT);
    await withTimeout(echoed, STEP_TIMEOUT_MS, 'the echoed chat message');
    const end = performance.now();
    if (inviteError) throw inviteError;
    const firstData = proxy.acceptedAt[acceptedBefore];
    return {
      totalMs: end - start,
      connectedMs: connected - start,
      registerMs,
      ...(firstData !== undefined ? { dataConnectionMs: firstData - start } : {}),
    };
  } finally {
    const quitting = Promise.all([...nodes.map((n) => n.quit('benchmark run over')), ...clients.map((c) => c.close())]);
    await withTimeout(quitting, STEP_TIMEOUT_MS, 'closing both peers').catch(() => {
      for (const node of nodes) node.abort();
    });
  }
}
