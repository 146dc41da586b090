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
import { fileURLToPath } from 'node:url';
import type { BenchResult, Log } from './bench-result.js';
import { cpuTimeMs, openFileLimits, spawnNode, vmRssKiB } from './children.js';
import { IpcChild } from './ipc-child.js';
import type { HostKind, HostReply } from './relay-memory-host.js';
import type { SwarmReply, SwarmStart } from './peer-swarm.js';
import { round } from './stats.js';

const PEERS = 10_000;
const SWARMS = 2;
/** Connections each swarm has in progress at once: 128 in all, under the default backlog of 511. */
const CONCURRENCY_PER_SWARM = 64;
/** After the last peer registered, let handshakes' garbage and timers settle before measuring. */
const SETTLE_MS = 2_000;
/** The relay keeps this many descriptors spare (RELAY_DEFAULTS.fdHeadroom) plus our own margin. */
const FD_MARGIN = 1_024;
const START_TIMEOUT_MS = 10_000;
/** Every swarm must report progress (each PROGRESS_EVERY peers) at least this often. */
const STALL_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;

const HOST_SCRIPT = fileURLToPath(new URL('./relay-memory-host.js', import.meta.url));
const SWARM_SCRIPT = fileURLToPath(new URL('./peer-swarm.js', import.meta.url));

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
  const limits = openFileLimits();
  const needed = PEERS + FD_MARGIN;
  // Node raises its soft limit to the hard one at startup, so this is usually the hard limit.
  const fdPlan =
    limits.soft >= needed
      ? `open-file limit ${limits.soft} >= ${needed} needed per process, used as is`
      : `open-file limit ${limits.soft} < ${needed} needed: children started through sh -c 'ulimit -n ${needed}'` +
        (limits.hard < needed ? ` (above the hard limit ${limits.hard}: needs root with CAP_SYS_RESOURCE)` : '');
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
  const openFiles = PEERS + FD_MARGIN;
  const host = new IpcChild<HostReply>(
    spawnNode(HOST_SCRIPT, [kind, home], { execArgv: ['--expose-gc'], stdio: ['ignore', 'ignore', 'pipe', 'ipc'], openFiles }),
    `${kind} memory host`,
  );
  const swarms: Array<IpcChild<SwarmReply>> = [];
  try {
    const listening = await host.waitFor('listening', START_TIMEOUT_MS, 'listening');
    const memory = async (gc: boolean) => {
      const reply = await host.request({ type: 'memory', gc }, 'memory', REPLY_TIMEOUT_MS, 'memory usage');
      return { rssKiB: vmRssKiB(host.pid), usage: reply.usage };
    };
    const before = await memory(true);

    const share = PEERS / SWARMS;
    const perSwarmFiles = share + FD_MARGIN;
    for (let i = 0; i < SWARMS; i++) {
      const child = spawnNode(SWARM_SCRIPT, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], openFiles: perSwarmFiles });
      swarms.push(new IpcChild<SwarmReply>(child, `peer swarm ${i + 1}`));
    }
    const progress = new Map<IpcChild<SwarmReply>, number>();
    let keysMs = 0;
    let lastLogged = 0;
    for (const swarm of swarms) {
      swarm.onMessage((m) => {
        if (m.type === 'keys') keysMs = Math.max(keysMs, m.ms);
        if (m.type !== 'progress') return;
        progress.set(swarm, m.done);
        const total = [...progress.values()].reduce((a, b) => a + b, 0);
        if (total - lastLogged >= 2_500) {
          lastLogged = total;
          log(`  relay-idle-peers-rss: ${kind}: ${total}/${PEERS} peers connected`);
        }
      });
    }
    const readies = swarms.map((swarm, i) => {
      swarm.send({
        type: 'start',
        kind,
        port: listening.port,
        count: share,
        concurrency: CONCURRENCY_PER_SWARM,
        relayFingerprint: listening.fingerprint,
        namePrefix: `idle-${i}-`,
      } satisfies SwarmStart);
      return untilReady(swarm);
    });
    const ready = await Promise.all(readies).catch(async (err: Error) => {
      // A stuck process that uses no CPU is deadlocked, one at 100 % is overloaded: say which.
      throw new Error(`${err.message}; CPU use over the next second: ${await cpuReport([host, ...swarms])}`);
    });
    // A client's connect completes before the server accepts it from its backlog: let it catch up.
    const countDeadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const count = await host.request({ type: 'count' }, 'count', REPLY_TIMEOUT_MS, 'connection count');
      if (count.peers === PEERS) break;
      if (Date.now() > countDeadline) {
        throw new Error(`${kind} server holds ${count.peers} peers (${count.connections} connections, ${count.rejected} rejected), expected ${PEERS}`);
      }
      await sleep(100);
    }
    await sleep(SETTLE_MS);
    const afterNoGc = await memory(false);
    const after = await memory(true);
    const connectMs = Math.max(...ready.map((r) => r.ms));
    log(`  relay-idle-peers-rss: ${kind}: ${PEERS} peers in ${(connectMs / 1000).toFixed(1)} s; VmRSS ${before.rssKiB} -> ${after.rssKiB} KiB`);
    return {
      beforeKiB: before.rssKiB,
      afterNoGcKiB: afterNoGc.rssKiB,
      afterKiB: after.rssKiB,
      heapUsedDelta: after.usage.heapUsed - before.usage.heapUsed,
      externalDelta: after.usage.external - before.usage.external,
      connectMs,
      keysMs,
      retries: ready.reduce((sum, r) => sum + r.retries, 0),
      fdLimit: listening.fdLimit,
    };
  } finally {
    // Clients first, so the server is not busy with goodbyes; then the server; then its home.
    await Promise.all(swarms.map((s) => s.stop()));
    await host.stop();
    rmSync(home, { recursive: true, force: true });
  }
}

/** Each process's share of a core over one second, as text. */
async function cpuReport(children: ReadonlyArray<{ readonly label: string; readonly pid: number }>): Promise<string> {
  const cpuMs = (child: { readonly pid: number }) => {
    try {
      const t = cpuTimeMs(child.pid);
      return t.user + t.system;
    } catch {
      return undefined; // exited, or never started
    }
  };
  const before = children.map(cpuMs);
  await sleep(1_000);
  return children
    .map((c, i) => {
      const [a, b] = [before[i], cpuMs(c)];
      return `${c.label} ${a === undefined || b === undefined ? 'exited' : `${Math.round((b - a) / 10)} %`}`;
    })
    .join(', ');
}

/** Wait for a swarm's 'ready', failing if it reports a failure, exits, or goes quiet for too long. */
function untilReady(swarm: IpcChild<SwarmReply>): Promise<Extract<SwarmReply, { type: 'ready' }>> {
  return new Promise((resolve, reject) => {
    const stalled = () => reject(new Error(`${swarm.label}: no progress for ${STALL_TIMEOUT_MS / 1000} s (is the server stuck?)`));
    let timer = setTimeout(stalled, STALL_TIMEOUT_MS);
    swarm.failed.catch((err: Error) => {
      clearTimeout(timer);
      reject(err);
    });
    swarm.onMessage((m) => {
      clearTimeout(timer);
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'failed') reject(new Error(`${swarm.label}: ${m.message}`));
      else timer = setTimeout(stalled, STALL_TIMEOUT_MS);
    });
  });
}
