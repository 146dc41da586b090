// Benchmark `direct-connect-round-trips`: how many round trips a direct connection costs before the
// first message comes back, the direct counterpart of relay-connect-round-trips. A ChatNode dials
// another through a delay proxy adding ONE_WAY_MS each way (TCP connect, preamble, Noise XX, the
// `conversation` opening) and the listener echoes the dialler's first chat message. Baseline: raw
// TCP connect + one line echoed through the same kind of proxy. Runs alternate.

import { performance } from 'node:perf_hooks';
import { ChatNode } from '../src/app/chat-node.js';
import { KnownPeers } from '../src/secure/known-peers.js';
import type { BenchResult, Log } from './bench-result.js';
import { withTimeout } from './deadline.js';
import { DelayProxy } from './delay-proxy.js';
import { DELAY_MODEL, EchoBehindProxy, HOST, medianTrips, ONE_WAY_MS, RAW_ECHO_SETUP, roundTripResult, RTT_MS, STEP_TIMEOUT_MS, type RawEchoSample } from './round-trips.js';
import { round } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 10;
const WARMUP_RUNS = 1;
const TEXT = 'hello over a direct connection';

export async function runDirectConnectRoundTrips(listenerHome: BenchHome, diallerHome: BenchHome, log: Log): Promise<BenchResult> {
  const echo = await EchoBehindProxy.start();
  try {
    const ours: RawEchoSample[] = [];
    const baseline: RawEchoSample[] = [];
    for (let i = 0; i < WARMUP_RUNS + RUNS; i++) {
      const o = await oursOnce(listenerHome, diallerHome);
      const b = await echo.connectAndEcho(TEXT);
      if (i < WARMUP_RUNS) continue;
      ours.push(o);
      baseline.push(b);
      log(`  direct-connect-round-trips: run ${i - WARMUP_RUNS + 1}/${RUNS}: ours ${o.totalMs.toFixed(0)} ms, raw TCP ${b.totalMs.toFixed(0)} ms (RTT ${RTT_MS} ms)`);
    }
    const o = medianTrips(ours.map((s) => s.totalMs));
    const b = medianTrips(baseline.map((s) => s.totalMs));
    return {
      ...roundTripResult('direct-connect-round-trips', o, b, { runs: RUNS, warmupRuns: WARMUP_RUNS }),
      oursToConnectedRoundTrips: medianTrips(ours.map((s) => s.connectedMs)),
      oursRunsRoundTrips: ours.map((s) => round(s.totalMs / RTT_MS, 2)),
      oursSetup: 'ChatNode dials ChatNode through the proxy (TCP, preamble, Noise XX, conversation); the listener echoes the first chat message',
      baselineSetup: RAW_ECHO_SETUP,
      delayModel: DELAY_MODEL,
    };
  } finally {
    await echo.close();
  }
}

async function oursOnce(listenerHome: BenchHome, diallerHome: BenchHome): Promise<RawEchoSample> {
  const listener = new ChatNode({ identity: listenerHome.identity, knownPeers: KnownPeers.load(listenerHome.dir), name: 'echo' });
  const dialler = new ChatNode({ identity: diallerHome.identity, knownPeers: KnownPeers.load(diallerHome.dir), name: 'dialler' });
  listener.on('event', (event) => {
    if (event.type === 'message') listener.say(event.text);
  });
  const echoed = new Promise<void>((resolve) => {
    dialler.on('event', (event) => {
      if (event.type === 'message' && event.text === TEXT) resolve();
    });
  });
  let proxy: DelayProxy | undefined;
  try {
    proxy = new DelayProxy(await listener.listen(HOST, 0, false), ONE_WAY_MS);
    const port = await proxy.start();
    const start = performance.now();
    await withTimeout(dialler.connect(HOST, port), STEP_TIMEOUT_MS, 'ChatNode.connect');
    const connected = performance.now();
    dialler.say(TEXT);
    await withTimeout(echoed, STEP_TIMEOUT_MS, 'the echoed chat message');
    return { totalMs: performance.now() - start, connectedMs: connected - start };
  } finally {
    const quitting = Promise.all([dialler.quit('benchmark run over'), listener.quit('benchmark run over')]);
    await withTimeout(quitting, STEP_TIMEOUT_MS, 'closing both chat nodes').catch(() => {
      dialler.abort();
      listener.abort();
    });
    await proxy?.close();
  }
}
