// Benchmark `connect-first-message`: from starting a TCP dial to the first chat message echoed
// back, through the real ChatNode stack (preamble, Noise XX, known-peers, session messages) over
// loopback, against a raw TCP connect + one echoed line. Runs alternate ours/baseline to cancel drift.
// Detail fields split each median at the moment the dialer can send: for ours that is connect()
// resolving, after which the listener still has its last handshake step to do before it echoes.

import { once } from 'node:events';
import { createConnection, createServer, type Server } from 'node:net';
import { performance } from 'node:perf_hooks';
import { ChatNode } from '../src/app/chat-node.js';
import { KnownPeers } from '../src/secure/known-peers.js';
import { latencyResult, type BenchResult, type Log } from './bench-result.js';
import { echoLine, listenOnLoopback, withTimeout } from './deadline.js';
import { round, summarize } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 50;
const WARMUP_RUNS = 5;
const HOST = '127.0.0.1';
const TEXT = 'hello from the connect benchmark';
const STEP_TIMEOUT_MS = 10_000;

interface Sample {
  /** Dial start to echo received: the benchmark's figure. */
  readonly totalMs: number;
  /** Dial start to a usable connection (ours: connect() resolved, handshake done; raw: 'connect'). */
  readonly connectedMs: number;
}

export async function runConnectFirstMessage(listenerHome: BenchHome, dialerHome: BenchHome, log: Log): Promise<BenchResult> {
  const ours: Sample[] = [];
  const baseline: Sample[] = [];
  for (let i = 0; i < WARMUP_RUNS + RUNS; i++) {
    const o = await oursOnce(listenerHome, dialerHome);
    const b = await baselineOnce();
    if (i < WARMUP_RUNS) continue;
    ours.push(o);
    baseline.push(b);
    const n = i - WARMUP_RUNS + 1;
    if (n % 10 === 0) log(`  connect-first-message: ${n}/${RUNS} runs`);
  }
  const o = summarize(ours.map((s) => s.totalMs));
  const b = summarize(baseline.map((s) => s.totalMs));
  const medianOf = (samples: Sample[], part: (s: Sample) => number) => round(summarize(samples.map(part)).median);
  return {
    ...latencyResult('connect-first-message', o, b, { runs: RUNS, warmupRuns: WARMUP_RUNS }),
    oursConnectResolvedMs: medianOf(ours, (s) => s.connectedMs),
    oursConnectResolvedToEchoMs: medianOf(ours, (s) => s.totalMs - s.connectedMs),
    baselineConnectMs: medianOf(baseline, (s) => s.connectedMs),
    baselineConnectToEchoMs: medianOf(baseline, (s) => s.totalMs - s.connectedMs),
  };
}

async function oursOnce(listenerHome: BenchHome, dialerHome: BenchHome): Promise<Sample> {
  const listener = new ChatNode({ identity: listenerHome.identity, knownPeers: KnownPeers.load(listenerHome.dir), name: 'echo' });
  const dialer = new ChatNode({ identity: dialerHome.identity, knownPeers: KnownPeers.load(dialerHome.dir), name: 'dialer' });
  let port = 0;
  listener.on('event', (event) => {
    if (event.type === 'listening') port = event.port;
    else if (event.type === 'message') listener.say(event.text);
  });
  const echoed = new Promise<void>((resolve) => {
    dialer.on('event', (event) => {
      if (event.type === 'message' && event.text === TEXT) resolve();
    });
  });
  try {
    await listener.listen(HOST, 0, false);
    const start = performance.now();
    await withTimeout(dialer.connect(HOST, port), STEP_TIMEOUT_MS, 'ChatNode.connect');
    const connected = performance.now();
    dialer.say(TEXT);
    await withTimeout(echoed, STEP_TIMEOUT_MS, 'the echoed chat message');
    const end = performance.now();
    return { totalMs: end - start, connectedMs: connected - start };
  } finally {
    const quitting = Promise.all([dialer.quit('benchmark run over'), listener.quit('benchmark run over')]);
    await withTimeout(quitting, STEP_TIMEOUT_MS, 'closing both chat nodes').catch(() => {
      dialer.abort();
      listener.abort();
    });
  }
}

async function baselineOnce(): Promise<Sample> {
  const server = createServer({ noDelay: true }, (socket) => {
    socket.on('data', (chunk) => socket.write(chunk)); // echo; 'end' is answered by default
    socket.on('error', () => socket.destroy());
  });
  const port = await listenOnLoopback(server, STEP_TIMEOUT_MS, 'raw echo server listen');
  const start = performance.now();
  const socket = createConnection({ host: HOST, port, noDelay: true });
  // Errors surface through the awaited steps below; this keeps a late one from crashing the run.
  socket.on('error', () => socket.destroy());
  try {
    await withTimeout(once(socket, 'connect'), STEP_TIMEOUT_MS, 'raw TCP connect');
    const connected = performance.now();
    await echoLine(socket, TEXT, STEP_TIMEOUT_MS);
    const end = performance.now();
    return { totalMs: end - start, connectedMs: connected - start };
  } finally {
    await closeRaw(server, socket);
  }
}

async function closeRaw(server: Server, socket: ReturnType<typeof createConnection>): Promise<void> {
  const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
  const socketClosed = socket.closed ? Promise.resolve() : once(socket, 'close');
  socket.end();
  await withTimeout(Promise.all([serverClosed, socketClosed]), STEP_TIMEOUT_MS, 'closing the raw echo pair').catch(() => {
    socket.destroy();
  });
}
