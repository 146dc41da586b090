// A network lab in Linux namespaces for tests that need real addresses, LANs and multicast. LANs
// are bridges inside the lab's own "switch" namespace and hosts are namespaces wired to them by
// veth pairs, so nothing touches the machine's own network and no lab has a route to the outside.
//
// Names: every namespace starts with the lab's prefix (`p2p` + 4 hex), e.g. `p2p1a2b-sw`,
// `p2p1a2b-alice`. Interfaces live only inside lab namespaces: bridges `<prefix>b<n>`, switch-side
// veth ends `<prefix>h<n>`, host-side ends `eth0`, `eth1`, ... (all within the 15-char limit).
// A router is one more node kind: a namespace on two LANs (eth0 inside, eth1 outside), set up by
// netlab-router.ts; hosts behind it get `gateway` as default route. A LAN may instead have one-way
// latency (netlab-delay.ts): its veths' lab ends then sit in a hub namespace `<prefix>-hub-<n>`
// and meet through delay-hub.py, started by startDelayHub() once every node is wired to it.

import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hostOn, labNetwork, type Ipv4Network } from './lab-address.js';
import { netlabUnavailable } from './netlab-available.js';
import { DelayHub, delayHubUnavailable } from './netlab-delay.js';
import { configureRouter, ROUTER_KINDS, type LabRouter, type RouterKind, type RouterOptions } from './netlab-router.js';
import { PeerProcess } from './peer-process.js';
import { CommandError, runCommand } from './run-command.js';

export { netlabSkip, netlabUnavailable, requireNetlab } from './netlab-available.js';
export { delayHubSkip, delayHubUnavailable } from './netlab-delay.js';
export { routerRuleset, type LabRouter, type RouterKind, type RouterOptions } from './netlab-router.js';

const NAME_PATTERN = /^[a-z][a-z0-9]{0,15}$/;
const SWITCH = 'sw';
const EXIT_TIMEOUT_MS = 10_000;

interface Lan {
  readonly name: string;
  /** The bridge in the switch namespace; none on a delayed LAN. */
  readonly bridge: string | undefined;
  readonly network: Ipv4Network;
  readonly addresses: Set<number>;
  readonly delay: DelayedSegment | undefined;
}

/** A delayed LAN's hub namespace, the veth ends in it, and its hub once started. */
interface DelayedSegment {
  readonly namespace: string;
  readonly delayMs: number;
  readonly ports: string[];
  hub: DelayHub | undefined;
}

export interface LabInterface {
  /** Interface name inside the node's namespace, e.g. `eth0`. */
  readonly name: string;
  readonly lan: string;
  /** Address without prefix length, e.g. `192.0.2.11`. */
  readonly address: string;
}

export interface LabHost {
  readonly name: string;
  readonly namespace: string;
  /** Address on its LAN, without prefix length. */
  readonly address: string;
  readonly interfaces: readonly LabInterface[];
}

/** A home for addHome(): `lan` is the first three octets of its /24, e.g. `192.168.1`. */
export interface LabHome {
  readonly host: string;
  readonly router: string;
  readonly kind: RouterKind;
  readonly lan: string;
  /** The router's address on the outer LAN, where the home's traffic appears to come from. */
  readonly outside: string;
}

export interface SpawnPeerOptions {
  /** Home for the CLI; a fresh temporary one (removed by destroy()) by default. */
  home?: string;
  env?: NodeJS.ProcessEnv;
}

const labs = new Set<Netlab>();

// Last resort when the test process dies without running after(): only synchronous work is
// possible here. A signal is turned into exit so the 'exit' handler runs.
process.once('exit', () => {
  for (const lab of labs) lab.destroyNow();
});
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => process.exit(1));
}

