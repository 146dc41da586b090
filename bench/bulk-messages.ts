// Benchmarks `bulk-messages` and `bulk-messages-acks`: end-to-end throughput of 4 KiB chat messages
// over one established session (JSON encoding, ChaCha20-Poly1305, framing, decoding, ChatNode
// events at the receiver). `bulk-messages` measures the session as it runs between two current
// peers (acknowledged delivery on) against a raw TCP pipe moving the same bytes in the same 4 KiB
// writes; `bulk-messages-acks` measures the same session with and without acknowledgements. Every
// sender waits for 'drain' whenever the socket's buffer is full (and, with acks, for room in its
// session); the clock stops when the receiver has it all.

import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { ACK_EVERY } from '../src/app/peer-session.js';
import { DEFAULTS } from '../src/defaults.js';
import type { BenchResult, Log } from './bench-result.js';
import { BulkSender } from './bulk-sender.js';
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
  /** With acks: how often the sender found its session full, and how long it waited in all. */
  readonly ackWaits?: number;
  readonly ackWaitMs?: number;
  /** With acks: from the start to the sender holding every acknowledgement. */
  readonly allAckedMs?: number;
}

type Variant = 'acks' | 'no-acks' | 'raw';

const SETUPS: Record<Variant, string> = {
  acks: 'PeerConnection + PeerSession listing acks, keeping each chat until acknowledged and waiting while full (1,000 messages or 4 MiB unacknowledged); the receiver acknowledges at once after ACK_EVERY messages, else within ackDelayMs',
  'no-acks': 'PeerConnection + PeerSession without the acks feature: nothing kept, nothing acknowledged',
  raw: 'raw TCP pipe, the same bytes in the same 4 KiB writes',
};

/** Bulk chat with acknowledged delivery (as two current peers run) against raw TCP. */
export function runBulkMessages(receiverHome: BenchHome, senderHome: BenchHome, log: Log): Promise<BenchResult> {
  return compare('bulk-messages', 'acks', 'raw', receiverHome, senderHome, log);
}

/** The cost of acknowledgements: the same session with them against without them. */
export function runBulkMessagesAcks(receiverHome: BenchHome, senderHome: BenchHome, log: Log): Promise<BenchResult> {
  return compare('bulk-messages-acks', 'acks', 'no-acks', receiverHome, senderHome, log);
}

async function compare(bench: string, oursVariant: Variant, baselineVariant: Variant, receiverHome: BenchHome, senderHome: BenchHome, log: Log): Promise<BenchResult> {
  const runOne = (variant: Variant, messages: number) => (variant === 'raw' ? baselineOnce(messages) : oursOnce(receiverHome, senderHome, messages, variant === 'acks'));
  log(`  ${bench}: warm-up (${WARMUP_MESSAGES} messages each)`);
  await runOne(oursVariant, WARMUP_MESSAGES);
  await runOne(baselineVariant, WARMUP_MESSAGES);
  const ours: RunResult[] = [];
  const baseline: RunResult[] = [];
  for (let i = 0; i < RUNS; i++) {
    ours.push(await runOne(oursVariant, MESSAGES));
    baseline.push(await runOne(baselineVariant, MESSAGES));
    log(`  ${bench}: run ${i + 1}/${RUNS}: ${oursVariant} ${mbps(ours[i]!).toFixed(1)} MB/s, ${baselineVariant} ${mbps(baseline[i]!).toFixed(1)} MB/s`);
  }
  const o = summarize(ours.map(mbps));
  const b = summarize(baseline.map(mbps));
  const medianOf = (runs: RunResult[], pick: (r: RunResult) => number | undefined) => round(summarize(runs.map((r) => pick(r) ?? Number.NaN)).median, 1);
  const ackDetails = (prefix: string, runs: RunResult[]) => ({
    [`${prefix}AckWaitsPerRun`]: medianOf(runs, (r) => r.ackWaits),
    [`${prefix}AckWaitMs`]: medianOf(runs, (r) => r.ackWaitMs),
    [`${prefix}AckWaitShare`]: round(summarize(runs.map((r) => (r.ackWaitMs ?? Number.NaN) / r.ms)).median, 2),
    [`${prefix}RunMs`]: medianOf(runs, (r) => r.ms),
    [`${prefix}AllAckedMs`]: medianOf(runs, (r) => r.allAckedMs),
  });
  return {
    bench,
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
    oursWireBytesPerMessage: round(ours[0]!.wireBytes / MESSAGES, 1),
    oursMessagesPerSecond: Math.round((o.median * MB) / MESSAGE_BYTES),
    oursRunsMBps: ours.map((r) => round(mbps(r), 1)),
    baselineRunsMBps: baseline.map((r) => round(mbps(r), 1)),
    ...(oursVariant === 'acks' ? ackDetails('ours', ours) : {}),
    ackDelayMs: DEFAULTS.ackDelayMs,
    ackEvery: ACK_EVERY,
    maxUnackedMessages: DEFAULTS.maxUnackedMessages,
    maxUnackedBytes: DEFAULTS.maxUnackedBytes,
    oursSetup: SETUPS[oursVariant],
    baselineSetup: SETUPS[baselineVariant],
    sender: 'on the main thread, waiting for drain when the socket buffer is full',
    receiver: 'ChatNode in a worker thread, counting message events',
  };
}

function mbps(run: RunResult): number {
  return run.textBytes / MB / (run.ms / 1000);
}

async function oursOnce(receiverHome: BenchHome, senderHome: BenchHome, messages: number, acks: boolean): Promise<RunResult> {
  const receiver = new Receiver({ kind: 'ours', home: receiverHome.dir, messages, totalBytes: messages * MESSAGE_BYTES });
  let sender: BulkSender | undefined;
  try {
    const port = await receiver.listening();
    // A raw socket, so that ours and the baseline are measured through the same socket calls.
    const socket = createConnection({ host: HOST, port, noDelay: true });
    await withTimeout(once(socket, 'connect'), SETUP_TIMEOUT_MS, 'TCP connect');
    sender = new BulkSender(socket, senderHome.identity, acks);
    const ready = receiver.next('ready');
    ready.catch(() => {}); // awaited below; this only keeps an early failure from going unhandled
    await sender.start(SETUP_TIMEOUT_MS);
    await withTimeout(ready, SETUP_TIMEOUT_MS, 'the receiver taking the connection');
    const s = sender;
    const run = await timedSend(socket, receiver, messages, () => s.send(TEXT), () => s.room(RUN_TIMEOUT_MS));
    if (!acks) return run;
    await s.allAcknowledged(RUN_TIMEOUT_MS);
    return { ...run, ackWaits: s.ackWaits, ackWaitMs: s.ackWaitMs, allAckedMs: performance.now() - run.start };
  } finally {
    await sender?.connection.close('benchmark run over');
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

/**
 * Send `messages` times with identical backpressure handling for ours and raw, until the receiver
 * has everything; `room`, when given, is awaited after each send too (a session waiting for acks).
 */
async function timedSend(socket: Socket, receiver: Receiver, messages: number, send: () => void, room?: () => Promise<void> | undefined): Promise<RunResult & { start: number }> {
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
      const waiting = room?.();
      if (waiting) await waiting;
    }
    const report = await withTimeout(done, RUN_TIMEOUT_MS, 'the receiver getting every byte');
    const ms = performance.now() - start;
    const expected = messages * MESSAGE_BYTES;
    if (report.bytes !== expected) throw new Error(`receiver got ${report.bytes} bytes, expected ${expected}`);
    return { ms, textBytes: report.bytes, wireBytes: socket.bytesWritten - wireBefore, start };
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
