// Benchmark `relay-cluster` (issue 15): what sharing one registry on Redis costs relays, against a
// lone relay measured in the same run. Memory: three relays of a cluster on one redis-server, each
// in its own process (relay-memory-host.ts), hold 10,000 idle registered peers each, and a lone
// relay (no cluster) as many: VmRSS growth per peer per relay, read after quiet and two full
// collections. Lookup latency (cluster-lookups.ts) from relay A for peers on B and C, against the
// lone relay for its own. Relayed throughput across two relays (cluster-throughput.ts).
// Without redis-server nothing here can run: the line says so in `error`.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { loadOrCreateIdentity } from '../src/secure/identity-store.js';
import { throughputResult, type BenchResult, type Log } from './bench-result.js';
import { compareLookups, LOOKUP_CLIENTS_PER_RELAY, PREFIX_CHARACTERS } from './cluster-lookups.js';
import { crossRelayThroughput, THROUGHPUT_RUNS, THROUGHPUT_WARMUP_RUNS, type CrossRelayRuns } from './cluster-throughput.js';
import { cpuTimeMs } from './children.js';
import { IdlePeers, idlePeersThatFit, MemoryHost, openFilePlan, type HostMemory, type IdleFill } from './idle-peers.js';
import { TOTAL_BYTES, WRITE_BYTES, type Run } from './relayed-throughput.js';
import { round, summarize } from './stats.js';
import { RedisServer, redisServerUnavailable } from '../test/helpers/redis-server.js';

const BENCH = 'relay-cluster';
/** Issue 15: 30,000 peers on three relays, against one relay with as many as each of them. */
const WANTED_PEERS_PER_RELAY = 10_000;
const CLUSTER_RELAYS = ['A', 'B', 'C'] as const;
const SWARMS_PER_RELAY = 2;
/** Peers per swarm named for lookups: 200 per relay. */
const SAMPLE_PER_SWARM = 100;
/**
 * How long each idle relay may take to give back the heap its start-up grew before it is read
 * (MemoryHost.settledMemory): read sooner, a relay of the cluster starts 30 MiB high (loading the
 * Redis client) and seems to grow less per peer than it does.
 */
const SETTLE_TIMEOUT_MS = 60_000;
/**
 * Quiet after the last registration reached Redis, before the relays holding peers are read, all
 * at once. Their peers' keepalives (10,000 every 10 s) keep V8's reducer from running, and a relay
 * with peers creeps up some 10 MiB over the first half minute: read at the same moment, after
 * being filled together, the four have held their peers alike.
 */
const QUIET_MS = 10_000;
/** How long the three relays' writes may take to all reach Redis after the last peer registered. */
const REGISTRY_TIMEOUT_MS = 30_000;
/** A relay that left the cluster joins again at its next heartbeat (a third of the TTL, 10 s) and registers its peers anew. */
const REJOIN_TIMEOUT_MS = 30_000;
const KiB = 1024;

/** What the benchmark asks of its own Redis client. */
interface Store {
  zCard(key: string): Promise<number>;
  info(section: string): Promise<string>;
}

type Fill = IdleFill & { readonly cpuMs: number };

interface Held {
  readonly before: HostMemory;
  readonly after: HostMemory;
  readonly fill: Fill;
}

export async function runRelayCluster(log: Log): Promise<BenchResult> {
  const missing = await redisServerUnavailable();
  if (missing !== undefined) {
    log(`${BENCH}: ${missing}; not measured`);
    return { bench: BENCH, ours: null, baseline: null, ratio: null, better: 'lower', unit: 'KiB per peer', runs: 0, error: missing };
  }
  const fit = idlePeersThatFit(WANTED_PEERS_PER_RELAY, CLUSTER_RELAYS.length + 1);
  const perRelay = fit.peers;
  const fitText = fit.limitedBy
    ? `${perRelay} peers per relay, not ${WANTED_PEERS_PER_RELAY}: limited by ${fit.limitedBy}`
    : `${perRelay} peers per relay, ${perRelay * CLUSTER_RELAYS.length} in the cluster`;
  log(`  ${BENCH}: ${fitText}; ${openFilePlan(perRelay)}`);

  const redis = await RedisServer.start();
  const loneHome = mkdtempSync(join(tmpdir(), 'p2p-chat-bench-lone-'));
  const clusterHome = mkdtempSync(join(tmpdir(), 'p2p-chat-bench-cluster-'));
  try {
    // One key for every relay of the cluster, as an operator copies it to each.
    const key = loadOrCreateIdentity(join(clusterHome, 'relay'));
    // Throughput first, on a machine not yet busy with what the idle relays leave behind.
    const throughput = await crossRelayThroughput(redis.url, `bench-throughput-${process.pid}:`, key, log);
    const held = await idleAndLookups(redis.url, perRelay, loneHome, clusterHome, log);
    return result(perRelay, fitText, held, throughput);
  } finally {
    await redis.stop();
    rmSync(loneHome, { recursive: true, force: true });
    rmSync(clusterHome, { recursive: true, force: true });
  }
}

