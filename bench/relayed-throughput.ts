// Benchmark `relayed-throughput`: what relaying itself costs. Bulk bytes go from one socket to
// another through a relay in its own process: ours is `p2p-chat relay` carrying a real relayed
// session (tokens from the control protocol, two data connections spliced), the baseline socat
// forwarding one TCP connection to another. Sender and receiver are the same code for both, in
// this process: raw bytes, no Noise, so only the relay in the middle differs. Runs alternate.

import { once } from 'node:events';
import { createConnection, type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { RelayClient } from '../src/app/relay-client.js';
import { encodeDataHello } from '../src/wire/data-preamble.js';
import { SPLICE_COALESCE_BYTES } from '../src/relay/splice.js';
import { MEGABYTE as MB, throughputResult, type BenchResult, type Log } from './bench-result.js';
import { cpuTimeMs } from './children.js';
import { withTimeout } from './deadline.js';
import { LoopbackServer } from './loopback-server.js';
import { RelayProcess } from './relay-process.js';
import { checkSocat, SocatListener } from './socat-relay.js';
import { round, summarize } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const RUNS = 3;
/**
 * Unmeasured full-size runs first, for each relay: ours gets faster over its first few hundred
 * MiB (V8's GC and malloc settle into the churn of 64 KiB read buffers), as a relay that has been
 * running for a while is. Runs of 1 GiB rather than 256 MiB: on two shared cores, a run of a
 * fifth of a second is at the mercy of the scheduler.
 */
const WARMUP_RUNS = 1;
const MiB = 1024 * 1024;
export const TOTAL_BYTES = 1024 * MiB;
/** The sender's write size; the relays read in their own sizes (node: 64 KiB; socat: -b). */
export const WRITE_BYTES = 256 * 1024;
/**
 * socat's copy buffer for the baseline, set to node's 64 KiB read size so both relays read the
 * same chunks (ours then writes what one event-loop turn read as one, up to SPLICE_COALESCE_BYTES).
 */
const SOCAT_BUFFER_BYTES = 64 * 1024;
/**
 * socat with other buffers, measured as details: its default (8 KiB: eight times the syscalls),
 * and one as large as our gathered writes, with which it also reads that much at a time.
 */
const SOCAT_DETAILS = [
  { key: 'socatDefaultBuffer', label: 'default buffer', args: [] },
  { key: 'socatLargeBuffer', label: `-b ${SPLICE_COALESCE_BYTES}`, args: ['-b', String(SPLICE_COALESCE_BYTES)] },
] as const;
const SETUP_TIMEOUT_MS = 10_000;
/** 1 GiB at a crawling 20 MB/s is 54 s; only a hang reaches this. */
const RUN_TIMEOUT_MS = 120_000;
const HOST = '127.0.0.1';
/** The listening port B registers: the relay only invites peers that listen somewhere. */
const NOMINAL_PORT = 5050;
const READY = Buffer.from('R');
const CHUNK = Buffer.alloc(WRITE_BYTES, 0x5a);

export interface Pair {
  readonly sender: Socket;
  readonly receiver: Socket;
  /** The process doing the relaying for this pair, for its CPU time. */
  readonly relayPid: number;
}

export interface Run {
  readonly mbps: number;
  /** CPU time the relaying process spent per GB (1e9 bytes) carried... */
  readonly relayCpuMsPerGB: number;
  /** ...of which in user space (the rest is the kernel copying bytes in and out). */
  readonly relayUserCpuMsPerGB: number;
  /** Share of one core the relaying process used during the transfer. */
  readonly relayCpuShare: number;
  /** Share of one core this process (sender + receiver) used during the transfer. */
  readonly endpointsCpuShare: number;
}

export async function runRelayedThroughput(homeA: BenchHome, homeB: BenchHome, log: Log): Promise<BenchResult> {
  const socatCheck = checkSocat();
  if (!socatCheck.ok) log(`relayed-throughput: ${socatCheck.reason}; measuring ours only, the socat comparison is skipped`);

  const relay = await RelayProcess.start(log);
  const relayAddress = { host: relay.host, port: relay.port, label: `${relay.host}:${relay.port}` };
  // B must register to be invited, which takes a listening port (never dialled here); A only dials.
  const clients = [homeA, homeB].map(
    (home, i) =>
      new RelayClient({ relays: [{ address: relayAddress, pin: relay.fingerprint }], identity: home.identity, name: () => `tput-${i}`, port: i === 0 ? 0 : NOMINAL_PORT, addresses: [] }),
  );
  const [clientA, clientB] = clients as [RelayClient, RelayClient];
  let sink: Sink | undefined;
  const socats: SocatListener[] = [];
  try {
    for (const client of clients) client.start();
    await Promise.all(clients.map((c) => c.whenRegistered(SETUP_TIMEOUT_MS)));
    const ours = () => oursPair(relay, clientA, clientB, homeB.identity.fingerprint);
    let baseline: (() => Promise<Pair>) | undefined;
    const details: Array<{ key: string; label: string; pair: () => Promise<Pair>; runs: Run[] }> = [];
    if (socatCheck.ok) {
      const s = await Sink.start();
      sink = s;
      const matched = await SocatListener.relay(s.port, ['-b', String(SOCAT_BUFFER_BYTES)]);
      socats.push(matched);
      baseline = () => socatPair(matched, s);
      for (const { key, label, args } of SOCAT_DETAILS) {
        const socat = await SocatListener.relay(s.port, args);
        socats.push(socat);
        details.push({ key, label, pair: () => socatPair(socat, s), runs: [] });
      }
    }

    log(`  relayed-throughput: warm-up (${WARMUP_RUNS} × ${TOTAL_BYTES / MiB} MiB each)`);
    const all = [ours, ...(baseline ? [baseline] : []), ...details.map((d) => d.pair)];
    for (let i = 0; i < WARMUP_RUNS; i++) for (const pair of all) await measure(pair, TOTAL_BYTES);
    const oursRuns: Run[] = [];
    const baselineRuns: Run[] = [];
    for (let i = 0; i < RUNS; i++) {
      oursRuns.push(await measure(ours, TOTAL_BYTES));
      if (baseline) baselineRuns.push(await measure(baseline, TOTAL_BYTES));
      for (const detail of details) detail.runs.push(await measure(detail.pair, TOTAL_BYTES));
      const b = baselineRuns[i];
      const detailText = details.map((d) => `${d.label}: ${d.runs[i]!.mbps.toFixed(0)} MB/s`).join(', ');
      const socatText = b ? `, socat ${b.mbps.toFixed(0)} MB/s (${detailText})` : '';
      log(`  relayed-throughput: run ${i + 1}/${RUNS}: ours ${oursRuns[i]!.mbps.toFixed(0)} MB/s${socatText}`);
    }
    const extra: Record<string, unknown> = socatCheck.ok ? { socatVersion: socatCheck.version } : { error: socatCheck.reason };
    for (const { key, runs } of details) {
      extra[`${key}MBps`] = round(summarize(runs.map((r) => r.mbps)).median, 1);
      extra[`${key}RunsMBps`] = runs.map((r) => round(r.mbps, 1));
    }
    return result(oursRuns, baselineRuns, extra);
  } finally {
    await Promise.all(clients.map((c) => withTimeout(c.close(), SETUP_TIMEOUT_MS, 'closing a relay client').catch(() => undefined)));
    for (const socat of socats) await socat.stop();
    await sink?.close();
    await relay.stop();
  }
}

function result(ours: Run[], baseline: Run[], extra: Record<string, unknown>): BenchResult {
  const o = summarize(ours.map((r) => r.mbps));
  const b = baseline.length > 0 ? summarize(baseline.map((r) => r.mbps)) : undefined;
  const median = (runs: Run[], pick: (r: Run) => number, digits: number) => round(summarize(runs.map(pick)).median, digits);
  return {
    ...throughputResult('relayed-throughput', o.median, b ? b.median : null, { runs: RUNS, warmupRuns: WARMUP_RUNS, bytesPerRun: TOTAL_BYTES }),
    senderWriteBytes: WRITE_BYTES,
    oursSetup: 'p2p-chat relay (own process), one relayed session: two data connections presenting tokens, spliced',
    baselineSetup: `socat -b ${SOCAT_BUFFER_BYTES} TCP-LISTEN:P,fork TCP:127.0.0.1:Q (its forked child relays), in front of a raw sink`,
    oursRunsMBps: ours.map((r) => round(r.mbps, 1)),
    baselineRunsMBps: baseline.map((r) => round(r.mbps, 1)),
    oursRelayCpuMsPerGB: median(ours, (r) => r.relayCpuMsPerGB, 0),
    baselineRelayCpuMsPerGB: baseline.length > 0 ? median(baseline, (r) => r.relayCpuMsPerGB, 0) : null,
    oursRelayUserCpuMsPerGB: median(ours, (r) => r.relayUserCpuMsPerGB, 0),
    baselineRelayUserCpuMsPerGB: baseline.length > 0 ? median(baseline, (r) => r.relayUserCpuMsPerGB, 0) : null,
    oursRelayCpuShare: median(ours, (r) => r.relayCpuShare, 2),
    baselineRelayCpuShare: baseline.length > 0 ? median(baseline, (r) => r.relayCpuShare, 2) : null,
    oursEndpointsCpuShare: median(ours, (r) => r.endpointsCpuShare, 2),
    baselineEndpointsCpuShare: baseline.length > 0 ? median(baseline, (r) => r.endpointsCpuShare, 2) : null,
    ...extra,
  };
}

/** One relayed session: A dials B at the relay, both present their tokens, B says it is there. */
async function oursPair(relay: RelayProcess, clientA: RelayClient, clientB: RelayClient, fingerprintB: string): Promise<Pair> {
  const invited = withTimeout(once(clientB, 'invite'), SETUP_TIMEOUT_MS, 'the relay inviting B');
  invited.catch(() => undefined); // awaited below
  const { token } = await clientA.dial(fingerprintB);
  const [invite] = (await invited) as [{ token: string }];
  return dataPair(relay.host, { port: relay.port, token }, { port: relay.port, token: invite.token }, relay.pid);
}

/** A relayed session's two data connections, each presenting its token at its port, ready to carry bytes. */
export async function dataPair(host: string, sender: { port: number; token: string }, receiver: { port: number; token: string }, relayPid: number): Promise<Pair> {
  const opened = await Promise.allSettled([rawDataConnection(host, sender.port, sender.token), rawDataConnection(host, receiver.port, receiver.token)]);
  const [s, r] = opened.map((o) => (o.status === 'fulfilled' ? o.value : undefined));
  if (!s || !r) {
    s?.destroy();
    r?.destroy();
    throw opened.find((o): o is PromiseRejectedResult => o.status === 'rejected')?.reason;
  }
  return ready({ sender: s, receiver: r, relayPid });
}

/** A relayed data connection as a raw socket (as the baseline's), its token presented. */
async function rawDataConnection(host: string, port: number, token: string): Promise<Socket> {
  const socket = createConnection({ host, port, noDelay: true });
  try {
    await withTimeout(once(socket, 'connect'), SETUP_TIMEOUT_MS, 'the relay data connection');
  } catch (err) {
    socket.destroy();
    throw err;
  }
  socket.write(encodeDataHello(token));
  return socket;
}

async function socatPair(socat: SocatListener, sink: Sink): Promise<Pair> {
  const forksBefore = socat.forkedPids.length;
  const accepted = sink.next();
  const sender = createConnection({ host: HOST, port: socat.port, noDelay: true });
  sender.on('error', () => undefined); // surfaces through the awaited steps
  await withTimeout(once(sender, 'connect'), SETUP_TIMEOUT_MS, 'connecting to socat');
  const receiver = await withTimeout(accepted, SETUP_TIMEOUT_MS, 'socat connecting to the sink');
  const pair = await ready({ sender, receiver, relayPid: 0 });
  // The byte came through socat's child for this connection, so it exists; its log line may lag.
  const pid = await pollFor(() => socat.forkedPids[forksBefore], 'socat logging its forked child').catch((err: Error) => {
    pair.sender.destroy();
    pair.receiver.destroy();
    throw err;
  });
  return { ...pair, relayPid: pid };
}

/** The receiver sends one byte back through the relay: once the sender has it, the path is open. */
async function ready(pair: Pair): Promise<Pair> {
  pair.sender.on('error', () => undefined);
  pair.receiver.on('error', () => undefined);
  const got = withTimeout(once(pair.sender, 'data'), SETUP_TIMEOUT_MS, 'the ready byte through the relay');
  pair.receiver.write(READY);
  try {
    await got;
  } catch (err) {
    pair.sender.destroy();
    pair.receiver.destroy();
    throw err;
  }
  return pair;
}

export async function measure(makePair: () => Promise<Pair>, total: number): Promise<Run> {
  const pair = await makePair();
  const { sender, receiver, relayPid } = pair;
  try {
    const received = new Promise<void>((resolve, reject) => {
      let bytes = 0;
      receiver.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
        if (bytes >= total) resolve();
      });
      receiver.once('close', () => reject(new Error(`the receiving socket closed after ${bytes} of ${total} bytes`)));
    });
    received.catch(() => undefined); // awaited below
    const watchdog = setTimeout(() => sender.destroy(new Error(`transfer did not finish within ${RUN_TIMEOUT_MS} ms`)), RUN_TIMEOUT_MS);
    try {
      const relayCpuBefore = cpuTimeMs(relayPid);
      const ownCpuBefore = process.cpuUsage();
      const start = performance.now();
      for (let sent = 0; sent < total; sent += CHUNK.length) {
        if (!sender.write(CHUNK)) await once(sender, 'drain');
      }
      await withTimeout(received, RUN_TIMEOUT_MS, 'the receiver getting every byte');
      const ms = performance.now() - start;
      const ownCpu = process.cpuUsage(ownCpuBefore);
      const relayCpuAfter = cpuTimeMs(relayPid);
      const relayUser = relayCpuAfter.user - relayCpuBefore.user;
      const relayCpu = relayUser + relayCpuAfter.system - relayCpuBefore.system;
      return {
        mbps: total / MB / (ms / 1000),
        relayCpuMsPerGB: (relayCpu / total) * 1e9,
        relayUserCpuMsPerGB: (relayUser / total) * 1e9,
        relayCpuShare: relayCpu / ms,
        endpointsCpuShare: (ownCpu.user + ownCpu.system) / 1000 / ms,
      };
    } finally {
      clearTimeout(watchdog);
    }
  } finally {
    await closePair(pair);
  }
}

async function closePair({ sender, receiver }: Pair): Promise<void> {
  const closed = Promise.all([sender, receiver].map((s) => (s.closed ? Promise.resolve() : once(s, 'close'))));
  sender.end();
  receiver.end();
  await withTimeout(closed, SETUP_TIMEOUT_MS, 'closing the sockets of a run').catch(() => {
    sender.destroy();
    receiver.destroy();
  });
}

async function pollFor<T>(probe: () => T | undefined, what: string): Promise<T> {
  const deadline = Date.now() + SETUP_TIMEOUT_MS;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** The raw TCP server socat forwards to: hands each accepted connection to whoever waits. */
class Sink {
  readonly #waiting: Array<(socket: Socket) => void> = [];
  #server: LoopbackServer | undefined;

  get port(): number {
    return this.#server?.port ?? 0;
  }

  static async start(): Promise<Sink> {
    const sink = new Sink();
    sink.#server = await LoopbackServer.start((socket) => {
      const waiter = sink.#waiting.shift();
      if (waiter) waiter(socket);
      else socket.destroy();
    }, SETUP_TIMEOUT_MS, 'the sink listening');
    return sink;
  }

  next(): Promise<Socket> {
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  async close(): Promise<void> {
    await this.#server?.close();
  }
}
