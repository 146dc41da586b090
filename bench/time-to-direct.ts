// Benchmark `time-to-direct`: how long a conversation between two peers behind cone NATs runs
// through the relay before it moves to a direct path by itself. The scenario of
// test/netlab/hole-punch.test.ts, built with the same lab helpers: relay R on a TEST-NET
// "Internet" with 20 ms of one-way latency between any two of its nodes, homes A and B each
// behind a plain masquerade router on it. Each run starts `listen --relay R --no-mdns` in b
// (registered), then `connect FINGERPRINT --relay R --no-mdns` in a, and times from that spawn
// the connect's relayed `connected` event (the baseline) and its `path` event (ours); then the
// same with --relay-only, which skips the direct tries a plain connect makes first. Network
// namespaces need root: where the lab cannot be built the result says why and has no figure.

import { performance } from 'node:perf_hooks';
import { latencyResult, type BenchResult, type Log } from './bench-result.js';
import { withTimeout } from './deadline.js';
import { round, summarize } from './stats.js';
import type { Netlab } from '../test/helpers/netlab.js';
import type { PeerEvent, PeerProcess } from '../test/helpers/peer-process.js';

const RUNS = 5;
const WARMUP_RUNS = 1;
const ONE_WAY_MS = 20;
/** Peer to relay to peer and back: four crossings of the delayed LAN. */
const RELAYED_RTT_MS = 4 * ONE_WAY_MS;
const R = '203.0.113.1';
const HOMES = [
  { host: 'a', router: 'ra', kind: 'nat', lan: '192.168.1', outside: '203.0.113.2' },
  { host: 'b', router: 'rb', kind: 'nat', lan: '192.168.2', outside: '203.0.113.3' },
] as const;
const START_TIMEOUT_MS = 15_000;
/** A direct path comes within the first try or two (hole-punch.test.ts allows 15 s). */
const DIRECT_TIMEOUT_MS = 20_000;


interface Sample {
  /** Spawn of `p2p-chat id` to its output: what starting the CLI costs before any network. */
  readonly startupMs: number;
  /** Spawn of `connect` to its relayed `connected` event. */
  readonly connectedMs: number;
  /** Spawn of `connect` to its `path` event. */
  readonly directMs: number;
  /** Spawn of `connect --relay-only` (to the same listener, after) to its `connected` event. */
  readonly relayOnlyConnectedMs: number;
  /** The relayed session's round trip as the `connected` event gives it. */
  readonly relayedRttMs: number;
  /** The direct path's round trip as the `path` event gives it. */
  readonly directRttMs: number;
  readonly transport: string;
  /** `upgrade` events (failed tries) before the move. */
  readonly failedTries: number;
}

export async function runTimeToDirect(log: Log): Promise<BenchResult> {
  // Loaded only here: the lab helpers install exit and signal handlers that tear labs down.
  const helpers = await import('../test/helpers/netlab.js');
  const unavailable = await helpers.delayHubUnavailable();
  if (unavailable !== undefined) return noFigure(`the lab cannot run here: ${unavailable}`);
  let lab: Netlab;
  try {
    lab = await buildLab(helpers.Netlab);
  } catch (err) {
    return noFigure(`the lab could not be built: ${(err as Error).message}`);
  }
  try {
    const relay = lab.spawnPeer('r', ['relay', '--json', '--host', '0.0.0.0']);
    await relay.waitForEvent('started', undefined, START_TIMEOUT_MS);
    const samples: Sample[] = [];
    for (let i = -WARMUP_RUNS; i < RUNS; i++) {
      const sample = await oneRun(lab);
      if (i < 0) continue;
      samples.push(sample);
      const after = sample.directMs - sample.connectedMs;
      log(
        `  time-to-direct: run ${i + 1}/${RUNS}: relayed at ${sample.connectedMs.toFixed(0)} ms, direct (${sample.transport}) ${after.toFixed(0)} ms later, ` +
          `${(after / sample.relayedRttMs).toFixed(2)} relayed round trips of ${sample.relayedRttMs} ms`,
      );
    }
    return result(samples);
  } finally {
    const left = await lab.destroyAndList();
    if (left.length > 0) log(`  time-to-direct: namespaces left behind: ${left.join(', ')}`);
  }
}

/** The bench's line when the lab cannot run: no figure, and why. */
function noFigure(error: string): BenchResult {
  return { bench: 'time-to-direct', ours: null, baseline: null, ratio: null, better: 'lower', unit: 'ms', runs: 0, error };
}

async function buildLab(Lab: typeof Netlab): Promise<Netlab> {
  const lab = await Lab.create();
  try {
    await lab.addLan('internet', '203.0.113.0/24', { delayMs: ONE_WAY_MS });
    await lab.addHost('r', { lan: 'internet', address: `${R}/24` });
    for (const home of HOMES) await lab.addHome(home, 'internet');
    await lab.startDelayHub('internet');
    return lab;
  } catch (err) {
    await lab.destroy().catch(() => undefined);
    throw err;
  }
}

