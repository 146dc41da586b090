// Benchmark `relay-idle-peers-rss`: what an idle registered peer costs the relay in memory. A
// relay runs in a child process of its own (relay-memory-host.ts); PEERS peers, spread over two
// more processes (peer-swarm.ts), each open a Noise control connection with their own identity,
// register, and go idle. The relay's VmRSS is read from /proc before and after, both times right
// after a full GC, and the difference divided by PEERS. Baseline: the same host process with a
// bare node net server holding as many idle TCP connections (same runtime, no crypto, no protocol).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchResult, Log } from './bench-result.js';
import { IdlePeers, MemoryHost, openFilePlan, SETTLE_MS } from './idle-peers.js';
import type { HostKind } from './relay-memory-host.js';
import { round } from './stats.js';

const PEERS = 10_000;
const SWARMS = 2;

interface Measurement {
  readonly beforeKiB: number;
  /** After all peers connected and settled, as `ps` would show it (no forced GC). */
  readonly afterNoGcKiB: number;
  readonly afterKiB: number;
  readonly heapUsedDelta: number;
  /** process.memoryUsage().external: Buffers and other memory V8 is told of outside its heap. */
  readonly externalDelta: number;
  readonly connectMs: number;
  readonly keysMs: number;
  readonly retries: number;
  readonly fdLimit: number;
}

export async function runRelayIdlePeersRss(log: Log): Promise<BenchResult> {
  const fdPlan = openFilePlan(PEERS);
  log(`  relay-idle-peers-rss: ${PEERS} peers over ${SWARMS} client processes; ${fdPlan}`);
  const ours = await measureIdle('relay', log);
  const baseline = await measureIdle('raw', log);
  const perPeer = (m: Measurement, after = m.afterKiB) => (after - m.beforeKiB) / PEERS;
  const o = perPeer(ours);
  const b = perPeer(baseline);
  return {
    bench: 'relay-idle-peers-rss',
    ours: round(o, 2),
    baseline: round(b, 2),
    ratio: round(o / b, 2),
    better: 'lower',
    unit: 'KiB per peer',
    runs: 1,
    peers: PEERS,
    statistic: 'VmRSS after - before, each read right after two full GCs, divided by peers',
    oursBeforeKiB: ours.beforeKiB,
    oursAfterKiB: ours.afterKiB,
    baselineBeforeKiB: baseline.beforeKiB,
    baselineAfterKiB: baseline.afterKiB,
    oursNoGcKiBPerPeer: round(perPeer(ours, ours.afterNoGcKiB), 2),
    baselineNoGcKiBPerPeer: round(perPeer(baseline, baseline.afterNoGcKiB), 2),
    oursJsHeapKiBPerPeer: round(ours.heapUsedDelta / 1024 / PEERS, 2),
    oursExternalKiBPerPeer: round(ours.externalDelta / 1024 / PEERS, 2),
    baselineExternalKiBPerPeer: round(baseline.externalDelta / 1024 / PEERS, 2),
    baselineJsHeapKiBPerPeer: round(baseline.heapUsedDelta / 1024 / PEERS, 2),
    oursRegisterSeconds: round(ours.connectMs / 1000, 1),
    oursRegisterRetries: ours.retries,
    clientKeyGenerationSeconds: round(ours.keysMs / 1000, 1),
    clientProcesses: SWARMS,
    openFiles: fdPlan,
    relayOpenFileLimit: ours.fdLimit,
    oursSetup: 'RelayServer as p2p-chat relay builds it (default limits, but --max-connections-per-ip raised to --max-peers: all peers share 127.0.0.1), in its own node process; each peer a RelayClient with its own key, registered, idle',
    baselineSetup: 'node net server in the same host process, holding raw idle TCP connections',
  };
}

async function measureIdle(kind: HostKind, log: Log): Promise<Measurement> {
  const home = mkdtempSync(join(tmpdir(), 'p2p-chat-bench-rss-'));
  let host: MemoryHost | undefined;
  let peers: IdlePeers | undefined;
  try {
    host = await MemoryHost.start(kind, home, { peers: PEERS, label: `${kind} memory host` });
    const before = await host.memory(true);
    peers = new IdlePeers(host, { kind, peers: PEERS, swarms: SWARMS, namePrefix: 'idle-', log, label: `relay-idle-peers-rss: ${kind}` });
    const fill = await peers.fill();
    await sleep(SETTLE_MS);
    const afterNoGc = await host.memory(false);
    const after = await host.memory(true);
    log(`  relay-idle-peers-rss: ${kind}: ${PEERS} peers in ${(fill.connectMs / 1000).toFixed(1)} s; VmRSS ${before.rssKiB} -> ${after.rssKiB} KiB`);
    return {
      beforeKiB: before.rssKiB,
      afterNoGcKiB: afterNoGc.rssKiB,
      afterKiB: after.rssKiB,
      heapUsedDelta: after.usage.heapUsed - before.usage.heapUsed,
      externalDelta: after.usage.external - before.usage.external,
      connectMs: fill.connectMs,
      keysMs: fill.keysMs,
      retries: fill.retries,
      fdLimit: host.fdLimit,
    };
  } finally {
    // Clients first, so the server is not busy with goodbyes; then the server; then its home.
    await peers?.stop();
    await host?.stop();
    rmSync(home, { recursive: true, force: true });
  }
}