async function uniquePrefix(): Promise<string> {
  const existing = (await runCommand('ip', ['netns', 'list'])).split('\n').map((line) => line.split(' ')[0] ?? '');
  for (let i = 0; i < 16; i++) {
    const prefix = `p2p${randomBytes(2).toString('hex')}`;
    if (!existing.some((ns) => ns.startsWith(prefix))) return prefix;
  }
  throw new Error('netlab: no free namespace prefix after 16 tries');
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function killPids(stdout: string): number {
  let count = 0;
  for (const pid of stdout.split(/\s+/).filter(Boolean).map(Number)) {
    if (pid === process.pid) continue;
    try {
      process.kill(pid, 'SIGKILL');
      count++;
    } catch {
      // exited meanwhile
    }
  }
  return count;
}

export class Netlab {
  readonly prefix: string;
  readonly #namespaces: string[] = [];
  readonly #lans = new Map<string, Lan>();
  readonly #hosts = new Map<string, LabHost>();
  readonly #routers = new Map<string, LabRouter>();
  readonly #peers = new Set<PeerProcess>();
  readonly #hubs: DelayHub[] = [];
  readonly #homes: string[] = [];
  #links = 0;
  #teardown: Promise<void> | undefined;

  private constructor(prefix: string) {
    this.prefix = prefix;
  }

  /** A new, empty lab with its switch namespace; throws with the reason when netlab cannot run here. */
  static async create(): Promise<Netlab> {
    const reason = await netlabUnavailable();
    if (reason !== undefined) throw new Error(`netlab unavailable: ${reason}`);
    const lab = new Netlab(await uniquePrefix());
    labs.add(lab);
    await lab.#addNamespace(lab.#ns(SWITCH));
    return lab;
  }

  /** Namespace names this lab created (and has not yet deleted). */
  get namespaces(): readonly string[] {
    return [...this.#namespaces];
  }

  /**
   * A LAN: a bridge in the switch namespace. `cidr` must be TEST-NET or private, e.g. 192.0.2.0/24.
   * With `delayMs`, a segment where every frame takes that long from one node to another (each
   * node's side of it has transmit checksum offload off, which the hub needs); wire every node to
   * it, then startDelayHub(name). Fails with the reason where the hub cannot run.
   */
  async addLan(name: string, cidr: string, options: { delayMs?: number } = {}): Promise<void> {
    if (this.#lans.has(name)) throw new Error(`netlab: LAN '${name}' exists`);
    const network = labNetwork(cidr);
    if (options.delayMs !== undefined) return this.#addDelayedLan(name, network, options.delayMs);
    const bridge = `${this.prefix}b${this.#lans.size}`;
    const sw = this.#ns(SWITCH);
    // No snooping: without an IGMP querier on the LAN it would stop multicast reaching listeners.
    await this.#ip(['-n', sw, 'link', 'add', bridge, 'type', 'bridge', 'mcast_snooping', '0']);
    await this.#ip(['-n', sw, 'link', 'set', bridge, 'up']);
    this.#lans.set(name, { name, bridge, network, addresses: new Set(), delay: undefined });
  }

  async #addDelayedLan(name: string, network: Ipv4Network, delayMs: number): Promise<void> {
    if (!(Number.isInteger(delayMs) && delayMs > 0)) throw new Error(`netlab: delay ${delayMs} ms is not a positive integer`);
    const reason = await delayHubUnavailable();
    if (reason !== undefined) throw new Error(`netlab: LAN '${name}' needs the delay hub: ${reason}`);
    // Node names cannot hold a '-', so this cannot meet a host's namespace.
    const namespace = `${this.#ns('hub')}-${this.#lans.size}`;
    await this.#addNamespace(namespace);
    const delay: DelayedSegment = { namespace, delayMs, ports: [], hub: undefined };
    this.#lans.set(name, { name, bridge: undefined, network, addresses: new Set(), delay });
  }

  /** Start the hub of a delayed LAN, over every node wired to it so far (none may join later). */
  async startDelayHub(lan: string): Promise<void> {
    const delay = this.#lan(lan).delay;
    if (!delay) throw new Error(`netlab: LAN '${lan}' has no delay`);
    if (delay.hub) throw new Error(`netlab: the delay hub of '${lan}' runs already`);
    delay.hub = await DelayHub.start(delay.namespace, delay.delayMs, delay.ports);
    this.#hubs.push(delay.hub);
  }

  /**
   * A host on one LAN: its own namespace with `lo` up, `eth0` holding `address` (e.g.
   * `192.0.2.11/24`), and a multicast route for mDNS. No default route (it reaches its LAN only)
   * unless `gateway` names an address on that LAN, normally a router's inside address: then
   * `default via gateway`, and it reaches whatever that router reaches, which is still only the lab.
   */
  async addHost(name: string, options: { lan: string; address: string; gateway?: string }): Promise<LabHost> {
    const lan = this.#lan(options.lan);
    const gateway = options.gateway === undefined ? undefined : hostOn(lan.network, options.gateway).address;
    if (gateway !== undefined && gateway === hostOn(lan.network, options.address).address) {
      throw new Error(`netlab: host '${name}' cannot be its own gateway`);
    }
    const ns = await this.#addNode(name);
    const iface = await this.#attach(ns, lan, options.address, 0);
    await this.#ip(['-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', iface.name]);
    if (gateway !== undefined) await this.#ip(['-n', ns, 'route', 'add', 'default', 'via', gateway, 'dev', iface.name]);
    const host: LabHost = { name, namespace: ns, address: iface.address, interfaces: [iface] };
    this.#hosts.set(name, host);
    return host;
  }

  host(name: string): LabHost {
    const host = this.#hosts.get(name);
    if (!host) throw new Error(`netlab: no host '${name}'`);
    return host;
  }

  /**
   * A router between two LANs (see RouterKind): eth0 on `inside`, eth1 on `outside`, IPv4
   * forwarding on, and the kind's nftables table. It has no default route: it forwards between its
   * two LANs only, so a home behind it reaches the outer LAN and nothing beyond.
   */
  async addRouter(name: string, options: RouterOptions): Promise<LabRouter> {
    const inLan = this.#lan(options.inside.lan);
    const outLan = this.#lan(options.outside.lan);
    if (inLan === outLan) throw new Error(`netlab: router '${name}' needs two different LANs`);
    if (!ROUTER_KINDS.includes(options.kind)) throw new Error(`netlab: unknown router kind '${String(options.kind)}'`);
    const ns = await this.#addNode(name);
    const inside = await this.#attach(ns, inLan, options.inside.address, 0);
    const outside = await this.#attach(ns, outLan, options.outside.address, 1);
    const ruleset = await configureRouter(ns, options.kind, outside.name);
    const router: LabRouter = { name, namespace: ns, kind: options.kind, inside, outside, ruleset };
    this.#routers.set(name, router);
    return router;
  }

  /**
   * A home behind a router: LAN `home<host>` on `<lan>.0/24`, router `router` of `kind` at
   * `<lan>.1` inside and `outside` on `outerLan`, and host `host` at `<lan>.10` using it as gateway.
   */
  async addHome(home: LabHome, outerLan: string): Promise<void> {
    const lan = `home${home.host}`;
    await this.addLan(lan, `${home.lan}.0/24`);
    await this.addRouter(home.router, {
      inside: { lan, address: `${home.lan}.1/24` },
      outside: { lan: outerLan, address: `${home.outside}/24` },
      kind: home.kind,
    });
    await this.addHost(home.host, { lan, address: `${home.lan}.10/24`, gateway: `${home.lan}.1` });
  }

  router(name: string): LabRouter {
    const router = this.#routers.get(name);
    if (!router) throw new Error(`netlab: no router '${name}'`);
    return router;
  }

  /** `p2p-chat --home <temp> ...args` inside the host's namespace. */
  spawnPeer(host: string, args: string[], options: SpawnPeerOptions = {}): PeerProcess {
    const home = options.home ?? this.tempHome();
    return this.#track(new PeerProcess(args, { home, netns: this.host(host).namespace, env: options.env }));
  }

  /** `node script ...args` inside the host's namespace, with the same line/event API as a peer. */
  spawnScript(host: string, script: string, args: string[] = [], options: { env?: NodeJS.ProcessEnv } = {}): PeerProcess {
    return this.#track(new PeerProcess(args, { script, netns: this.host(host).namespace, env: options.env }));
  }

  /** Run a one-off command inside a host's or router's namespace; resolves with stdout, throws with stderr. */
  exec(node: string, command: string, args: string[] = [], timeoutMs?: number): Promise<string> {
    const namespace = (this.#hosts.get(node) ?? this.#routers.get(node))?.namespace;
    if (namespace === undefined) throw new Error(`netlab: no host or router '${node}'`);
    return runCommand('ip', ['netns', 'exec', namespace, command, ...args], timeoutMs);
  }

  /**
   * Kill every process in the lab's namespaces, delete the namespaces (which removes their veths
   * and bridges) and the temporary homes. Safe to call more than once; later calls share the first.
   */
  /** Destroy the lab, then list any of its namespaces still present (a test asserts none are). */
  async destroyAndList(): Promise<string[]> {
    await this.destroy();
    const names = (await runCommand('ip', ['netns', 'list'])).split('\n').map((line) => line.split(' ')[0] ?? '');
    return names.filter((name) => name.startsWith(this.prefix));
  }

  destroy(): Promise<void> {
    return (this.#teardown ??= this.#destroy());
  }

  /** Synchronous best-effort destroy, for process exit. */
  destroyNow(): void {
    for (const peer of this.#peers) peer.kill();
    for (const hub of this.#hubs) hub.stopNow();
    // Every namespace with our prefix, not only those recorded: one whose `add` had not returned
    // yet is ours too (the prefix was free when the lab began).
    const names = new Set(this.#namespaces);
    try {
      for (const line of execFileSync('ip', ['netns', 'list'], { encoding: 'utf8', timeout: 5_000 }).split('\n')) {
        const ns = line.split(' ')[0] ?? '';
        if (ns.startsWith(`${this.prefix}-`)) names.add(ns);
      }
    } catch {
      // best effort: the process is exiting
    }
    for (const ns of names) {
      // Apart: a namespace whose processes could not be listed is still deleted.
      try {
        killPids(execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8', timeout: 5_000 }));
      } catch {
        // best effort
      }
      try {
        execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5_000 });
      } catch {
        // best effort
      }
    }
    for (const dir of this.#homes) rmSync(dir, { recursive: true, force: true });
  }

  async #destroy(): Promise<void> {
    const problems: string[] = [];
    for (const peer of this.#peers) peer.kill();
    // Bounded: a peer that ignores SIGKILL is dealt with by #emptyNamespace below.
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, EXIT_TIMEOUT_MS);
    });
    await Promise.race([Promise.all([...this.#peers].map((peer) => peer.exited)), timeout]);
    clearTimeout(timer);
    for (const hub of this.#hubs.splice(0)) await hub.stop().catch((error: Error) => problems.push(error.message));
    for (const ns of [...this.#namespaces].reverse()) {
      try {
        await this.#emptyNamespace(ns);
        await this.#ip(['netns', 'del', ns]);
        this.#namespaces.splice(this.#namespaces.indexOf(ns), 1);
      } catch (error) {
        problems.push((error as Error).message);
      }
    }
    for (const dir of this.#homes.splice(0)) rmSync(dir, { recursive: true, force: true });
    if (problems.length === 0) labs.delete(this);
    else throw new Error(`netlab ${this.prefix}: cleanup incomplete:\n${problems.join('\n')}`);
  }

  /** SIGKILL whatever still runs in `ns` (grandchildren included) and wait until it is gone. */
  async #emptyNamespace(ns: string): Promise<void> {
    const deadline = Date.now() + EXIT_TIMEOUT_MS;
    for (;;) {
      let pids: string;
      try {
        pids = await this.#ip(['netns', 'pids', ns]);
      } catch (error) {
        if (error instanceof CommandError && /No such file/i.test(error.stderr)) return;
        throw error;
      }
      if (pids.trim() === '') return;
      killPids(pids);
      if (Date.now() > deadline) throw new Error(`netlab: processes ${pids.trim()} in ${ns} survived SIGKILL`);
      await sleep(50);
    }
  }

  async #addNode(name: string): Promise<string> {
    if (!NAME_PATTERN.test(name) || name === SWITCH) {
      throw new Error(`netlab: node name '${name}' must match ${NAME_PATTERN} and not be '${SWITCH}'`);
    }
    if (this.#hosts.has(name) || this.#routers.has(name)) throw new Error(`netlab: node '${name}' exists`);
    const ns = this.#ns(name);
    await this.#addNamespace(ns);
    return ns;
  }

  /** Wire `ns` to a LAN: a veth pair whose lab end joins the bridge and whose other end is eth<index>. */
  async #attach(ns: string, lan: Lan, address: string, index: number): Promise<LabInterface> {
    const ip = hostOn(lan.network, address);
    if (lan.addresses.has(ip.value)) throw new Error(`netlab: ${ip.address} is already used on LAN '${lan.name}'`);
    if (lan.delay?.hub) throw new Error(`netlab: LAN '${lan.name}' is running its delay hub; wire nodes to it before`);
    lan.addresses.add(ip.value);
    const port = `${this.prefix}h${this.#links++}`;
    const name = `eth${index}`;
    const labSide = lan.delay?.namespace ?? this.#ns(SWITCH);
    await this.#ip(['-n', labSide, 'link', 'add', port, 'type', 'veth', 'peer', 'name', name, 'netns', ns]);
    if (lan.bridge !== undefined) await this.#ip(['-n', labSide, 'link', 'set', port, 'master', lan.bridge, 'up']);
    else await this.#ip(['-n', labSide, 'link', 'set', port, 'up']);
    await this.#ip(['-n', ns, 'addr', 'add', `${ip.address}/${ip.bits}`, 'dev', name]);
    await this.#ip(['-n', ns, 'link', 'set', name, 'up']);
    if (lan.delay) {
      // The hub copies frames as the node sent them, before a NIC would have filled in checksums.
      await runCommand('ip', ['netns', 'exec', ns, 'ethtool', '-K', name, 'tx', 'off']);
      lan.delay.ports.push(port);
    }
    return { name, lan: lan.name, address: ip.address };
  }

  async #addNamespace(ns: string): Promise<void> {
    // Recorded only once `add` succeeded: a failed add may mean the name is someone else's.
    await this.#ip(['netns', 'add', ns]);
    this.#namespaces.push(ns);
    await this.#ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  #lan(name: string): Lan {
    const lan = this.#lans.get(name);
    if (!lan) throw new Error(`netlab: no LAN '${name}'`);
    return lan;
  }

  #ns(node: string): string {
    return `${this.prefix}-${node}`;
  }

  #ip(args: string[]): Promise<string> {
    return runCommand('ip', args);
  }

  #track(peer: PeerProcess): PeerProcess {
    this.#peers.add(peer);
    void peer.exited.then(() => this.#peers.delete(peer));
    return peer;
  }

  /** A fresh home that destroy() removes; pass it to several peers to give them one identity. */
  tempHome(): string {
    const dir = mkdtempSync(join(tmpdir(), `p2p-chat-${this.prefix}-`));
    this.#homes.push(dir);
    return dir;
  }
}