/** A fresh listener in b and a fresh connect from a; both are stopped before it returns. */
async function oneRun(lab: Netlab): Promise<Sample> {
  const startupMs = await cliStartupMs(lab);
  const peers: PeerProcess[] = [];
  try {
    const bob = lab.spawnPeer('b', ['listen', '--json', '--name', 'bob', '--host', '0.0.0.0', '--relay', R, '--no-mdns']);
    peers.push(bob);
    const listening = await bob.waitForEvent('listening', undefined, START_TIMEOUT_MS);
    await bob.waitForEvent('relay', (e) => e.state === 'registered', START_TIMEOUT_MS);
    const connect = (extra: string[]) => {
      const start = performance.now();
      const peer = lab.spawnPeer('a', ['connect', String(listening.fingerprint), '--json', '--name', 'alice', '--relay', R, '--no-mdns', ...extra]);
      peers.push(peer);
      // Waits set from the start, so that each resolves as its line is read.
      const timed = (type: string) => peer.waitForEvent(type, undefined, DIRECT_TIMEOUT_MS).then((event) => ({ event, at: performance.now() - start }));
      return { peer, timed };
    };
    const { peer: alice, timed } = connect([]);
    const [connected, moved] = await Promise.all([timed('connected'), timed('path')]);
    if (connected.event.path !== 'relayed') throw new Error(`connect reached bob ${String(connected.event.path)}, not relayed: the NATs let a direct dial through`);
    if (moved.event.path !== 'direct') throw new Error(`the conversation moved to ${String(moved.event.path)}, not direct`);
    await stop(alice);
    const relayOnly = await connect(['--relay-only']).timed('connected');
    return {
      startupMs,
      connectedMs: connected.at,
      directMs: moved.at,
      relayOnlyConnectedMs: relayOnly.at,
      relayedRttMs: Number(connected.event.rttMs),
      directRttMs: Number(moved.event.rttMs),
      transport: String(moved.event.transport),
      failedTries: alice.events.filter((e: PeerEvent) => e.type === 'upgrade').length,
    };
  } finally {
    await Promise.all(peers.map(stop));
  }
}

/** SIGTERM (the CLI's graceful stop), SIGKILL if it lingers. */
async function stop(peer: PeerProcess): Promise<void> {
  peer.kill('SIGTERM');
  await peer.exitCode(10_000).catch(() => peer.kill());
}

/** `p2p-chat id --json` in a: from the spawn to its line, the CLI's start-up in the lab's host. */
async function cliStartupMs(lab: Netlab): Promise<number> {
  const start = performance.now();
  const id = lab.spawnPeer('a', ['id', '--json']);
  await id.waitForEvent('identity', undefined, START_TIMEOUT_MS);
  const ms = performance.now() - start;
  await withTimeout(id.exited, START_TIMEOUT_MS, '`p2p-chat id` exiting');
  return ms;
}

function result(samples: readonly Sample[]): BenchResult {
  const median = (pick: (s: Sample) => number, digits = 1) => round(summarize(samples.map(pick)).median, digits);
  const spread = (pick: (s: Sample) => number) => {
    const s = summarize(samples.map(pick));
    return [round(s.min, 1), round(s.max, 1)];
  };
  const afterConnected = (s: Sample) => s.directMs - s.connectedMs;
  return {
    ...latencyResult('time-to-direct', summarize(samples.map((s) => s.directMs)), summarize(samples.map((s) => s.connectedMs)), { runs: RUNS, warmupRuns: WARMUP_RUNS }),
    oursSetup: 'connect FINGERPRINT --relay R --no-mdns in home a (cone NAT) to listen --relay R --no-mdns in home b (cone NAT): from the spawn to its path event (direct)',
    baselineSetup: 'the same connect: from the spawn to its connected event (relayed)',
    network: `relay and both NAT routers on one LAN with ${ONE_WAY_MS} ms one-way between any two nodes (netlab delay hub); plain masquerade routers`,
    oursRangeMs: spread((s) => s.directMs),
    baselineRangeMs: spread((s) => s.connectedMs),
    directAfterConnectedMs: median(afterConnected),
    directAfterConnectedRangeMs: spread(afterConnected),
    directAfterConnectedRoundTrips: median((s) => afterConnected(s) / s.relayedRttMs, 2),
    directAfterConnectedNominalRoundTrips: median((s) => afterConnected(s) / RELAYED_RTT_MS, 2),
    relayedRttMs: median((s) => s.relayedRttMs),
    nominalRelayedRttMs: RELAYED_RTT_MS,
    directRttMs: median((s) => s.directRttMs),
    relayOnlyConnectedMs: median((s) => s.relayOnlyConnectedMs),
    relayOnlyConnectedRangeMs: spread((s) => s.relayOnlyConnectedMs),
    cliStartupMs: median((s) => s.startupMs),
    transports: samples.map((s) => s.transport),
    failedTriesBeforeDirect: samples.map((s) => s.failedTries),
    oursRunsMs: samples.map((s) => round(s.directMs, 1)),
    baselineRunsMs: samples.map((s) => round(s.connectedMs, 1)),
  };
}
