// Trust on first use: the fingerprints this peer has talked to, with the nickname each used and
// when. A known nickname arriving with a different key is the one case worth a loud warning.

import { readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { ensureHomeDir, writeFileAtomic } from './home-dir.js';

export const KNOWN_PEERS_FILE = 'known-peers.json';

export interface KnownPeer {
  name: string;
  firstSeen: string;
  lastSeen: string;
}

export interface PeerCheck {
  /** This exact key has been seen before. */
  readonly known: boolean;
  /** Other fingerprints seen before under the same nickname (a possible impostor, or a new device). */
  readonly nameClaimedBy: readonly string[];
}

export class KnownPeers {
  readonly #path: string;
  readonly #homeDir: string;
  #peers: Map<string, KnownPeer>;

  private constructor(homeDir: string, peers: Map<string, KnownPeer>) {
    this.#homeDir = homeDir;
    this.#path = join(homeDir, KNOWN_PEERS_FILE);
    this.#peers = peers;
  }

  /**
   * A missing file starts an empty list. A corrupt one is moved aside (never silently overwritten:
   * it holds the trust history) and `corruptMovedTo` says where.
   */
  static load(homeDir: string): KnownPeers {
    const peers = new Map<string, KnownPeer>();
    const path = join(homeDir, KNOWN_PEERS_FILE);
    let text: string | undefined;
    try {
      text = readFileSync(path, 'utf8');
    } catch {
      // absent or unreadable: start empty
    }
    let movedTo: string | undefined;
    if (text !== undefined) {
      try {
        const raw = JSON.parse(text) as { peers?: Record<string, KnownPeer> } | null;
        for (const [fp, entry] of Object.entries(raw?.peers ?? {})) {
          if (entry && typeof entry.name === 'string') peers.set(fp, entry);
        }
      } catch {
        movedTo = `${path}.corrupt-${Date.now()}`;
        try {
          renameSync(path, movedTo);
        } catch {
          movedTo = undefined;
        }
      }
    }
    const known = new KnownPeers(homeDir, peers);
    known.corruptMovedTo = movedTo;
    return known;
  }

  /** Set when load() found the file corrupt and moved it here. */
  corruptMovedTo: string | undefined;

  get(fingerprint: string): KnownPeer | undefined {
    return this.#peers.get(fingerprint);
  }

  check(fingerprint: string, name: string): PeerCheck {
    const nameClaimedBy: string[] = [];
    for (const [fp, entry] of this.#peers) {
      if (fp !== fingerprint && entry.name === name) nameClaimedBy.push(fp);
    }
    return { known: this.#peers.has(fingerprint), nameClaimedBy };
  }

  record(fingerprint: string, name: string, now: Date = new Date()): void {
    const stamp = now.toISOString();
    const previous = this.#peers.get(fingerprint);
    this.#peers.set(fingerprint, { name, firstSeen: previous?.firstSeen ?? stamp, lastSeen: stamp });
    this.#save();
  }

  #save(): void {
    ensureHomeDir(this.#homeDir);
    const peers = Object.fromEntries(this.#peers);
    writeFileAtomic(this.#path, JSON.stringify({ version: 1, peers }, null, 2) + '\n', 0o600);
  }
}
