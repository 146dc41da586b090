// What the relay server reports, one event per thing that happened, for the `relay` command to
// print as a line or as NDJSON. Addresses are host:port as the relay sees them.

import type { ErrorCode } from '../errors.js';
import type { PeerRef } from '../session/message-fields.js';
import type { ClusterStats } from './relay-cluster.js';

export type RelayEvent =
  | {
      readonly type: 'started';
      readonly host: string;
      readonly port: number;
      readonly fingerprint: string;
      /** Listening on UDP at `port` too, answering endpoint probes (false: it could not; a `warning` said why). */
      readonly udp: boolean;
    }
  /** Something the relay works without, that did not work (UDP could not be bound). */
  | { readonly type: 'warning'; readonly code: ErrorCode; readonly message: string }
  | { readonly type: 'registered'; readonly name: string; readonly fingerprint: string; readonly observed: string }
  | {
      readonly type: 'unregistered';
      readonly name: string;
      readonly fingerprint: string;
      readonly observed: string;
      /** e.g. "left: bye", "lost: ERR_KEEPALIVE_TIMEOUT", "replaced by a newer registration". */
      readonly reason: string;
    }
  | { readonly type: 'session-open'; readonly id: number; readonly a: PeerRef; readonly b: PeerRef }
  | {
      readonly type: 'session-closed';
      readonly id: number;
      readonly a: PeerRef;
      readonly b: PeerRef;
      /** Bytes forwarded, both directions together. */
      readonly bytes: number;
      /** Why: "ended", "byte cap of N bytes reached", "relay shutting down", or for a session that
       *  never opened, "expired: ... did not connect in time" / "abandoned". */
      readonly reason: string;
    }
  | { readonly type: 'rejected'; readonly address: string; readonly code: ErrorCode; readonly message: string }
  | {
      readonly type: 'stats';
      readonly peers: number;
      /** Relayed sessions, open or waiting for their data connections. */
      readonly sessions: number;
      /** Bytes forwarded by relayed sessions since the relay started. */
      readonly bytes: number;
      /** Open connections of every kind. */
      readonly connections: number;
      /** With --cluster: its state, and the relays and peers in it at the last heartbeat. */
      readonly cluster?: ClusterStats;
    }
  | { readonly type: 'stopped'; readonly reason: string }
  /** Joined the cluster on Redis (at start, or back after Redis was away): its peers are registered there. */
  | { readonly type: 'cluster-joined'; readonly address: string; readonly url: string; readonly relays: number; readonly peers: number }
  /** Out of the cluster: Redis went away (it serves its own peers meanwhile), or the relay is stopping. */
  | { readonly type: 'cluster-left'; readonly address: string; readonly code: ErrorCode; readonly message: string };

export type RelayEventType = RelayEvent['type'];