type Measured = Awaited<ReturnType<typeof idleAndLookups>>;

/**
 * The lone relay and the cluster's three: their memory before and after holding `perRelay` idle
 * peers each (all four filled at once), then the lookups.
 */
async function idleAndLookups(url: string, perRelay: number, loneHome: string, clusterHome: string, log: Log) {
  const prefix = `bench-idle-${process.pid}:`;
  const hosts: MemoryHost[] = [];
  const fleets: IdlePeers[] = [];
  const store = createClient({ url });
  store.on('error', () => undefined); // a failed command says why
  /** Fill `servers` at once; each one's fill with the CPU it used meanwhile. */
  const fill = async (servers: readonly MemoryHost[], names: readonly string[]) => {
    const cpuBefore = servers.map((h) => cpuMs(h.pid));
    const fills = await Promise.all(
      servers.map((host, i) => {
        const name = names[i]!;
        const peers = new IdlePeers(host, { kind: 'relay', peers: perRelay, swarms: SWARMS_PER_RELAY, namePrefix: `${name.toLowerCase()}.`, sample: SAMPLE_PER_SWARM, log, label: `${BENCH}: ${name}` });
        fleets.push(peers);
        return peers.fill();
      }),
    );
    return fills.map((f, i) => ({ ...f, cpuMs: cpuMs(servers[i]!.pid) - cpuBefore[i]! }));
  };
  const unsettled: string[] = [];
  /** Each host's memory: at start, once V8 has given back what start-up grew; with peers, after quiet. */
  const memoryOf = async (atStart: boolean) => {
    if (!atStart) await sleep(QUIET_MS);
    const readings = await Promise.all(hosts.map((host) => (atStart ? host.settledMemory(SETTLE_TIMEOUT_MS) : host.memory(true))));
    const memory = new Map<MemoryHost, HostMemory>();
    for (const [i, host] of hosts.entries()) {
      const reading = readings[i]!;
      memory.set(host, reading);
      if ('settled' in reading && !reading.settled) unsettled.push(host.label);
    }
    return memory;
  };
  try {
    await store.connect();
    const lone = await MemoryHost.start('relay', loneHome, { peers: perRelay, label: 'lone relay' });
    hosts.push(lone);
    const members: MemoryHost[] = [];
    for (const name of CLUSTER_RELAYS) {
      const host = await MemoryHost.start('relay', clusterHome, { peers: perRelay, label: `cluster relay ${name}`, cluster: { url, prefix } });
      hosts.push(host);
      members.push(host);
    }
    const before = await memoryOf(true);
    const redisBefore = await redisState(store);
    // All four at once, so that each works under the same load and holds its peers as long when read.
    const [loneFill, ...fills] = await fill([lone, ...members], ['lone', ...CLUSTER_RELAYS]);
    await registryHolds(store, prefix, perRelay * members.length);
    await allJoined(members);
    const redisFilled = await redisState(store);
    const after = await memoryOf(false);
    const redisAfter = await redisState(store);
    const held = (host: MemoryHost, filled: Fill): Held => ({ before: before.get(host)!, after: after.get(host)!, fill: filled });
    const loneHeld = held(lone, loneFill!);
    const clusterHeld = members.map((host, i) => held(host, fills[i]!));
    log(`  ${BENCH}: VmRSS lone ${loneHeld.before.rssKiB} -> ${loneHeld.after.rssKiB} KiB; cluster ${clusterHeld.map((h) => `${h.before.rssKiB} -> ${h.after.rssKiB}`).join(', ')} KiB`);

    log(`  ${BENCH}: lookups from relay A of peers on B and C, and from the lone relay of its own`);
    const [a] = members as [MemoryHost];
    const targetsB = fills[1]!.sample;
    const targetsC = fills[2]!.sample;
    const lookups = await compareLookups(
      { port: a.port, fingerprint: a.fingerprint, targets: targetsB.flatMap((peer, i) => [peer, targetsC[i] ?? peer]) },
      { port: lone.port, fingerprint: lone.fingerprint, targets: loneFill!.sample },
    );
    // A relay that Redis failed (slow under load) leaves the cluster and joins again by itself: say so.
    const counts = await Promise.all(members.map((h) => h.count()));
    const left = counts.map((c) => c.cluster?.left ?? 0);
    const whyLeft = counts.flatMap((c, i) => (c.cluster?.lastLeft ? [`${CLUSTER_RELAYS[i]}: ${c.cluster.lastLeft}`] : []));
    if (whyLeft.length > 0) log(`  ${BENCH}: relays left the cluster and joined again: ${whyLeft.join('; ')}`);
    const info = await store.info('server');
    const redis = { usedKiB: redisAfter.usedKiB - redisBefore.usedKiB, rssKiB: redisAfter.rssKiB, cpuMs: redisFilled.cpuMs - redisBefore.cpuMs };
    if (unsettled.length > 0) log(`  ${BENCH}: V8 had not given back what start-up grew within ${SETTLE_TIMEOUT_MS / 1000} s in: ${unsettled.join(', ')}`);
    return { lone: loneHeld, cluster: clusterHeld, redis, lookups, unsettled, left, whyLeft, redisVersion: /^redis_version:(\S+)/m.exec(info)?.[1] ?? 'unknown' };
  } finally {
    // Clients first, so the relays are not busy with goodbyes; then the relays.
    await Promise.all(fleets.map((f) => f.stop()));
    await Promise.all(hosts.map((h) => h.stop()));
    await store.quit().catch(() => undefined);
  }
}

