// Nicknames on trust of first use: each peer's key is remembered with the name it came with, and a
// nickname we knew from another key raises the loud warning, whether the peer itself shows it
// (proven by its handshake) or a host vouches for one of its members (only the host's word).

import type { Clock } from '../clock.js';
import { P2PChatError } from '../errors.js';
import type { KnownPeers } from '../secure/known-peers.js';
import type { AppEvent } from './app-events.js';

export interface NameClaimsOptions {
  readonly knownPeers: KnownPeers;
  /** When a peer was seen, as known-peers records it. */
  readonly clock: Clock;
  readonly emit: (event: AppEvent) => void;
}

export class NameClaims {
  readonly #options: NameClaimsOptions;

  constructor(options: NameClaimsOptions) {
    this.#options = options;
  }

  /**
   * A peer's session is up: warn if its name was another key's, then remember the two together.
   * `known`: whether we had met its key before.
   */
  arrived(name: string, fingerprint: string): { known: boolean } {
    const check = this.check(name, fingerprint);
    try {
      this.#options.knownPeers.record(fingerprint, name, new Date(this.#options.clock.now()));
    } catch (err) {
      if (err instanceof P2PChatError) this.#options.emit({ type: 'warning', code: err.code, message: err.message });
    }
    return check;
  }

  /**
   * The loud warning when a nickname we know from another key shows up: a peer's own (on connect
   * or /nick), or one a host vouches for (`via` it).
   */
  check(name: string, fingerprint: string, via?: string): { known: boolean } {
    const check = this.#options.knownPeers.check(fingerprint, name);
    if (check.nameClaimedBy.length > 0) {
      const who = via === undefined ? `"${name}" is using key ${fingerprint}` : `${via} says "${name}" has key ${fingerprint}`;
      this.#options.emit({
        type: 'warning',
        code: 'ERR_PEER_KEY_CHANGED',
        message: `${who}, but that nickname was known with key ${check.nameClaimedBy.join(', ')}. It may be someone else: compare fingerprints out of band.`,
      });
    }
    return check;
  }
}
