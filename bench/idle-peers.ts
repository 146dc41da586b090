// Servers whose memory is measured (relay-memory-host.ts: a relay, one of a cluster, or a raw TCP
// server) and the thousands of idle peers they hold, spread over peer-swarm.ts processes: the
// pieces of `relay-idle-peers-rss` and `relay-cluster`. Every wait is bounded; a fill that stalls
// is reported with each process's CPU use, which tells a deadlock from an overload.

import { readFileSync } from 'node:fs';
import { freemem } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { Log } from './bench-result.js';
import { cpuTimeMs, openFileLimits, spawnNode, vmRssKiB } from './children.js';
import { IpcChild } from './ipc-child.js';
import type { HostKind, HostReply } from './relay-memory-host.js';
import type { SwarmPeer, SwarmReply, SwarmStart } from './peer-swarm.js';

/** The relay keeps this many descriptors spare (RELAY_DEFAULTS.fdHeadroom) plus our own margin. */
const FD_MARGIN = 1_024;
const START_TIMEOUT_MS = 10_000;
/** Every swarm must report progress (each PROGRESS_EVERY peers) at least this often. */
const STALL_TIMEOUT_MS = 30_000;
const REPLY_TIMEOUT_MS = 10_000;
/** After the last peer registered, let handshakes' garbage and timers settle before measuring. */
export const SETTLE_MS = 2_000;
/** How often settledMemory() asks whether V8's memory reducer has run yet. */
const SETTLE_POLL_MS = 500;
/** Connections each swarm has in progress at once: 128 for two, under the default backlog of 511. */
const CONCURRENCY_PER_SWARM = 64;

const HOST_SCRIPT = fileURLToPath(new URL('./relay-memory-host.js', import.meta.url));
const SWARM_SCRIPT = fileURLToPath(new URL('./peer-swarm.js', import.meta.url));

/** How the open-file limit is met for processes holding `connections`, in words. */
export function openFilePlan(connections: number): string {
  const limits = openFileLimits();
  const needed = connections + FD_MARGIN;
  // Node raises its soft limit to the hard one at startup, so this is usually the hard limit.
  return limits.soft >= needed
    ? `open-file limit ${limits.soft} >= ${needed} needed per process, used as is`
    : `open-file limit ${limits.soft} < ${needed} needed: children started through sh -c 'ulimit -n ${needed}'` +
        (limits.hard < needed ? ` (above the hard limit ${limits.hard}: needs root with CAP_SYS_RESOURCE)` : '');
}

/**
 * Memory the processes of a fill use per peer, all together (relay and swarm, about 12 and
 * 20 KiB measured), with room to spare: what the machine must have free.
 */
const FREE_MEMORY_PER_PEER = 64 * 1024;

/**
 * How many of `wanted` idle peers each of `servers` can hold at once on this machine, in whole
 * thousands, and what limits it when fewer: the open files of one process (raised through ulimit
 * up to the hard limit, beyond it only as root), the ephemeral ports (every peer dials from
 * 127.0.0.1 to its server's one port, so each of a server's peers needs a port of its own), and
 * free memory.
 */
export function idlePeersThatFit(wanted: number, servers: number): { readonly peers: number; readonly limitedBy?: string } {
  const { hard } = openFileLimits();
  const root = process.getuid?.() === 0;
  const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
  const ports = (high ?? 0) - (low ?? 0) + 1;
  const room = [
    { peers: root ? Number.POSITIVE_INFINITY : hard - FD_MARGIN, why: `the open-file limit (hard limit ${hard}, not root)` },
    { peers: ports - FD_MARGIN, why: `the ephemeral ports (${ports}: net.ipv4.ip_local_port_range ${low}-${high})` },
    { peers: freemem() / FREE_MEMORY_PER_PEER / servers, why: `free memory (${Math.round(freemem() / 2 ** 20)} MiB)` },
  ];
  const tightest = room.reduce((a, b) => (b.peers < a.peers ? b : a));
  if (tightest.peers >= wanted) return { peers: wanted };
  return { peers: Math.max(1_000, Math.floor(tightest.peers / 1_000) * 1_000), limitedBy: tightest.why };
}