function cpuMs(pid: number): number {
  const { user, system } = cpuTimeMs(pid);
  return user + system;
}

/** Until Redis holds `count` records under `prefix`: each relay writes its peers' as they register. */
async function registryHolds(store: Store, prefix: string, count: number): Promise<void> {
  const deadline = Date.now() + REGISTRY_TIMEOUT_MS;
  for (;;) {
    const held = await store.zCard(`${prefix}fingerprints`);
    if (held === count) return;
    if (Date.now() > deadline) throw new Error(`Redis holds ${held} records of the cluster's ${count} peers ${REGISTRY_TIMEOUT_MS / 1000} s after the last registered`);
    await sleep(200);
  }
}

/** Until every relay is in the cluster: one that left (Redis failed it) joins again at its next heartbeat. */
async function allJoined(members: readonly MemoryHost[]): Promise<void> {
  const deadline = Date.now() + REJOIN_TIMEOUT_MS;
  for (;;) {
    const counts = await Promise.all(members.map((h) => h.count()));
    const out = counts.flatMap((c, i) => (c.cluster?.state === 'joined' ? [] : [`${members[i]!.label} (${c.cluster?.state ?? 'no cluster'})`]));
    if (out.length === 0) return;
    if (Date.now() > deadline) throw new Error(`not in the cluster ${REJOIN_TIMEOUT_MS / 1000} s after the last registration: ${out.join(', ')}`);
    await sleep(200);
  }
}

/** What redis-server holds (used_memory) and its resident size, in KiB, and the CPU it has used (ms). */
async function redisState(store: Store): Promise<{ usedKiB: number; rssKiB: number; cpuMs: number }> {
  const info = await store.info('memory') + await store.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? NaN);
  return { usedKiB: field('used_memory') / KiB, rssKiB: field('used_memory_rss') / KiB, cpuMs: (field('used_cpu_user') + field('used_cpu_sys')) * 1000 };
}

