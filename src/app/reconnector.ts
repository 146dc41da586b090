// The dialler's side of a suspended conversation: dial the peer again, with backoff (a window that
// starts at reconnectInitialMs and doubles up to reconnectMaxMs, jittered), over every path it
// knows: the last direct address, the LAN, the relay by key. The node picks the conversation up
// when a session comes through (resumption.ts); the tries stop once it has, or the window closed.

import { P2PChatError } from '../errors.js';
import { parseTarget } from '../net/target.js';
import type { AppEvent } from './app-events.js';
import type { ChatNode } from './chat-node.js';
import { connectWithStrategy, type PathMode, type TransportMode } from './connect-strategy.js';
import type { DialCandidate } from './dial-plan.js';
import type { PeerDirectory } from './peer-directory.js';
import { RelayBackoff } from './relay-backoff.js';
import { reconnecting } from './resumption.js';
import type { RelayLink } from './relay-link.js';
import type { RoomPeer } from './room.js';

export interface ReconnectOptions {
  /** How the first connect went: a peer reached only directly (or only relayed) stays so. */
  readonly mode: PathMode;
  /** The transports the first connect was given (--transport): a peer reached over UDP only is dialled so again. */
  readonly transport?: TransportMode;
  readonly directory: PeerDirectory | undefined;
  /** The relay link as it is now (it may itself be reconnecting). */
  readonly relay: () => RelayLink | undefined;
  readonly emit: (event: AppEvent) => void;
}

/** Dial `peer` again until its conversation resumes or is over; `error`: how it was lost. */
export function reconnect(node: ChatNode, peer: RoomPeer, error: P2PChatError, options: ReconnectOptions): void {
  const { clock, timing } = node;
  const backoff = new RelayBackoff(timing.reconnectInitialMs, timing.reconnectMaxMs);
  const last = peer.route.path === 'direct' ? parseTarget(peer.connection.address, timing.port) : undefined;
  // A peer last reached over UDP listens there: auto races UDP again (TCP may be what is blocked).
  const lastUdp = last && peer.connection.transport === 'udp' ? { udpPort: last.port } : {};
  options.directory?.browse(); // a peer that moved is found on the LAN again
  // Tries for this suspension only: once it has resumed, a later suspension runs its own.
  const suspension = node.suspension(peer);
  const waiting = () => suspension !== undefined && node.suspension(peer) === suspension;
  let attempt = 0;

  const schedule = (why: P2PChatError) => {
    if (!waiting()) return;
    attempt++;
    const retryInMs = backoff.next();
    options.emit(reconnecting(peer, why, attempt, retryInMs));
    clock.setTimeout(() => void dial(), retryInMs).unref();
  };

  const dial = async () => {
    if (!waiting()) return;
    const candidates: DialCandidate[] = last ? [{ host: last.host, port: last.port, ...lastUdp }] : [];
    for (const entry of options.directory?.find(peer.fingerprint) ?? []) {
      const udp = entry.udpPort !== undefined ? { udpPort: entry.udpPort } : {};
      for (const host of entry.addresses) {
        if (!candidates.some((c) => c.host === host && c.port === entry.port)) candidates.push({ host, port: entry.port, ...udp });
      }
    }
    const relay = options.relay();
    try {
      await connectWithStrategy(node, {
        label: peer.name,
        candidates,
        expect: peer.fingerprint,
        ...(relay ? { relay } : {}),
        mode: options.mode,
        ...(options.transport ? { transport: options.transport } : {}),
        timing,
        // Resumed over another session meanwhile (a move's answer): this one would start a second conversation.
        wanted: waiting,
      });
    } catch (err) {
      if (!(err instanceof P2PChatError)) throw err;
      schedule(err);
    }
  };

  schedule(error);
}
