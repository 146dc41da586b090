// Benchmark `listener-flood`: legitimate connects to a listener while a stranger holds 1,000 silent
// connections to it (the preamble, then nothing, each replaced as soon as it is cut off), against
// the same connects with no flood, in the same run. The listener and the dialler are ChatNodes in
// this process; the flood is another process, as an attacker would be. Blocks of runs alternate
// quiet and flooded to cancel drift. Each run is one try: its success rate is the figure's other half.

import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { ChatNode } from '../src/app/chat-node.js';
import { P2PChatError } from '../src/errors.js';
import { KnownPeers } from '../src/secure/known-peers.js';
import { latencyResult, type BenchResult, type Log } from './bench-result.js';
import { spawnNode } from './children.js';
import { withTimeout } from './deadline.js';
import { IpcChild } from './ipc-child.js';
import type { FloodReply, FloodStart } from './preamble-flooder.js';
import { round, summarize } from './stats.js';
import type { BenchHome } from './temp-homes.js';

const FLOOD_CONNECTIONS = 1_000;
const ROUNDS = 3;
/** Per round and kind: connects from ::1 (another address than the flood's). */
const RUNS_PER_ROUND = 10;
/** Unmeasured connects at the start of each quiet block (the first also warms the code up). */
const WARMUP_RUNS = 2;
const FLOOD_FROM = '127.0.0.1';
const STEP_TIMEOUT_MS = 15_000;
const FLOODER_SCRIPT = fileURLToPath(new URL('./preamble-flooder.js', import.meta.url));

interface Attempt {
  readonly ms: number;
  /** The error code of a try that failed. */
  readonly failed?: string;
}

interface Runs {
  quiet: Attempt[];
  flooded: Attempt[];
  /** Tries from the flood's own address while it ran. */
  floodedSameAddress: Attempt[];
}

export async function runListenerFlood(listenerHome: BenchHome, dialerHome: BenchHome, log: Log): Promise<BenchResult> {
  const listener = new ChatNode({ identity: listenerHome.identity, knownPeers: KnownPeers.load(listenerHome.dir), name: 'listener' });
  const runs: Runs = { quiet: [], flooded: [], floodedSameAddress: [] };
  let floodedMs = 0;
  let cutOff = 0;
  try {
    const port = await listener.listen('::', 0, false);
    for (let r = 0; r < ROUNDS; r++) {
      for (let i = 0; i < WARMUP_RUNS; i++) await connectOnce(dialerHome, '::1', port);
      for (let i = 0; i < RUNS_PER_ROUND; i++) runs.quiet.push(await connectOnce(dialerHome, '::1', port));
      const flood = await startFlood(port);
      try {
        const startedAt = performance.now();
        const before = await cutOffSoFar(flood);
        for (let i = 0; i < RUNS_PER_ROUND; i++) {
          runs.flooded.push(await connectOnce(dialerHome, '::1', port));
          runs.floodedSameAddress.push(await connectOnce(dialerHome, FLOOD_FROM, port));
        }
        cutOff += (await cutOffSoFar(flood)) - before;
        floodedMs += performance.now() - startedAt;
      } finally {
        await flood.stop();
      }
      log(`  listener-flood: round ${r + 1}/${ROUNDS}: ${describe(runs.flooded)} flooded, ${describe(runs.quiet)} quiet so far`);
    }
  } finally {
    listener.abort();
  }
  const ok = (attempts: Attempt[]) => attempts.filter((a) => a.failed === undefined);
  if (ok(runs.flooded).length === 0 || ok(runs.quiet).length === 0) {
    const codes = [...new Set(runs.flooded.flatMap((a) => (a.failed ? [a.failed] : [])))].join(', ');
    throw new Error(`no median to give: flooded ${describe(runs.flooded)} (${codes}), quiet ${describe(runs.quiet)}`);
  }
  const medianMs = (attempts: Attempt[]) => round(summarize(ok(attempts).map((a) => a.ms)).median);
  const rate = (attempts: Attempt[]) => round(ok(attempts).length / attempts.length, 3);
  const o = summarize(ok(runs.flooded).map((a) => a.ms));
  const b = summarize(ok(runs.quiet).map((a) => a.ms));
  return {
    ...latencyResult('listener-flood', o, b, { runs: runs.flooded.length, warmupRuns: WARMUP_RUNS * ROUNDS }),
    statistic: 'median of the connects that succeeded',
    successRate: rate(runs.flooded),
    baselineSuccessRate: rate(runs.quiet),
    sameAddressSuccessRate: rate(runs.floodedSameAddress),
    sameAddressMedianMs: ok(runs.floodedSameAddress).length > 0 ? medianMs(runs.floodedSameAddress) : null,
    failures: [...runs.flooded, ...runs.floodedSameAddress, ...runs.quiet].flatMap((a) => (a.failed ? [a.failed] : [])),
    floodConnections: FLOOD_CONNECTIONS,
    floodCutOffPerSecond: Math.round(cutOff / (floodedMs / 1000)),
    oursSetup: `ChatNode listening on :: (default limits), dialled from ::1 by a new ChatNode each run, one try each, while another process holds ${FLOOD_CONNECTIONS} connections from ${FLOOD_FROM} that send the preamble and nothing more, each replaced as soon as it is cut off; timed from the dial to connect() resolving (handshake done)`,
    baselineSetup: 'the same connects to the same listener with no flood, in blocks alternating with the flooded ones',
    sameAddressSetup: `dialled from ${FLOOD_FROM}, the flood's own address, one try each, alternating with the runs from ::1`,
  };
}

function describe(attempts: Attempt[]): string {
  const good = attempts.filter((a) => a.failed === undefined);
  if (good.length === 0) return `0/${attempts.length} ok`;
  return `${good.length}/${attempts.length} ok, median ${round(summarize(good.map((a) => a.ms)).median, 1)} ms`;
}

/** One try: a fresh dialler connects, is timed to the end of the handshake, and leaves. */
async function connectOnce(home: BenchHome, host: string, port: number): Promise<Attempt> {
  const dialer = new ChatNode({ identity: home.identity, knownPeers: KnownPeers.load(home.dir), name: 'dialer' });
  const start = performance.now();
  try {
    await withTimeout(dialer.connect(host, port), STEP_TIMEOUT_MS, 'ChatNode.connect');
    return { ms: performance.now() - start };
  } catch (err) {
    return { ms: performance.now() - start, failed: err instanceof P2PChatError ? err.code : String(err) };
  } finally {
    await withTimeout(dialer.quit('benchmark run over'), STEP_TIMEOUT_MS, 'the dialler leaving').catch(() => dialer.abort());
  }
}

async function startFlood(port: number): Promise<IpcChild<FloodReply>> {
  const child = spawnNode(FLOODER_SCRIPT, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], openFiles: FLOOD_CONNECTIONS + 100 });
  const flood = new IpcChild<FloodReply>(child, 'preamble flooder');
  const start: FloodStart = { type: 'start', host: FLOOD_FROM, port, connections: FLOOD_CONNECTIONS };
  flood.send(start);
  await flood.waitFor('churning', STEP_TIMEOUT_MS, `all ${FLOOD_CONNECTIONS} connections cut off once`);
  return flood;
}

async function cutOffSoFar(flood: IpcChild<FloodReply>): Promise<number> {
  return (await flood.request({ type: 'count' }, 'count', STEP_TIMEOUT_MS, 'flood count')).closed;
}