function result(perRelay: number, fitText: string, m: Measured, throughput: CrossRelayRuns): BenchResult {
  const grown = (h: Held) => h.after.rssKiB - h.before.rssKiB;
  const heap = (h: Held) => (h.after.usage.heapUsed - h.before.usage.heapUsed) / KiB;
  const clusterPeers = perRelay * m.cluster.length;
  const ours = m.cluster.reduce((sum, h) => sum + grown(h), 0) / clusterPeers;
  const baseline = grown(m.lone) / perRelay;
  const mbps = (runs: Run[]) => summarize(runs.map((r) => r.mbps)).median;
  const cpu = (runs: Run[]) => round(summarize(runs.map((r) => r.relayCpuMsPerGB)).median, 0);
  const { bench: _, ...tput } = throughputResult(BENCH, mbps(throughput.ours), mbps(throughput.baseline), {
    runs: THROUGHPUT_RUNS,
    warmupRuns: THROUGHPUT_WARMUP_RUNS,
    bytesPerRun: TOTAL_BYTES,
  });
  return {
    bench: BENCH,
    ours: round(ours, 2),
    baseline: round(baseline, 2),
    ratio: round(ours / baseline, 2),
    better: 'lower',
    unit: 'KiB per peer',
    runs: 1,
    statistic: `VmRSS after - before, divided by peers: before once V8's memory reducer had given back what start-up grew, after ${QUIET_MS / 1000} s of quiet, each right after two full GCs; the three relays of the cluster together against the lone relay`,
    // Relays read at start before V8 had given back what start-up grew (a cluster's: 30 MiB): none, or say so.
    unsettled: m.unsettled,
    // Times each relay of the cluster left it during the run (and joined again), and why the last time.
    clusterLeft: m.left,
    clusterLeftWhy: m.whyLeft,
    goal: 'ratio <= 1.2',
    peersPerRelay: perRelay,
    clusterPeers,
    peersFit: fitText,
    clusterKiBPerPeerByRelay: m.cluster.map((h) => round(grown(h) / perRelay, 2)),
    clusterBeforeKiB: m.cluster.map((h) => h.before.rssKiB),
    clusterAfterKiB: m.cluster.map((h) => h.after.rssKiB),
    loneBeforeKiB: m.lone.before.rssKiB,
    loneAfterKiB: m.lone.after.rssKiB,
    // A relay of the cluster holding its peers against the lone one holding as many, fixed costs included.
    afterRatio: round(m.cluster.reduce((sum, h) => sum + h.after.rssKiB, 0) / m.cluster.length / m.lone.after.rssKiB, 2),
    clusterJsHeapKiBPerPeer: round(m.cluster.reduce((sum, h) => sum + heap(h), 0) / clusterPeers, 2),
    loneJsHeapKiBPerPeer: round(heap(m.lone) / perRelay, 2),
    clusterRegisterSeconds: m.cluster.map((h) => round(h.fill.connectMs / 1000, 1)),
    loneRegisterSeconds: round(m.lone.fill.connectMs / 1000, 1),
    registerRetries: m.cluster.reduce((sum, h) => sum + h.fill.retries, m.lone.fill.retries),
    // CPU while the peers registered (with the cluster's TTL refreshes meanwhile), per peer.
    clusterRegisterCpuMsPerPeer: round(m.cluster.reduce((sum, h) => sum + h.fill.cpuMs, 0) / clusterPeers, 3),
    loneRegisterCpuMsPerPeer: round(m.lone.fill.cpuMs / perRelay, 3),
    redisRegisterCpuMsPerPeer: round(m.redis.cpuMs / clusterPeers, 3),
    redisKiBPerPeer: round(m.redis.usedKiB / clusterPeers, 2),
    redisRssMiB: round(m.redis.rssKiB / KiB, 1),
    redisVersion: m.redisVersion,
    lookupByNickname: m.lookups.nickname,
    lookupByFingerprintPrefix: { ...m.lookups.prefix, prefixCharacters: PREFIX_CHARACTERS },
    lookupClientsPerRelay: LOOKUP_CLIENTS_PER_RELAY,
    throughput: {
      ...tput,
      goal: 'ratio >= 0.9',
      senderWriteBytes: WRITE_BYTES,
      oursRunsMBps: throughput.ours.map((r) => round(r.mbps, 1)),
      baselineRunsMBps: throughput.baseline.map((r) => round(r.mbps, 1)),
      oursRelayCpuMsPerGB: cpu(throughput.ours),
      baselineRelayCpuMsPerGB: cpu(throughput.baseline),
      oursSetup: 'p2p-chat relay --cluster processes A and B on one Redis; the receiver registered on A, the dialler on B: B passes the dial to A over Redis, the dialler opens its data connection at session.relay (A), spliced on A',
      baselineSetup: 'the same relays, the dialler on A too: dialled and spliced on A',
    },
    openFiles: openFilePlan(perRelay),
    oursSetup: `${CLUSTER_RELAYS.length} RelayServers of one cluster (--cluster on one local redis-server, one key), each in its own node process as p2p-chat relay builds it (default limits but --max-connections-per-ip: all peers share 127.0.0.1); ${perRelay} idle registered RelayClients each, over ${SWARMS_PER_RELAY} client processes per relay`,
    baselineSetup: `a lone RelayServer (no --cluster) in the same kind of process, with ${perRelay} idle registered RelayClients, in the same run`,
  };
}
