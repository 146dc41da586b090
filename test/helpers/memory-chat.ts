// Whole ChatNodes in memory: every node of a MemoryChat runs on one manual clock and dials the
// others over a MemoryNetwork, so tests of reconnecting, resume windows and backoff run with no
// socket and no sleep. A node that dialled is dialled again the way Conversation does it
// (reconnector.ts), directly. close() aborts every node and removes their homes.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AppEvent } from '../../src/app/app-events.js';
import { ChatNode } from '../../src/app/chat-node.js';
import { reconnect } from '../../src/app/reconnector.js';
import type { Settings } from '../../src/defaults.js';
import { loadOrCreateIdentity } from '../../src/secure/identity-store.js';
import { KnownPeers } from '../../src/secure/known-peers.js';
import { EventLog } from './chat-nodes.js';
import { ManualClock } from './manual-clock.js';
import { MemoryNetwork } from './memory-transport.js';

/** Short timers, so that tests read in seconds: a 10 s resume window, a 3 s keepalive. */
export const MEMORY_TIMING: Partial<Settings> = {
  handshakeTimeoutMs: 5_000,
  keepaliveIntervalMs: 1_000,
  keepaliveTimeoutMs: 3_000,
  ackDelayMs: 100,
  resumeWindowMs: 10_000,
  reconnectInitialMs: 250,
  reconnectMaxMs: 5_000,
};

/** A raw PeerConnection's timers, as short as MEMORY_TIMING's. */
export const MEMORY_CONNECTION_TIMING = {
  handshakeTimeoutMs: MEMORY_TIMING.handshakeTimeoutMs!,
  keepaliveIntervalMs: MEMORY_TIMING.keepaliveIntervalMs!,
  keepaliveTimeoutMs: MEMORY_TIMING.keepaliveTimeoutMs!,
  byeGraceMs: 2_000,
  maxQueuedBytes: 1 << 22,
};

export interface MemoryPeer {
  readonly node: ChatNode;
  readonly log: EventLog;
  /** Its home: a node started again from it has the same key. */
  readonly home: string;
  /** Its address on the network. */
  readonly host: string;
}

export class MemoryChat {
  readonly clock = new ManualClock();
  readonly network = new MemoryNetwork();
  readonly #nodes: ChatNode[] = [];
  readonly #homes: string[] = [];
  /** Every node lists the feature `upgrade` (takes part in moving to a direct path). */
  readonly #upgrade: boolean;

  constructor(options: { readonly upgrade?: boolean } = {}) {
    this.#upgrade = options.upgrade === true;
  }

  /** A node at `host`; from `home` (a node's that stopped) it comes back with the same key. */
  peer(name: string, host: string, timing: Partial<Settings> = {}, home?: string): MemoryPeer {
    let dir = home;
    if (dir === undefined) {
      dir = mkdtempSync(join(tmpdir(), 'p2p-chat-node-'));
      this.#homes.push(dir);
    }
    const node = new ChatNode({
      identity: loadOrCreateIdentity(dir),
      knownPeers: KnownPeers.load(dir),
      name,
      timing: { ...MEMORY_TIMING, ...timing },
      clock: this.clock,
      transport: this.network.transport(host),
      upgrade: this.#upgrade,
    });
    node.on('suspended', (peer, error) => {
      reconnect(node, peer, error, { mode: 'direct-only', directory: undefined, relay: () => undefined, emit: (event) => node.emit('event', event) });
    });
    this.#nodes.push(node);
    return { node, log: new EventLog(node), home: dir, host };
  }

  /** A node listening at host:5050. */
  async listener(name: string, host: string, timing: Partial<Settings> = {}, home?: string): Promise<MemoryPeer> {
    const peer = this.peer(name, host, timing, home);
    await peer.node.listen(host, 5050, false);
    return peer;
  }

  /** Bob listening at 192.0.2.1, alice at 192.0.2.2 connected to him; `timing` overrides each one's settings. */
  async pair(timing: { readonly alice?: Partial<Settings>; readonly bob?: Partial<Settings> } = {}): Promise<{ alice: MemoryPeer; bob: MemoryPeer }> {
    const bob = await this.listener('bob', '192.0.2.1', timing.bob);
    const alice = this.peer('alice', '192.0.2.2', timing.alice);
    await this.connect(alice, bob);
    return { alice, bob };
  }

  /**
   * `listener`'s process ends at once, its last link cut (with the network down meanwhile, so that
   * nobody dials it between), and starts again from its home: the same key, none of its conversations.
   */
  async restart(listener: MemoryPeer): Promise<MemoryPeer> {
    this.network.down = true;
    this.network.last.dialler.destroy();
    listener.node.abort();
    await this.settle();
    const again = await this.listener(listener.node.name, listener.host, {}, listener.home);
    this.network.down = false;
    return again;
  }

  /** `dialler` connects to `listener`; resolves once both have it in their room. */
  async connect(dialler: MemoryPeer, listener: MemoryPeer): Promise<void> {
    await dialler.node.connect(listener.host, 5050);
    await this.until(() => listener.log.events.some((e) => e.type === 'connected' && e.fingerprint === dialler.node.fingerprint), 0);
  }

  /** Let what is in flight arrive (the streams deliver on microtasks, dials on promises), without moving the clock. */
  async settle(): Promise<void> {
    for (let i = 0; i < 20; i++) await new Promise((resolve) => setImmediate(resolve));
  }

  /** Move the clock `ms` forward in steps of `stepMs`, letting everything answer in between. */
  async run(ms: number, stepMs = 10): Promise<void> {
    const end = this.clock.now() + ms;
    await this.settle();
    while (this.clock.now() < end) {
      this.clock.advance(Math.min(stepMs, end - this.clock.now()));
      await this.settle();
    }
  }

  /** Run the clock in 10 ms steps until `done()`, for at most `maxMs`; throws if it never holds. */
  async until(done: () => boolean, maxMs: number, what = 'the condition'): Promise<void> {
    await this.settle();
    for (let passed = 0; !done(); passed += 10) {
      if (passed >= maxMs) throw new Error(`${what} did not hold within ${maxMs} ms of clock time`);
      this.clock.advance(10);
      await this.settle();
    }
  }

  close(): void {
    for (const node of this.#nodes.splice(0)) node.abort();
    for (const dir of this.#homes.splice(0)) rmSync(dir, { recursive: true, force: true });
  }
}

type Of<T extends AppEvent['type']> = Extract<AppEvent, { type: T }>;

/** The events of `type` that `peer` reported, in order. */
export function eventsOf<T extends AppEvent['type']>(peer: MemoryPeer, type: T): Array<Of<T>> {
  return peer.log.events.filter((e): e is Of<T> => e.type === type);
}

/** The texts of the chat lines `peer` received, in order. */
export function received(peer: MemoryPeer): string[] {
  return eventsOf(peer, 'message').map((e) => e.text);
}

/** The ids `peer` was told were delivered, in order. */
export function delivered(peer: MemoryPeer): string[] {
  return eventsOf(peer, 'delivered').map((e) => e.id);
}

/** `peer` says each line; returns their ids. */
export function say(peer: MemoryPeer, ...texts: string[]): string[] {
  return texts.map((text) => peer.node.say(text).id);
}
