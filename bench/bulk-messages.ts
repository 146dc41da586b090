// Benchmark `bulk-messages`: end-to-end throughput of 4 KiB chat messages over one established
// session (JSON encoding, ChaCha20-Poly1305, framing, decoding, ChatNode events at the receiver),
// against a raw TCP pipe moving the same bytes in the same 4 KiB writes. Both senders wait for
// 'drain' whenever the socket's buffer is full; the clock stops when the receiver has it all.

import { once } from 'node:events';
import { randomBytes } from 'node:crypto';
import { createConnection, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { DEFAULTS } from '../src/defaults.js';
import { SYSTEM_CLOCK } from '../src/clock.js';
import { TcpStream } from '../src/net/tcp-stream.js';
import { FEATURES, PROTOCOL_VERSION } from '../src/secure/handshake-payload.js';
import { PeerConnection } from '../src/session/peer-connection.js';
import { PEER_MESSAGES } from '../src/session/session-messages.js';
import type { BenchResult, Log } from './bench-result.js';
import type { ReceiverCommand, ReceiverConfig, ReceiverReport } from './bulk-receiver.js';
import { withTimeout } from './deadline.js';
import { round, summarize } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 5;
const MESSAGE_BYTES = 4 * 1024;
const TOTAL_BYTES = 64 * 1024 * 1024;
const MESSAGES = TOTAL_BYTES / MESSAGE_BYTES;
/** The warm-up run moves an eighth of the data: enough to get the hot paths compiled. */
const WARMUP_MESSAGES = MESSAGES / 8;
const HOST = '127.0.0.1';
const SETUP_TIMEOUT_MS = 10_000;
/** Far above any plausible run (64 MiB at 10 MB/s is under 7 s); only a hang reaches it. */
const RUN_TIMEOUT_MS = 60_000;
const MB = 1e6;

// Printable ASCII without quotes or backslashes, so JSON encoding adds no escapes.
const TEXT = 'The quick brown fox jumps over the lazy dog; 0123456789. '.repeat(Math.ceil(MESSAGE_BYTES / 57)).slice(0, MESSAGE_BYTES);
const RAW_CHUNK = Buffer.from(TEXT, 'utf8');

interface RunResult {
  readonly ms: number;
  readonly textBytes: number;
  /** Bytes the sender put on the socket during the timed region. */
  readonly wireBytes: number;
}

export async function runBulkMessages(receiverHome: BenchHome, senderHome: BenchHome, log: Log): Promise<BenchResult> {
  log(`  bulk-messages: warm-up (${WARMUP_MESSAGES} messages each)`);
  await oursOnce(receiverHome, senderHome, WARMUP_MESSAGES);
  await baselineOnce(WARMUP_MESSAGES);
  const ours: RunResult[] = [];
  const baseline: RunResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await oursOnce(receiverHome, senderHome, MESSAGES));
    baseline.push(await baselineOnce(MESSAGES));
    log(`  bulk-messages: run ${i + 1}/${RUNS}: ours ${mbps(ours[i]!).toFixed(1)} MB/s, raw TCP ${mbps(baseline[i]!).toFixed(1)} MB/s`);
  }
  const o = summarize(ours.map(mbps));
  const b = summarize(baseline.map(mbps));
  const wirePerMessage = ours[0]!.wireBytes / MESSAGES;
  return {
    bench: 'bulk-messages',
    ours: round(o.median, 1),
    baseline: round(b.median, 1),
    ratio: round(o.median / b.median, 3),
    better: 'higher',
    unit: 'MB/s',
    runs: RUNS,
    statistic: 'median',
    megabyte: MB,
    messages: MESSAGES,
    messageTextBytes: MESSAGE_BYTES,
    totalTextBytes: TOTAL_BYTES,
    oursWireBytesPerMessage: round(wirePerMessage, 1),
    oursMessagesPerSecond: Math.round((o.median * MB) / MESSAGE_BYTES),
    oursRunsMBps: ours.map((r) => round(mbps(r), 1)),
    baselineRunsMBps: baseline.map((r) => round(mbps(r), 1)),
    sender: 'PeerConnection on the main thread, waiting for drain when the socket buffer is full',
    receiver: 'ChatNode in a worker thread, counting message events',
  };
}

function mbps(run: RunResult): number {
  return run.textBytes / MB / (run.ms / 1000);
}

async function oursOnce(receiverHome: BenchHome, senderHome: BenchHome, messages: number): Promise<RunResult> {
  const receiver = new Receiver({ kind: 'ours', home: receiverHome.dir, messages, totalBytes: messages * MESSAGE_BYTES });
  let connection: PeerConnection | undefined;
  try {
    const port = await receiver.listening();
    // A raw socket, so that ours and the baseline are measured through the same socket calls.
    const socket = createConnection({ host: HOST, port, noDelay: true });
    await withTimeout(once(socket, 'connect'), SETUP_TIMEOUT_MS, 'TCP connect');
    const peer = new PeerConnection(new TcpStream(socket), {
      initiator: true,
      keyPair: senderHome.identity.keyPair,
      localInfo: { name: 'sender', version: PROTOCOL_VERSION, features: FEATURES },
      codec: PEER_MESSAGES,
      handshakeTimeoutMs: DEFAULTS.handshakeTimeoutMs,
      keepaliveIntervalMs: DEFAULTS.keepaliveIntervalMs,
      maxQueuedBytes: DEFAULTS.maxQueuedBytes,
      keepaliveTimeoutMs: DEFAULTS.keepaliveTimeoutMs,
      byeGraceMs: DEFAULTS.byeGraceMs,
      clock: SYSTEM_CLOCK,
    });
    connection = peer;
    const established = once(peer, 'established');
    const ready = receiver.next('ready');
    ready.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    peer.start();
    await withTimeout(established, SETUP_TIMEOUT_MS, 'the Noise handshake');
    await withTimeout(ready, SETUP_TIMEOUT_MS, 'the receiver taking the connection');

    // The same message ChatNode.say() builds: a random id, a timestamp, the text.
    const send = () => peer.send({ type: 'chat', id: randomBytes(8).toString('hex'), time: Date.now(), text: TEXT });
    return await timedSend(socket, receiver, messages, send);
  } finally {
    await connection?.close('benchmark run over');
    await receiver.stop();
  }
}

