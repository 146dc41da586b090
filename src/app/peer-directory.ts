// The peers this node can see on the LAN: LanDiscovery's raw services, validated into
// DiscoveredPeers, minus ourselves, marked against known-peers, and searchable by nickname or
// fingerprint prefix for `connect <name>` and `/connect`.

import { EventEmitter } from 'node:events';
import { SYSTEM_CLOCK, type Clock, type Timer } from '../clock.js';
import { DEFAULTS, type Settings } from '../defaults.js';
import type { P2PChatError } from '../errors.js';
import { orderAddresses } from '../net/address-order.js';
import { interfaceFor } from '../net/interface-for.js';
import { LanDiscovery, type HeardPeer } from '../net/lan-discovery.js';
import { fingerprintMatches } from '../secure/fingerprint.js';
import type { KnownPeers } from '../secure/known-peers.js';
import type { AppEvent, LanPeer } from './app-events.js';
import { instanceName, parseHeardService, SERVICE_TYPE, txtRecord, type Announcement, type DiscoveredPeer } from './peer-announcement.js';

export interface DirectoryEntry extends DiscoveredPeer {
  /** This key has been talked to before. */
  readonly known: boolean;
  /** Other keys known under this nickname: a possible impostor, or the same person on a new device. */
  readonly nameClaimedBy: readonly string[];
}

export type PeerEvent = Extract<AppEvent, { type: 'peer-up' | 'peer-down' }>;

export class PeerDirectory extends EventEmitter<{ event: [PeerEvent]; error: [P2PChatError] }> {
  readonly #lan: LanDiscovery;
  readonly #known: KnownPeers;
  readonly #self: string;
  readonly #entries = new Map<string, DirectoryEntry>();
  readonly #clock: Clock;

  constructor(known: KnownPeers, selfFingerprint: string, timing: Partial<Settings> = {}, clock: Clock = SYSTEM_CLOCK) {
    super();
    const t = { ...DEFAULTS, ...timing };
    this.#clock = clock;
    this.#known = known;
    this.#self = selfFingerprint;
    this.#lan = new LanDiscovery({
      serviceType: SERVICE_TYPE,
      refreshMs: t.mdnsRefreshMs,
      staleMs: t.mdnsStaleMs,
      probeMs: t.mdnsProbeMs,
      clock,
    });
    this.#lan.on('up', (heard) => this.#onHeard(heard));
    this.#lan.on('refresh', (heard) => this.#onHeard(heard));
    this.#lan.on('down', (instance) => this.#onDown(instance));
    this.#lan.on('error', (error) => this.emit('error', error));
  }

  browse(): void {
    this.#lan.browse();
  }

  async announce(announcement: Announcement): Promise<string> {
    const instance = instanceName(announcement.name, announcement.fingerprint);
    await this.#lan.publish(instance, announcement.port, txtRecord(announcement));
    return instance;
  }

  entries(): DirectoryEntry[] {
    return [...this.#entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Peers whose nickname equals `query` (ignoring case) or whose fingerprint starts with it. */
  find(query: string): DirectoryEntry[] {
    const lower = query.toLowerCase();
    const byName = this.entries().filter((e) => e.name.toLowerCase() === lower);
    const byFingerprint = this.entries().filter((e) => fingerprintMatches(e.fingerprint, query));
    return [...new Set([...byName, ...byFingerprint])];
  }

  /**
   * Wait up to `timeoutMs` for peers matching `query`; once one is found, listen `settleMs` longer
   * so that a second peer with the same name is seen (and reported as ambiguous) rather than raced.
   */
  lookup(query: string, timeoutMs: number, settleMs: number): Promise<DirectoryEntry[]> {
    this.browse();
    return new Promise((resolve) => {
      const clock = this.#clock;
      let settle: Timer | undefined;
      const finish = () => {
        clock.clearTimeout(deadline);
        clock.clearTimeout(settle);
        this.off('event', onEvent);
        resolve(this.find(query));
      };
      const onEvent = () => {
        if (settle === undefined && this.find(query).length > 0) settle = clock.setTimeout(finish, settleMs);
      };
      const deadline = clock.setTimeout(finish, timeoutMs);
      this.on('event', onEvent);
      onEvent();
    });
  }

  close(): Promise<void> {
    return this.#lan.close();
  }

  #onHeard(heard: HeardPeer): void {
    // The interface the announcement came in on scopes the peer's link-local IPv6 addresses.
    const referer = heard.service.referer?.address;
    const scope = referer ? interfaceFor(referer) : undefined;
    const peer = parseHeardService(heard.service, heard.lastSeen, (addresses) => orderAddresses(addresses, scope));
    if (!peer || peer.fingerprint === this.#self) return;
    const check = this.#known.check(peer.fingerprint, peer.name);
    const entry: DirectoryEntry = { ...peer, known: check.known, nameClaimedBy: check.nameClaimedBy };
    const previous = this.#entries.get(peer.instance);
    this.#entries.set(peer.instance, entry);
    if (!previous || previous.fingerprint !== entry.fingerprint || previous.port !== entry.port) {
      this.emit('event', toEvent('peer-up', entry));
    }
  }

  #onDown(instance: string): void {
    const entry = this.#entries.get(instance);
    if (!entry) return;
    this.#entries.delete(instance);
    this.emit('event', toEvent('peer-down', entry));
  }
}

export function toEvent(type: 'peer-up' | 'peer-down', e: DirectoryEntry): PeerEvent {
  return { type, ...lanPeerOf(e) };
}

/** What a user is shown of a directory entry (/peers, peer-up, peer-down). */
export function lanPeerOf(e: DirectoryEntry): LanPeer {
  return {
    name: e.name,
    fingerprint: e.fingerprint,
    addresses: [...e.addresses],
    port: e.port,
    lastSeen: new Date(e.lastSeen).toISOString(),
    known: e.known,
    keyChanged: e.nameClaimedBy.length > 0,
  };
}