export interface HostMemory {
  /** VmRSS of the host process. */
  readonly rssKiB: number;
  readonly usage: NodeJS.MemoryUsage;
}

/** One relay-memory-host.ts process, listening. */
export class MemoryHost {
  readonly #child: IpcChild<HostReply>;
  readonly port: number;
  readonly fingerprint: string;
  readonly fdLimit: number;

  private constructor(child: IpcChild<HostReply>, listening: Extract<HostReply, { type: 'listening' }>) {
    this.#child = child;
    this.port = listening.port;
    this.fingerprint = listening.fingerprint;
    this.fdLimit = listening.fdLimit;
  }

  /**
   * A host of `kind` with its identity in `home` (hosts given one home share the key), open files
   * for `peers`; with `cluster`, a relay of the cluster on that Redis under that key prefix.
   */
  static async start(kind: HostKind, home: string, options: { peers: number; label: string; cluster?: { url: string; prefix: string } }): Promise<MemoryHost> {
    const clusterArgs = options.cluster ? [options.cluster.url, options.cluster.prefix] : [];
    const child = new IpcChild<HostReply>(
      spawnNode(HOST_SCRIPT, [kind, home, ...clusterArgs], {
        execArgv: ['--expose-gc'],
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
        openFiles: options.peers + FD_MARGIN,
      }),
      options.label,
    );
    try {
      return new MemoryHost(child, await child.waitFor('listening', START_TIMEOUT_MS, 'listening'));
    } catch (err) {
      await child.stop();
      throw err;
    }
  }

  get label(): string {
    return this.#child.label;
  }

  get pid(): number {
    return this.#child.pid;
  }

  /** Rejects once the process has exited. */
  get failed(): Promise<never> {
    return this.#child.failed;
  }

  /** Its VmRSS and memoryUsage(), after two full collections if `gc`. */
  async memory(gc: boolean): Promise<HostMemory> {
    const reply = await this.#child.request({ type: 'memory', gc }, 'memory', REPLY_TIMEOUT_MS, 'memory usage');
    return { rssKiB: vmRssKiB(this.pid), usage: reply.usage };
  }

  /**
   * Its memory once V8 has given back what start-up grew: loading grows V8's heap (the Redis client
   * of a relay of a cluster by some 30 MiB), which only its memory reducer gives back, after some
   * 8 s of quiet (later on a busy machine); a forced collection does not. So: poll, without
   * collecting, until the reducer has run, let the pages go, then read after two full collections.
   * `settled` is false if it had not run within `timeoutMs` (the reading is taken all the same).
   */
  async settledMemory(timeoutMs: number): Promise<HostMemory & { readonly settled: boolean }> {
    const deadline = Date.now() + timeoutMs;
    let settled = false;
    while (!settled && Date.now() < deadline) {
      const reply = await this.#child.request({ type: 'memory', gc: false }, 'memory', REPLY_TIMEOUT_MS, 'memory usage');
      settled = reply.reducerCollections > 0;
      if (!settled) await sleep(SETTLE_POLL_MS);
    }
    await sleep(SETTLE_MS);
    return { ...(await this.memory(true)), settled };
  }

  count(): Promise<Extract<HostReply, { type: 'count' }>> {
    return this.#child.request({ type: 'count' }, 'count', REPLY_TIMEOUT_MS, 'connection count');
  }

  /** SIGTERM, then SIGKILL: its connections close with it. */
  stop(): Promise<void> {
    return this.#child.stop();
  }
}