async function baselineOnce(messages: number): Promise<RunResult> {
  const receiver = new Receiver({ kind: 'baseline', home: '', messages: 0, totalBytes: messages * MESSAGE_BYTES });
  let socket: Socket | undefined;
  try {
    const port = await receiver.listening();
    const ready = receiver.next('ready');
    ready.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    const raw = createConnection({ host: HOST, port, noDelay: true });
    socket = raw;
    await withTimeout(once(raw, 'connect'), SETUP_TIMEOUT_MS, 'raw TCP connect');
    await withTimeout(ready, SETUP_TIMEOUT_MS, 'the raw receiver taking the connection');
    return await timedSend(raw, receiver, messages, () => raw.write(RAW_CHUNK));
  } finally {
    if (socket) {
      const closed: Promise<unknown> = socket.closed ? Promise.resolve() : once(socket, 'close');
      socket.end();
      await withTimeout(closed, SETUP_TIMEOUT_MS, 'closing the raw socket').catch(() => socket?.destroy());
    }
    await receiver.stop();
  }
}

/** Send `messages` times with identical backpressure handling for ours and raw, until the receiver has everything. */
async function timedSend(socket: Socket, receiver: Receiver, messages: number, send: () => void): Promise<RunResult> {
  const done = receiver.next('done');
  done.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
  // One watchdog for the whole run: destroying the socket with an error rejects a pending 'drain' wait.
  const watchdog = setTimeout(() => socket.destroy(new Error(`run did not finish within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
  try {
    const wireBefore = socket.bytesWritten;
    const start = performance.now();
    for (let i = 0; i < messages; i++) {
      send();
      if (socket.writableNeedDrain) await once(socket, 'drain');
    }
    const report = await withTimeout(done, RUN_TIMEOUT_MS, 'the receiver getting every byte');
    const ms = performance.now() - start;
    const expected = messages * MESSAGE_BYTES;
    if (report.bytes !== expected) throw new Error(`receiver got ${report.bytes} bytes, expected ${expected}`);
    return { ms, textBytes: report.bytes, wireBytes: socket.bytesWritten - wireBefore };
  } finally {
    clearTimeout(watchdog);
  }
}

/** The receiving peer in its worker thread, as a few awaitable reports. */
class Receiver {
  readonly #worker: Worker;
  readonly #exited: Promise<unknown>;
  readonly #seen = new Map<ReceiverReport['type'], ReceiverReport>();
  readonly #waiters = new Set<{ type: ReceiverReport['type']; resolve: (r: ReceiverReport) => void; reject: (e: Error) => void }>();
  #failure: Error | undefined;

  constructor(config: ReceiverConfig) {
    this.#worker = new Worker(new URL('./bulk-receiver.js', import.meta.url), { workerData: config });
    this.#exited = once(this.#worker, 'exit');
    this.#worker.on('message', (r: ReceiverReport) => {
      if (r.type === 'failed') return this.#fail(new Error(`receiver: ${r.message}`));
      this.#seen.set(r.type, r);
      for (const w of this.#waiters) if (w.type === r.type) w.resolve(r);
    });
    this.#worker.on('error', (err) => this.#fail(err));
    this.#worker.on('exit', () => this.#fail(new Error('the receiver worker exited')));
  }

  async listening(): Promise<number> {
    const r = await withTimeout(this.next('listening'), SETUP_TIMEOUT_MS, 'the receiver worker starting');
    return r.port;
  }

  /** Resolves on the first report of `type`, even one that came before the call; rejects once the receiver fails. */
  next<T extends ReceiverReport['type']>(type: T): Promise<Extract<ReceiverReport, { type: T }>> {
    type R = Extract<ReceiverReport, { type: T }>;
    return new Promise<R>((resolve, reject) => {
      const seen = this.#seen.get(type);
      if (seen) return resolve(seen as R);
      if (this.#failure) return reject(this.#failure);
      const waiter = {
        type,
        resolve: (r: ReceiverReport) => {
          this.#waiters.delete(waiter);
          resolve(r as R);
        },
        reject: (e: Error) => {
          this.#waiters.delete(waiter);
          reject(e);
        },
      };
      this.#waiters.add(waiter);
    });
  }

  /** Close the receiver's sockets and wait for the thread to end; terminate it if it will not. */
  async stop(): Promise<void> {
    this.#worker.postMessage({ type: 'stop' } satisfies ReceiverCommand);
    await withTimeout(this.#exited, SETUP_TIMEOUT_MS, 'the receiver worker exiting').catch(() => this.#worker.terminate());
  }

  #fail(error: Error): void {
    this.#failure ??= error;
    for (const w of [...this.#waiters]) w.reject(this.#failure);
  }
}