export interface IdlePeersOptions {
  readonly kind: HostKind;
  readonly peers: number;
  readonly swarms: number;
  /** Prefix of the peers' nicknames; swarm i adds `i-`. */
  readonly namePrefix: string;
  /** Peers per swarm to name in the result (for lookups). */
  readonly sample?: number;
  readonly log: Log;
  /** What progress lines start with. */
  readonly label: string;
}

export interface IdleFill {
  /** From the first connection to the last peer registered, of the slowest swarm. */
  readonly connectMs: number;
  /** Generating the peers' keys, in the slowest swarm (before connecting). */
  readonly keysMs: number;
  readonly retries: number;
  readonly sample: readonly SwarmPeer[];
}

/** `peers` idle peers of `host`, spread over `swarms` processes, until stop(). */
export class IdlePeers {
  readonly #host: MemoryHost;
  readonly #options: IdlePeersOptions;
  readonly #swarms: Array<IpcChild<SwarmReply>> = [];

  constructor(host: MemoryHost, options: IdlePeersOptions) {
    this.#host = host;
    this.#options = options;
    const openFiles = options.peers / options.swarms + FD_MARGIN;
    for (let i = 0; i < options.swarms; i++) {
      const child = spawnNode(SWARM_SCRIPT, [], { stdio: ['ignore', 'ignore', 'pipe', 'ipc'], openFiles });
      this.#swarms.push(new IpcChild<SwarmReply>(child, `${options.label}: peer swarm ${i + 1}`));
    }
  }

  /** Connect and register them all; resolves once the host counts every one. */
  async fill(): Promise<IdleFill> {
    const { kind, peers, log, label } = this.#options;
    const host = this.#host;
    const share = peers / this.#swarms.length;
    const progress = new Map<IpcChild<SwarmReply>, number>();
    let keysMs = 0;
    let lastLogged = 0;
    const readies = this.#swarms.map((swarm, i) => {
      swarm.onMessage((m) => {
        if (m.type === 'keys') keysMs = Math.max(keysMs, m.ms);
        if (m.type !== 'progress') return;
        progress.set(swarm, m.done);
        const total = [...progress.values()].reduce((a, b) => a + b, 0);
        if (total - lastLogged >= 2_500) {
          lastLogged = total;
          log(`  ${label}: ${total}/${peers} peers connected`);
        }
      });
      const ready = untilReady(swarm);
      swarm.send({
        type: 'start',
        kind,
        port: host.port,
        count: share,
        concurrency: CONCURRENCY_PER_SWARM,
        relayFingerprint: host.fingerprint,
        namePrefix: `${this.#options.namePrefix}${i}-`,
        sample: this.#options.sample ?? 0,
      } satisfies SwarmStart);
      return ready;
    });
    const ready = await Promise.race([Promise.all(readies), host.failed]).catch(async (err: Error) => {
      // A stuck process that uses no CPU is deadlocked, one at 100 % is overloaded: say which.
      const count = await host.count().catch(() => undefined);
      const held = count ? `; ${host.label} holds ${count.peers} peers (${count.connections} connections, ${count.rejected} rejected)` : '';
      throw new Error(`${err.message}${held}; CPU use over the next second: ${await cpuReport([host, ...this.#swarms])}`);
    });
    // A client's connect completes before the server accepts it from its backlog: let it catch up.
    const countDeadline = Date.now() + REPLY_TIMEOUT_MS;
    for (;;) {
      const count = await host.count();
      if (count.peers === peers) break;
      if (Date.now() > countDeadline) {
        throw new Error(`${host.label} holds ${count.peers} peers (${count.connections} connections, ${count.rejected} rejected), expected ${peers}`);
      }
      await sleep(100);
    }
    return {
      connectMs: Math.max(...ready.map((r) => r.ms)),
      keysMs,
      retries: ready.reduce((sum, r) => sum + r.retries, 0),
      sample: ready.flatMap((r) => r.sample),
    };
  }

  /** The swarms exit, and their peers' connections close with them. */
  async stop(): Promise<void> {
    await Promise.all(this.#swarms.map((s) => s.stop()));
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
